"""HTML pages: the calculator (/ and /embed), the model card (/model), the API reference (/docs).

The calculator works without JavaScript: the form posts to the page, which
renders the result on the server.  With JavaScript, the same form is posted
to /partials/result on every change and the returned fragment (rendered by
the same templates) replaces the result and the nomogram, so the page and
the script can never disagree.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.model.predict import Model, NotApplicableError, UnknownFindingError
from app.web import cds_hooks
from app.web.api import predict_response
from app.web.artifact_text import artifact_prose
from app.web.charts import model_card_charts, nomogram_svg
from app.web.fhir_risk import risk_assessment
from app.web.i18n import SOURCE_LABELS, STRINGS, choose_language, format_number, format_percent, format_risk
from app.web.interpretation import (
    applicability_lines,
    cohort_rate,
    cohort_sentence,
    evidence_model_line,
    frequency_sentence,
    risk_bar_svg,
    study_line,
    validation_lines,
)
from app.web.results import (
    FormInput,
    PageResult,
    assess,
    finding_values,
    ki67_text,
    needs_finding_message,
    not_applicable_message,
    read_form,
)
from app.web.schemas import PatientFindings

router = APIRouter()

FORM_FIELDS = ("surface_depression", "ki67_percent", "ki67_unknown", "cga_positive")


def _language(request: Request, form_lang: str | None = None) -> str:
    settings = request.app.state.settings
    return choose_language(
        form_lang or request.query_params.get("lang"), request.headers.get("accept-language"), settings.default_language
    )


async def _posted_form(request: Request) -> dict[str, str]:
    """The url-encoded form body (the only kind our form and script send), first value per name.

    Parsed here rather than by python-multipart: three short fields need no extra dependency.
    """
    body = (await request.body()).decode("utf-8", errors="replace")
    values: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        values.setdefault(key, value)
    return values


# A query string or form may say yes/no as the API does (true/false), as the form does (1/0) or in words.
_YES = frozenset({"1", "true", "yes", "on"})
_NO = frozenset({"0", "false", "no", "off"})
_UNKNOWN_WORDS = frozenset({"unknown", "null"})
MAX_FIELD_CHARACTERS = 200  # far beyond any finding; longer text is refused by the checks, never cut silently


def _choice(value: Any, *, unknown_allowed: bool = False) -> str:
    """'1', '0', 'unknown' or the text as given (which the form check then refuses with a message)."""
    text = str(value).strip()
    word = text.lower()
    if word in _YES:
        return "1"
    if word in _NO:
        return "0"
    if unknown_allowed and word in _UNKNOWN_WORDS:
        return "unknown"
    return text[:MAX_FIELD_CHARACTERS]


def _form_from(values: Any) -> FormInput:
    ki67 = str(values.get("ki67_percent", ""))
    return FormInput(
        surface_depression=_choice(values.get("surface_depression", "")),
        ki67_percent=ki67[:MAX_FIELD_CHARACTERS],
        ki67_unknown=_choice(values.get("ki67_unknown", "")) == "1" or ki67.strip().lower() in _UNKNOWN_WORDS,
        cga_positive=_choice(values.get("cga_positive", ""), unknown_allowed=True),
    )


def findings_query(form: FormInput) -> str:
    """The findings as a query string, so a link (the other language) keeps what was entered."""
    pairs = [
        (name, value)
        for name, value in (
            ("surface_depression", form.surface_depression),
            ("ki67_percent", "" if form.ki67_unknown else form.ki67_percent),
            ("ki67_unknown", "1" if form.ki67_unknown else ""),
            ("cga_positive", form.cga_positive),
        )
        if value
    ]
    return urlencode(pairs)


def _model(request: Request) -> Model:
    """The model the path names (`/m/{model_id}/…`), else the default; a `?model_id=` query is ignored."""
    return request.app.state.registry.resolve(request.path_params.get("model_id"))


def _common(request: Request, model: Model, lang: str, *, embed: bool) -> dict[str, Any]:
    """What every page shows: language, model identity (the banner), links to this model's pages."""
    base = request.scope.get("root_path", "")
    registry = request.app.state.registry
    return {
        "request": request,
        "t": STRINGS[lang],
        "lang": lang,
        "model": model,
        "source_label": SOURCE_LABELS[lang][model.source],
        "embed": embed,
        "base": base,
        "model_base": base if model.model_id == registry.default_id else f"{base}/m/{model.model_id}",
        "num": format_number,
        "pct": format_percent,
        "risk": format_risk,
        "ki67_text": ki67_text,
        "findings_query": "",
    }


