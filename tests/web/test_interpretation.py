"""What the number means: natural frequencies, the picture, the cohort's rate, eligibility and evidence.

Expected sentences are written out here; the numbers in them come from the JSON API's answer for the
same findings (rounded half up by `decimal`, not by the code under test) and from the artifact's n and
events, so a page that drifts from the API or from the artifact fails.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from app.cli import main
from app.model.artifact import ArtifactError, load_artifact
from app.web.interpretation import per_hundred
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT, parse_html, select, select_one, text_of
from tests.stats.test_published import SPEC
from tests.web.conftest import demo_artifact_with, make_client, published_artifact

DEMO = json.loads(DEMO_ARTIFACT.read_text())
EVENTS, N = DEMO["performance"]["events"], DEMO["performance"]["n"]


@pytest.mark.parametrize(
    ("probability", "expected"),
    [
        (0.631, "63"),
        (0.625, "63"),  # 62.5 rounds half up (Python's round() would say 62)
        (0.624996, "63"),  # shown as "62.5 %": the count follows the figure shown, not the raw 62.4996
        (0.125, "13"),
        (0.375, "38"),
        (0.0099, "<1"),  # the page shows "< 1 %": never "about 1 of 100"
        (0.01, "1"),
        (0.99, "99"),
        (0.9901, ">99"),  # the page shows "> 99 %"
        (0.0, "<1"),
        (1.0, ">99"),
    ],
)
def test_per_hundred_rounds_half_up_and_never_claims_certainty(probability, expected):
    assert per_hundred(probability) == expected


def hundred(p: float) -> str:
    """The count of 100 a reader expects, worked out independently of the code under test."""
    if p * 100 > 99:
        return ">99"
    if p * 100 < 1:
        return "<1"
    return str(Decimal(repr(p * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def api_answer(client, findings: dict) -> dict:
    response = client.post("/api/v1/predict", json=findings)
    assert response.status_code == 200
    return response.json()


def interpretation(client, form: dict, path: str = "/") -> tuple[str, str, list[str], str]:
    page = parse_html(client.post(path, data=form).text)
    block = select_one(page, "div", cls="interpretation")
    frequency = text_of(select_one(block, "p", cls="frequency"))
    notes = [text_of(p) for p in select(block, "p", cls="note")]
    bar = select_one(block, "svg")
    return frequency, bar.get("aria-label"), notes, text_of(select_one(page, "p", cls="outcome-definition"))


CASES = [
    ({"surface_depression": True, "ki67_percent": 5, "cga_positive": True}, {"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1"}),
    ({"surface_depression": False, "ki67_percent": 0.5, "cga_positive": False}, {"surface_depression": "0", "ki67_percent": "0.5", "cga_positive": "0"}),
    ({"surface_depression": True, "ki67_percent": 20, "cga_positive": True}, {"surface_depression": "1", "ki67_percent": "20", "cga_positive": "1"}),
    ({"surface_depression": False, "ki67_percent": None, "cga_positive": True}, {"surface_depression": "0", "ki67_unknown": "1", "cga_positive": "1"}),
]  # fmt: skip


@pytest.mark.parametrize(("body", "form"), CASES)
def test_the_sentence_says_the_apis_risk_as_a_count_of_100_in_english(client, body, form):
    answer = api_answer(client, body)
    p, (lo, hi) = answer["probability"], answer["ci95"]
    frequency, _, notes, definition = interpretation(client, form)
    lead = {">99": "More than 99", "<1": "Fewer than 1"}.get(hundred(p), f"About {hundred(p)}")
    assert frequency == (
        f"{lead} of 100 lesions with these findings would not be resected curatively "
        f"(95 % CI: {hundred(lo)} to {hundred(hi)} of 100)."
    )
    assert notes == [
        f"Simulated development cohort (not the study's patients): {EVENTS} of {N} (35.7 %) were not resected "
        "curatively.",
        "An estimate of risk, not a treatment recommendation: decide with the patient, "
        "the full pathology and the multidisciplinary team.",
    ]
    assert definition == (
        "Non-curative resection: a positive or indeterminate margin (non-R0), "
        "or lymphovascular or perineural invasion (LVI/PNI)."
    )


@pytest.mark.parametrize(("body", "form"), CASES)
def test_the_sentence_says_the_apis_risk_as_a_count_of_100_in_chinese(client, body, form):
    answer = api_answer(client, body)
    p, (lo, hi) = answer["probability"], answer["ci95"]
    frequency, _, notes, definition = interpretation(client, {**form, "lang": "zh"})
    lead = {">99": "超过99个", "<1": "不到1个"}.get(hundred(p), f"约{hundred(p)}个")
    assert frequency == (
        f"具有这些表现的病变，每100个中{lead}不能治愈性切除（95%置信区间：每100个中{hundred(lo)}至{hundred(hi)}个）。"
    )
    assert notes == [
        f"模拟的开发队列（并非研究患者）：{N}例中{EVENTS}例（35.7 %）为非治愈性切除。",
        "这是风险估计，不是治疗建议：请结合患者意愿、完整病理结果和多学科团队意见决定。",
    ]
    assert definition == "非治愈性切除：切缘阳性或无法评估（非R0），或存在脉管侵犯或神经侵犯（LVI/PNI）。"


def test_the_cohort_rate_is_the_artifacts_events_over_n():
    assert (EVENTS, N) == (76, 213)  # the shipped demo; 76 / 213 = 0.35681 -> "35.7 %"


def test_the_bar_draws_the_risk_its_ci_and_the_cohort_rate_where_they_are(client):
    body = {"surface_depression": True, "ki67_percent": 5, "cga_positive": True}
    answer = api_answer(client, body)
    p, (lo, hi) = answer["probability"], answer["ci95"]
    page = parse_html(client.post("/", data={"surface_depression": "1", "ki67_percent": "5", "cga_positive": "1"}).text)
    bar = select_one(select_one(page, "div", cls="interpretation"), "svg")
    # The bar runs from x = 10 (0 %) to x = 310 (100 %).
    point = select_one(bar, "rect", cls="point")
    assert float(point.get("x")) + 1.5 == pytest.approx(10 + 300 * p, abs=0.06)
    band = select_one(bar, "rect", cls="band")
    assert float(band.get("x")) == pytest.approx(10 + 300 * lo, abs=0.06)
    assert float(band.get("width")) == pytest.approx(300 * (hi - lo), abs=0.11)
    cohort = select_one(bar, "path", cls="cohort")
    assert cohort.get("d").startswith(f"M{10 + 300 * 76 / 213:.1f} ")  # 117.0
    assert [text_of(t) for t in select(bar, "text")] == ["cohort 35.7 %", "0 %", "100 %"]
    risk = f"{100 * p:.1f} %"
    assert bar.get("aria-label") == (
        f"Risk {risk} (95 % CI {100 * lo:.1f} % to {100 * hi:.1f} %) on a scale from 0 to 100 %; "
        "observed in the cohort: 35.7 %."
    )


def test_no_interpretation_without_a_risk(client):
    """Outside the applicable range (Ki-67 30 %, G3) and on an empty form there is no number to interpret."""
    for form in ({"surface_depression": "1", "ki67_percent": "30", "cga_positive": "1"}, {}):
        page = parse_html(client.post("/", data=form).text)
        assert select(page, "div", cls="interpretation") == []
        assert text_of(select_one(page, "p", cls="outcome-definition")).startswith("Non-curative resection: ")


def test_the_embed_view_carries_the_interpretation_and_a_folded_eligibility_block(client):
    page = parse_html(client.get("/embed?surface_depression=1&ki67_percent=5&cga_positive=1&lang=zh").text)
    block = select_one(page, "div", cls="interpretation")
    assert text_of(select_one(block, "p", cls="frequency")).startswith("具有这些表现的病变，每100个中约")
    assert text_of(select_one(block, "p", cls="not-a-recommendation")).startswith("这是风险估计，不是治疗建议")
    about = select_one(page, "details", cls="about")
    assert text_of(select_one(about, "summary")) == "适用人群 · 证据"
    link = select_one(about, "a")
    assert (link.get("href"), link.get("target")) == ("/model?lang=zh", "_blank")
    assert select(page, "button", {"id": "keep-scenario"}) == [] and select(page, "section", {"id": "scenarios"}) == []


def about_text(client, path: str = "/") -> tuple[list[str], list[str], str, str]:
    page = parse_html(client.get(path).text)
    about = select_one(page, "section", cls="about")
    ranges = [text_of(li) for li in select(select_one(about, "ul", cls="ranges"), "li")]
    validation = [text_of(li) for li in select(select_one(about, "ul", cls="validation"), "li")]
    evidence = select_one(about, "div", cls="evidence")
    return ranges, validation, text_of(evidence), select_one(evidence, "a").get("href")


def test_eligibility_and_evidence_of_the_shipped_demo_in_both_languages(client):
    ranges, validation, evidence, link = about_text(client)
    assert ranges == [
        "Ki-67 index: applies to 0–20 % (development data 0.1–20 %); outside that range no risk is given."
    ]
    assert validation == [
        "Validation: none on patients. Internal validation (bootstrap, B = 1000) on the simulated cohort only."
    ]
    assert "Chinese Journal of Digestive Endoscopy, article NJ240221" in evidence and "n = 213" in evidence
    assert "This model: synthetic demonstration, rnet-demo-v1, created 2026-11-24." in evidence
    assert link == "/model?lang=en"
    page = parse_html(client.get("/").text)
    use_for = [text_of(li) for li in select(select(select_one(page, "div", cls="use-columns"), "ul")[0], "li")]
    assert use_for == [
        "rectal NETs of 20 mm or less",
        "planning endoscopic resection (EMR, ESD, EFR), before it",
        "no distant metastasis",
        "G1 or G2 by the biopsy's Ki-67",
    ]
    ranges, validation, evidence, link = about_text(client, "/?lang=zh")
    assert ranges == ["Ki-67 指数：适用范围0–20 %（开发数据范围0.1–20 %）；超出范围不给出风险。"]
    assert validation == ["验证：未在患者中验证；仅在模拟队列中进行内部验证（bootstrap，B = 1000）。"]
    assert "《中华消化内镜杂志》，文章编号 NJ240221" in evidence
    assert "本模型：模拟数据演示，rnet-demo-v1，创建于2026-11-24。" in evidence
    assert link == "/model?lang=zh"


def test_a_trained_model_without_an_applicable_range_states_internal_validation(tmp_path):
    out = tmp_path / "m.json"
    assert main(["train", "--data", str(DEMO_COHORT), "--out", str(out), "--bootstrap", "20", "--seed", "3"]) == 0
    artifact = json.loads(out.read_text())
    corrected = artifact["performance"]["auc_optimism_corrected"]
    low, high = artifact["predictors"][1]["fitted_range"]
    client = make_client(artifact=out)
    ranges, validation, _, _ = about_text(client)
    assert ranges == [
        f"Ki-67 index: development data {low:g}–{high:g} %; beyond that range a risk is marked as an extrapolation."
    ]
    assert validation == [f"Validation: internal only (bootstrap, B = 20; optimism-corrected AUC {corrected:.3f})."]


def test_published_and_updated_models_say_what_their_validation_is(tmp_path):
    published = published_artifact(tmp_path)
    _, validation, _, _ = about_text(make_client(artifact=published))
    assert validation == ["Validation: coefficients as published; not validated here."]

    local = tmp_path / "local.csv"
    local.write_text(DEMO_COHORT.read_text())
    updated = tmp_path / "u.json"
    args = ["recalibrate", "--artifact", str(DEMO_ARTIFACT), "--data", str(local), "--out", str(updated)]
    assert main([*args, "--model-id", "ours", "--method", "intercept"]) == 0
    client = make_client(artifact=updated)
    _, validation, _, _ = about_text(client)
    assert validation == [
        "Validation: updated on a local cohort of 213 patients; its figures are apparent, not an independent validation."
    ]
    notes = [
        text_of(p)
        for p in select(
            parse_html(client.get("/?surface_depression=1&ki67_percent=5&cga_positive=1").text), "p", cls="cohort-rate"
        )
    ]
    assert notes == ["Local cohort used for the update: 76 of 213 (35.7 %) were not resected curatively."]


def with_external_validations(tmp_path, records) -> Path:
    return demo_artifact_with(tmp_path, lambda data: data["provenance"].update(external_validations=records))


def test_a_recorded_external_validation_is_stated_in_both_languages(tmp_path):
    path = with_external_validations(
        tmp_path,
        [{"cohort": "Hospital B, 2024", "n": 300, "auc": 0.712}, {"cohort": "Hospital C", "n": 95, "auc": None}],
    )
    client = make_client(artifact=path)
    _, validation, _, _ = about_text(client)
    assert validation == [  # no "none on patients" or "internal only" beside an external validation
        "Internal validation (bootstrap, B = 1000) on the simulated cohort.",
        "External validation on Hospital B, 2024: n = 300, AUC 0.712.",
        "External validation on Hospital C: n = 95.",
    ]
    _, validation, _, _ = about_text(client, "/?lang=zh")
    assert validation == [
        "内部验证（bootstrap，B = 1000）在模拟队列中进行。",
        "外部验证：Hospital B, 2024，n = 300，AUC 0.712。",
        "外部验证：Hospital C，n = 95。",
    ]


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"cohort": "B", "n": 3}, "provenance.external_validations must be a list"),
        ([{"cohort": "", "n": 3}], "provenance.external_validations[0].cohort must be a name of 1 to 200 characters"),
        ([{"cohort": "B", "n": 0}], "provenance.external_validations[0].n must be a positive whole number of patients"),
        ([{"cohort": "B", "n": True}], "provenance.external_validations[0].n must be a positive whole number of patients"),
        ([{"cohort": "B", "n": 9, "auc": 1.5}], "provenance.external_validations[0].auc must lie between 0 and 1 (or be null)"),
        ([{"cohort": "B", "n": 9, "site": "x"}], "provenance.external_validations[0] must be an object with the keys cohort, n and (optionally) auc"),
    ],
)  # fmt: skip
def test_a_malformed_external_validation_record_is_refused(tmp_path, records, message):
    with pytest.raises(ArtifactError) as refused:
        load_artifact(with_external_validations(tmp_path, records))
    assert message in str(refused.value)


def test_the_model_card_states_the_validation_and_drops_no_external_validation_yet(tmp_path):
    demo_card = parse_html(make_client().get("/model").text)
    status = [text_of(li) for li in select(select_one(demo_card, "section", cls="validation-status"), "li")]
    assert status == [
        "Validation: none on patients. Internal validation (bootstrap, B = 1000) on the simulated cohort only."
    ]
    assert "no external validation yet" in text_of(demo_card)
    path = with_external_validations(tmp_path, [{"cohort": "Hospital B", "n": 300, "auc": 0.7}])
    for lang, first, expected, absent in (
        ("en", "Internal validation (bootstrap, B = 1000) on the simulated cohort.",
         "External validation on Hospital B: n = 300, AUC 0.700.", "no external validation yet"),
        ("zh", "内部验证（bootstrap，B = 1000）在模拟队列中进行。", "外部验证：Hospital B，n = 300，AUC 0.700。", "尚无外部验证"),
    ):  # fmt: skip
        card = parse_html(make_client(artifact=path).get(f"/model?lang={lang}").text)
        status = [text_of(li) for li in select(select_one(card, "section", cls="validation-status"), "li")]
        assert status == [first, expected]
        assert absent not in text_of(card)


def test_a_model_that_cites_another_study_shows_that_reference_not_the_suzhou_study(tmp_path):
    published = published_artifact(tmp_path)
    client = make_client(artifact=published)
    for lang, lead in (("en", "Reference: "), ("zh", "参考文献：")):
        study = select_one(parse_html(client.get(f"/?lang={lang}").text), "p", cls="study")
        assert text_of(study) == lead + SPEC["reference"]
        assert "Suzhou" not in text_of(study) and "苏州" not in text_of(study)
        cited = select(study, "span")
        assert [span.get("lang") for span in cited] == ([] if lang == "en" else ["en"])
