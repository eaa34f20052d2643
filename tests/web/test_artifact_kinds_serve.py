"""Artifacts that ordinary commands make (trained, published) serve every page without a 5xx;
an artifact the calculator cannot ask for is refused at start-up; and two request details
(a refused language, Ki-67 typed as −0) from the code review."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.model.artifact import ArtifactError, load_artifact
from app.web.i18n import choose_language
from tests.conftest import DEMO_COHORT
from tests.stats.test_published import SPEC
from tests.web.conftest import make_client


def every_page_works(client: TestClient, *, submodels: bool = True) -> None:
    """Every page answers; an unknown finding gets a risk (with submodels) or a 422 page that says why."""
    for path in ("/", "/model", "/docs", "/embed?surface_depression=1&ki67_percent=30&cga_positive=0"):
        assert client.get(path).status_code == 200, path
    form = {"surface_depression": "1", "ki67_percent": "4", "cga_positive": "unknown"}
    assert client.post("/", data=form).status_code == (200 if submodels else 422)
    body = {"surface_depression": True, "ki67_percent": 4.0, "cga_positive": False}
    assert client.post("/api/v1/predict", json=body).status_code == 200


def test_axis_end_that_is_not_a_tick_multiple_still_serves(tmp_path):
    """Ki-67 up to 12.4 % gives an axis ending at 15, not a multiple of the tick step."""
    lines = DEMO_COHORT.read_text().splitlines()
    k = lines[0].split(",").index("ki67_percent")
    kept = [line for line in lines[1:] if float(line.split(",")[k]) <= 12.4]
    cohort = tmp_path / "c.csv"
    cohort.write_text("\n".join([lines[0], *kept]) + "\n")
    out = tmp_path / "m.json"
    assert main(["train", "--data", str(cohort), "--out", str(out), "--bootstrap", "20"]) == 0
    axis = load_artifact(out).nomogram.axes[1]
    assert axis.hi == 15 and axis.ticks[-1]["value"] == 15
    every_page_works(make_client(artifact=out))


def test_published_artifact_serves_every_page(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "p.json"
    assert main(["from-coefficients", str(spec), "--out", str(out)]) == 0
    client = make_client(artifact=out)
    every_page_works(client, submodels=False)
    assert "published coefficients" in client.get("/").text
    assert "Built from published coefficients, not fitted here" in client.get("/model").text
    page = client.post("/", data={"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "1"})
    assert page.status_code == 422
    assert "This model needs Ki-67 index: it has no version fitted without it. Enter the value." in page.text


def test_artifact_with_other_predictors_is_refused_by_the_server(tmp_path):
    out = tmp_path / "other.json"
    args = ["train", "--data", str(DEMO_COHORT), "--out", str(out), "--bootstrap", "0"]
    assert main([*args, "--predictors", "surface_depression,tumor_diameter_mm"]) == 0
    with pytest.raises(ArtifactError, match="the web calculator asks for"):
        make_client(artifact=out)


def test_language_with_q_zero_is_not_chosen():
    assert choose_language(None, "zh;q=0, en;q=0.5", "en") == "en"


def test_minus_zero_ki67_is_zero():
    page = make_client().post("/", data={"surface_depression": "0", "ki67_percent": "-0", "cga_positive": "0"})
    assert page.status_code == 200
    assert "-0" not in page.text.split('id="result"')[1].split("nomogram-panel")[0]
