"""CDS Hooks 2.0 service: the calculator inside the health record (https://cds-hooks.org).

`GET /cds-services` tells the EHR which Observations to prefetch (one query per finding, with the
codes from the settings); `POST /cds-services/rnet-non-curative-risk` reads them and answers one
card with the risk as the page shows it and a link to /embed prefilled with the same findings.
The prediction is the page's own (`assess`), so card, page and API can never disagree.

Requests are read as strictly as the API's: duplicated keys, deep nesting and anything malformed
get 400 with an OperationOutcome naming what is wrong (never the patient's values).  Browser-based
EHRs may call it only from the origins in RNET_CDS_ALLOWED_ORIGINS (CORS); a POST that a browser
says comes from any other site is refused with 403, as the pages' forms are.  Nothing about the
patient is logged: the access log has the path, the audit log the model and the risk.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from app.model.predict import Model, NotApplicableError, OutsideApplicability
from app.web.api import identify
from app.web.cds_cors import allowed_origin
from app.web.fhir_observations import Kind, ObservationError, Reading, read_finding
from app.web.fhir_outcome import outcome_response
from app.web.i18n import STRINGS, choose_language, format_risk
from app.web.origin import is_foreign
from app.web.pages import findings_query
from app.web.results import Findings, FormInput, PageResult, assess, needs_finding_message, not_applicable_message
from app.web.strict_json import StrictJSONError, strict_loads

SERVICE_ID = "rnet-non-curative-risk"
HOOK = "patient-view"
FINDINGS: dict[str, Kind] = {"surface_depression": "boolean", "ki67_percent": "percent", "cga_positive": "boolean"}
SUMMARY_LIMIT = 140  # CDS Hooks: a card's summary "SHALL be less than 140 characters"
JSON_TYPES = frozenset({"application/json", "application/fhir+json"})
PREFLIGHT_MAX_AGE = "600"

router = APIRouter()


class HookContext(BaseModel):
    """patient-view's context: the patient whose record is open (userId and encounterId are not needed)."""

    model_config = ConfigDict(extra="allow")
    patientId: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]+$")  # a FHIR id


class HookRequest(BaseModel):
    """The standard CDS Hooks request; fields this service does not use (fhirServer, …) are allowed."""

    model_config = ConfigDict(extra="allow")
    hookInstance: StrictStr = Field(min_length=1, max_length=200)
    hook: StrictStr
    context: HookContext
    prefetch: dict[str, Any] | None = None


class CardSource(BaseModel):
    label: str
    url: str | None = None


class CardLink(BaseModel):
    label: str
    url: str
    type: Literal["absolute"] = "absolute"


class Card(BaseModel):
    summary: str = Field(max_length=SUMMARY_LIMIT)
    risk: float | None = Field(default=None, exclude=True)  # for the audit log only, never sent
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    detail: str | None = None
    links: list[CardLink] = []


class CardsResponse(BaseModel):
    cards: list[Card]


# ---------------------------------------------------------------- CORS and Origin


def _allowed_origin(request: Request) -> str | None:
    """The request's Origin when it is one of RNET_CDS_ALLOWED_ORIGINS (CORS headers: app/web/cds_cors.py)."""
    return allowed_origin(request.headers.get("origin"), request.app.state.settings.cds_origins)


def _foreign(request: Request) -> bool:
    """A browser request from another site that is not a configured EHR origin."""
    if _allowed_origin(request) is not None:
        return False
    hosts = [request.headers.get("host", ""), *request.headers.get("x-forwarded-host", "").split(",")[:1]]
    return is_foreign(
        origin=request.headers.get("origin"), fetch_site=request.headers.get("sec-fetch-site"), hosts=hosts
    )


@router.options("/cds-services", include_in_schema=False)
def discovery_preflight(request: Request) -> Response:
    return _preflight(request, "GET, OPTIONS")


@router.options(f"/cds-services/{SERVICE_ID}", include_in_schema=False)
def service_preflight(request: Request) -> Response:
    return _preflight(request, "POST, OPTIONS")


