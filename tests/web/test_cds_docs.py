"""/docs shows the CDS Hooks and FHIR examples in the page's language, and they are what the server answers."""

from __future__ import annotations

import json
import re

import pytest

from app.web.i18n import STRINGS
from tests.conftest import by_id, parse_html, select, text_of
from tests.web.conftest import make_client
from tests.web.fhir_fixtures import SERVICE


def untimed(value: dict) -> str:
    """The answer without the minute it was calculated (the page and the call may straddle a minute)."""
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "<time>", json.dumps(value, ensure_ascii=False))


def example(page, element_id: str) -> dict:
    text = by_id(page, element_id).text
    return json.loads(text[text.index("{") :])


@pytest.mark.parametrize(
    ("lang", "accept_language", "fhir_heading"),
    [("en", "en", "FHIR RiskAssessment"), ("zh", "zh-CN", "FHIR 风险评估（RiskAssessment）")],
)
def test_the_docs_example_is_the_servers_own_answer(lang, accept_language, fhir_heading):
    client = make_client()
    page = parse_html(client.get(f"/docs?lang={lang}").text)
    headings = [text_of(h) for h in select(page, "h2")]
    assert STRINGS[lang]["docs_cds_heading"] in headings
    assert fhir_heading in headings
    request = example(page, "cds-example-request")
    shown = example(page, "cds-example-response")
    answer = client.post(SERVICE, json=request, headers={"accept-language": accept_language})
    assert answer.status_code == 200
    assert untimed(shown) == untimed(answer.json())
    assert "<time>" in untimed(shown)
    assert shown["cards"][0]["summary"].startswith(STRINGS[lang]["cds_summary"].split("{")[0])


def test_the_docs_fhir_example_is_a_risk_assessment_with_the_apis_number():
    client = make_client()
    shown = example(parse_html(client.get("/docs").text), "fhir-example-response")
    plain = client.post("/api/v1/predict", json={"surface_depression": True, "ki67_percent": 5, "cga_positive": True})
    assert shown["resourceType"] == "RiskAssessment"
    assert shown["prediction"][0]["probabilityDecimal"] == plain.json()["probability"]


def test_reading_the_docs_writes_nothing_to_the_audit_log(tmp_path):
    audit = tmp_path / "audit.jsonl"
    assert make_client(audit_log=audit).get("/docs").status_code == 200
    assert audit.read_text() == ""
