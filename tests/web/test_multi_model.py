"""Several artifacts side by side: each page and answer says which model answered."""

from __future__ import annotations

import json

import pytest

from app.model.artifact import ArtifactError, digest
from tests.conftest import DEMO_ARTIFACT, by_id, parse_html, select_one, text_of
from tests.web.conftest import make_client


def shift_intercept(data: dict, by: float) -> None:
    """Another model: the intercept moved, with its coefficient-table row and nomogram origin (consistent)."""
    data["coefficients"]["intercept"] += by
    data["coefficient_table"][0]["beta"] += by
    data["nomogram"]["lp_at_zero_points"] += by


@pytest.fixture
def second_artifact(tmp_path):
    data = json.loads(DEMO_ARTIFACT.read_text())
    data["model_id"] = "second"
    shift_intercept(data, -0.5)
    data["sha256"] = digest(data)
    path = tmp_path / "second.json"
    path.write_text(json.dumps(data))
    return path


def test_named_model_pages_and_api(second_artifact):
    client = make_client(artifacts=f"{DEMO_ARTIFACT},{second_artifact}")
    listing = client.get("/api/v1/models").json()
    assert listing["default"] == "rnet-demo-v1"
    assert [m["id"] for m in listing["models"]] == ["rnet-demo-v1", "second"]
    page = client.post("/m/second/", data={"surface_depression": "1", "ki67_percent": "3", "cga_positive": "1"})
    assert page.status_code == 200
    document = parse_html(page.text)
    assert "Model: second" in text_of(select_one(document, "span", cls="model-id"))
    assert by_id(document, "calculator-form").get("action") == "/m/second/#result"  # lands on the result
    assert by_id(document, "result-data").get("data-model-id") == "second"
    assert select_one(document, "input", {"name": "model_id"}).get("value") == "second"
    card = client.get("/m/second/model")
    assert "Model: second" in text_of(select_one(card.text, "span", cls="model-id"))
    assert card.headers["x-model-id"] == "second"
    fragment = client.post(
        "/m/second/partials/result", data={"surface_depression": "1", "ki67_percent": "3", "cga_positive": "1"}
    )
    assert by_id(fragment.text, "result-data").get("data-model-id") == "second"
    # The default model still answers at /, with its own id.
    assert by_id(client.post("/", data={"surface_depression": "1", "ki67_percent": "3", "cga_positive": "1"}).text,
                 "result-data").get("data-model-id") == "rnet-demo-v1"  # fmt: skip
    body = {"surface_depression": True, "ki67_percent": 3.0, "cga_positive": True}
    assert client.post("/api/v1/models/second/predict", json=body).json()["model"]["id"] == "second"
    assert client.get("/api/v1/models/second").json()["id"] == "second"


def test_unknown_model_is_404(second_artifact):
    client = make_client(artifacts=str(second_artifact))
    assert client.get("/m/nothing/").status_code == 404
    assert (
        client.post(
            "/api/v1/models/nothing/predict",
            json={"surface_depression": True, "ki67_percent": 3.0, "cga_positive": True},
        ).status_code
        == 404
    )


def test_first_of_rnet_artifacts_is_the_default_when_rnet_artifact_is_unset(second_artifact):
    client = make_client(artifacts=f"{second_artifact} {DEMO_ARTIFACT}")
    assert client.get("/api/v1/model").json()["id"] == "second"


def test_two_different_artifacts_with_one_id_are_refused(tmp_path):
    data = json.loads(DEMO_ARTIFACT.read_text())
    shift_intercept(data, 1.0)
    data["sha256"] = digest(data)
    clash = tmp_path / "clash.json"
    clash.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="share the model id"):
        make_client(artifacts=f"{DEMO_ARTIFACT} {clash}")
