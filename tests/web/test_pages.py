"""Server-rendered pages: the form, results, ranges for unknown findings, the model card, the docs."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.model.predict import Model
from app.web.i18n import format_percent
from tests.conftest import DEMO_ARTIFACT


class Collector(HTMLParser):
    """Collects elements by id, checked inputs, and all src/href URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str]] = {}
        self.checked: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if "id" in attributes:
            self.ids[attributes["id"]] = attributes
        if tag == "input" and "checked" in attributes:
            self.checked.append((attributes.get("name", ""), attributes.get("value", "")))
        for key in ("src", "href", "action"):
            if key in attributes:
                self.urls.append(attributes[key])
        if tag == "script":
            self._in_script = "src" not in attributes
        if "style" in attributes or any(k.startswith("on") for k in attributes):
            self.inline_scripts += 1

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    return collector


def test_empty_form_preselects_nothing(client):
    response = client.get("/")
    assert response.status_code == 200
    page = parse(response.text)
    assert page.checked == []
    assert page.ids["ki67_percent"].get("value", "") == ""
    assert "Demonstration model" in response.text


def test_no_javascript_submit_renders_the_result(client):
    response = client.post(
        "/", data={"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "0", "lang": "en"}
    )
    assert response.status_code == 200
    core = Model.from_file(DEMO_ARTIFACT).predict({"surface_depression": 1, "ki67_percent": 4.5, "cga_positive": 0})
    data = parse(response.text).ids["result-data"]
    assert float(data["data-probability"]) == pytest.approx(core.probability, rel=1e-12)
    assert format_percent(core.probability) in response.text
    assert format_percent(core.ci95[0]) in response.text
    assert ("surface_depression", "1") in parse(response.text).checked
    assert 'class="marker' in response.text  # the patient is marked on the nomogram


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"ki67_percent": "4", "cga_positive": "1"}, "surface_depression", "choose yes or no"),
        ({"surface_depression": "1", "cga_positive": "1"}, "ki67_percent", "enter a percentage"),
        ({"surface_depression": "1", "ki67_percent": "abc", "cga_positive": "1"}, "ki67_percent", "not a number"),
        ({"surface_depression": "1", "ki67_percent": "140", "cga_positive": "1"}, "ki67_percent", "outside 0–100"),
        ({"surface_depression": "1", "ki67_percent": "nan", "cga_positive": "1"}, "ki67_percent", "outside 0–100"),
        ({"surface_depression": "1", "ki67_percent": "3"}, "cga_positive", "choose positive, negative or unknown"),
    ],
)
def test_invalid_form_is_re_rendered_with_the_message_beside_the_field(client, form, field, message):
    response = client.post("/", data=form)
    assert response.status_code == 422
    assert message in response.text
    page = parse(response.text)
    assert f"err-{field}" in page.ids
    assert "result-data" not in page.ids


def test_comma_decimal_and_percent_sign_are_accepted(client):
    response = client.post("/", data={"surface_depression": "0", "ki67_percent": "2,5 %", "cga_positive": "1"})
    assert response.status_code == 200
    assert "2.5 %" in response.text


def test_unknown_findings_give_a_range_not_an_estimate(client):
    response = client.post("/", data={"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "unknown"})
    assert response.status_code == 200
    data = parse(response.text).ids["result-data"]
    model = Model.from_file(DEMO_ARTIFACT)
    lo_ki, hi_ki = next(p for p in model.artifact.predictors if p.name == "ki67_percent").fitted_range
    low = model.predict({"surface_depression": 1, "ki67_percent": lo_ki, "cga_positive": 0}).probability
    high = model.predict({"surface_depression": 1, "ki67_percent": hi_ki, "cga_positive": 1}).probability
    assert float(data["data-range-lo"]) == pytest.approx(low)
    assert float(data["data-range-hi"]) == pytest.approx(high)
    assert "not an estimate" in response.text
    assert "data-probability" not in data


def test_extrapolation_is_flagged_on_the_page(client):
    response = client.post("/", data={"surface_depression": "1", "ki67_percent": "45", "cga_positive": "1"})
    assert response.status_code == 200
    assert "extrapolation" in response.text


def test_embed_is_prefilled_and_rendered_from_the_query(client):
    response = client.get("/embed?surface_depression=1&ki67_percent=5&cga_positive=1")
    assert response.status_code == 200
    page = parse(response.text)
    assert "result-data" in page.ids
    assert 'class="site' not in response.text  # no site chrome
    assert "Demonstration model" in response.text


def test_embed_names_the_post_message_origin_only_when_configured(client):
    from tests.web.conftest import make_client

    plain = client.get("/embed").text
    assert 'data-post-message-origins=""' in plain
    framed = make_client(frame_ancestors="https://intranet.example.org").get("/embed").text
    assert 'data-post-message-origins="https://intranet.example.org"' in framed


def test_partial_result_fragment_shows_only_touched_fields_errors(client):
    fragment = client.post("/partials/result", data={"ki67_percent": "5", "touched": "ki67_percent"})
    assert fragment.status_code == 200
    assert "choose yes or no" not in fragment.text
    full = client.post(
        "/partials/result", data={"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1", "touched": ""}
    )
    assert 'id="result-data"' in full.text and 'id="live-nomogram"' in full.text


def test_model_card_shows_the_table_curves_and_provenance(client):
    response = client.get("/model")
    assert response.status_code == 200
    text = response.text
    model = Model.from_file(DEMO_ARTIFACT)
    for needle in (
        "Intended use",
        "Odds ratio",
        "Optimism-corrected",
        "ROC curve",
        "Decision curve",
        model.sha256,
        model.artifact.provenance.data_sha256,
        "Demonstration model",
        "Limitations",
        "NJ240221",
    ):
        assert needle in text, needle
    assert text.count("<svg") == 3  # ROC, calibration, decision
    assert f"{model.artifact.performance.auc:.3f}" in text


def test_docs_page_is_offline(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "/api/v1/predict" in response.text
    assert not [u for u in parse(response.text).urls if u.startswith(("http://", "https://", "//"))]


@pytest.mark.parametrize("path", ["/", "/embed", "/model", "/docs", "/?lang=zh", "/model?lang=zh"])
def test_pages_request_nothing_from_outside_and_have_no_inline_script(client, path):
    text = client.get(path).text
    page = parse(text)
    assert not [u for u in page.urls if u.startswith(("http://", "https://", "//"))]
    assert page.inline_scripts == 0


def test_page_weight_budget(client):
    total = len(client.get("/").content)
    total += len(client.get("/static/css/app.css").content) + len(client.get("/static/js/calculator.js").content)
    assert total < 100_000


def test_embed_form_posts_back_to_the_embed_view(client):
    response = client.post(
        "/embed", data={"surface_depression": "0", "ki67_percent": "1.5", "cga_positive": "0", "embed": "1"}
    )
    assert response.status_code == 200
    assert 'id="result-data"' in response.text and 'class="site' not in response.text
    assert 'action="/embed"' in response.text
