"""One result per request, computed once, shown as HTML or JSON.

`read_form` turns the calculator form (strings, possibly 'unknown') into
checked findings with per-field messages; `assess` turns findings into a
`PageResult`: one prediction, from the full model or, when a finding is not
yet known, from the pattern submodel fitted without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.model.predict import Model, OutsideApplicability, Prediction
from app.web.i18n import SOURCE_LABELS, STRINGS, format_risk
from app.web.ki67_input import Ki67FormatError, read_ki67

UNKNOWN = "unknown"


@dataclass(frozen=True)
class FormInput:
    """What the user entered, kept as text so the form can be re-rendered as typed."""

    surface_depression: str = ""
    ki67_percent: str = ""
    ki67_unknown: bool = False
    cga_positive: str = ""

    @property
    def is_blank(self) -> bool:
        return not (self.surface_depression or self.ki67_percent or self.ki67_unknown or self.cga_positive)


@dataclass(frozen=True)
class Findings:
    """Checked findings: None means explicitly unknown."""

    surface_depression: int
    ki67_percent: float | None
    cga_positive: int | None
    ki67_bound: float | None = None  # set when Ki-67 was given as below a bound ("<1"): read as half of it


def read_form(form: FormInput, lang: str) -> tuple[Findings | None, dict[str, str]]:
    """Check the form; return findings or a message per field (in `lang`)."""
    text = STRINGS[lang]
    errors: dict[str, str] = {}
    depression = {"1": 1, "0": 0}.get(form.surface_depression.strip().lower())
    if depression is None:
        errors["surface_depression"] = text["error_surface_depression"]
    ki67: float | None = None
    bound: float | None = None
    raw = form.ki67_percent.strip()
    if form.ki67_unknown or raw.lower() == UNKNOWN:
        ki67 = None
    elif not raw:
        errors["ki67_percent"] = text["error_ki67_missing"]
    else:
        shown = raw if len(raw) <= 24 else raw[:24] + "…"
        try:
            reading = read_ki67(raw)
        except Ki67FormatError as exc:
            message = {
                "ambiguous_comma": text["error_ki67_ambiguous_comma"],
                "too_long": text["error_ki67_too_long"],
            }.get(exc.reason, text["error_ki67_not_a_number"])
            errors["ki67_percent"] = message.format(value=shown)
        else:
            ki67, bound = reading.value, reading.bound
            if not 0 <= ki67 <= 100:
                errors["ki67_percent"] = text["error_ki67_range"].format(value=shown)
    cga_choice = form.cga_positive.strip().lower()
    if cga_choice not in ("1", "0", UNKNOWN):
        errors["cga_positive"] = text["error_cga"]
    if errors:
        return None, errors
    return Findings(
        surface_depression=depression,  # type: ignore[arg-type]
        ki67_percent=ki67,
        cga_positive=None if cga_choice == UNKNOWN else int(cga_choice),
        ki67_bound=bound,
    ), {}


@dataclass(frozen=True)
class PageResult:
    """Everything the result panel, the nomogram and the summary line need."""

    findings: Findings
    prediction: Prediction
    extrapolation_messages: list[str] = field(default_factory=list)
    summary: str = ""
    answered_by: str = ""  # one sentence when a submodel answered (findings not yet known), else empty

    @property
    def missing(self) -> tuple[str, ...]:
        return self.prediction.missing


def finding_values(findings: Findings) -> dict[str, float | None]:
    """The model's inputs: None for a finding not yet known."""
    return {
        "surface_depression": float(findings.surface_depression),
        "ki67_percent": findings.ki67_percent,
        "cga_positive": None if findings.cga_positive is None else float(findings.cga_positive),
    }


def _listed(names: tuple[str, ...], text: dict[str, str]) -> str:
    return (" 和 " if text is STRINGS["zh"] else " and ").join(text[name] for name in names)


def needs_finding_message(missing: tuple[str, ...], lang: str) -> str:
    """The page's words when the model has no submodel for the findings left unknown."""
    text = STRINGS[lang]
    them = text["estimated_without_them_one" if len(missing) == 1 else "estimated_without_them_many"]
    return text["error_needs_finding"].format(findings=_listed(missing, text), them=them)


