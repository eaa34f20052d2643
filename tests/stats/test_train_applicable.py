"""`train --applicable NAME=LOW:HIGH`: the range where a model applies, written into the artifact."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.model.predict import Model, NotApplicableError
from tests.conftest import write_csv
from tests.stats.test_train import HEADER, cohort_rows


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    rows, _, _ = cohort_rows(150, 5)
    rows[0][2] = 24.0  # one G3 patient among those fitted
    return write_csv(tmp_path_factory.mktemp("c") / "c.csv", HEADER, rows)


def _train(cohort, out, *extra):
    return main(["train", "--data", str(cohort), "--out", str(out), "--bootstrap", "0", *extra])


def test_the_range_reaches_the_artifact_and_the_model_withholds_risks_outside_it(cohort, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert _train(cohort, out, "--applicable", "ki67_percent=0:20") == 0
    spec = next(p for p in json.loads(out.read_text())["predictors"] if p["name"] == "ki67_percent")
    assert spec["applicable_range"] == [0.0, 20.0]
    assert "1 patient(s) in the fitting data have ki67_percent outside the applicable range 0–20" in (
        capsys.readouterr().err
    )
    model = Model.from_file(out)
    assert 0 < model.predict({"surface_depression": 1, "ki67_percent": 20.0, "cga_positive": 1}).probability < 1
    with pytest.raises(NotApplicableError):
        model.predict({"surface_depression": 1, "ki67_percent": 24.0, "cga_positive": 1})


def test_without_the_option_the_artifact_has_no_such_range(cohort, tmp_path):
    out = tmp_path / "m.json"
    assert _train(cohort, out) == 0
    assert all("applicable_range" not in p for p in json.loads(out.read_text())["predictors"])


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("cga_positive=0:1", "'cga_positive' is not a continuous predictor"),
        ("tumor_diameter_mm=0:20", "'tumor_diameter_mm' is not a continuous predictor"),
        ("ki67_percent=20:5", "LOW ≤ HIGH"),
        ("ki67_percent=0:150", "within the values ki67_percent can take (0 to 100)"),
        ("ki67_percent=0:nan", "LOW ≤ HIGH"),
    ],
)
def test_bad_ranges_are_refused_with_exit_2_and_nothing_written(cohort, tmp_path, capsys, argument, words):
    out = tmp_path / "m.json"
    assert _train(cohort, out, "--applicable", argument) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_a_malformed_option_is_a_usage_error(cohort, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        _train(cohort, tmp_path / "m.json", "--applicable", "ki67_percent")
    assert caught.value.code == 2
    assert "is not NAME=LOW:HIGH (for example ki67_percent=0:20)" in capsys.readouterr().err
