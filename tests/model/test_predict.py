"""Prediction, its CI and the nomogram geometry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from app.model.nomogram import build_nomogram
from app.model.predict import Model
from tests.conftest import DEMO_ARTIFACT


@pytest.fixture(scope="module")
def model() -> Model:
    return Model.from_file(DEMO_ARTIFACT)


PATIENTS = [
    {"surface_depression": d, "ki67_percent": k, "cga_positive": c}
    for d, k, c in itertools.product((0, 1), (0.0, 2.37, 10.0, 35.0), (0, 1))
]


@pytest.mark.parametrize("patient", PATIENTS)
def test_probability_ci_and_points_are_consistent(model, patient):
    result = model.predict(patient)
    coef = model.artifact.coefficients
    lp = coef["intercept"] + sum(coef[k] * v for k, v in patient.items())
    assert result.linear_predictor == pytest.approx(lp, abs=1e-12)
    assert result.probability == pytest.approx(1 / (1 + math.exp(-lp)), abs=1e-12)
    x = np.array([1.0, patient["surface_depression"], patient["ki67_percent"], patient["cga_positive"]])
    se = math.sqrt(x @ np.array(model.artifact.covariance) @ x)
    assert result.se_linear_predictor == pytest.approx(se, rel=1e-12)
    assert result.ci95[0] < result.probability < result.ci95[1]
    assert result.ci95[0] == pytest.approx(1 / (1 + math.exp(-(lp - 1.959963984540054 * se))), abs=1e-12)
    assert result.total_points == pytest.approx(sum(result.points.values()))
    # The nomogram's bottom axis gives back the same risk from the total points.
    assert model.probability_from_points(result.total_points) == pytest.approx(result.probability, abs=1e-12)


def test_extrapolation_is_flagged_beyond_the_fitted_range(model):
    assert model.predict({"surface_depression": 1, "ki67_percent": 35.0, "cga_positive": 1}).extrapolated == (
        "ki67_percent",
    )
    assert model.predict({"surface_depression": 1, "ki67_percent": 2.0, "cga_positive": 1}).extrapolated == ()


def test_widest_axis_spans_100_points_and_lowest_risk_end_scores_zero():
    predictors = [
        {"name": "a", "kind": "binary", "nomogram_range": [0.0, 1.0]},
        {"name": "b", "kind": "continuous", "nomogram_range": [0.0, 20.0]},
        {"name": "c", "kind": "binary", "nomogram_range": [0.0, 1.0]},
    ]
    geometry = build_nomogram(intercept=-2.0, predictors=predictors, coefficients={"a": 1.5, "b": 0.2, "c": -0.8})
    axes = {axis["name"]: axis for axis in geometry["axes"]}
    assert geometry["points_per_logit"] == pytest.approx(100 / 4.0)  # widest: 0.2 x 20 = 4 logits
    assert axes["b"]["ticks"][-1]["points"] == pytest.approx(100)
    assert axes["a"]["ticks"][-1]["points"] == pytest.approx(37.5)
    # A protective factor: its higher value scores 0 (rms's convention).
    assert [t["points"] for t in axes["c"]["ticks"]] == pytest.approx([20.0, 0.0])
    assert geometry["lp_at_zero_points"] == pytest.approx(-2.0 - 0.8)
    for tick in geometry["probability_ticks"]:
        lp = geometry["lp_at_zero_points"] + tick["total_points"] / geometry["points_per_logit"]
        assert 1 / (1 + math.exp(-lp)) == pytest.approx(tick["probability"])
