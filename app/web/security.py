"""Security headers, a request-body limit, the last line of defence and an access log without patient values.

Pure ASGI middleware: it wraps every response, including errors and
static files, and costs one dict merge per request.  It is inside
Starlette's own error middleware, so it also catches an unexpected error
itself: the 500 answer then carries the security headers, is logged in the
access log, and the error is logged without the request's values.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (scope, status) → (content type, body): an HTML page in the user's language, or JSON for the API.
ErrorRenderer = Callable[[Scope, int], tuple[bytes, bytes]]

access_log = logging.getLogger("rnet.access")
error_log = logging.getLogger("rnet.error")


def json_error(scope: Scope, status: int) -> tuple[bytes, bytes]:
    """The plain JSON answer, used when no renderer is given."""
    text = {
        413: "The request is larger than this server accepts; a patient's findings are much smaller.",
        500: "The server met an unexpected error and could not answer; it keeps running. Try again, and tell "
        "your IT department if it happens again.",
    }.get(status, "The request could not be answered.")
    return b"application/json", json.dumps({"detail": text}).encode()


def log_unexpected(scope: Scope, exc: BaseException) -> None:
    """The error's type and where it happened, never its message or locals (they may hold findings)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    error_log.error("unexpected %s on %s %s\n%s", type(exc).__name__, scope["method"], scope["path"], frames)


def content_security_policy(frame_ancestors: list[str]) -> str:
    """Everything from our own origin, nothing inline, framing only by the named origins."""
    ancestors = " ".join(["'self'", *frame_ancestors])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )


class SecurityMiddleware:
    """Adds the security headers, refuses oversized bodies with 413, and logs requests.

    The access log records method, path (never the query string, which can
    carry findings in /embed links), status and duration: no patient values.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        frame_ancestors: list[str],
        max_body_bytes: int,
        render_error: ErrorRenderer = json_error,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.render_error = render_error
        self.headers = [
            (b"content-security-policy", content_security_policy(frame_ancestors).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 0}
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"set-cookie"]
                headers += self.headers
                if not is_static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._error(scope, 413, send_with_headers)
        else:
            body_receive = (
                await self._bounded_receive(receive) if scope["method"] in ("POST", "PUT", "PATCH") else receive
            )
            if body_receive is None:
                await self._error(scope, 413, send_with_headers)
            else:
                try:
                    await self.app(scope, body_receive, send_with_headers)
                except Exception as exc:  # noqa: BLE001 - the last line of defence: answer, log, keep running
                    log_unexpected(scope, exc)
                    if status_holder["status"] == 0:
                        await self._error(scope, 500, send_with_headers)
        access_log.info(
            json.dumps(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_holder["status"],
                    "ms": round(1000 * (time.perf_counter() - started), 2),
                }
            )
        )

    async def _bounded_receive(self, receive: Receive) -> Receive | None:
        """Read the whole (small) body first; None when it passes the limit."""
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _error(self, scope: Scope, status: int, send: Send) -> None:
        try:
            content_type, payload = self.render_error(scope, status)
        except Exception as exc:  # noqa: BLE001 - a broken error page must not hide the error
            log_unexpected(scope, exc)
            content_type, payload = json_error(scope, status)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})
