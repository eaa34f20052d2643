"""What the shipped model answers at its edges, on the page and in the API.

The shipped demonstration applies to Ki-67 0–20 % (G1/G2 tumours); its fitted Ki-67 range is
0.1–20 %.  Risks above 99 % and below 1 % are shown as such, never as certainty.
"""

from __future__ import annotations

import pytest

from app.web.i18n import format_risk
from tests.conftest import by_id, parse_html, select, select_one, text_of

FORM = {"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1"}


def _api(client, ki67, cga=True):
    response = client.post(
        "/api/v1/predict", json={"surface_depression": True, "ki67_percent": ki67, "cga_positive": cga}
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("ki67", [25, 95, 100])
def test_api_gives_no_risk_for_a_g3_lesion(client, ki67):
    body = _api(client, ki67)
    assert body["applicable"] is False
    assert "G3" in body["reason"] and f"Ki-67 {ki67} %" in body["reason"]
    assert [body[k] for k in ("probability", "ci95", "linear_predictor", "points", "total_points")] == [None] * 5
    assert body["model"]["id"] == "rnet-demo-v1" and body["notice"]  # still labelled a demonstration


def test_api_gives_no_risk_for_a_g3_lesion_even_when_cga_is_not_yet_known(client):
    body = _api(client, 30, cga=None)
    assert body["applicable"] is False and body["probability"] is None and body["missing"] == ["cga_positive"]


@pytest.mark.parametrize("ki67", [0, 0.1, 20])
def test_api_answers_inside_the_applicable_range(client, ki67):
    body = _api(client, ki67)
    assert body["applicable"] is True and body["reason"] is None and 0 < body["probability"] < 1


def test_ki67_zero_next_to_the_lowest_fitted_value_is_not_extrapolation(client):
    assert _api(client, 0)["extrapolation"] == []


@pytest.mark.parametrize(("lang", "words"), [("en", "grade G3 tumour"), ("zh", "G3 级肿瘤")])
def test_page_says_why_no_risk_is_shown(client, lang, words):
    response = client.post("/", data={**FORM, "ki67_percent": "25", "lang": lang})
    assert response.status_code == 200
    page = parse_html(response.text)
    data = by_id(page, "result-data")
    assert data.get("data-applicable") == "false"
    assert words in text_of(data) and "25 %" in text_of(data)
    # What the live region announces (screen readers hear why there is no number).
    assert data.get("data-sentence").startswith(
        {"en": "No risk is shown. Ki-67 25 %", "zh": "不显示风险。 Ki-67 25 %"}[lang]
    )
    assert select(page, cls="risk-value") == [] and select(page, "table", cls="points") == []


def test_the_live_fragment_says_why_too(client):
    response = client.post("/partials/result", data={**FORM, "ki67_percent": "40", "touched": "ki67_percent"})
    live = by_id(parse_html(response.text), "live-result")
    assert "G3" in text_of(live) and select(live, cls="risk-value") == []


@pytest.mark.parametrize(
    ("probability", "shown"),
    [
        (0.9968, "> 99 %"),
        (0.990001, "> 99 %"),
        (0.99, "99.0 %"),
        (0.5, "50.0 %"),
        (0.01, "1.0 %"),
        (0.0099, "< 1 %"),
        (0.0, "< 1 %"),
        (1.0, "> 99 %"),
    ],
)
def test_risks_at_the_extremes_are_never_shown_as_certainty(probability, shown):
    assert format_risk(probability) == shown


def test_an_extreme_risk_reads_above_99_on_the_page_and_in_the_summary(client):
    """Depression, Ki-67 20 %, CgA positive: 99.68 % (CI 94.4–99.98 %) by the API."""
    api = _api(client, 20)
    assert api["probability"] > 0.99 and api["ci95"][1] > 0.99  # the API keeps the exact numbers
    page = parse_html(client.post("/", data={**FORM, "ki67_percent": "20"}).text)
    assert text_of(select_one(page, cls="risk-value")) == "> 99 %"
    ci = text_of(select_one(page, cls="ci"))
    assert ci.endswith("– > 99 %") and "100.0" not in ci
    summary = text_of(by_id(page, "summary-text"))
    assert summary.startswith("R-NET non-curative resection risk: > 99 % (95 % CI ") and "100.0" not in summary


def test_a_value_below_a_bound_is_read_as_half_of_it_and_says_so(client):
    page = parse_html(client.post("/", data={**FORM, "ki67_percent": "<1"}).text)
    api = _api(client, 0.5)
    assert text_of(select_one(page, cls="risk-value")) == f"{100 * api['probability']:.1f} %"
    rows = {text_of(r[0]): text_of(r[1]) for r in (select(tr, "td") for tr in select(page, "tr")) if len(r) == 3}
    assert rows["Ki-67 index"] == "<1 % (read as 0.5 %, half the bound)"
    assert "Ki-67 <1 % (read as 0.5 %, half the bound)" in text_of(by_id(page, "summary-text"))


@pytest.mark.parametrize(
    ("depression", "cga", "expected"),
    [
        ("true", "false", (True, False)),
        ("yes", "no", (True, False)),
        ("0", "1", (False, True)),
        ("false", "true", (False, True)),
    ],
)
@pytest.mark.parametrize("path", ["/", "/embed"])
def test_query_strings_take_the_apis_true_false_as_well_as_1_0_and_yes_no(client, path, depression, cga, expected):
    response = client.get(path, params={"surface_depression": depression, "ki67_percent": "5", "cga_positive": cga})
    assert response.status_code == 200
    api = client.post(
        "/api/v1/predict", json={"surface_depression": expected[0], "ki67_percent": 5, "cga_positive": expected[1]}
    ).json()
    page = parse_html(response.text)
    assert text_of(select_one(page, cls="risk-value")) == f"{100 * api['probability']:.1f} %"


def test_switching_language_keeps_the_findings(client):
    page = parse_html(client.get("/", params={**FORM, "ki67_percent": "2,5"}).text)
    link = next(a for a in select(page, "a") if a.get("lang") == "zh-Hans")
    href = link.get("href")
    assert href == "?lang=zh&surface_depression=1&ki67_percent=2%2C5&cga_positive=1"
    chinese = parse_html(client.get("/" + href).text)
    assert text_of(select_one(chinese, cls="risk-value")) == text_of(select_one(page, cls="risk-value"))
    assert by_id(chinese, "ki67_percent").get("value") == "2,5"


def test_switching_language_keeps_not_yet_known(client):
    page = parse_html(
        client.get("/", params={"surface_depression": "0", "ki67_unknown": "1", "cga_positive": "unknown"}).text
    )
    href = next(a for a in select(page, "a") if a.get("lang") == "zh-Hans").get("href")
    assert href == "?lang=zh&surface_depression=0&ki67_unknown=1&cga_positive=unknown"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "Ki-67 index: the model applies to 0–20 %; outside it no risk is given. "
            "Development data spanned 0.1–20 %; risks beyond are extrapolations.",
        ),
        (
            "zh",
            "Ki-67 指数：模型适用范围为 0–20 %，超出此范围不给出风险。建模数据范围为 0.1–20 %，超出此范围的风险为外推结果。",
        ),
    ],
)
def test_model_card_states_where_the_model_applies(client, lang, expected):
    page = parse_html(client.get("/model", params={"lang": lang}).text)
    assert [text_of(p) for p in select(page, "p", cls="applicability")] == [expected]


def test_an_open_ended_bound_in_the_summary_does_not_read_as_an_arrow(client):
    """ "94.4 %–> 99 %" reads like an arrow; the line says "to" (and 至 in Chinese, which calls the CI 置信区间)."""
    page = parse_html(client.post("/", data={**FORM, "ki67_percent": "20"}).text)
    summary = text_of(by_id(page, "summary-text"))
    assert "(95 % CI 94.4 % to > 99 %)" in summary and "–>" not in summary
    chinese = parse_html(client.post("/", data={**FORM, "ki67_percent": "20", "lang": "zh"}).text)
    assert "（95 % 置信区间 94.4 % 至 > 99 %）" in text_of(by_id(chinese, "summary-text"))
