"""Error answers in the asker's language and format.

A person who followed a link or sent the calculator's form gets an HTML page
in the page's language (`?lang=` or Accept-Language, as every page); a
program calling the API (`/api/…`, the health checks, the schema) keeps
getting JSON.  Both are rendered here so the middleware (413, 500) and the
exception handlers (403, 404, 405) answer alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment

from app.web.fhir_outcome import operation_outcome
from app.web.i18n import SOURCE_LABELS, STRINGS, choose_language

Scope = Mapping[str, Any]

# Paths whose clients are programs: they get JSON errors, as they always did.
MACHINE_PATHS = ("/api/", "/healthz", "/readyz", "/openapi.json", "/cds-services")
PAGE_STATUSES = (403, 404, 405, 413, 500)
# FHIR issue-type codes for the statuses an EHR can meet outside the service's own answers.
_ISSUE_CODES = {403: "forbidden", 404: "not-found", 405: "not-supported", 413: "too-costly", 500: "exception"}

API_TEXT = {
    403: "Requests from pages on other websites are refused.",
    404: "There is nothing at this address.",
    405: "This address does not accept this kind of request.",
    500: "The server met an unexpected error and could not answer; it keeps running. Try again, and tell "
    "your IT department if it happens again.",
}


def _app_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


def for_machines(scope: Scope) -> bool:
    """True for the API and the operational endpoints (JSON), False for pages (HTML)."""
    return _app_path(scope).startswith(MACHINE_PATHS)


def for_cds_clients(scope: Scope) -> bool:
    """True for the CDS Hooks service, whose clients (EHRs) read errors as FHIR OperationOutcomes."""
    return _app_path(scope).startswith("/cds-services")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class ErrorPages:
    """Renders error answers for one app (its templates, settings and default model)."""

    def __init__(self, *, environment: Environment, app_state: Any, max_body_bytes: int) -> None:
        self.environment = environment
        self.state = app_state
        self.max_body_bytes = max_body_bytes

    def language(self, scope: Scope) -> str:
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
        lang = query.get("lang", [])
        return choose_language(
            lang[0] if lang else None, _header(scope, b"accept-language"), self.state.settings.default_language
        )

    def render(
        self, scope: Scope, status: int, *, detail: str | None = None, text_key: str | None = None
    ) -> tuple[bytes, bytes]:
        """(content type, body) for this status: JSON for machines, the error page for people."""
        if for_cds_clients(scope):
            text = detail or (
                f"The request is larger than {self.max_body_bytes} bytes (RNET_MAX_BODY_BYTES)."
                if status == 413
                else API_TEXT.get(status, "The request could not be answered.")
            )
            return b"application/json", json.dumps(
                operation_outcome([("", text)], code=_ISSUE_CODES.get(status, "exception"))
            ).encode()
        if for_machines(scope):
            if detail is None:
                detail = (
                    f"The request is larger than {self.max_body_bytes} bytes; a patient's findings are much smaller."
                    if status == 413
                    else API_TEXT.get(status, "The request could not be answered.")
                )
            return b"application/json", json.dumps({"detail": detail}).encode()
        lang = self.language(scope)
        t = STRINGS[lang]
        key = str(status) if status in PAGE_STATUSES else ""
        model = self.state.registry.default
        base = scope.get("root_path", "")
        context = {
            "t": t,
            "lang": lang,
            "model": model,
            "source_label": SOURCE_LABELS[lang][model.source],
            "embed": False,
            "base": base,
            "model_base": base,
            "title": t[f"error_title_{key}" if key else "error_title"],
            "text": t[text_key or (f"error_text_{key}" if key else "error_text")],
        }
        html = self.environment.get_template("error.html").render(context)
        return b"text/html; charset=utf-8", html.encode("utf-8")

    def for_middleware(self, scope: Scope, status: int) -> tuple[bytes, bytes]:
        return self.render(scope, status)
