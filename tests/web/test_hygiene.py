"""Cross-site posts, HEAD, relative redirects, model choice by path only, and error pages.

Expected texts come from the i18n tables (the pages' own words), statuses and headers from HTTP:
a page route answers a person (HTML in the page's language), the API answers a program (JSON).
"""

from __future__ import annotations

import html
import json
import logging

import pytest
from fastapi import FastAPI

from app.model.artifact import digest
from app.web.i18n import STRINGS
from app.web.protocol import ProtocolMiddleware, relative_location
from tests.conftest import DEMO_ARTIFACT, parse_html, select_one, text_of
from tests.web.conftest import make_client

FORM = {"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1"}
STATE_CHANGING = ["/", "/embed", "/partials/result", "/m/rnet-demo-v1/", "/m/rnet-demo-v1/embed"]


@pytest.mark.parametrize("path", [*STATE_CHANGING, "/m/rnet-demo-v1/partials/result"])
@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver.evil.example"},
        {"origin": "http://testserver:8080"},  # same host, another port: another origin
        {"origin": "null", "sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": "http://testserver", "x-forwarded-host": "evil.example", "host": "other.example"},
    ],
)
def test_cross_site_form_posts_are_refused_with_an_html_page(path, headers):
    response = make_client().post(path, data=FORM, headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert html.unescape(STRINGS["en"]["error_title_403"]) in html.unescape(response.text)
    assert "x-model-id" not in response.headers  # no calculator page was rendered


@pytest.mark.parametrize("path", STATE_CHANGING)
@pytest.mark.parametrize(
    "headers",
    [
        {},  # programs and old browsers send no Origin
        {"origin": "http://testserver", "sec-fetch-site": "same-origin"},
        {"origin": "http://testserver:80"},  # the default port written out
        {"origin": "null", "sec-fetch-site": "same-origin"},  # our pages' no-referrer policy makes Origin null
        {"origin": "https://intranet.example.org", "host": "rnet:8000", "x-forwarded-host": "intranet.example.org"},
        {"sec-fetch-site": "none"},  # typed or bookmarked by the user
    ],
)
def test_same_origin_and_origin_less_posts_keep_working(path, headers):
    response = make_client().post(path, data=FORM, headers=headers)
    assert response.status_code == 200


def test_the_json_api_is_for_programs_and_not_checked_for_origin():
    """Documented choice: it only takes application/json, which another site cannot send without a preflight."""
    client = make_client()
    findings = {"surface_depression": True, "ki67_percent": 5, "cga_positive": True}
    assert client.post("/api/v1/predict", json=findings, headers={"origin": "https://his.example"}).status_code == 200
    as_form = client.post("/api/v1/predict", content=json.dumps(findings), headers={"content-type": "text/plain"})
    assert as_form.status_code == 422


def test_the_cross_site_page_follows_the_language():
    client = make_client()
    zh = client.post("/?lang=zh", data=FORM, headers={"origin": "https://evil.example"})
    assert STRINGS["zh"]["error_title_403"] in zh.text
    by_header = client.post("/", data=FORM, headers={"origin": "https://evil.example", "accept-language": "zh-CN"})
    assert STRINGS["zh"]["error_title_403"] in by_header.text and 'lang="zh-Hans"' in by_header.text


@pytest.mark.parametrize(
    "path",
    ["/", "/embed", "/model", "/docs", "/healthz", "/readyz", "/api/v1/model", "/api/v1/models", "/openapi.json",
     "/static/css/app.css", "/m/rnet-demo-v1/", "/m/rnet-demo-v1/model"],
)  # fmt: skip
def test_head_answers_wherever_get_does_without_a_body(path):
    client = make_client()
    get, head = client.get(path), client.head(path)
    assert (get.status_code, head.status_code) == (200, 200)
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-security-policy"] == get.headers["content-security-policy"]


def run_without_loop(coroutine) -> None:
    """Drive a coroutine that never waits on I/O to its end (no event loop: none may be free here)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("the coroutine waited on something")


def test_head_sends_no_body_bytes_and_the_app_sees_get():
    """Read at the ASGI level: HTTP clients drop a HEAD body themselves, so only here can one be seen."""
    seen: list[str] = []
    sent: list[dict] = []

    async def inner(scope, receive, send) -> None:
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello"})

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    for method in ("GET", "HEAD"):
        run_without_loop(ProtocolMiddleware(inner)({"type": "http", "method": method, "path": "/"}, receive, send))
    assert seen == ["GET", "GET"]
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert bodies == [b"hello", b""]
    assert [m["headers"] for m in sent if m["type"] == "http.response.start"] == [[(b"content-length", b"5")]] * 2


def test_head_on_a_post_only_route_is_405_not_a_prediction():
    response = make_client().head("/api/v1/predict")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "location"), [("/embed/", "/embed"), ("/model/", "/model"), ("/m/rnet-demo-v1", "/m/rnet-demo-v1/")]
)
def test_redirects_are_relative_and_never_copy_the_host_header(path, location):
    response = make_client().get(path, headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"] == location


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (b"http://evil.example/embed", b"/embed"),
        (b"https://a.example/rnet/m/x/?lang=zh", b"/rnet/m/x/?lang=zh"),
        (b"http://a.example", b"/"),
        (b"http://a.example//evil.example/x", b"/evil.example/x"),  # never a protocol-relative URL
        (b"/already/relative?x=1", b"/already/relative?x=1"),
    ],
)
def test_relative_location(given, expected):
    assert relative_location(given) == expected


@pytest.fixture
def second_artifact(tmp_path):
    data = json.loads(DEMO_ARTIFACT.read_text())
    data["model_id"] = "second"
    data["coefficients"]["intercept"] -= 0.5
    data["coefficient_table"][0]["beta"] -= 0.5
    data["nomogram"]["lp_at_zero_points"] -= 0.5
    data["sha256"] = digest(data)
    path = tmp_path / "second.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("path", ["/", "/embed", "/model"])
def test_a_model_id_query_does_not_choose_the_model(second_artifact, path):
    client = make_client(artifacts=f"{DEMO_ARTIFACT} {second_artifact}")
    assert client.get(f"{path}?model_id=second").headers["x-model-id"] == "rnet-demo-v1"
    named = path.replace("/", "/m/second/", 1) if path != "/" else "/m/second/"
    assert client.get(named).headers["x-model-id"] == "second"


def test_a_model_id_field_in_a_posted_form_does_not_choose_the_model(second_artifact):
    client = make_client(artifacts=f"{DEMO_ARTIFACT} {second_artifact}")
    response = client.post("/?model_id=second", data={**FORM, "model_id": "second"})
    assert response.status_code == 200 and response.headers["x-model-id"] == "rnet-demo-v1"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "lang", "text_key"),
    [
        ("GET", "/nothing-here", {}, 404, "en", "error_text_404"),
        ("GET", "/nothing-here?lang=zh", {}, 404, "zh", "error_text_404"),
        ("GET", "/nothing-here", {"accept-language": "zh-CN,zh;q=0.9"}, 404, "zh", "error_text_404"),
        ("GET", "/m/no-such-model/", {}, 404, "en", "error_text_404_model"),
        ("GET", "/m/no-such-model/model?lang=zh", {}, 404, "zh", "error_text_404_model"),
        ("POST", "/model", {}, 405, "en", "error_text_405"),
        ("PUT", "/?lang=zh", {}, 405, "zh", "error_text_405"),
        ("GET", "/partials/result", {}, 405, "en", "error_text_405"),
    ],
)
def test_page_errors_are_html_in_the_pages_language(method, path, headers, status, lang, text_key):
    response = make_client().request(method, path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = parse_html(response.text)
    assert text_of(select_one(page, "h1")) == STRINGS[lang][f"error_title_{status}"]
    assert STRINGS[lang][text_key] in html.unescape(response.text)
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


def test_405_page_keeps_the_allow_header():
    assert make_client().post("/model").headers["allow"] == "GET"


@pytest.mark.parametrize(("path", "lang"), [("/", "en"), ("/partials/result?lang=zh", "zh")])
def test_too_large_form_is_an_html_page(path, lang):
    response = make_client().post(
        path, content=b"ki67_percent=" + b"9" * 20000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert STRINGS[lang]["error_title_413"] in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/nothing", 404), ("GET", "/api/v1/predict", 405), ("POST", "/api/v1/predict", 413),
     ("GET", "/api/v1/models/none", 404)],
)  # fmt: skip
def test_the_api_keeps_json_errors(method, path, status):
    response = make_client().request(method, path, content=b"[" + b"1," * 20000 + b"1]" if status == 413 else None)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


VALUES_IN_MESSAGE = "ki67_percent=" + "17" + ".3"


def _failing_client():
    client = make_client()
    app: FastAPI = client.app  # type: ignore[assignment]

    def boom() -> None:
        raise RuntimeError(VALUES_IN_MESSAGE)  # as if a bug put the request's values in its message

    app.add_api_route("/broken", boom)
    app.add_api_route("/api/v1/broken", boom)
    return client


@pytest.mark.parametrize(
    ("path", "content_type"), [("/broken?lang=zh", "text/html; charset=utf-8"), ("/api/v1/broken", "application/json")]
)
def test_unexpected_errors_answer_500_with_headers_and_are_logged_without_values(caplog, path, content_type):
    client = _failing_client()
    with caplog.at_level(logging.INFO):
        response = client.get(path)
    assert response.status_code == 500
    assert response.headers["content-type"] == content_type
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"
    if content_type.startswith("text/html"):
        assert STRINGS["zh"]["error_title_500"] in response.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged and "17.3" not in logged and "ki67" not in logged
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "rnet.access"]
    assert [(a["path"], a["status"]) for a in access] == [(path.split("?")[0], 500)]


def test_a_broken_character_in_a_json_key_gets_a_plain_message():
    body = b'{"\\ud800": 1, "surface_depression": true, "ki67_percent": 5, "cga_positive": true}'
    response = make_client().post("/api/v1/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "body"
    assert problem["message"].startswith("The request body contains a broken character")
    assert "unicode" not in problem["message"] and "Input should" not in problem["message"]