def ki67_text(findings: Findings, lang: str) -> str:
    """Ki-67 as shown in the result and summary: the value read, and the bound it came from."""
    text = STRINGS[lang]
    if findings.ki67_percent is None:
        return text["not_yet_known"]
    if findings.ki67_bound is not None:
        return text["ki67_below_bound"].format(bound=f"{findings.ki67_bound:g}", value=f"{findings.ki67_percent:g}")
    return f"{findings.ki67_percent:g} %"


def summary_caveats(model: Model, prediction: Prediction, lang: str, *, now: datetime | None = None) -> str:
    """What a pasted summary must carry to be read correctly later: when, which model version, caveats."""
    text = STRINGS[lang]
    parts = [text["summary_model_version"].format(sha=model.sha256[:12])]
    if prediction.extrapolated:
        parts.append(text["summary_extrapolation"].format(findings=_listed(prediction.extrapolated, text)))
    if model.is_demonstration:
        parts.append(text["summary_demonstration"])
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    parts.append(text["summary_time"].format(time=moment.strftime("%Y-%m-%d %H:%M UTC")))
    return text["summary_separator"].join(["", *parts])


def not_applicable_message(outside: tuple[OutsideApplicability, ...], lang: str) -> str:
    """Why no risk is shown, in the page's language."""
    text = STRINGS[lang]
    reasons = []
    for o in outside:
        if o.name == "ki67_percent" and o.value > o.high:
            reasons.append(
                text["not_applicable_ki67_high"].format(value=f"{o.value:g}", low=f"{o.low:g}", high=f"{o.high:g}")
            )
        else:
            label = text.get(o.name, o.name)
            reasons.append(
                text["not_applicable_other"].format(
                    label=label, value=f"{o.value:g}", low=f"{o.low:g}", high=f"{o.high:g}"
                )
            )
    return " ".join(reasons)


def assess(model: Model, findings: Findings, lang: str, *, now: datetime | None = None) -> PageResult:
    """The prediction: from the full model, or from the submodel without the findings not yet known.

    Raises UnknownFindingError when a finding is unknown and the model has no submodel without it,
    and NotApplicableError when a finding is outside the population the model applies to.
    """
    text = STRINGS[lang]
    prediction = model.predict(finding_values(findings))
    messages = []
    if findings.ki67_percent is not None and "ki67_percent" in prediction.extrapolated:
        lo, hi = model.extrapolation_range("ki67_percent")
        messages.append(
            text["extrapolation"].format(
                label=text["ki67_percent"], value=f"{findings.ki67_percent:g} %", lo=f"{lo:g}", hi=f"{hi:g} %"
            )
        )
    source = SOURCE_LABELS[lang][model.source]
    dep = text["yes"] if findings.surface_depression else text["no"]
    cga = (
        text["not_yet_known"]
        if findings.cga_positive is None
        else (text["positive"] if findings.cga_positive else text["negative"])
    )
    summary = text["summary_line"].format(
        risk=format_risk(prediction.probability),
        lo=format_risk(prediction.ci95[0]),
        hi=format_risk(prediction.ci95[1]),
        dep=dep, ki67=ki67_text(findings, lang), cga=cga, model=model.model_id, source=source,
    )  # fmt: skip
    answered_by = ""
    if prediction.missing:
        listed = _listed(prediction.missing, text)
        summary += text["summary_without"].format(findings=listed)
        submodel = next(s for s in model.artifact.submodels if frozenset(s.missing) == frozenset(prediction.missing))
        auc = submodel.performance.get("auc_optimism_corrected") or submodel.performance.get("auc")
        them = text["estimated_without_them_one" if len(prediction.missing) == 1 else "estimated_without_them_many"]
        answered_by = text["estimated_without"].format(
            findings=listed, them=them, auc="—" if auc is None else f"{auc:.2f}"
        )
    summary += summary_caveats(model, prediction, lang, now=now)
    return PageResult(
        findings=findings,
        prediction=prediction,
        extrapolation_messages=messages,
        summary=summary,
        answered_by=answered_by,
    )
