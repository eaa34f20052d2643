"""Server-rendered pages: the form, results, ranges for unknown findings, the model card, the docs."""

from __future__ import annotations

import json
import math

import pytest

from app.model.predict import Model
from app.web.i18n import format_percent
from tests.conftest import (
    DEMO_ARTIFACT,
    Element,
    by_id,
    external_urls,
    inline_code,
    parse_html,
    select,
    select_one,
    text_of,
)
from tests.web.test_api import _served_hand_model


def checked_inputs(source: str | Element) -> set[tuple[str, str]]:
    """(name, value) of every ticked radio button and checkbox: what the form will submit."""
    return {(i.get("name", ""), i.get("value", "")) for i in select(source, "input", {"checked": True})}


def site_chrome(page: Element) -> list[Element]:
    """Elements of the site's header and footer (class "site", "site-title", ...): the embed view has none."""
    return [e for e in page.iter() if any(c.startswith("site") for c in e.classes)]


def banner_title(source: str | Element) -> str:
    return text_of(select_one(select_one(source, cls="banner"), "strong"))


def test_empty_form_preselects_nothing(client):
    response = client.get("/")
    assert response.status_code == 200
    page = parse_html(response.text)
    assert checked_inputs(page) == set()
    assert by_id(page, "ki67_percent").get("value") == ""
    assert banner_title(page) == "Demonstration model."
    assert text_of(select_one(page, "p", cls="placeholder")) == "Enter the findings to see the predicted risk."
    assert select(page, attrs={"id": "result-data"}) == []


def test_no_javascript_submit_renders_the_result(client):
    response = client.post(
        "/", data={"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "0", "lang": "en"}
    )
    assert response.status_code == 200
    page = parse_html(response.text)
    core = Model.from_file(DEMO_ARTIFACT).predict({"surface_depression": 1, "ki67_percent": 4.5, "cga_positive": 0})
    data = by_id(page, "result-data")
    assert float(data.get("data-probability")) == pytest.approx(core.probability, rel=1e-12)
    assert text_of(select_one(data, "span", cls="risk-value")) == format_percent(core.probability)
    assert text_of(select_one(data, "span", cls="ci")) == (
        f"95 % CI: {format_percent(core.ci95[0])} – {format_percent(core.ci95[1])}"
    )
    assert checked_inputs(page) == {("surface_depression", "1"), ("cga_positive", "0")}
    # The patient is marked on each predictor's axis of the nomogram, at the values entered.
    markers = {
        axis.get("data-name"): select_one(axis, "circle", cls="marker").get("aria-valuenow")
        for axis in select(page, "g", cls="predictor-axis")
    }
    assert markers == {"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "0"}


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"ki67_percent": "4", "cga_positive": "1"}, "surface_depression", "Surface depression: choose yes or no."),
        ({"surface_depression": "1", "cga_positive": "1"}, "ki67_percent",
         "Ki-67 index: enter a percentage from 0 to 100, or tick 'not yet known'."),
        ({"surface_depression": "1", "ki67_percent": "abc", "cga_positive": "1"}, "ki67_percent",
         "Ki-67 index: 'abc' cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or <1 for below 1 %."),
        ({"surface_depression": "1", "ki67_percent": "140", "cga_positive": "1"}, "ki67_percent",
         "Ki-67 index: 140 is outside 0–100 %."),
        ({"surface_depression": "1", "ki67_percent": "nan", "cga_positive": "1"}, "ki67_percent",
         "Ki-67 index: 'nan' cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or <1 for below 1 %."),
        ({"surface_depression": "1", "ki67_percent": "3"}, "cga_positive",
         "Chromogranin A: choose positive, negative or unknown."),
    ],
)  # fmt: skip
def test_invalid_form_is_re_rendered_with_the_message_beside_the_field(client, form, field, message):
    response = client.post("/", data=form)
    assert response.status_code == 422
    page = parse_html(response.text)
    beside = {p.get("data-field"): text_of(p) for p in select(page, "p", cls="error")}
    assert beside == {name: (message if name == field else "") for name in beside}
    assert set(beside) == {"surface_depression", "ki67_percent", "cga_positive"}
    assert [text_of(li) for li in select(select_one(page, cls="errors"), "li")] == [message]
    assert select(page, attrs={"id": "result-data"}) == []


def test_comma_decimal_and_percent_sign_are_accepted(client):
    response = client.post("/", data={"surface_depression": "0", "ki67_percent": "2,5 %", "cga_positive": "1"})
    assert response.status_code == 200
    ki67_row = select_one(response.text, "td", {"data-points": "ki67_percent"}).parent
    assert [text_of(cell) for cell in select(ki67_row, "td")][:2] == ["Ki-67 index", "2.5 %"]


