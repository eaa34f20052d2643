"""JSON API: /api/v1/predict, /api/v1/model, /healthz, /readyz."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

import app as package
from app.model.predict import Model, NotApplicableError, OutsideApplicability, UnknownFindingError
from app.web.fhir_outcome import FHIR_JSON, accepts_fhir, outcome_response
from app.web.fhir_risk import risk_assessment
from app.web.i18n import STRINGS
from app.web.schemas import ErrorResponse, ModelIdentity, PatientFindings, RiskPrediction
from app.web.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute)

# The OpenAPI summaries come from the string table, so that /docs can show each in the page's
# language: the key is "api_summary_" + the endpoint function's name; the schema stays English.

DEMONSTRATION_NOTICE = (
    "Demonstration model fitted on synthetic patients, not on the study's data: not for clinical decisions."
)
PUBLISHED_NOTICE = "Model built from published coefficients; see /model for its source and limits."


def notice_for(model: Model) -> str | None:
    if model.is_demonstration:
        return DEMONSTRATION_NOTICE
    if model.source == "published":
        return PUBLISHED_NOTICE
    return None


def identity(model: Model) -> ModelIdentity:
    return ModelIdentity(
        id=model.model_id, sha256=model.sha256, source=model.source, demonstration=model.is_demonstration
    )


def not_applicable_reason(outside: tuple[OutsideApplicability, ...]) -> str:
    """Why no risk is given, in words a clinician recognises (English: the API's language)."""
    reasons = []
    for o in outside:
        if o.name == "ki67_percent" and o.value > o.high:
            reasons.append(
                f"Ki-67 {o.value:g} % is above {o.high:g} %: a grade G3 tumour (WHO), outside the population "
                f"this model was developed for (G1/G2, Ki-67 {o.low:g}–{o.high:g} %). No risk is given."
            )
        else:
            reasons.append(
                f"{o.name} = {o.value:g} is outside {o.low:g}–{o.high:g}, the range this model applies to. "
                "No risk is given."
            )
    return " ".join(reasons)


def predict_response(model: Model, findings: PatientFindings) -> RiskPrediction:
    """The answer for these findings; UnknownFindingError when one is null and the model has no submodel.

    Findings outside the model's population get an answer without a risk (`applicable` false).
    """
    values = {
        "surface_depression": float(findings.surface_depression),
        "ki67_percent": findings.ki67_percent,
        "cga_positive": None if findings.cga_positive is None else float(findings.cga_positive),
    }
    try:
        result = model.predict(values)
    except NotApplicableError as exc:
        missing = tuple(name for name in model.predictor_names if values[name] is None)
        return RiskPrediction(
            applicable=False,
            reason=not_applicable_reason(exc.outside),
            probability=None,
            ci95=None,
            linear_predictor=None,
            points=None,
            total_points=None,
            extrapolation=[],
            missing=list(missing),
            predictors=[name for name in model.predictor_names if name not in missing],
            model=identity(model),
            notice=notice_for(model),
        )
    return RiskPrediction(
        applicable=True,
        reason=None,
        probability=result.probability,
        ci95=result.ci95,
        linear_predictor=result.linear_predictor,
        points=result.points,
        total_points=result.total_points,
        extrapolation=list(result.extrapolated),
        missing=list(result.missing),
        predictors=list(result.predictors),
        model=identity(model),
        notice=notice_for(model),
    )


def _model(request: Request, model_id: str | None = None) -> Model:
    return request.app.state.registry.resolve(model_id)


@router.post(
    "/api/v1/predict",
    response_model=RiskPrediction,
    responses={422: {"model": ErrorResponse, "description": "A finding is missing, malformed or out of range."}},
    summary=STRINGS["en"]["api_summary_predict"],
)
def predict(findings: PatientFindings, request: Request) -> Response:
    return _answer(request, _model(request), findings)


def _answer(request: Request, model: Model, findings: PatientFindings) -> Response:
    """The prediction, with the model's identity in headers and, if enabled, a line in the audit log.

    Built as a RiskPrediction (so the schema holds) and sent as JSON directly: FastAPI would
    otherwise validate the same object a second time on the hot path.  With
    `Accept: application/fhir+json` the same answer goes out as a FHIR RiskAssessment.
    """
    fhir = accepts_fhir(request.headers.get("accept"))
    try:
        answer = predict_response(model, findings)
    except UnknownFindingError as exc:
        if fhir:
            problems = [(name, str(exc)) for name in exc.missing]
            return outcome_response(422, problems, code="required", media_type=FHIR_JSON)
        detail = [{"field": name, "message": str(exc)} for name in exc.missing]
        return JSONResponse(status_code=422, content={"detail": detail})
    audit = request.app.state.audit
    if audit is not None and answer.probability is not None:
        audit.record(channel="api", model_id=model.model_id, sha256=model.sha256, risk=answer.probability)
    if fhir:
        response: Response = JSONResponse(risk_assessment(model, findings, answer), media_type=FHIR_JSON)
    else:
        response = Response(content=answer.model_dump_json(), media_type="application/json")
    identify(response, model)
    return response


def identify(response: Response, model: Model) -> None:
    response.headers["x-model-id"] = model.model_id
    response.headers["x-model-sha256"] = model.sha256
    response.headers["x-app-version"] = package.__version__


def model_public(model: Model) -> dict[str, Any]:
    """The artifact's public metadata: everything but the covariance matrix's raw use is public anyway."""
    data = model.artifact.model_dump(mode="json")
    return {
        "id": model.model_id,
        "sha256": model.sha256,
        "source": model.source,
        "demonstration": model.is_demonstration,
        "notice": notice_for(model),
        "app_version": package.__version__,
        **{k: data[k] for k in ("title", "outcome", "predictors", "coefficients", "covariance", "covariance_order",
                                "coefficient_table", "performance", "nomogram", "provenance")},
    }  # fmt: skip


@router.post(
    "/api/v1/models/{model_id}/predict",
    response_model=RiskPrediction,
    responses={
        404: {"model": ErrorResponse, "description": "No model with this id on this server."},
        422: {"model": ErrorResponse, "description": "A finding is missing, malformed or out of range."},
    },
    summary=STRINGS["en"]["api_summary_predict_with"],
)
def predict_with(model_id: str, findings: PatientFindings, request: Request) -> Response:
    return _answer(request, _model(request, model_id), findings)


@router.get("/api/v1/model", summary=STRINGS["en"]["api_summary_model_metadata"])
def model_metadata(request: Request, response: Response) -> dict[str, Any]:
    model = _model(request)
    identify(response, model)
    return model_public(model)


@router.get("/api/v1/models", summary=STRINGS["en"]["api_summary_models"])
def models(request: Request) -> dict[str, Any]:
    registry = request.app.state.registry
    return {
        "default": registry.default_id,
        "models": [
            {**identity(m).model_dump(), "title": m.artifact.title, "created_at": m.artifact.provenance.created_at}
            for m in registry.models.values()
        ],
    }


@router.get(
    "/api/v1/models/{model_id}",
    summary=STRINGS["en"]["api_summary_named_model_metadata"],
    responses={404: {"model": ErrorResponse, "description": "No model with this id on this server."}},
)
def named_model_metadata(model_id: str, request: Request) -> dict[str, Any]:
    return model_public(_model(request, model_id))


@router.get("/healthz", summary=STRINGS["en"]["api_summary_healthz"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary=STRINGS["en"]["api_summary_readyz"])
def readyz(request: Request) -> dict[str, Any]:
    registry = request.app.state.registry
    return {"status": "ready", "models": {mid: m.sha256 for mid, m in registry.models.items()}}
