"""Self-contained HTML reports (inline CSS and SVG, no scripts): printable, mailable, archivable."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.resources import resource_dir
from app.web.charts import curve_charts
from app.web.i18n import STRINGS, format_number, format_percent


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(resource_dir("templates"))), autoescape=select_autoescape(["html"]))


def verdict_text(verdict: dict[str, Any], lang: str) -> str:
    """The sentence of a validation finding in `lang`."""
    values = {k: ("—" if v is None else v) for k, v in verdict["values"].items()}
    return STRINGS[lang]["verdict_" + verdict["code"]].format(**values)


def render_validation_report(result: dict[str, Any], *, lang: str) -> str:
    """The external-validation report for `result` (app.stats.validate.validate_artifact)."""
    stylesheet = (resource_dir("static") / "css" / "app.css").read_text(encoding="utf-8")
    template = _environment().get_template("validation_report.html")
    return template.render(
        t=STRINGS[lang],
        lang=lang,
        result=result,
        f=result["figures"],
        verdicts=[verdict_text(v, lang) for v in result["verdicts"]],
        charts=curve_charts(result["curves"], lang, prevalence=result["figures"]["prevalence"]),
        stylesheet=stylesheet,
        pct=format_percent,
        num=format_number,
    )


VARIABLE_LABELS = {
    "age_years": "Age, years", "sex": "Sex", "distance_anal_verge_cm": "Distance from the anal verge, cm",
    "tumor_diameter_mm": "Tumour diameter, mm", "surface_depression": "Surface depression",
    "resection_method": "Resection method", "who_grade": "WHO grade", "ki67_percent": "Ki-67 index, %",
    "cga_positive": "CgA positive", "syn_positive": "Synaptophysin positive", "intraop_bleeding": "Intraoperative bleeding",
    "postop_bleeding": "Postoperative bleeding", "curative_resection": "Curative (R0) resection",
    "procedure_time_min": "Procedure time, min", "hospital_stay_days": "Hospital stay, days", "cost_cny": "Cost, CNY",
    "follow_up_months": "Follow-up, months", "recurrence": "Local recurrence", "metastasis": "Metastasis",
    "male": "Male sex", "non_curative_resection": "Non-curative resection",
}  # fmt: skip


def _model_figures(artifact: dict[str, Any] | None) -> dict[str, Any]:
    """The fitted model, its nomogram and curves; none when the model could not be fitted."""
    if artifact is None:
        return {"model": None, "nomogram": "", "charts": {}}
    from app.model.artifact import ModelArtifact, with_digest
    from app.model.predict import Model
    from app.web.charts import nomogram_svg

    model = Model(ModelArtifact.model_validate(with_digest(artifact)))
    charts = curve_charts(artifact["curves"], "en", prevalence=artifact["performance"]["prevalence"])
    return {"model": model, "nomogram": nomogram_svg(model, "en", single=True), "charts": charts}


def render_cohort_report(data: dict[str, Any]) -> str:
    """The study report: Table 1, outcomes, risk factors, the model's figures, methods, TRIPOD.

    When the model could not be fitted (data["artifact"] is None) its sections say why in one sentence.
    """
    from app.stats.report import model_failure_sentence

    stylesheet = (resource_dir("static") / "css" / "app.css").read_text(encoding="utf-8")
    failure = "" if data["artifact"] is not None else model_failure_sentence(data["model"])
    return (
        _environment()
        .get_template("cohort_report.html")
        .render(
            t=STRINGS["en"],
            data=data,
            labels=VARIABLE_LABELS,
            model_failure=failure,
            stylesheet=stylesheet,
            **_model_figures(data["artifact"]),
        )
    )
