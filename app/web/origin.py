"""Cross-site requests to the pages' forms are refused before anything is computed or recorded.

A page on another website can make a visitor's browser POST the calculator's
form (`/`, `/embed`, `/partials/result` and their `/m/{id}/` variants).  The
browser then hides the answer from that page, but the server would still
compute it and write an audit line.  The browser says where a request comes
from: `Sec-Fetch-Site` (modern browsers) and `Origin` (sent with every
POST).  Refused, with 403:

- `Sec-Fetch-Site: cross-site` or `same-site` (another site, or a sibling
  host of this one);
- an `Origin` whose host and port are not this server's (the `Host` header,
  or `X-Forwarded-Host` set by a reverse proxy; a browser page cannot set
  either on a cross-site form post).

Accepted: same-origin posts, and posts without `Origin` or with
`Origin: null` (which our own pages send, since they use
`Referrer-Policy: no-referrer`) unless `Sec-Fetch-Site` says cross-site.

The JSON API (`/api/v1/…`) is for programs and is not checked here: it only
accepts `Content-Type: application/json`, which a page on another site can
send only after a CORS preflight that this server never grants.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_port(authority: str, scheme: str) -> tuple[str, int] | None:
    """('host', port) of a Host header value, with the scheme's default port; None when malformed."""
    try:
        parts = urlsplit(f"{scheme}://{authority.strip()}")
        host = parts.hostname
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    return (host, port) if host else None


def is_foreign(*, origin: str | None, fetch_site: str | None, hosts: list[str]) -> bool:
    """True when the browser says the request comes from another site than one of `hosts`."""
    if fetch_site is not None and fetch_site.strip().lower() in FOREIGN_FETCH_SITES:
        return True
    if origin is None or origin.strip() == "null":
        return False
    try:
        parts = urlsplit(origin.strip())
        scheme = parts.scheme.lower()
        claimed = (parts.hostname, parts.port or DEFAULT_PORTS.get(scheme, 0))
    except ValueError:
        return True
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return True
    return all(_host_port(host, scheme) != claimed for host in hosts if host)


async def refuse_cross_site(request: Request) -> None:
    """Router dependency for the pages: 403 for a state-changing request from another site."""
    if request.method in SAFE_METHODS:
        return
    hosts = [request.headers.get("host", ""), *request.headers.get("x-forwarded-host", "").split(",")[:1]]
    if is_foreign(origin=request.headers.get("origin"), fetch_site=request.headers.get("sec-fetch-site"), hosts=hosts):
        raise HTTPException(status_code=403, detail="Requests from pages on other websites are refused.")
