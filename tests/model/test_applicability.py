"""Where a model applies (its population) and where its numbers are extrapolation.

Hand-made specs: a model that applies to Ki-67 0–20 % (G1/G2), with and without a fitted range.
"""

from __future__ import annotations

import copy

import pytest

from app.model.artifact import ArtifactError, ModelArtifact, with_digest
from app.model.predict import Model, NotApplicableError
from app.stats.published import SpecError, artifact_from_spec

SPEC = {
    "model_id": "applicability",
    "reference": "made in tests/model/test_applicability.py",
    "predictors": [
        {"name": "surface_depression", "kind": "binary"},
        {
            "name": "ki67_percent",
            "kind": "continuous",
            "nomogram_range": [0, 20],
            "fitted_range": [0.1, 18],
            "applicable_range": [0, 20],
        },
        {"name": "cga_positive", "kind": "binary"},
    ],
    "coefficients": {"intercept": -2.0, "surface_depression": 1.5, "ki67_percent": 0.2, "cga_positive": -0.8},
    "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.05, "cga_positive": 0.3},
    "submodels": [
        {
            "missing": ["cga_positive"],
            "coefficients": {"intercept": -2.2, "surface_depression": 1.4, "ki67_percent": 0.21},
            "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.05},
        }
    ],
}


def _model(spec: dict) -> Model:
    data, _ = artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")
    return Model(ModelArtifact.model_validate(with_digest(data)))


def _patient(ki67: float | None, cga: float | None = 1.0) -> dict[str, float | None]:
    return {"surface_depression": 1.0, "ki67_percent": ki67, "cga_positive": cga}


@pytest.mark.parametrize("ki67", [0.0, 0.1, 10.0, 20.0])
def test_inside_the_applicable_range_a_risk_is_given(ki67):
    assert 0 < _model(SPEC).predict(_patient(ki67)).probability < 1


@pytest.mark.parametrize("ki67", [20.01, 25.0, 95.0, 100.0])
def test_above_twenty_percent_no_risk_is_computed(ki67):
    with pytest.raises(NotApplicableError) as caught:
        _model(SPEC).predict(_patient(ki67))
    (outside,) = caught.value.outside
    assert (outside.name, outside.value, outside.low, outside.high) == ("ki67_percent", ki67, 0.0, 20.0)


def test_applicability_also_holds_when_a_submodel_answers():
    with pytest.raises(NotApplicableError):
        _model(SPEC).predict(_patient(30.0, cga=None))


def test_zero_next_to_a_lowest_fitted_value_of_0_1_is_not_extrapolation():
    """Fitted 0.1–18 (width 17.9, tolerance 0.358): Ki-67 0 is 0.1 below; 18.3 is inside the tolerance, 18.5 not."""
    model = _model(SPEC)
    assert model.predict(_patient(0.0)).extrapolated == ()
    assert model.predict(_patient(18.3)).extrapolated == ()
    assert model.predict(_patient(18.5)).extrapolated == ("ki67_percent",)


def test_without_a_fitted_range_the_nomogram_axis_bounds_the_data():
    """A published model without a fitted range: values beyond its axis (0–20, tolerance 0.4) are flagged."""
    spec = copy.deepcopy(SPEC)
    del spec["predictors"][1]["fitted_range"]
    del spec["predictors"][1]["applicable_range"]
    spec["predictors"][1]["nomogram_range"] = [0, 20]
    model = _model(spec)
    assert model.predict(_patient(20.3)).extrapolated == ()
    assert model.predict(_patient(21.0)).extrapolated == ("ki67_percent",)
    assert model.predict(_patient(99.0)).extrapolated == ("ki67_percent",)


@pytest.mark.parametrize(
    ("bounds", "words"),
    [([-5, 20], "within the values"), ([0, 150], "within the values"), ([20, 5], "low must be below high")],
)
def test_spec_refuses_an_applicable_range_outside_the_domain_or_reversed(bounds, words):
    spec = copy.deepcopy(SPEC)
    spec["predictors"][1]["applicable_range"] = bounds
    with pytest.raises(SpecError, match=words):
        artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")


def test_spec_refuses_an_applicable_range_on_a_binary_finding():
    spec = copy.deepcopy(SPEC)
    spec["predictors"][0]["applicable_range"] = [0, 1]
    with pytest.raises(SpecError, match="only a continuous predictor"):
        artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")


def test_artifact_refuses_an_applicable_range_beyond_the_allowed_one():
    data, _ = artifact_from_spec(SPEC, created_at="2026-01-01T00:00:00Z")
    data["predictors"][1]["applicable_range"] = [0, 120]
    with pytest.raises((ArtifactError, ValueError), match="applicable_range"):
        ModelArtifact.model_validate(with_digest(data))


def test_an_artifact_without_the_field_keeps_its_bytes():
    """Artifacts written before applicable_range existed: no key appears when they are written again."""
    spec = copy.deepcopy(SPEC)
    del spec["predictors"][1]["applicable_range"]
    data, _ = artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")
    artifact = ModelArtifact.model_validate(with_digest(data))
    assert "applicable_range" not in artifact.model_dump(mode="json")["predictors"][1]
