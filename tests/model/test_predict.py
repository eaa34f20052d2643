"""Prediction, its CI, nomogram points and the extrapolation flag.

The values are worked by hand for a model built from round coefficients
(exact at the artifact's 8 significant digits); R's `predict(lrm)` for the
shipped artifact is checked in tests/stats/test_against_r.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from app.model.artifact import ModelArtifact, with_digest
from app.model.predict import Model, NotApplicableError
from app.stats.published import artifact_from_spec
from tests.conftest import DEMO_ARTIFACT

Z_95 = 1.959963984540054  # qnorm(0.975)

# β0 = −2, surface depression 1.5, Ki-67 0.2 per %, CgA −0.8; diagonal covariance from the SEs
# 0.4, 0.35, 0.05, 0.3.  Ki-67's nomogram axis is [5, 25] and the fitted range [6, 18].
HAND_SPEC = {
    "model_id": "hand-worked",
    "reference": "worked by hand in tests/model/test_predict.py",
    "predictors": [
        {"name": "surface_depression", "kind": "binary"},
        {"name": "ki67_percent", "kind": "continuous", "nomogram_range": [5, 25], "fitted_range": [6, 18]},
        {"name": "cga_positive", "kind": "binary"},
    ],
    "coefficients": {"intercept": -2.0, "surface_depression": 1.5, "ki67_percent": 0.2, "cga_positive": -0.8},
    "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.05, "cga_positive": 0.3},
}


@pytest.fixture(scope="module")
def hand_model() -> Model:
    data, _ = artifact_from_spec(HAND_SPEC, created_at="2026-01-01T00:00:00Z")
    return Model(ModelArtifact.model_validate(with_digest(data)))


@pytest.fixture(scope="module")
def model() -> Model:
    return Model.from_file(DEMO_ARTIFACT)


# Scale s = 100 / max(1.5·1, 0.2·(25 − 5) = 4, 0.8·1) = 25 points per logit unit; lowest contributions
# 0, 0.2·5 = 1 and −0.8.  se = √(0.4² + (0.35·d)² + (0.05·k)² + (0.3·c)²) (diagonal covariance).
HAND_CASES = [
    # d=1, k=10, c=1: lp = −2 + 1.5 + 2 − 0.8 = 0.7;  se = √(0.16 + 0.1225 + 0.25 + 0.09) = √0.6225
    # points 25·1.5 = 37.5; 25·(2 − 1) = 25; 25·(−0.8 + 0.8) = 0
    (
        {"surface_depression": 1, "ki67_percent": 10.0, "cga_positive": 1},
        {
            "lp": 0.7,
            "se": 0.788986691902975,
            "p": 0.6681877721681662,
            "ci95": (0.3001916305488701, 0.9043382994573886),
            "points": {"surface_depression": 37.5, "ki67_percent": 25.0, "cga_positive": 0.0},
        },
    ),
    # d=0, k=5, c=0: lp = −2 + 1 = −1;  se = √(0.16 + 0.0625) = √0.2225
    # points 0; 25·(1 − 1) = 0; 25·(0 + 0.8) = 20
    (
        {"surface_depression": 0, "ki67_percent": 5.0, "cga_positive": 0},
        {
            "lp": -1.0,
            "se": 0.4716990566028302,
            "p": 0.2689414213699951,
            "ci95": (0.12735913479072242, 0.4811372468470149),
            "points": {"surface_depression": 0.0, "ki67_percent": 0.0, "cga_positive": 20.0},
        },
    ),
    # d=0, k=20, c=0: lp = −2 + 4 = 2;  se = √(0.16 + 1.0) = √1.16
    # points 0; 25·(4 − 1) = 75; 20
    (
        {"surface_depression": 0, "ki67_percent": 20.0, "cga_positive": 0},
        {
            "lp": 2.0,
            "se": 1.0770329614269007,
            "p": 0.8807970779778823,
            "ci95": (0.4722919619906664, 0.9838721094746995),
            "points": {"surface_depression": 0.0, "ki67_percent": 75.0, "cga_positive": 20.0},
        },
    ),
]


@pytest.mark.parametrize(("patient", "expected"), HAND_CASES)
def test_prediction_worked_by_hand(hand_model, patient, expected):
    """p = expit(lp), CI = expit(lp ± z·se): the values written out above, to relative 1e-9."""
    result = hand_model.predict(patient)
    assert result.linear_predictor == pytest.approx(expected["lp"], rel=1e-9, abs=1e-12)
    assert result.se_linear_predictor == pytest.approx(expected["se"], rel=1e-9)
    assert result.probability == pytest.approx(expected["p"], rel=1e-9)
    assert result.ci95 == pytest.approx(expected["ci95"], rel=1e-9)
    assert result.points == pytest.approx(expected["points"], abs=1e-9)
    assert result.total_points == pytest.approx(sum(expected["points"].values()), abs=1e-9)
    # The bottom axis: −2 + 0 + 1 − 0.8 = −1.8 logits at 0 points, 25 points per logit.
    assert hand_model.probability_from_points(result.total_points) == pytest.approx(expected["p"], rel=1e-9)


@pytest.mark.parametrize(
    ("ki67", "flagged"),
    [
        (5.7, ("ki67_percent",)),
        (5.8, ()),
        (6.0, ()),
        (12.0, ()),
        (18.0, ()),
        (18.2, ()),
        (18.3, ("ki67_percent",)),
        (0.0, ("ki67_percent",)),
    ],
)
def test_extrapolation_is_flagged_below_and_above_the_fitted_range(hand_model, ki67, flagged):
    """Fitted range [6, 18], width 12: values within 2 % of it (0.24) of either end are as close to
    the data as a report's rounding; 5.7 and 18.3 are beyond that, 5.8 and 18.2 are not."""
    patient = {"surface_depression": 1, "ki67_percent": ki67, "cga_positive": 0}
    assert hand_model.predict(patient).extrapolated == flagged


PATIENTS = [
    {"surface_depression": d, "ki67_percent": k, "cga_positive": c}
    for d, k, c in itertools.product((0, 1), (0.0, 2.37, 10.0, 20.0), (0, 1))
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
    assert result.ci95[0] == pytest.approx(1 / (1 + math.exp(-(lp - Z_95 * se))), abs=1e-12)
    # The nomogram's bottom axis gives back the same risk from the total points.
    assert model.probability_from_points(result.total_points) == pytest.approx(result.probability, abs=1e-12)


def test_the_shipped_model_gives_no_risk_beyond_its_g1_g2_population(model):
    """Ki-67 above 20 % (grade G3) is outside the population: no risk, rather than an extrapolation."""
    with pytest.raises(NotApplicableError):
        model.predict({"surface_depression": 1, "ki67_percent": 35.0, "cga_positive": 1})
    assert model.predict({"surface_depression": 1, "ki67_percent": 2.0, "cga_positive": 1}).extrapolated == ()
