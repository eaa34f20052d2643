"""What the number means beside the number: natural frequencies, a picture, the cohort's rate, who the model is for.

Natural frequencies ("about 63 of 100 lesions") are understood better than percentages by
clinicians and patients (Gigerenzer & Hoffrage 1995; Akl et al., Cochrane 2011); the development
cohort's observed rate gives the anchor a single percentage lacks.  Everything here is derived
from the prediction and the artifact, so the words can never disagree with the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from markupsafe import Markup

from app.model.predict import Model
from app.web.artifact_text import KNOWN_TEXTS, artifact_prose
from app.web.i18n import STRINGS, format_risk


def per_hundred(probability: float) -> str:
    """A risk as a count of 100: "<1" and ">99" where the page shows "< 1 %" and "> 99 %"."""
    percent = 100.0 * probability
    if percent > 99.0:
        return ">99"
    if percent < 1.0:
        return "<1"
    shown = Decimal(f"{percent:.1f}")  # the one-decimal figure the page shows: 62.5 % reads "about 63", never 62
    return str(min(99, max(1, int(shown.quantize(Decimal(1), rounding=ROUND_HALF_UP)))))


def frequency_sentence(probability: float, ci95: tuple[float, float], lang: str) -> str:
    """'About 63 of 100 lesions with these findings would not be resected curatively (95 % CI: 50 to 74 of 100).'"""
    text = STRINGS[lang]
    count = per_hundred(probability)
    if count == ">99":
        lead = text["frequency_more"]
    elif count == "<1":
        lead = text["frequency_fewer"]
    else:
        lead = text["frequency_about"].format(n=count)
    return text["frequency_sentence"].format(count=lead, lo=per_hundred(ci95[0]), hi=per_hundred(ci95[1]))


@dataclass(frozen=True)
class CohortRate:
    """The observed rate of the outcome in the cohort whose figures the artifact carries."""

    events: int
    n: int
    is_update_cohort: bool  # a local cohort the model was recalibrated on, not the development cohort
    is_simulated: bool = False  # the demonstration's simulated patients, not the study's

    @property
    def rate(self) -> float:
        return self.events / self.n

    @property
    def rate_text(self) -> str:
        return f"{100.0 * self.rate:.1f} %"


def cohort_rate(model: Model) -> CohortRate | None:
    """n and events as the artifact records them; None when it does not (e.g. some published models)."""
    performance = model.artifact.performance
    if not performance.n or performance.events is None:
        return None
    updated = bool((model.artifact.provenance.model_extra or {}).get("parent_model_id"))
    simulated = model.artifact.provenance.source == "synthetic-demo"
    return CohortRate(events=performance.events, n=performance.n, is_update_cohort=updated, is_simulated=simulated)


def cohort_sentence(rate: CohortRate | None, lang: str) -> str:
    if rate is None:
        return ""
    key = (
        "cohort_rate_update"
        if rate.is_update_cohort
        else "cohort_rate_simulated"
        if rate.is_simulated
        else "cohort_rate_development"
    )
    return STRINGS[lang][key].format(events=rate.events, n=rate.n, rate=rate.rate_text)


BAR_WIDTH = 300.0
BAR_LEFT = 10.0


def _x(probability: float) -> float:
    return BAR_LEFT + BAR_WIDTH * min(1.0, max(0.0, probability))


def risk_bar_svg(probability: float, ci95: tuple[float, float], rate: CohortRate | None, lang: str) -> Markup:
    """A 0–100 % bar with the risk, its CI as a band and the cohort's rate as a tick, drawn on the server.

    Grey-scale safe (the risk is a dark line, the CI a light band, the cohort a hollow triangle)
    and a few hundred bytes, so it costs the page nothing.
    """
    text = STRINGS[lang]
    lo, hi = ci95
    cohort_label = text["bar_label_cohort"].format(rate=rate.rate_text) if rate else ""
    label = text["bar_label"].format(
        risk=format_risk(probability), lo=format_risk(lo), hi=format_risk(hi), cohort=cohort_label
    )
    parts = [
        f'<svg class="risk-bar" viewBox="0 0 320 44" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<rect class="track" x="{BAR_LEFT:g}" y="8" width="{BAR_WIDTH:g}" height="10"/>',
        f'<rect class="band" x="{_x(lo):.1f}" y="8" width="{max(1.0, _x(hi) - _x(lo)):.1f}" height="10"/>',
        f'<rect class="point" x="{_x(probability) - 1.5:.1f}" y="3" width="3" height="20"/>',
    ]
    left_label, right_label = True, True
    if rate is not None:
        x = _x(rate.rate)
        parts.append(f'<path class="cohort" d="M{x:.1f} 21l-4 7h8z"/>')
        anchor = "start" if rate.rate < 0.15 else "end" if rate.rate > 0.85 else "middle"
        left_label, right_label = rate.rate >= 0.15, rate.rate <= 0.85
        parts.append(
            f'<text x="{x:.1f}" y="40" text-anchor="{anchor}">{escape(text["bar_cohort"].format(rate=rate.rate_text))}</text>'
        )
    if left_label:
        parts.append(f'<text x="{BAR_LEFT:g}" y="40">0 %</text>')
    if right_label:
        parts.append(f'<text x="{BAR_LEFT + BAR_WIDTH:g}" y="40" text-anchor="end">100 %</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def applicability_lines(model: Model, lang: str) -> list[str]:
    """One line per continuous finding: the range the model applies to and the range it was fitted on."""
    text = STRINGS[lang]
    lines = []
    for spec in model.artifact.predictors:
        if spec.kind != "continuous":
            continue
        label = text.get(spec.name, spec.label)
        flo, fhi = spec.fitted_range or spec.nomogram_range
        if spec.applicable_range is not None:
            lo, hi = spec.applicable_range
            lines.append(
                text["range_applicable"].format(
                    label=label, lo=f"{lo:g}", hi=f"{hi:g}", flo=f"{flo:g}", fhi=f"{fhi:g}", unit=spec.unit
                )
            )
        else:
            lines.append(text["range_fitted"].format(label=label, flo=f"{flo:g}", fhi=f"{fhi:g}", unit=spec.unit))
    return lines


def validation_lines(model: Model, lang: str) -> list[str]:
    """The model's validation status, in the words a reader of the evidence needs, strongest claim last.

    With a recorded external validation the first line no longer says "internal only" (or "none on
    patients"): the two lines together must never contradict each other.
    """
    text = STRINGS[lang]
    artifact = model.artifact
    performance = artifact.performance
    extra = artifact.provenance.model_extra or {}
    replicates = performance.bootstrap_replicates
    externals = external_validations(model)
    suffix = "_with_external" if externals else ""
    if extra.get("parent_model_id"):
        lines = [text["status_updated"].format(n=performance.n or 0)]
    elif artifact.provenance.source == "synthetic-demo":
        lines = [text["status_demo" + suffix].format(b=replicates or 0)]
    elif artifact.provenance.source == "published":
        lines = [text["status_published" + suffix]]
    elif replicates and performance.auc_optimism_corrected is not None:
        auc = f"{performance.auc_optimism_corrected:.3f}"
        lines = [text["status_internal" + suffix].format(b=replicates, auc=auc)]
    else:
        lines = [text["status_internal_plain" + suffix]]
    for record in externals:
        auc = text["status_external_auc"].format(auc=f"{record.auc:.3f}") if record.auc is not None else ""
        lines.append(text["status_external"].format(cohort=record.cohort, n=record.n, auc=auc))
    return lines


@dataclass(frozen=True)
class ExternalValidation:
    cohort: str
    n: int
    auc: float | None


def external_validations(model: Model) -> list[ExternalValidation]:
    """provenance.external_validations as the artifact check accepted them (app/model/artifact.py)."""
    records = (model.artifact.provenance.model_extra or {}).get("external_validations") or []
    return [ExternalValidation(cohort=r["cohort"], n=r["n"], auc=r.get("auc")) for r in records]


@dataclass(frozen=True)
class StudyLine:
    """The evidence block's study: a lead-in in the page's language, then the text (marked `lang` if English)."""

    lead: str
    text: str
    lang: str = ""


def study_line(model: Model, lang: str) -> StudyLine:
    """The Suzhou study when the artifact cites it (or cites nothing), else the artifact's own reference."""
    reference = (model.artifact.provenance.model_extra or {}).get("reference") or ""
    if not reference or KNOWN_TEXTS.get(reference) == "artifact_reference_study":
        return StudyLine(lead="", text=STRINGS[lang]["evidence_study"])
    prose = artifact_prose(reference, lang)
    return StudyLine(lead=STRINGS[lang]["evidence_study_other"], text=prose.text, lang=prose.lang)


def evidence_model_line(model: Model, lang: str, source_label: str) -> str:
    created = model.artifact.provenance.created_at[:10]
    return STRINGS[lang]["evidence_model"].format(source=source_label, model_id=model.model_id, date=created)
