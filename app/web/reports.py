"""Self-contained HTML reports (inline CSS and SVG, no scripts): printable, mailable, archivable."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.resources import resource_dir
from app.web.charts import curve_charts
from app.web.i18n import SOURCE_LABELS, STRINGS, format_number, format_percent
from app.web.report_strings import (
    ERROR_UNKNOWN_ZH,
    ERRORS_ZH,
    LEVEL_LABELS_ZH,
    METHODS_NAMES_ZH,
    NOT_ESTIMABLE,
    PHRASE_PATTERNS_ZH,
    PHRASES_ZH,
    REPORT_STRINGS,
    TRIPOD_TOPICS_ZH,
    VARIABLE_LABELS_ZH,
    methods_zh,
    model_failure_methods_zh,
    model_methods_zh,
)


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
        selection=selection_text(result["cohort"]["selection"], lang),
        source_label=SOURCE_LABELS[lang].get(result["model"]["source"], result["model"]["source"]),
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


def _model_figures(artifact: dict[str, Any] | None, lang: str) -> dict[str, Any]:
    """The fitted model, its nomogram and curves; none when the model could not be fitted."""
    if artifact is None:
        return {"model": None, "nomogram": "", "charts": {}}
    from app.model.artifact import ModelArtifact, with_digest
    from app.model.predict import Model
    from app.web.charts import nomogram_svg

    model = Model(ModelArtifact.model_validate(with_digest(artifact)))
    charts = curve_charts(artifact["curves"], lang, prevalence=artifact["performance"]["prevalence"])
    return {"model": model, "nomogram": nomogram_svg(model, lang, single=True), "charts": charts}


# ------------------------------------------------------------------ the cohort report in either language


def variable_label(name: str, lang: str) -> str:
    """A table row's label: 'Ki-67 index, %' / 'Ki-67 指数（%）'; unknown names as they are."""
    return (VARIABLE_LABELS if lang == "en" else VARIABLE_LABELS_ZH).get(name, name)


def variable_name(name: str, lang: str) -> str:
    """A variable inside a sentence: as in the tables, but without the unit ('Ki-67 指数')."""
    return name if lang == "en" else METHODS_NAMES_ZH.get(name, variable_label(name, lang))


def level_label(variable: str, level: str, lang: str) -> str:
    """A category value: F and M are words (女, 男); codes such as EMR or G1 read the same in both."""
    return level if lang == "en" else LEVEL_LABELS_ZH.get(variable, {}).get(level, level)


def error_reason(error: str, lang: str) -> str:
    """Why the data cannot support a model (the first sentence of a StatisticalError), in `lang`."""
    if lang == "en":
        return error
    names = "、".join(variable_name(name, lang) for name in re.findall(r"'([^']+)'", error))
    for pattern, template in ERRORS_ZH:
        match = pattern.match(error)
        if match:
            return template.format(*match.groups(), names=names)
    return ERROR_UNKNOWN_ZH


# app.stats.cohort.CompleteCase.describe's sentence, part by part.
_ALL_USED = re.compile(r"all (\d+) rows used")
_SOME_USED = re.compile(r"(\d+) of (\d+) rows used; left out: (.*)")
_MISSING = re.compile(r"(\d+) missing (\w+)")
_TOO_LARGE = re.compile(r"(\d+) tumour diameter over ([\d.]+) mm")


def selection_text(note: str, lang: str) -> str:
    """Which rows were analysed (the statistics layer's English sentence) in `lang`.

    A part the patterns do not know is kept in English, and the test of the Chinese validation
    report (tests/web/test_outcome_term.py) fails on it.
    """
    if lang == "en":
        return note
    if match := _ALL_USED.fullmatch(note):
        return f"全部 {match[1]} 行均纳入分析"
    match = _SOME_USED.fullmatch(note)
    if match is None:
        return note
    parts = []
    for part in match[3].split("; "):
        if missing := _MISSING.fullmatch(part):
            parts.append(f"{variable_name(missing[2], lang)}缺失 {missing[1]} 例")
        elif large := _TOO_LARGE.fullmatch(part):
            parts.append(f"肿瘤直径 >{large[2]} mm {large[1]} 例")
        else:
            parts.append(part)
    return f"纳入 {match[2]} 行中的 {match[1]} 行；排除：" + "；".join(parts)