def _preflight(request: Request, methods: str) -> Response:
    """The browser's CORS preflight: granted to configured origins only."""
    if request.headers.get("origin") and _allowed_origin(request) is None:
        refused = outcome_response(403, [("", "This origin is not allowed to call the service.")], code="forbidden")
        return refused
    response = Response(status_code=204, headers={"allow": methods})
    if _allowed_origin(request) is not None:
        response.headers["access-control-allow-methods"] = methods
        response.headers["access-control-allow-headers"] = "Authorization, Content-Type"
        response.headers["access-control-max-age"] = PREFLIGHT_MAX_AGE
    return response


# ---------------------------------------------------------------- discovery


def prefetch_templates(codes: dict[str, tuple[str, str]]) -> dict[str, str]:
    """One FHIR search per finding, keyed by the finding's name."""
    return {
        name: f"Observation?patient={{{{context.patientId}}}}&code={system}|{code}"
        for name, (system, code) in codes.items()
    }


@router.get("/cds-services", summary=STRINGS["en"]["api_summary_discovery"])
def discovery(request: Request) -> Response:
    settings = request.app.state.settings
    service = {
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": "R-NET non-curative resection risk",
        "description": (
            "Risk that endoscopic resection of a rectal neuroendocrine tumour ≤20 mm is non-curative (non-R0 or LVI/PNI), "
            "from surface depression, Ki-67 and chromogranin A recorded as Observations."
        ),
        "prefetch": prefetch_templates(settings.fhir_codes),
        "usageRequirements": "Send the three prefetch searches; the service does not query the FHIR server itself.",
    }
    return JSONResponse({"services": [service]})


# ---------------------------------------------------------------- invocation


def _bad_request(request: Request, status: int, problems: list[tuple[str, str]], code: str = "invalid") -> Response:
    return outcome_response(status, problems, code=code)


