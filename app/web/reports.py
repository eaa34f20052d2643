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
