"""The application factory: `create_app(settings=None)`.

Each app gets its own settings, model registry and templates, so every test
builds a fresh, isolated app (as Flask's tutorial does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

import app as package
from app.model.artifact import ArtifactError
from app.model.predict import Model
from app.resources import resource_dir
from app.web import api, cds_hooks, pages, static_assets
from app.web.audit import AuditLog
from app.web.cds_cors import CdsCorsMiddleware
from app.web.error_pages import ErrorPages, for_cds_clients, for_machines
from app.web.errors import clinician_messages
from app.web.fhir_outcome import FHIR_JSON, accepts_fhir, outcome_response
from app.web.origin import refuse_cross_site
from app.web.pinning import PIN_VARIABLE, check_expected, check_pinned, read_pin
from app.web.protocol import ProtocolMiddleware
from app.web.security import SecurityMiddleware
from app.web.settings import Settings


@dataclass(frozen=True)
class ModelRegistry:
    """The verified models this server answers with; `default_id` serves `/`.

    Models are chosen by the path (`/m/{model_id}/…`, `/api/v1/models/{model_id}/…`), never by a query
    parameter: a link shows which model it names.
    """

    models: dict[str, Model]
    default_id: str

    @property
    def default(self) -> Model:
        return self.models[self.default_id]

    def resolve(self, model_id: str | None) -> Model:
        """The named model, or the default; an unknown id is a 404 for pages and API alike."""
        if model_id is None:
            return self.default
        if model_id not in self.models:
            raise HTTPException(status_code=404, detail=f"No model '{model_id}' on this server; see /api/v1/models.")
        return self.models[model_id]


# The calculator's form, API schema and nomogram page are built for these findings.
CALCULATOR_PREDICTORS = (("surface_depression", "binary"), ("ki67_percent", "continuous"), ("cga_positive", "binary"))


def check_servable(model: Model, path: object) -> None:
    """Refuse, at start-up, an artifact whose predictors the calculator cannot ask for."""
    found = tuple((p.name, p.kind) for p in model.artifact.predictors)
    if found != CALCULATOR_PREDICTORS:
        raise ArtifactError(
            f"model artifact '{path}' uses the predictors {', '.join(f'{n} ({k})' for n, k in found)}; the web "
            "calculator asks for surface_depression (binary), ki67_percent (continuous) and cga_positive (binary), "
            "in that order. Such an artifact can still be validated and recalibrated from the command line."
        )


def load_registry(settings: Settings) -> ModelRegistry:
    """Load and verify every artifact; raises ArtifactError (the server must not start)."""
    models: dict[str, Model] = {}
    for path in settings.artifact_paths:
        model = Model.from_file(path)
        check_servable(model, path)
        if model.model_id in models and models[model.model_id].sha256 != model.sha256:
            raise ArtifactError(
                f"two different artifacts share the model id '{model.model_id}' ({path}); give each a unique "
                "--model-id so that /m/{model_id}/ names one model."
            )
        models.setdefault(model.model_id, model)
    default_id = next(iter(models))
    registry = ModelRegistry(models=models, default_id=default_id)
    digests = {mid: m.sha256 for mid, m in models.items()}
    check_expected(digests, settings.expected_digests)
    pin = read_pin(os.environ.get(PIN_VARIABLE))
    if pin is not None:  # a worker of `rnet serve`: exactly the models its parent verified
        check_pinned(digests, pin[1])
    return registry


def _open_audit_log(settings: Settings) -> AuditLog | None:
    if settings.audit_log is None:
        return None
    try:
        return AuditLog(settings.audit_log, risk=settings.audit_risk)
    except OSError as exc:
        raise ArtifactError(
            f"RNET_AUDIT_LOG '{settings.audit_log}' cannot be opened for appending: {exc.strerror}."
        ) from None


def _configure_logging(level: str) -> None:
    """Our loggers (the access log) write JSON lines to stderr in every worker process."""
    import logging
    import sys

    logger = logging.getLogger("rnet")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    _configure_logging(settings.log_level)
    registry = load_registry(settings)
    application = FastAPI(
        title="R-NET non-curative resection risk calculator API",
        version=package.__version__,
        description=(
            "Predicted risk of non-curative resection (non-R0 or LVI/PNI) at endoscopic resection of rectal "
            "neuroendocrine tumours ≤20 mm "
            "from surface depression, Ki-67 and CgA. Answers from a demonstration model say so in `model.demonstration` "
            "and `notice`."
        ),
        root_path=settings.root_path,
        docs_url=None,  # FastAPI's docs page loads its assets from a CDN; /docs is served offline instead
        redoc_url=None,
    )
    application.state.settings = settings
    application.state.registry = registry
    application.state.audit = _open_audit_log(settings)
    application.state.templates = Jinja2Templates(directory=str(resource_dir("templates")))
    application.state.compacted_assets = static_assets.load_assets()
    application.include_router(static_assets.router)  # before the mount: these two files are served compacted
    application.mount("/static", StaticFiles(directory=str(resource_dir("static"))), name="static")
    application.include_router(api.router)
    application.include_router(cds_hooks.router)
    application.include_router(pages.router, dependencies=[Depends(refuse_cross_site)])
    errors = ErrorPages(
        environment=application.state.templates.env, app_state=application.state, max_body_bytes=settings.max_body_bytes
    )

    @application.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        messages = clinician_messages(list(exc.errors()))
        if accepts_fhir(request.headers.get("accept")):  # a FHIR client gets its errors as FHIR too
            problems = [(m["field"], m["message"]) for m in messages]
            return outcome_response(422, problems, media_type=FHIR_JSON)
        return JSONResponse(status_code=422, content={"detail": messages})

    @application.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and request.url.path.startswith("/api/"):
            # FastAPI's 400 for a body it cannot decode: bad input like any other, 422 with a readable message.
            detail = [
                {
                    "field": "body",
                    "message": "The request body is not valid JSON text (UTF-8); send an object with the three findings.",
                }
            ]
            if accepts_fhir(request.headers.get("accept")):
                return outcome_response(422, [(d["field"], d["message"]) for d in detail], media_type=FHIR_JSON)
            return JSONResponse(status_code=422, content={"detail": detail})
        if for_cds_clients(request.scope):
            content_type, body = errors.render(request.scope, exc.status_code, detail=str(exc.detail))
            return Response(body, status_code=exc.status_code, media_type=content_type.decode(), headers=exc.headers)
        if for_machines(request.scope):
            return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)
        unknown_model = exc.status_code == 404 and "model_id" in request.path_params
        content_type, body = errors.render(
            request.scope, exc.status_code, text_key="error_text_404_model" if unknown_model else None
        )
        return Response(body, status_code=exc.status_code, media_type=content_type.decode(), headers=exc.headers)

    # Added last is outermost: the security middleware sees every request first (and logs its real method).
    application.add_middleware(ProtocolMiddleware)
    application.add_middleware(
        SecurityMiddleware,
        frame_ancestors=settings.frame_ancestor_origins,
        max_body_bytes=settings.max_body_bytes,
        render_error=errors.for_middleware,
    )
    # Outside even that: the 413 it answers for /cds-services must be readable by an allowed EHR's browser.
    application.add_middleware(CdsCorsMiddleware, allowed=settings.cds_origins)
    return application