def _pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Where and what, never the input (it may hold patient data)."""
    return [(".".join(str(p) for p in error["loc"]) or "body", error["msg"]) for error in exc.errors()]


_OUTCOME = {
    "application/json": {"schema": {"type": "object", "properties": {"resourceType": {"const": "OperationOutcome"}}}}
}


@router.post(
    f"/cds-services/{SERVICE_ID}",
    summary=STRINGS["en"]["api_summary_invoke"],
    response_model=CardsResponse,
    responses={
        400: {"description": "Malformed request, Bundle or Observation (an OperationOutcome naming it).", "content": _OUTCOME},
        403: {"description": "A browser request from a site not in RNET_CDS_ALLOWED_ORIGINS.", "content": _OUTCOME},
        413: {"description": "The body is larger than RNET_MAX_BODY_BYTES.", "content": _OUTCOME},
        415: {"description": "The body is not application/json.", "content": _OUTCOME},
    },
    # The body is read by the service itself (strictly, with FHIR-shaped errors); this documents its shape.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["hookInstance", "hook", "context"],
                "properties": {
                    "hookInstance": {"type": "string"},
                    "hook": {"type": "string", "enum": [HOOK]},
                    "context": {"type": "object", "required": ["patientId"], "properties": {"patientId": {"type": "string"}}},
                    "prefetch": {
                        "type": ["object", "null"],
                        "description": "FHIR Bundles of Observations, keyed as in GET /cds-services",
                    },
                },
            }}},
        }
    },
)  # fmt: skip
async def invoke(request: Request) -> Response:
    if _foreign(request):
        return _bad_request(request, 403, [("", "Requests from pages on other websites are refused.")], "forbidden")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        return _bad_request(
            request, 415, [("", "Send the request as Content-Type: application/json.")], "not-supported"
        )
    try:
        body = strict_loads(await request.body())
    except StrictJSONError as exc:
        return _bad_request(request, 400, [("body", str(exc))], "structure")
    if not isinstance(body, dict):
        return _bad_request(request, 400, [("body", "must be a JSON object (a CDS Hooks request)")], "structure")
    try:
        hook = HookRequest.model_validate(body)
    except ValidationError as exc:
        return _bad_request(request, 400, _pydantic_problems(exc))
    if hook.hook != HOOK:
        return _bad_request(request, 400, [("hook", f"this service answers the '{HOOK}' hook only")])
    model: Model = request.app.state.registry.default
    lang = choose_language(None, request.headers.get("accept-language"), request.app.state.settings.default_language)
    if hook.prefetch is None:
        card: Card | None = _no_prefetch_card(request, model, lang)
    else:
        try:
            readings = _read_prefetch(hook.prefetch, request.app.state.settings.fhir_codes, hook.context.patientId)
            sent = {k for k in FINDINGS if hook.prefetch.get(k) is not None}
            # Nothing of the three in the record (most charts opened on patient-view): no guidance, so no card,
            # as CDS Hooks asks, rather than a card on every chart.
            card = (
                None if all(r is None for r in readings.values()) else _card(request, model, lang, readings, sent=sent)
            )
        except ObservationError as exc:
            return _bad_request(request, 400, [(exc.where, exc.message)])
        if card is not None and card.risk is not None:
            _audit(request, model, card.risk)
    cards = [] if card is None else [card]
    response = JSONResponse(CardsResponse(cards=cards).model_dump(mode="json", exclude_none=True))
    identify(response, model)
    return response


@router.post("/cds-services/{service_id}", include_in_schema=False)
def unknown_service(service_id: str, request: Request) -> Response:
    """Any other id: 404 (not the 405 the preflight route's path would otherwise give)."""
    return _bad_request(request, 404, [("", f"This server offers the CDS service '{SERVICE_ID}' only.")], "not-found")


def _read_prefetch(
    prefetch: dict[str, Any], codes: dict[str, tuple[str, str]], patient_id: str
) -> dict[str, Reading | None]:
    """Each finding from its prefetched Bundle (a key absent or null: the EHR could not send it)."""
    readings: dict[str, Reading | None] = {}
    for name, kind in FINDINGS.items():
        bundle = prefetch.get(name)
        readings[name] = (
            None
            if bundle is None
            else read_finding(bundle, where=f"prefetch.{name}", code=codes[name], kind=kind, patient_id=patient_id)
        )
    return readings


# ---------------------------------------------------------------- cards


def _source(request: Request, model: Model, lang: str) -> CardSource:
    text = STRINGS[lang]
    label = text["cds_source_label"].format(model=model.model_id, sha=model.sha256[:12])
    if model.is_demonstration:
        label += text["summary_separator"] + text["caveat_demo"]
    elif model.source == "published":
        label += text["summary_separator"] + text["caveat_published"]
    return CardSource(label=label, url=f"{_public_base(request)}model")


def _public_base(request: Request) -> str:
    """Where clinicians reach the calculator: RNET_PUBLIC_URL, else the address this request came to.

    The card's links are absolute and opened by the clinician's browser, not by the EHR's server that
    called us; behind a proxy that rewrites Host, only the setting gives the right address.
    """
    public = request.app.state.settings.public_url
    return f"{public}/" if public else str(request.base_url)


def _link(request: Request, form: FormInput, label: str) -> list[CardLink]:
    query = findings_query(form)
    return [CardLink(label=label, url=f"{_public_base(request)}embed" + (f"?{query}" if query else ""))]


def _below(reading: Reading) -> str:
    return "<" if reading.comparator in ("<", "<=") else ""


def _ki67_limit_outside(model: Model, reading: Reading) -> OutsideApplicability:
    """A Ki-67 recorded only as more than a limit: outside the model's population if every value it allows is.

    Raises ObservationError when the limit leaves the value open inside the population (e.g. "> 5 %"):
    no number can be put on that, and the page would need the measured value too.
    """
    spec = next(s for s in model.artifact.predictors if s.name == "ki67_percent")
    limit = reading.value
    if spec.applicable_range is not None:
        low, high = spec.applicable_range
        if limit >= high if reading.comparator == ">" else limit > high:
            # "> 20" lies above 20 however little: the value just above the limit (shown as "20") says so.
            above = math.nextafter(limit, math.inf) if reading.comparator == ">" else limit
            return OutsideApplicability("ki67_percent", above, low, high)
    raise ObservationError(
        "prefetch.ki67_percent",
        f"the most recent Ki-67 is recorded only as {reading.comparator} {limit:g} %, a limit that leaves the "
        "value open within the model's range; record the measured value",
    )


def _form(readings: dict[str, Reading | None]) -> FormInput:
    """The findings as the page's query string reads them (unknown Ki-67/CgA: 'unknown')."""
    dep, ki67, cga = (readings[name] for name in FINDINGS)
    return FormInput(
        surface_depression="" if dep is None else str(int(dep.value)),
        # Plain decimals the page's Ki-67 reader takes ("0.00001", never "1e-05"), without float noise; a limit
        # below ("<1") as the page writes it, so the page reads it the same way (half the limit).
        ki67_percent="" if ki67 is None else _below(ki67) + f"{ki67.value:.10f}".rstrip("0").rstrip("."),
        ki67_unknown=ki67 is None,
        cga_positive="unknown" if cga is None else str(int(cga.value)),
    )


def _shown(name: str, reading: Reading | None, sent: set[str], lang: str) -> str:
    text = STRINGS[lang]
    if name not in sent:
        return text["cds_not_sent"]
    if reading is None:
        return text["cds_not_found"]
    if name == "ki67_percent":
        value = f"{reading.value:g} %"
        if reading.fraction is not None:
            value += text["cds_converted"].format(fraction=f"{reading.fraction:g}", percent=value)
        if reading.comparator is not None:
            value = f"{reading.comparator} {value}"
        if _below(reading):
            value += text["cds_read_as_half"].format(value=f"{reading.value / 2:g}")
    else:
        value = text[
            ("positive" if reading.value else "negative")
            if name == "cga_positive"
            else ("yes" if reading.value else "no")
        ]
    where = [part for part in (reading.observation_id, reading.recorded) if part]
    return value + (text["cds_observation"].format(where=text["cds_list_separator"].join(where)) if where else "")


def _findings_markdown(readings: dict[str, Reading | None], sent: set[str], lang: str) -> str:
    text = STRINGS[lang]
    lines = [f"**{text['cds_findings_heading']}**", ""]
    lines += [f"- {_label(name, lang)}{_shown(name, readings[name], sent, lang)}" for name in FINDINGS]
    return "\n".join(lines)


def _short(summary: str) -> str:
    return summary if len(summary) < SUMMARY_LIMIT else summary[: SUMMARY_LIMIT - 2] + "…"


def _card(request: Request, model: Model, lang: str, readings: dict[str, Reading | None], *, sent: set[str]) -> Card:
    text = STRINGS[lang]
    form = _form(readings)
    findings_md = _findings_markdown(readings, sent, lang)
    missing = tuple(name for name in FINDINGS if readings[name] is None)
    if readings["surface_depression"] is None or not model.can_leave_out(missing):
        # Name only what the model cannot do without (surface depression, for the demo), not every gap.
        needed = tuple(name for name in missing if not model.can_leave_out((name,))) or missing
        return Card(
            summary=_short(text["cds_summary_needs"].format(findings=_listed(needed, lang))),
            indicator="info",
            source=_source(request, model, lang),
            detail=needs_finding_message(needed, lang) + "\n\n" + findings_md,
            links=_link(request, form, text["cds_link_enter"]),
        )
    dep, ki67, cga = (readings[name] for name in FINDINGS)
    if ki67 is not None and ki67.comparator in (">", ">="):
        return _not_applicable_card(request, model, lang, (_ki67_limit_outside(model, ki67),), form, findings_md)
    below = ki67 is not None and bool(_below(ki67))
    findings = Findings(
        surface_depression=int(dep.value) if dep else 0,  # never None here (checked above)
        ki67_percent=None if ki67 is None else (ki67.value / 2 if below else ki67.value),  # "<1" as the page: 0.5
        cga_positive=None if cga is None else int(cga.value),
        ki67_bound=ki67.value if ki67 is not None and below else None,
    )
    try:
        result = assess(model, findings, lang)
    except NotApplicableError as exc:
        return _not_applicable_card(request, model, lang, exc.outside, form, findings_md)
    return _risk_card(request, model, lang, result, form, findings_md)


def _not_applicable_card(
    request: Request,
    model: Model,
    lang: str,
    outside: tuple[OutsideApplicability, ...],
    form: FormInput,
    findings_md: str,
) -> Card:
    text = STRINGS[lang]
    return Card(
        summary=_short(text["cds_summary_not_applicable"]),
        indicator="warning",
        source=_source(request, model, lang),
        detail=not_applicable_message(outside, lang) + "\n\n" + findings_md,
        links=_link(request, form, text["cds_link_open"]),
    )


def _risk_card(
    request: Request, model: Model, lang: str, result: PageResult, form: FormInput, findings_md: str
) -> Card:
    text = STRINGS[lang]
    p = result.prediction
    summary = text["cds_summary"].format(
        risk=format_risk(p.probability), lo=format_risk(p.ci95[0]), hi=format_risk(p.ci95[1])
    )
    if p.missing:
        summary += text["summary_without"].format(findings=_listed(p.missing, lang))
    # Many EHRs show only the summary: what qualifies the number travels with it (at most 134 characters).
    if p.extrapolated:
        summary += text["cds_tag_extrapolated"]
    if model.is_demonstration:
        summary += text["cds_tag_demo"]
    parts = [findings_md, *(m for m in (result.answered_by, *result.extrapolation_messages) if m)]
    if model.is_demonstration:
        parts.append(text["label_colon"].format(label=f"**{text['demo_banner_title']}**") + text["demo_banner"])
    parts.append(text["label_colon"].format(label=text["cds_summary_line"]) + result.summary)
    return Card(
        summary=_short(summary),
        indicator="warning" if p.extrapolated else "info",
        source=_source(request, model, lang),
        detail="\n\n".join(parts),
        links=_link(request, form, text["cds_link_open"]),
        risk=p.probability,
    )


def _no_prefetch_card(request: Request, model: Model, lang: str) -> Card:
    text = STRINGS[lang]
    queries = prefetch_templates(request.app.state.settings.fhir_codes)
    needed = "\n".join(f"- {_label(name, lang)}`{query}`" for name, query in queries.items())
    return Card(
        summary=_short(text["cds_summary_no_prefetch"]),
        indicator="info",
        source=_source(request, model, lang),
        detail=text["cds_no_prefetch"] + "\n\n" + needed,
        links=_link(request, FormInput(), text["cds_link_enter"]),
    )


def _label(name: str, lang: str) -> str:
    """'Ki-67 index: ' or 'Ki-67 指数：' (each language's own colon)."""
    text = STRINGS[lang]
    return text["label_colon"].format(label=text[name])


def _listed(names: tuple[str, ...], lang: str) -> str:
    text = STRINGS[lang]
    return (" 和 " if lang == "zh" else " and ").join(text[name] for name in names)


def _audit(request: Request, model: Model, risk: float) -> None:
    audit = request.app.state.audit
    if audit is not None:
        audit.record(channel="cds", model_id=model.model_id, sha256=model.sha256, risk=risk)


def example(request: Request, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A complete request and the answer this server gives it, for /docs (computed, so never out of date)."""
    system, code = request.app.state.settings.fhir_codes["ki67_percent"]
    ki67 = {
        "resourceType": "Observation",
        "id": "ki67-1",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/123"},
        "effectiveDateTime": "2024-03-01T09:30:00+08:00",
        "valueQuantity": {"value": 5, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
    }
    booleans: dict[str, dict[str, Any]] = {}
    for name, value in (("surface_depression", True), ("cga_positive", True)):
        system, code = request.app.state.settings.fhir_codes[name]
        booleans[name] = {
            **ki67,
            "id": f"{name.split('_')[0]}-1",
            "code": {"coding": [{"system": system, "code": code}]},
        }
        del booleans[name]["valueQuantity"]
        booleans[name]["valueBoolean"] = value
    prefetch = {
        name: {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": resource}]}
        for name, resource in (("surface_depression", booleans["surface_depression"]), ("ki67_percent", ki67),
                               ("cga_positive", booleans["cga_positive"]))
    }  # fmt: skip
    body = {
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "hook": HOOK,
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {"userId": "Practitioner/example", "patientId": "123"},
        "prefetch": prefetch,
    }
    readings = _read_prefetch(prefetch, request.app.state.settings.fhir_codes, "123")
    card = _card(request, request.app.state.registry.default, lang, readings, sent=set(FINDINGS))
    return body, CardsResponse(cards=[card]).model_dump(mode="json", exclude_none=True)