def _interpretation(model: Model, result: PageResult | None, lang: str) -> dict[str, Any] | None:
    """The number in words and as a picture, beside the cohort's observed rate."""
    if result is None:
        return None
    p = result.prediction
    rate = cohort_rate(model)
    return {
        "frequency": frequency_sentence(p.probability, p.ci95, lang),
        "bar": risk_bar_svg(p.probability, p.ci95, rate, lang),
        "cohort": cohort_sentence(rate, lang),
    }


def _about(model: Model, lang: str) -> dict[str, Any]:
    """Who the model is for (with the artifact's ranges) and where its evidence comes from."""
    return {
        "ranges": applicability_lines(model, lang),
        "model_line": evidence_model_line(model, lang, SOURCE_LABELS[lang][model.source]),
        "study": study_line(model, lang),
        "validation": validation_lines(model, lang),
    }


def _context(request: Request, model: Model, lang: str, *, form: FormInput, embed: bool) -> dict[str, Any]:
    """Compute the result once; the templates only display it."""
    findings, errors = (None, {}) if form.is_blank else read_form(form, lang)
    result: PageResult | None = None
    not_applicable = ""
    if findings is not None:
        try:
            result = assess(model, findings, lang)
        except UnknownFindingError as exc:
            errors = {name: needs_finding_message(exc.missing, lang) for name in exc.missing}
        except NotApplicableError as exc:
            not_applicable = not_applicable_message(exc.outside, lang)
    values = None
    if findings is not None:
        values = {name: value for name, value in finding_values(findings).items() if value is not None}
    return {
        "interpretation": _interpretation(model, result, lang),
        "about": _about(model, lang),
        **_common(request, model, lang, embed=embed),
        "form": form,
        "errors": errors,
        "result": result,
        "findings": findings,
        "not_applicable": not_applicable,
        "findings_query": findings_query(form),
        "nomogram": nomogram_svg(model, lang, result.prediction if result else None, values),
        "post_message_origins": " ".join(request.app.state.settings.frame_ancestor_origins) if embed else "",
    }


def _render(
    request: Request, template: str, context: dict[str, Any], status: int = 200, channel: str = "page"
) -> Response:
    response = request.app.state.templates.TemplateResponse(request, template, context, status_code=status)
    model = context["model"]
    response.headers["x-model-id"] = model.model_id
    response.headers["x-model-sha256"] = model.sha256
    result = context.get("result")
    audit = request.app.state.audit
    if audit is not None and result is not None:
        audit.record(channel=channel, model_id=model.model_id, sha256=model.sha256, risk=result.prediction.probability)
    return response


def _calculator(request: Request, model: Model, form: FormInput, lang: str, *, embed: bool) -> Response:
    context = _context(request, model, lang, form=form, embed=embed)
    return _render(request, "embed.html" if embed else "index.html", context, 422 if context["errors"] else 200)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/m/{model_id}/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> Response:
    """Prefilled from the query string as /embed is (e.g. a link from another system or the language switch)."""
    model = _model(request)
    return _calculator(request, model, _form_from(request.query_params), _language(request), embed=False)


@router.post("/", response_class=HTMLResponse, include_in_schema=False)
@router.post("/m/{model_id}/", response_class=HTMLResponse, include_in_schema=False)
async def index_submit(request: Request) -> Response:
    values = await _posted_form(request)
    model = _model(request)
    return _calculator(request, model, _form_from(values), _language(request, values.get("lang")), embed=False)


