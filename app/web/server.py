"""`rnet serve`: verify the artifacts once, pin their digests for the workers, then run uvicorn."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from pydantic import ValidationError

from app.errors import UserInputError
from app.web.pinning import PIN_VARIABLE, check_pinned, pin_text, read_pin

# On SIGTERM the server stops accepting and lets in-flight requests finish for up to this long.
GRACEFUL_SHUTDOWN_SECONDS = 20
# uvicorn's exit code for a worker that failed before serving: its supervisor then stops the server
# instead of restarting the worker for ever.
WORKER_STARTUP_FAILURE = 3
EXIT_USER = 2


def _settings_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = "RNET_" + str(error["loc"][0]).upper() if error["loc"] else "RNET_*"
        problems.append(f"{name}: {error['msg']}")
    return "invalid setting(s): " + "; ".join(problems)


def serve(*, host: str | None, port: int | None, artifact: str | None) -> int:
    """Start the server; refuse (exit 2) on bad settings or an artifact that fails verification.

    The artifacts are verified here, once; the workers get the digests found and refuse other bytes, so
    a file replaced while the server runs can never answer beside the old one under the same model id.
    """
    import uvicorn

    from app.web.application import create_app
    from app.web.connections import KEEP_ALIVE_SECONDS, MAX_HEADER_BYTES, HeaderDeadlineH11Protocol
    from app.web.settings import Settings

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "artifact": artifact}.items() if v is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise UserInputError(_settings_error(exc)) from None
    application = create_app(settings)  # raises ArtifactError before anything listens
    pinned = {mid: m.sha256 for mid, m in application.state.registry.models.items()}
    model = application.state.registry.default
    print(
        f"serving model {model.model_id} ({model.source}, sha256 {model.sha256[:16]}…) "
        f"on http://{settings.host}:{settings.port}{settings.root_path}/",
        file=sys.stderr,
    )
    # Workers build their own app from the environment, so command-line choices travel there too.
    for name, value in overrides.items():
        os.environ[f"RNET_{name.upper()}"] = str(value)
    os.environ[PIN_VARIABLE] = pin_text(pinned, parent_pid=os.getpid())
    uvicorn.run(
        "app.web.server:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # our own access log leaves out query strings (they may carry findings)
        root_path=settings.root_path,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=HeaderDeadlineH11Protocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    return _exit_code_after_stop(settings, pinned)


def _exit_code_after_stop(settings: Any, pinned: dict[str, str]) -> int:
    """0 after an ordinary stop; 2 when the artifacts no longer hold the verified bytes (a worker refused)."""
    from app.web.application import load_registry

    try:
        found = {mid: m.sha256 for mid, m in load_registry(settings).models.items()}
        check_pinned(found, pinned)
    except UserInputError as exc:
        print(f"error: the server stopped: {exc}", file=sys.stderr)
        return EXIT_USER
    return 0


def worker_app() -> Any:
    """The app of one uvicorn worker; a refusal is one message on stderr, never a traceback.

    A worker in its own process exits with uvicorn's start-up failure code and asks the parent to stop, so
    the server stops being ready instead of answering from two different files.
    """
    from app.web.application import create_app

    try:
        return create_app()
    except (UserInputError, ValidationError) as exc:
        message = _settings_error(exc) if isinstance(exc, ValidationError) else str(exc)
        print(f"error: {message}", file=sys.stderr, flush=True)
        pin = read_pin(os.environ.get(PIN_VARIABLE))
        if pin is not None and pin[0] != os.getpid():
            if os.getppid() == pin[0]:
                os.kill(pin[0], signal.SIGTERM)
            raise SystemExit(WORKER_STARTUP_FAILURE) from None
        raise SystemExit(EXIT_USER) from None
