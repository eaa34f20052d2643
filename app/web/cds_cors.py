"""CORS for the CDS Hooks service, on every answer it gives: cards, OperationOutcomes, 404, 405, 413.

A browser-based EHR can read an answer only if it carries Access-Control-Allow-Origin for the
EHR's origin; an error it cannot read is an error it cannot show.  Errors such as 413 are made by
the outer middleware before any route runs, so the headers are added here, outside them all, and
only for the origins in RNET_CDS_ALLOWED_ORIGINS.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.web.error_pages import for_cds_clients
from app.web.security import ASGIApp, Message, Receive, Scope, Send

EXPOSED_HEADERS = b"Origin, Accept, Content-Location, Location, X-Requested-With"


def allowed_origin(origin: str | None, allowed: Iterable[str]) -> str | None:
    """The request's Origin when it is one of the configured EHR origins, else None."""
    text = (origin or "").strip().rstrip("/")
    return text if text and text in allowed else None


class CdsCorsMiddleware:
    """Adds Vary: Origin to every /cds-services answer, and the CORS headers for configured origins."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not for_cds_clients(scope):
            await self.app(scope, receive, send)
            return
        origin_header = next((bytes(v).decode("latin-1") for k, v in scope["headers"] if k.lower() == b"origin"), None)
        origin = allowed_origin(origin_header, self.allowed)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-allow-origin")
                ]
                names = {k.lower() for k, _ in headers}
                if b"vary" not in names:
                    headers.append((b"vary", b"Origin"))
                if origin is not None:
                    headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
                    headers.append((b"access-control-allow-credentials", b"true"))
                    if b"access-control-expose-headers" not in names:
                        headers.append((b"access-control-expose-headers", EXPOSED_HEADERS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