def phrase(text: str, lang: str) -> str:
    """One of the statistics layer's fixed English phrases (a test, an effect, a note) in `lang`.

    English is returned as written; a phrase without a translation too, and the test of the Chinese
    report (tests/web/test_reports_zh.py) fails on it.
    """
    if lang == "en" or not text:
        return text
    if text in PHRASES_ZH:
        return PHRASES_ZH[text]
    for pattern, template in PHRASE_PATTERNS_ZH:
        match = pattern.fullmatch(text)
        if match:
            return template.format(*match.groups())
    if text.startswith(NOT_ESTIMABLE["en"]):
        return NOT_ESTIMABLE[lang] + error_reason(text.removeprefix(NOT_ESTIMABLE["en"]), lang)
    return text


def model_failure_text(model: dict[str, Any], lang: str) -> str:
    """The one sentence the model sections show when the model could not be fitted."""
    return REPORT_STRINGS[lang]["model_failure"].format(reason=error_reason(model["error"], lang))


def methods_text(data: dict[str, Any], lang: str) -> str:
    """The methods paragraph: in English as the run wrote it (data["methods"]), in Chinese from the same run."""
    if lang == "en":
        return str(data["methods"])
    from app.stats.compare import (
        CONTINUOUS_KIND,
        EXACT_MAX_TABLES,
        GROUPING_VARIABLES,
        MONTE_CARLO_SEED,
        MONTE_CARLO_TABLES,
        SUMMARY_LABEL,
    )

    r = REPORT_STRINGS[lang]
    flow, model = data["flow"], data["model"]

    def names(kind: str) -> str:
        chosen = [v for v, k in CONTINUOUS_KIND.items() if k == kind and v not in GROUPING_VARIABLES]
        return r["list_separator"].join(METHODS_NAMES_ZH.get(v, v) for v in chosen)

    grouping = r["list_separator"].join(
        f"{METHODS_NAMES_ZH.get(v, v)}{r['open']}{phrase(SUMMARY_LABEL[CONTINUOUS_KIND[v]], lang)}{r['close']}"
        for v in GROUPING_VARIABLES
    )
    tests = sorted({row["test"] for row in data["table1"] + data["outcomes"] if row["test"]})
    predictors = r["list_separator"].join(variable_name(p, lang) for p in model["predictors"])
    if model.get("error"):
        model_part = model_failure_methods_zh(predictors=predictors, reason=error_reason(model["error"], lang))
    else:
        model_part = model_methods_zh(
            predictors=predictors,
            n=model["n"],
            events=model["events"],
            bootstrap=model["bootstrap"],
            seed=model["seed"],
        )
    return methods_zh(
        file=data["cohort"]["file"],
        rows=flow["rows_in_file"],
        analysed=flow["analysed"],
        small=flow["small"],
        large=flow["large"],
        excluded=r["clause_separator"].join(f"{phrase(k, lang)} {v} 例" for k, v in flow["excluded"].items() if v)
        or "无",
        normal=names("normal"),
        skewed=names("skewed"),
        grouping=grouping,
        exact_max=f"{EXACT_MAX_TABLES:,}",
        monte_carlo_tables=f"{MONTE_CARLO_TABLES:,}",
        monte_carlo_seed=MONTE_CARLO_SEED,
        tests=r["list_separator"].join(phrase(test, lang) for test in tests) or "无",
        model=model_part,
        software=r["list_separator"].join(f"{k} {v}" for k, v in data["software"].items()),
    )


def render_cohort_report(data: dict[str, Any], *, lang: str = "en") -> str:
    """The study report: Table 1, outcomes, risk factors, the model's figures, methods, TRIPOD, in `lang`.

    When the model could not be fitted (data["artifact"] is None) its sections say why in one sentence.
    The data (and so the JSON and CSV files) are the same in either language; only the words differ.
    """
    stylesheet = (resource_dir("static") / "css" / "app.css").read_text(encoding="utf-8")
    r = REPORT_STRINGS[lang]
    failure = "" if data["artifact"] is not None else model_failure_text(data["model"], lang)
    predictors = r["list_separator"].join(variable_name(p, lang) for p in data["model"]["predictors"])
    return (
        _environment()
        .get_template("cohort_report.html")
        .render(
            t=STRINGS[lang],
            r=r,
            data=data,
            label=lambda name: variable_label(name, lang),
            level=lambda variable, value: level_label(variable, value, lang),
            phrase=lambda text: phrase(text, lang),
            tripod_topic=lambda item: item["topic"] if lang == "en" else TRIPOD_TOPICS_ZH[item["item"]],
            methods=methods_text(data, lang),
            predictors=predictors,
            model_failure=failure,
            stylesheet=stylesheet,
            **_model_figures(data["artifact"], lang),
        )
    )
