"""Security headers, framing, cookies, caching, and an access log without patient values.

Header values are compared whole: a substring test passes when a directive is loosened
("frame-ancestors 'self' *") or a header is dropped from some routes only.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import csp_directives
from tests.web.conftest import make_client

FINDINGS = {"surface_depression": True, "ki67_percent": 2, "cga_positive": True}

# The policy written out by hand (ARCHITECTURE.md: everything from our own origin, nothing inline,
# framing only by the calculator's origin and the RNET_FRAME_ANCESTORS origins).
POLICY = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'self'"],
}

EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

# (method, path, body, expected status): pages, API answers, static files, and answers that are errors.
ROUTES = [
    ("GET", "/", None, 200),
    ("GET", "/?lang=zh", None, 200),
    ("POST", "/", {"data": {"surface_depression": "1", "ki67_percent": "3", "cga_positive": "1"}}, 200),
    ("POST", "/", {"data": {"surface_depression": "1"}}, 422),
    ("GET", "/embed", None, 200),
    ("GET", "/embed?surface_depression=1&ki67_percent=5&cga_positive=1", None, 200),
    ("POST", "/partials/result", {"data": {"ki67_percent": "5"}}, 200),
    ("GET", "/model", None, 200),
    ("GET", "/docs", None, 200),
    ("GET", "/openapi.json", None, 200),
    ("POST", "/api/v1/predict", {"json": FINDINGS}, 200),
    ("POST", "/api/v1/predict", {"json": {**FINDINGS, "ki67_percent": 101}}, 422),
    ("POST", "/api/v1/predict", {"content": b"[" + b"1," * 20000 + b"1]"}, 413),
    ("GET", "/api/v1/predict", None, 405),
    ("GET", "/api/v1/model", None, 200),
    ("GET", "/api/v1/models/nothing", None, 404),
    ("GET", "/healthz", None, 200),
    ("GET", "/readyz", None, 200),
    ("GET", "/static/css/app.css", None, 200),
    ("GET", "/static/js/calculator.js", None, 200),
    ("GET", "/static/nothing.js", None, 404),
    ("GET", "/nope", None, 404),
    ("HEAD", "/", None, 200),
    ("HEAD", "/healthz", None, 200),
    ("POST", "/partials/result", {"data": {"ki67_percent": "5"}, "headers": {"origin": "https://evil.example"}}, 403),
    ("POST", "/model", None, 405),
    ("POST", "/", {"content": b"x" * 20000}, 413),
]


def call(client, method: str, path: str, body: dict | None):
    if body and "content" in body:
        return client.request(method, path, content=body["content"], headers={"content-type": "application/json"})
    return client.request(method, path, **(body or {}))


def route_id(route: tuple) -> str:
    return f"{route[0]} {route[1][:40]} {route[3]}"


@pytest.mark.parametrize(("method", "path", "body", "status"), ROUTES, ids=[route_id(r) for r in ROUTES])
def test_every_response_carries_the_security_headers(client, method, path, body, status):
    response = call(client, method, path, body)
    assert response.status_code == status
    assert response.headers.get_list("content-security-policy") == [response.headers["content-security-policy"]]
    assert csp_directives(response.headers["content-security-policy"]) == POLICY
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get_list(name) == [value], name
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(("method", "path", "body", "status"), ROUTES, ids=[route_id(r) for r in ROUTES])
def test_answers_are_not_cached_but_static_files_may_be(client, method, path, body, status):
    """Pages and API answers carry a patient's risk: no browser or proxy may keep them.
    Static files carry none and may be cached (by their ETag)."""
    response = call(client, method, path, body)
    if path.startswith("/static/"):
        assert "cache-control" not in response.headers
        assert ("etag" in response.headers) is (status == 200)
    else:
        assert response.headers.get_list("cache-control") == ["no-store"]


@pytest.mark.parametrize(
    ("setting", "ancestors"),
    [
        ("https://intranet.example.org", ["'self'", "https://intranet.example.org"]),
        (
            "https://intranet.example.org, https://portal.example.org/",
            ["'self'", "https://intranet.example.org", "https://portal.example.org"],
        ),
        ("http://10.0.0.5:8080 https://his.example.org", ["'self'", "http://10.0.0.5:8080", "https://his.example.org"]),
    ],
)
@pytest.mark.parametrize("path", ["/embed", "/", "/api/v1/model", "/static/css/app.css", "/nope"])
def test_frame_ancestors_come_from_settings_and_nothing_else(setting, ancestors, path):
    client = make_client(frame_ancestors=setting)
    directives = csp_directives(client.get(path).headers["content-security-policy"])
    assert directives == {**POLICY, "frame-ancestors": ancestors}
    assert not any(source in ("*", "http:", "https:", "data:") for source in directives["frame-ancestors"])


def test_access_log_never_contains_findings(client, caplog):
    with caplog.at_level(logging.INFO, logger="rnet.access"):
        client.get("/embed?surface_depression=1&ki67_percent=17.3&cga_positive=1")
        client.post("/api/v1/predict", json={"surface_depression": True, "ki67_percent": 17.3, "cga_positive": True})
        client.post("/", data={"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "1"})
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "rnet.access"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/embed", 200),
        ("POST", "/api/v1/predict", 200),
        ("POST", "/", 200),
    ]
    assert all(set(line) == {"method", "path", "status", "ms"} for line in lines)  # no query string, no body
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "17.3" not in logged and "ki67" not in logged
