"""One result per request, computed once, shown as HTML or JSON.

`read_form` turns the calculator form (strings, possibly 'unknown') into
checked findings with per-field messages; `assess` turns findings into a
`PageResult`: a single prediction when everything is known, or the range
of risk over the unknown findings' plausible values.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from app.model.predict import Model, Prediction
from app.web.i18n import SOURCE_LABELS, STRINGS, format_percent

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


def read_form(form: FormInput, lang: str) -> tuple[Findings | None, dict[str, str]]:
    """Check the form; return findings or a message per field (in `lang`)."""
    text = STRINGS[lang]
    errors: dict[str, str] = {}
    depression = {"1": 1, "0": 0}.get(form.surface_depression.strip().lower())
    if depression is None:
        errors["surface_depression"] = text["error_surface_depression"]
    ki67: float | None = None
    raw = form.ki67_percent.strip().replace(",", ".").rstrip("%").strip()
    if form.ki67_unknown or raw.lower() == UNKNOWN:
        ki67 = None
    elif not raw:
        errors["ki67_percent"] = text["error_ki67_missing"]
    else:
        try:
            ki67 = float(raw) + 0.0  # + 0.0 turns -0 into 0
        except ValueError:
            errors["ki67_percent"] = text["error_ki67_number"].format(value=form.ki67_percent.strip()[:20])
        else:
            if not math.isfinite(ki67) or not 0 <= ki67 <= 100:
                errors["ki67_percent"] = text["error_ki67_range"].format(value=form.ki67_percent.strip()[:20])
    cga_choice = form.cga_positive.strip().lower()
    if cga_choice not in ("1", "0", UNKNOWN):
        errors["cga_positive"] = text["error_cga"]
    if errors:
        return None, errors
    return Findings(
        surface_depression=depression,  # type: ignore[arg-type]
        ki67_percent=ki67,
        cga_positive=None if cga_choice == UNKNOWN else int(cga_choice),
    ), {}


@dataclass(frozen=True)
class PageResult:
    """Everything the result panel, the nomogram and the summary line need."""

    findings: Findings
    prediction: Prediction | None  # None when a finding is unknown
    range_low: Prediction | None = None
    range_high: Prediction | None = None
    unknowns: tuple[str, ...] = ()
    extrapolation_messages: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def is_range(self) -> bool:
        return self.prediction is None


def _plausible_values(model: Model, findings: Findings) -> tuple[list[dict[str, float]], tuple[str, ...]]:
    """Every combination of the unknown findings' plausible values (ends of ranges suffice: lp is linear)."""
    ki67_spec = next(p for p in model.artifact.predictors if p.name == "ki67_percent")
    ki67_range = ki67_spec.fitted_range or ki67_spec.nomogram_range
    ki67_options = [findings.ki67_percent] if findings.ki67_percent is not None else list(ki67_range)
    cga_options = [findings.cga_positive] if findings.cga_positive is not None else [0, 1]
    unknowns = tuple(
        name
        for name, value in (("ki67_percent", findings.ki67_percent), ("cga_positive", findings.cga_positive))
        if value is None
    )
    combos = [
        {"surface_depression": float(findings.surface_depression), "ki67_percent": float(k), "cga_positive": float(c)}
        for k, c in itertools.product(ki67_options, cga_options)
    ]
    return combos, unknowns


def assess(model: Model, findings: Findings, lang: str) -> PageResult:
    """Prediction, or the range of risk over the unknown findings."""
    text = STRINGS[lang]
    combos, unknowns = _plausible_values(model, findings)
    predictions = [model.predict(values) for values in combos]
    messages = []
    specs = {p.name: p for p in model.artifact.predictors}
    if findings.ki67_percent is not None and "ki67_percent" in predictions[0].extrapolated:
        lo, hi = specs["ki67_percent"].fitted_range or (0.0, 100.0)
        messages.append(
            text["extrapolation"].format(
                label=text["ki67_percent"], value=f"{findings.ki67_percent:g} %", lo=f"{lo:g}", hi=f"{hi:g} %"
            )
        )
    source = SOURCE_LABELS[lang][model.source]
    dep = text["yes"] if findings.surface_depression else text["no"]
    ki67 = text["unknown"] if findings.ki67_percent is None else f"{findings.ki67_percent:g} %"
    cga = (
        text["unknown"]
        if findings.cga_positive is None
        else (text["positive"] if findings.cga_positive else text["negative"])
    )
    if not unknowns:
        prediction = predictions[0]
        summary = text["summary_line"].format(
            risk=format_percent(prediction.probability),
            lo=format_percent(prediction.ci95[0]),
            hi=format_percent(prediction.ci95[1]),
            dep=dep, ki67=ki67, cga=cga, model=model.model_id, source=source,
        )  # fmt: skip
        return PageResult(findings=findings, prediction=prediction, extrapolation_messages=messages, summary=summary)
    low = min(predictions, key=lambda p: p.probability)
    high = max(predictions, key=lambda p: p.probability)
    summary = text["summary_range_line"].format(
        lo=format_percent(low.probability), hi=format_percent(high.probability),
        dep=dep, ki67=ki67, cga=cga, model=model.model_id, source=source,
    )  # fmt: skip
    return PageResult(
        findings=findings,
        prediction=None,
        range_low=low,
        range_high=high,
        unknowns=unknowns,
        extrapolation_messages=messages,
        summary=summary,
    )