def test_unknown_findings_are_answered_by_the_submodel_without_them(client):
    """Ki-67 and CgA both unknown: the submodel on surface depression alone answers, by hand from its
    stored coefficients; the points table says 'not yet known' for the two findings."""
    response = client.post("/", data={"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "unknown"})
    assert response.status_code == 200
    page = parse_html(response.text)
    data = by_id(page, "result-data")
    shipped = json.loads(DEMO_ARTIFACT.read_text())
    coef = next(s for s in shipped["submodels"] if s["missing"] == ["ki67_percent", "cga_positive"])["coefficients"]
    risk = 1.0 / (1.0 + math.exp(-(coef["intercept"] + coef["surface_depression"])))
    assert float(data.get("data-probability")) == pytest.approx(risk, abs=1e-7)
    assert data.get("data-missing") == "ki67_percent cga_positive"
    cells = [text_of(cell) for cell in select(page, "td")]
    assert cells.count("not yet known") == 2
    assert text_of(select_one(page, "p", cls="answered-by")).startswith(
        "Estimated without Ki-67 index and Chromogranin A (CgA) (not yet known)"
    )


def test_extrapolation_is_flagged_on_the_page(tmp_path):
    client = _served_hand_model(tmp_path)
    response = client.post("/", data={"surface_depression": "1", "ki67_percent": "18", "cga_positive": "1"})
    assert response.status_code == 200
    warning = text_of(select_one(response.text, "p", cls="warning"))
    assert warning == (
        "Ki-67 index of 18 % is outside the range the model was fitted on (1–15 %): this estimate is an extrapolation."
    )
    summary = text_of(by_id(parse_html(response.text), "summary-text"))
    assert "; caution: Ki-67 index outside the range the model was fitted on (extrapolation);" in summary


def test_embed_is_prefilled_and_rendered_from_the_query(client):
    response = client.get("/embed?surface_depression=1&ki67_percent=5&cga_positive=1")
    assert response.status_code == 200
    page = parse_html(response.text)
    assert "data-probability" in by_id(page, "result-data").attrs
    assert checked_inputs(page) == {("surface_depression", "1"), ("cga_positive", "1")}
    assert by_id(page, "ki67_percent").get("value") == "5"
    assert site_chrome(page) == []
    assert banner_title(page) == "Demonstration model."


def test_embed_names_the_post_message_origin_only_when_configured(client):
    from tests.web.conftest import make_client

    plain = select_one(client.get("/embed").text, "body")
    assert plain.get("data-post-message-origins") == ""
    framed = make_client(frame_ancestors="https://intranet.example.org, https://portal.example.org/")
    body = select_one(framed.get("/embed").text, "body")
    assert body.get("data-post-message-origins") == "https://intranet.example.org https://portal.example.org"
    # Only the embed view posts messages: the full page names no origin even when some are configured.
    assert select_one(framed.get("/").text, "body").get("data-post-message-origins") == ""


def test_partial_result_fragment_shows_only_touched_fields_errors(client):
    fragment = client.post("/partials/result", data={"ki67_percent": "5", "touched": "ki67_percent"})
    assert fragment.status_code == 200
    assert select(by_id(fragment.text, "live-errors"), "li") == []
    assert "choose yes or no" not in text_of(parse_html(fragment.text))
    touched = client.post("/partials/result", data={"ki67_percent": "5", "touched": "ki67_percent,cga_positive"})
    errors = [(li.get("data-field"), text_of(li)) for li in select(by_id(touched.text, "live-errors"), "li")]
    assert errors == [("cga_positive", "Chromogranin A: choose positive, negative or unknown.")]
    full = client.post(
        "/partials/result", data={"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1", "touched": ""}
    )
    page = parse_html(full.text)
    assert "data-probability" in by_id(page, "result-data").attrs
    assert select(by_id(page, "live-nomogram"), "svg", cls="nomogram")  # one drawing per width class


def test_model_card_shows_the_table_curves_and_provenance(client):
    response = client.get("/model")
    assert response.status_code == 200
    text = response.text
    model = Model.from_file(DEMO_ARTIFACT)
    page = parse_html(text)
    shown = text_of(page)
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
        assert needle in shown, needle
    assert text.count("<svg") == 3  # ROC, calibration, decision
    assert [text_of(select_one(svg, "title")) for svg in select(page, "svg", cls="chart")] == [
        "ROC curve",
        "Calibration",
        "Decision curve",
    ]
    assert text_of(select_one(page, "code", cls="digest")) == json.loads(DEMO_ARTIFACT.read_text())["sha256"]
    assert f"{model.artifact.performance.auc:.3f}" in shown


def test_docs_page_is_offline(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "POST /api/v1/predict" in [text_of(code) for code in select(response.text, "code")]
    assert external_urls(response.text) == []


@pytest.mark.parametrize("path", ["/", "/embed", "/model", "/docs", "/?lang=zh", "/model?lang=zh"])
def test_pages_request_nothing_from_outside_and_have_no_inline_script(client, path):
    page = parse_html(client.get(path).text)
    assert external_urls(page) == []
    assert inline_code(page) == []
    assert [s.get("src") for s in select(page, "script")] == ["/static/js/calculator.js"]


def test_page_weight_budget(client):
    total = len(client.get("/").content)
    total += len(client.get("/static/css/app.css").content) + len(client.get("/static/js/calculator.js").content)
    assert total < 100_000


def test_embed_form_posts_back_to_the_embed_view(client):
    response = client.post(
        "/embed", data={"surface_depression": "0", "ki67_percent": "1.5", "cga_positive": "0", "embed": "1"}
    )
    assert response.status_code == 200
    page = parse_html(response.text)
    assert "data-probability" in by_id(page, "result-data").attrs
    assert site_chrome(page) == []
    assert by_id(page, "calculator-form").get("action") == "/embed#result"  # lands on the result


# ---------------------------------------------------------------- what the user typed is text, never markup

# (typed, the English message as a reader sees it, the same message as it must stand in the HTML source:
# Jinja's escaping turns ' into &#39;, " into &#34;, < into &lt;, > into &gt; and & into &amp;).
TYPED = [
    ("<b>x</b>", "Ki-67 index: '<b>x</b>' cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or <1 for below 1 %.",
     "Ki-67 index: &#39;&lt;b&gt;x&lt;/b&gt;&#39; cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or &lt;1 for below 1 %."),
    ('"><script>', "Ki-67 index: '\"><script>' cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or <1 for below 1 %.",
     "Ki-67 index: &#39;&#34;&gt;&lt;script&gt;&#39; cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or &lt;1 for below 1 %."),
    ("1&amp;<i>2", "Ki-67 index: '1&amp;<i>2' cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or <1 for below 1 %.",
     "Ki-67 index: &#39;1&amp;amp;&lt;i&gt;2&#39; cannot be read as a percentage. Write a number from 0 to 100 such as 2.5 or 2,5 (with or without %), or &lt;1 for below 1 %."),
]  # fmt: skip


def assert_nothing_injected(page: Element) -> None:
    """No element the user could have typed: only the page's own script, no b/i elements."""
    assert [s.get("src") for s in select(page, "script")] in ([], ["/static/js/calculator.js"])
    assert select(page, "b") == [] and select(page, "i") == []


@pytest.mark.parametrize(("typed", "message", "escaped"), TYPED, ids=["b-element", "script-breakout", "entity"])
@pytest.mark.parametrize("path", ["/", "/embed"])
def test_typed_ki67_is_shown_escaped_in_the_page(client, path, typed, message, escaped):
    form = {"surface_depression": "1", "ki67_percent": typed, "cga_positive": "1"}
    response = client.post(path, data=form)
    assert response.status_code == 422
    page = parse_html(response.text)
    assert_nothing_injected(page)
    assert text_of(by_id(page, "err-ki67_percent")) == message
    assert [text_of(li) for li in select(select_one(page, cls="errors"), "li")] == [message]
    assert by_id(page, "ki67_percent").get("value") == typed
    # Both places, character for character, in the source the browser receives.
    assert response.text.count(escaped) == 2


@pytest.mark.parametrize(("typed", "message", "escaped"), TYPED, ids=["b-element", "script-breakout", "entity"])
def test_typed_ki67_is_shown_escaped_in_the_embed_link_and_the_live_fragment(client, typed, message, escaped):
    response = client.get("/embed", params={"surface_depression": "1", "ki67_percent": typed, "cga_positive": "1"})
    page = parse_html(response.text)
    assert_nothing_injected(page)
    assert text_of(by_id(page, "err-ki67_percent")) == message
    assert response.text.count(escaped) == 2
    fragment = client.post(
        "/partials/result",
        data={"surface_depression": "1", "ki67_percent": typed, "cga_positive": "1", "touched": "ki67_percent"},
    )
    live = parse_html(fragment.text)
    assert_nothing_injected(live)
    assert [(li.get("data-field"), text_of(li)) for li in select(by_id(live, "live-errors"), "li")] == [
        ("ki67_percent", message)
    ]
    assert [text_of(li) for li in select(select_one(by_id(live, "live-result"), cls="errors"), "li")] == [message]
    assert fragment.text.count(escaped) == 2


def test_typed_ki67_is_escaped_in_chinese_too(client):
    form = {"surface_depression": "1", "ki67_percent": "<b>x</b>", "cga_positive": "1", "lang": "zh"}
    response = client.post("/", data=form)
    page = parse_html(response.text)
    assert_nothing_injected(page)
    assert text_of(by_id(page, "err-ki67_percent")) == (
        "Ki-67 指数：无法将“<b>x</b>”读作百分比。请输入 0 至 100 之间的数字，如 2.5 或 2,5（可带 %），低于 1 % 可写作 <1。"
    )
    assert response.text.count("Ki-67 指数：无法将“&lt;b&gt;x&lt;/b&gt;”读作百分比") == 2
