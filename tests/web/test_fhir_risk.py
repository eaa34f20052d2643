"""`Accept: application/fhir+json` on /api/v1/predict: a FHIR R4 RiskAssessment, validated by fhir.resources.

The numbers are compared with the JSON answer for the same findings (JSON stays the default), and
every FHIR answer, errors included, must pass fhir.resources' R4B models (R4B's RiskAssessment and
OperationOutcome are R4's).
"""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.riskassessment import RiskAssessment

from tests.conftest import DEMO_ARTIFACT
from tests.web.conftest import demo_artifact_with, make_client
from tests.web.fhir_fixtures import SERVICE, hook_request

FHIR = {"accept": "application/fhir+json"}
FINDINGS = {"surface_depression": True, "ki67_percent": 5, "cga_positive": True}
DEMO_SHA = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))["sha256"]
CI_EXTENSION = "https://rnet-calculator.example/fhir/StructureDefinition/probability-ci95"


def fhir_answer(client, findings, headers=FHIR, path="/api/v1/predict"):
    response = client.post(path, json=findings, headers=headers)
    assert response.headers["content-type"] == "application/fhir+json"
    return response


@pytest.mark.parametrize(
    "findings",
    [
        FINDINGS,
        {"surface_depression": False, "ki67_percent": 1.5, "cga_positive": False},
        {"surface_depression": True, "ki67_percent": None, "cga_positive": False},
    ],
)
def test_the_risk_assessment_is_valid_fhir_and_carries_the_json_answers_numbers(findings):
    client = make_client()
    plain = client.post("/api/v1/predict", json=findings).json()
    response = fhir_answer(client, findings)
    assert response.status_code == 200
    data = response.json()
    resource = RiskAssessment.model_validate(data)
    assert resource.status == "final"
    (prediction,) = data["prediction"]
    assert prediction["probabilityDecimal"] == plain["probability"]
    assert prediction["outcome"]["text"] == "non-curative resection (non-R0 or LVI/PNI)"
    (ci,) = [e for e in prediction["extension"] if e["url"] == CI_EXTENSION]
    assert [ci["valueRange"]["low"]["value"], ci["valueRange"]["high"]["value"]] == plain["ci95"]
    lo, hi = plain["ci95"]
    assert prediction["qualitativeRisk"]["text"] == (
        f"{100 * plain['probability']:.1f} % (95 % CI {100 * lo:.1f} % to {100 * hi:.1f} %)"
    )
    assert data["method"]["coding"][0]["code"] == "rnet-demo-v1"
    assert data["method"]["coding"][0]["version"] == DEMO_SHA == response.headers["x-model-sha256"]
    assert DEMO_SHA in data["method"]["text"]
    notes = " ".join(n["text"] for n in data["note"])
    assert "Demonstration model" in notes
    if findings["ki67_percent"] is None:
        assert "Estimated without Ki-67 index (not yet known)" in notes and "ki67_percent" not in notes
        assert {"display": "Ki-67: not yet known"} in data["basis"]


def test_the_basis_lists_the_findings_as_sent():
    data = fhir_answer(make_client(), {"surface_depression": False, "ki67_percent": 2.5, "cga_positive": None}).json()
    assert data["basis"] == [
        {"display": "Surface depression: no"},
        {"display": "Ki-67: 2.5 %"},
        {"display": "Chromogranin A: not yet known"},
    ]


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "application/json",
        "*/*",
        "application/fhir+json;q=0, application/json",
        "text/html",
        "application/json, application/fhir+json;q=0.1",
        "*/*, application/fhir+json;q=0.5",
    ],
)
def test_json_stays_the_default(accept):
    headers = {} if accept is None else {"accept": accept}
    response = make_client().post("/api/v1/predict", json=FINDINGS, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "resourceType" not in response.json()


@pytest.mark.parametrize(
    "accept",
    [
        "application/fhir+json",
        "application/json;q=0.5, application/fhir+json",
        "Application/FHIR+JSON",
        "application/fhir+json, application/json",
        "application/fhir+json;q=0.9, */*;q=0.8",
    ],
)
def test_fhir_is_chosen_whenever_the_client_accepts_it(accept):
    response = fhir_answer(make_client(), FINDINGS, headers={"accept": accept})
    assert response.json()["resourceType"] == "RiskAssessment"


def test_a_named_model_answers_fhir_too():
    response = fhir_answer(make_client(), FINDINGS, path="/api/v1/models/rnet-demo-v1/predict")
    assert RiskAssessment.model_validate(response.json()).prediction[0].probabilityDecimal is not None


def test_outside_the_population_the_assessment_has_no_probability_but_a_rationale():
    response = fhir_answer(make_client(), {"surface_depression": True, "ki67_percent": 30, "cga_positive": True})
    assert response.status_code == 200
    data = response.json()
    RiskAssessment.model_validate(data)
    (prediction,) = data["prediction"]
    assert "probabilityDecimal" not in prediction and "extension" not in prediction
    assert "G3" in prediction["rationale"]


def test_a_finding_the_model_cannot_do_without_is_an_operation_outcome(tmp_path):
    response = fhir_answer(
        make_client(artifact=demo_artifact_with(tmp_path, lambda data: data.pop("submodels"))),
        {"surface_depression": True, "ki67_percent": None, "cga_positive": True},
    )
    assert response.status_code == 422
    outcome = OperationOutcome.model_validate(response.json())
    assert [issue.expression for issue in outcome.issue] == [["ki67_percent"]]
    assert outcome.issue[0].code == "required"


def test_bad_input_from_a_fhir_client_is_an_operation_outcome():
    response = fhir_answer(make_client(), {"surface_depression": "yes", "ki67_percent": 5})
    assert response.status_code == 422
    outcome = OperationOutcome.model_validate(response.json())
    assert sorted(issue.expression[0] for issue in outcome.issue) == ["cga_positive", "surface_depression"]


def test_a_body_that_is_not_json_gets_an_operation_outcome_for_a_fhir_client():
    response = make_client().post(
        "/api/v1/predict", content=b"{not json", headers={**FHIR, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/fhir+json"
    assert OperationOutcome.model_validate(response.json()).issue[0].expression == ["body"]


def test_the_cds_services_errors_are_valid_operation_outcomes():
    response = make_client().post(SERVICE, json={**hook_request(None), "hook": "order-sign"})
    assert response.status_code == 400
    outcome = OperationOutcome.model_validate(response.json())
    assert outcome.issue[0].expression == ["hook"]
