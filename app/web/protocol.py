"""HTTP details the framework leaves open: HEAD wherever GET works, and redirects that stay relative.

FastAPI routes declared for GET answer HEAD with 405, although HTTP says a
HEAD is a GET without the body (load balancers and monitors send it).  And
Starlette's trailing-slash redirect builds an absolute URL from the request's
Host header, so a forged Host (`Host: evil.example`) came back as
`Location: http://evil.example/embed`.  Every redirect we send stays on this
server, so its Location is reduced to the path and query.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.web.security import ASGIApp, Message, Receive, Scope, Send


def relative_location(location: bytes) -> bytes:
    """`http://any.host/rnet/embed?x=1` → `/rnet/embed?x=1`; a relative location is kept as it is."""
    text = location.decode("latin-1")
    parts = urlsplit(text)
    if not parts.scheme and not parts.netloc:
        return location
    relative = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if relative.startswith("//"):  # "//evil.example" would be read as another host
        relative = "/" + relative.lstrip("/")
    return relative.encode("latin-1")


class ProtocolMiddleware:
    """Serves HEAD as GET without the body, and makes every Location header relative."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def send_adjusted(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, relative_location(v) if k.lower() == b"location" else v) for k, v in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_adjusted)
