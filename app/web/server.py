"""`rnet serve`: verify the artifact, then run uvicorn."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from app.errors import UserInputError


def _settings_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = "RNET_" + str(error["loc"][0]).upper() if error["loc"] else "RNET_*"
        problems.append(f"{name}: {error['msg']}")
    return "invalid setting(s): " + "; ".join(problems)


def serve(*, host: str | None, port: int | None, artifact: str | None) -> int:
    """Start the server; refuse (exit 2) on bad settings or an artifact that fails verification."""
    import uvicorn

    from app.web.application import create_app
    from app.web.settings import Settings

    overrides = {k: v for k, v in {"host": host, "port": port, "artifact": artifact}.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise UserInputError(_settings_error(exc)) from None
    application = create_app(settings)  # raises ArtifactError before anything listens
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr)
    model = application.state.registry.default
    print(
        f"serving model {model.model_id} ({model.source}, sha256 {model.sha256[:16]}…) "
        f"on http://{settings.host}:{settings.port}{settings.root_path}/",
        file=sys.stderr,
    )
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # our own access log leaves out query strings (they may carry findings)
        root_path=settings.root_path,
        proxy_headers=True,
    )
    return 0
