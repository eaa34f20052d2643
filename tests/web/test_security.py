"""Security headers, framing, cookies, caching, and an access log without patient values."""

from __future__ import annotations

import logging

import pytest

from tests.web.conftest import make_client


@pytest.mark.parametrize(
    "path", ["/", "/embed", "/model", "/docs", "/api/v1/model", "/healthz", "/static/css/app.css", "/nope"]
)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers


def test_frame_ancestors_come_from_settings():
    client = make_client(frame_ancestors="https://intranet.example.org, https://portal.example.org")
    csp = client.get("/embed").headers["content-security-policy"]
    assert "frame-ancestors 'self' https://intranet.example.org https://portal.example.org" in csp


def test_answers_are_not_cached_but_static_assets_may_be(client):
    assert (
        client.post(
            "/api/v1/predict", json={"surface_depression": True, "ki67_percent": 2, "cga_positive": True}
        ).headers["cache-control"]
        == "no-store"
    )
    assert "no-store" not in client.get("/static/js/calculator.js").headers.get("cache-control", "")


def test_access_log_never_contains_findings(client, caplog):
    with caplog.at_level(logging.INFO, logger="rnet.access"):
        client.get("/embed?surface_depression=1&ki67_percent=17.3&cga_positive=1")
        client.post("/api/v1/predict", json={"surface_depression": True, "ki67_percent": 17.3, "cga_positive": True})
        client.post("/", data={"surface_depression": "1", "ki67_percent": "17.3", "cga_positive": "1"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert '"path": "/embed"' in logged and '"path": "/api/v1/predict"' in logged
    assert "17.3" not in logged and "ki67" not in logged