@router.get("/embed", response_class=HTMLResponse, include_in_schema=False)
@router.get("/m/{model_id}/embed", response_class=HTMLResponse, include_in_schema=False)
def embed(request: Request) -> Response:
    """Prefilled from the query string, e.g. ?surface_depression=1&ki67_percent=5&cga_positive=1."""
    model = _model(request)
    return _calculator(request, model, _form_from(request.query_params), _language(request), embed=True)


@router.post("/embed", response_class=HTMLResponse, include_in_schema=False)
@router.post("/m/{model_id}/embed", response_class=HTMLResponse, include_in_schema=False)
async def embed_submit(request: Request) -> Response:
    values = await _posted_form(request)
    model = _model(request)
    return _calculator(request, model, _form_from(values), _language(request, values.get("lang")), embed=True)


@router.post("/partials/result", response_class=HTMLResponse, include_in_schema=False)
@router.post("/m/{model_id}/partials/result", response_class=HTMLResponse, include_in_schema=False)
async def result_fragment(request: Request) -> Response:
    """The result and nomogram for the script, re-rendered by the page's own templates.

    While a finding is still being entered, messages are shown only for the
    fields the user has touched (`touched`); the result waits for all three.
    The status is 200: the fragment is content, its messages included.
    """
    values = await _posted_form(request)
    lang = _language(request, values.get("lang"))
    model = _model(request)
    context = _context(request, model, lang, form=_form_from(values), embed=values.get("embed") == "1")
    touched = set(values.get("touched", "").split(","))
    context["errors"] = {name: message for name, message in context["errors"].items() if name in touched}
    return _render(request, "_live.html", context, channel="live")


@router.get("/model", response_class=HTMLResponse, include_in_schema=False)
@router.get("/m/{model_id}/model", response_class=HTMLResponse, include_in_schema=False)
def model_card(request: Request) -> Response:
    lang = _language(request)
    model = _model(request)
    context = {
        **_common(request, model, lang, embed=False),
        "charts": model_card_charts(model, lang),
        "perf": model.artifact.performance,
        "extra": model.artifact.performance.model_extra or {},
        "prose": partial(artifact_prose, lang=lang),  # the artifact's English prose in the page's language
        "validation": validation_lines(model, lang),
    }
    return _render(request, "model.html", context)


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request) -> Response:
    """The API reference, rendered from the OpenAPI schema on the server (no CDN assets)."""
    lang = _language(request)
    schema = request.app.openapi()
    # Each operation's summary in the page's language: api.py takes the English summaries from the
    # "api_summary_…" strings, so the English text names its key; one without a key stays English.
    summary_keys = {text: key for key, text in STRINGS["en"].items() if key.startswith("api_summary_")}
    endpoints = [
        {
            "method": method.upper(),
            "path": path,
            "summary": STRINGS[lang].get(summary_keys.get(op.get("summary", ""), ""), op.get("summary", "")),
            "responses": sorted(op.get("responses", {})),
        }
        for path, item in schema["paths"].items()
        for method, op in item.items()
    ]
    cds_request, cds_response = cds_hooks.example(request, lang)
    model = request.app.state.registry.default
    findings = PatientFindings(surface_depression=True, ki67_percent=5, cga_positive=True)
    risk = risk_assessment(model, findings, predict_response(model, findings))
    context = {
        **_common(request, model, lang, embed=False),
        "endpoints": endpoints,
        "findings_schema": schema["components"]["schemas"]["PatientFindings"],
        "cds_request": json.dumps(cds_request, indent=2, ensure_ascii=False),
        "cds_response": json.dumps(cds_response, indent=2, ensure_ascii=False),
        "fhir_response": json.dumps(risk, indent=2, ensure_ascii=False),
    }
    return _render(request, "docs.html", context)
