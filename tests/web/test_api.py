"""The JSON API: answers equal the statistics core's; every bad input is a 4xx naming the field."""

from __future__ import annotations

import json

import pytest

from app.model.artifact import write_artifact
from app.model.predict import Model
from app.stats.published import artifact_from_spec
from tests.conftest import DEMO_ARTIFACT
from tests.web.conftest import make_client

VALID = {"surface_depression": True, "ki67_percent": 4.5, "cga_positive": False}
NOTICE = "Demonstration model fitted on synthetic patients, not on the study's data: not for clinical decisions."


def test_prediction_equals_the_model_core(client):
    response = client.post("/api/v1/predict", json=VALID)
    assert response.status_code == 200
    body = response.json()
    core = Model.from_file(DEMO_ARTIFACT).predict({"surface_depression": 1, "ki67_percent": 4.5, "cga_positive": 0})
    assert body["probability"] == core.probability
    assert body["ci95"] == list(core.ci95)
    assert body["linear_predictor"] == core.linear_predictor
    assert body["total_points"] == pytest.approx(sum(body["points"].values()))
    assert body["model"]["id"] == "rnet-demo-v1"
    assert body["model"]["demonstration"] is True
    assert body["notice"] == NOTICE
    assert body["extrapolation"] == []


def test_extrapolation_is_named(tmp_path):
    """Fitted 1–15 % (tolerance 2 % of 14 = 0.28): 18 % is extrapolation, 15.2 % is not."""
    client = _served_hand_model(tmp_path)
    body = client.post("/api/v1/predict", json={**VALID, "ki67_percent": 18}).json()
    assert body["extrapolation"] == ["ki67_percent"] and body["applicable"] is True
    assert client.post("/api/v1/predict", json={**VALID, "ki67_percent": 15.2}).json()["extrapolation"] == []


def _served_hand_model(tmp_path):
    """A model fitted on Ki-67 1–15 % that applies to 0–20 %: 18 % is inside its population, beyond its data."""
    spec = {
        "model_id": "hand",
        "reference": "made in this test",
        "predictors": [
            {"name": "surface_depression", "kind": "binary"},
            {"name": "ki67_percent", "kind": "continuous", "nomogram_range": [0, 20], "fitted_range": [1, 15],
             "applicable_range": [0, 20]},
            {"name": "cga_positive", "kind": "binary"},
        ],
        "coefficients": {"intercept": -2.0, "surface_depression": 1.5, "ki67_percent": 0.2, "cga_positive": -0.8},
        "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.05, "cga_positive": 0.3},
    }  # fmt: skip
    data, _ = artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")
    path = tmp_path / "hand.json"
    write_artifact(path, data)
    return make_client(artifact=path)


BAD_INPUT = [
    ({**VALID, "ki67_percent": 101}, "ki67_percent", "outside 0 to 100"),
    ({**VALID, "ki67_percent": -0.1}, "ki67_percent", "outside 0 to 100"),
    ({**VALID, "ki67_percent": "5"}, "ki67_percent", "must be a number"),
    ({**VALID, "ki67_percent": True}, "ki67_percent", "must be a number"),
    ({**VALID, "surface_depression": None}, "surface_depression", "true or false"),
    ({**VALID, "surface_depression": "yes"}, "surface_depression", "true or false"),
    ({**VALID, "surface_depression": 1}, "surface_depression", "true or false"),
    ({**VALID, "cga_positive": "unknown"}, "cga_positive", "true or false"),
    ({"surface_depression": True, "ki67_percent": 3}, "cga_positive", "is required"),
    ({**VALID, "tumor_size": 3}, "tumor_size", "not a finding"),
    ([VALID], "body", "JSON object"),
    ("just text", "body", "JSON object"),
]


@pytest.mark.parametrize(("payload", "field", "words"), BAD_INPUT)
def test_bad_input_gets_422_naming_the_field(client, payload, field, words):
    response = client.post("/api/v1/predict", json=payload)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(p["field"] == field and words in p["message"] for p in problems), problems


@pytest.mark.parametrize(
    ("raw", "field"),
    [(b"{", "body"),
     (b'{"surface_depression": true, "ki67_percent": NaN, "cga_positive": true}', "ki67_percent"),
     (b'{"surface_depression": true, "ki67_percent": Infinity, "cga_positive": true}', "ki67_percent"),
     (b'{"surface_depression": true, "ki67_percent": 1e999, "cga_positive": true}', "ki67_percent"),
     (b"", "body"), (b"\xff\xfe", "body")],
)  # fmt: skip
def test_broken_json_and_non_finite_numbers_are_422(client, raw, field):
    response = client.post("/api/v1/predict", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert [p["field"] for p in problems] == [field]
    assert all(set(p) == {"field", "message"} and len(p["message"]) > 20 for p in problems)
    if field == "ki67_percent":
        assert "finite number from 0 to 100" in problems[0]["message"]


def test_huge_body_is_413_and_the_server_keeps_serving(client):
    response = client.post(
        "/api/v1/predict", content=b"[" + b"1," * 20000 + b"1]", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert client.post("/api/v1/predict", json=VALID).status_code == 200


def test_wrong_method_and_unknown_route_are_4xx(client):
    assert client.get("/api/v1/predict").status_code == 405
    assert client.get("/api/v1/nothing").status_code == 404


def test_model_metadata_and_health(client):
    meta = client.get("/api/v1/model").json()
    shipped = json.loads(DEMO_ARTIFACT.read_text())
    assert meta["sha256"] == shipped["sha256"]
    assert meta["coefficients"] == shipped["coefficients"]
    assert meta["demonstration"] is True and meta["notice"] == NOTICE
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["models"] == {"rnet-demo-v1": shipped["sha256"]}


def test_openapi_documents_ranges_and_forbids_extra_fields(client):
    schema = client.get("/openapi.json").json()
    findings = schema["components"]["schemas"]["PatientFindings"]
    # A number from 0 to 100, or null (not yet known).
    assert findings["properties"]["ki67_percent"]["anyOf"] == [
        {"type": "number", "minimum": 0, "maximum": 100},
        {"type": "null"},
    ]
    assert findings["properties"]["cga_positive"]["anyOf"] == [{"type": "boolean"}, {"type": "null"}]
    assert findings["additionalProperties"] is False
    assert set(findings["required"]) == {"surface_depression", "ki67_percent", "cga_positive"}
