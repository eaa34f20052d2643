"""`rnet serve`: verify the artifact, then run uvicorn."""

from __future__ import annotations

import os
import sys
from typing import Any

from pydantic import ValidationError

from app.errors import UserInputError

# On SIGTERM the server stops accepting and lets in-flight requests finish for up to this long.
GRACEFUL_SHUTDOWN_SECONDS = 20


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

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "artifact": artifact}.items() if v is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise UserInputError(_settings_error(exc)) from None
    application = create_app(settings)  # raises ArtifactError before anything listens
    model = application.state.registry.default
    print(
        f"serving model {model.model_id} ({model.source}, sha256 {model.sha256[:16]}…) "
        f"on http://{settings.host}:{settings.port}{settings.root_path}/",
        file=sys.stderr,
    )
    # Workers build their own app from the environment, so command-line choices travel there too.
    for name, value in overrides.items():
        os.environ[f"RNET_{name.upper()}"] = str(value)
    uvicorn.run(
        "app.web.application:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # our own access log leaves out query strings (they may carry findings)
        root_path=settings.root_path,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0
