"""Regressions from the code review: artifacts that ordinary commands make must serve without a 5xx,
and every user error must exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.model.artifact import ArtifactError, digest, load_artifact
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT
from tests.web.conftest import make_client

SPEC = {
    "model_id": "published-example",
    "reference": "Example et al. 2025",
    "predictors": [
        {"name": "surface_depression", "kind": "binary"},
        {"name": "ki67_percent", "kind": "continuous", "nomogram_range": [0, 17]},
        {"name": "cga_positive", "kind": "binary"},
    ],
    "coefficients": {"intercept": -3.0, "surface_depression": 1.4, "ki67_percent": 0.25, "cga_positive": 0.8},
    "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.07, "cga_positive": 0.3},
}


def call(args):
    try:
        return main(args)
    except SystemExit as exit_:
        return int(exit_.code)


def every_page_works(client):
    for path in ("/", "/model", "/docs", "/embed?surface_depression=1&ki67_percent=30&cga_positive=0"):
        assert client.get(path).status_code == 200, path
    assert (
        client.post("/", data={"surface_depression": "1", "ki67_percent": "4", "cga_positive": "unknown"}).status_code
        == 200
    )
    body = {"surface_depression": True, "ki67_percent": 4.0, "cga_positive": False}
    assert client.post("/api/v1/predict", json=body).status_code == 200


def test_axis_end_that_is_not_a_tick_multiple_still_serves(tmp_path):
    lines = DEMO_COHORT.read_text().splitlines()
    header = lines[0].split(",")
    k = header.index("ki67_percent")
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
    every_page_works(client)
    assert "published coefficients" in client.get("/").text
    assert "Built from published coefficients, not fitted here" in client.get("/model").text
    page = client.post("/", data={"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "1"}).text
    assert "the model&#39;s axis range" in page or "the model's axis range" in page


def test_artifact_with_other_predictors_is_refused_by_the_server(tmp_path):
    out = tmp_path / "other.json"
    assert main(["train", "--data", str(DEMO_COHORT), "--out", str(out), "--bootstrap", "0",
                 "--predictors", "surface_depression,tumor_diameter_mm"]) == 0  # fmt: skip
    with pytest.raises(ArtifactError, match="the web calculator asks for"):
        make_client(artifact=out)


def test_nomogram_that_contradicts_the_coefficients_is_refused(tmp_path):
    data = json.loads(DEMO_ARTIFACT.read_text())
    data["nomogram"]["axes"][1]["beta"] = -5.0
    data["sha256"] = digest(data)
    path = tmp_path / "n.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="does not match its coefficient"):
        load_artifact(path)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"coefficients": {**SPEC["coefficients"], "ki67_percent": 10**400}}, "finite number"),
        (
            {"coefficients": {**SPEC["coefficients"], "surface_depression": 0, "ki67_percent": 0, "cga_positive": 0}},
            "zero",
        ),
        ({"standard_errors": {**SPEC["standard_errors"], "intercept": -0.4}}, "positive"),
        ({"performance": {"n": 213.5}}, "whole number"),
        ({"performance": {"auc": 7}}, "between 0 and 1"),
        ({"performance": {"auc_ci95": [0.6]}}, "[low, high]"),
        (
            {
                "predictors": [
                    {"name": "surface_depression", "kind": "binary"},
                    {"name": "ki67_percent", "kind": "binary"},
                    {"name": "cga_positive", "kind": "binary"},
                ]
            },
            "continuous in the data dictionary",
        ),  # fmt: skip
        (
            {"standard_errors": None, "covariance": [[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]},
            "symmetric",
        ),
        (
            {
                "predictors": [
                    {**p, "nomogram_range": [3, 3]} if p["name"] == "ki67_percent" else p for p in SPEC["predictors"]
                ]
            },
            "low must be below high",
        ),
    ],
)
def test_bad_specs_exit_2(tmp_path, capsys, change, expected):
    spec = {**SPEC, **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert call(["from-coefficients", str(path), "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "o.json").exists()


def test_other_user_errors_exit_2(tmp_path, capsys, monkeypatch):
    assert call(["simulate", "--out", str(tmp_path / "c.csv"), "--seed", "-1"]) == 2
    assert call(["train", "--data", str(DEMO_COHORT), "--out", str(tmp_path), "--force", "--bootstrap", "0"]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert call(["from-coefficients", str(tmp_path), "--out", str(tmp_path / "o.json")]) == 2
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "99999999999999999")
    assert call(["train", "--data", str(DEMO_COHORT), "--out", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 2
    assert "SOURCE_DATE_EPOCH" in capsys.readouterr().err
    huge = tmp_path / "huge.csv"
    huge.write_text("surface_depression,ki67_percent\n" + "1," + "9" * 200_000 + "\n")
    assert call(["train", "--data", str(huge), "--out", str(tmp_path / "h.json")]) == 2


def test_auc_interval_is_truncated_to_0_1_as_proc():
    from app.stats.discrimination import auc_delong

    y = np.array([0] * 30 + [1] * 12)
    score = np.concatenate([np.linspace(0, 1, 30), np.linspace(0.97, 2, 12)])
    result = auc_delong(y=y, score=score)
    assert result.ci95[1] == 1.0 and result.auc < 1.0


def test_language_with_q_zero_is_not_chosen():
    from app.web.i18n import choose_language

    assert choose_language(None, "zh;q=0, en;q=0.5", "en") == "en"


def test_minus_zero_ki67_is_zero(client=None):
    page = make_client().post("/", data={"surface_depression": "0", "ki67_percent": "-0", "cga_positive": "0"})
    assert page.status_code == 200
    assert "-0" not in page.text.split('id="result"')[1].split("nomogram-panel")[0]
