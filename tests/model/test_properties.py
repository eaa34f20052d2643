"""Properties of the model that must hold for any artifact and any input (hypothesis)."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.model.artifact import ModelArtifact, render, with_digest
from app.model.predict import Model
from app.stats.published import artifact_from_spec

coefficient = st.floats(min_value=-3, max_value=3, allow_nan=False)
standard_error = st.floats(min_value=0.01, max_value=2, allow_nan=False)
ki67 = st.floats(min_value=0, max_value=100, allow_nan=False)
binary = st.sampled_from([0.0, 1.0])


@st.composite
def models(draw) -> Model:
    coefficients = {
        "intercept": draw(coefficient),
        "surface_depression": draw(coefficient),
        # |lp| stays below ~35, where a double still tells expit(lp) from 0 and 1.
        "ki67_percent": draw(st.floats(min_value=-0.25, max_value=0.25, allow_nan=False)),
        "cga_positive": draw(coefficient),
    }
    if all(abs(coefficients[k]) < 1e-6 for k in ("surface_depression", "ki67_percent", "cga_positive")):
        coefficients["surface_depression"] = 1.0
    # Axes that start above 0 as well: the scale uses the axis length hi − lo, not hi.
    ki67_lo = draw(st.sampled_from([0, 2, 5]))
    ki67_hi = ki67_lo + draw(st.sampled_from([10, 15, 20, 37]))
    spec = {
        "model_id": "property",
        "reference": "generated",
        "predictors": [
            {"name": "surface_depression", "kind": "binary"},
            {
                "name": "ki67_percent",
                "kind": "continuous",
                "nomogram_range": [ki67_lo, ki67_hi],
            },
            {"name": "cga_positive", "kind": "binary"},
        ],
        "coefficients": coefficients,
        "standard_errors": {k: draw(standard_error) for k in coefficients},
    }
    data, _ = artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")
    return Model(ModelArtifact.model_validate(with_digest(data)))


# The artifact stores the scale and each axis's lowest contribution to 8 significant digits; the
# reference below recomputes them from the coefficients, so a point value agrees to ~1e-8 of the
# logit terms it is made of (s·|βx| + s·|min βx|).
POINTS_RTOL = 1e-7


def nomogram_points(model: Model, values: dict[str, float]) -> dict[str, tuple[float, float]]:
    """(points, tolerance) per finding from STATISTICS.md's definition, the artifact's coefficients and axes:
    rⱼ = |βⱼ|·(hiⱼ − loⱼ), s = 100 / max rⱼ, points = s·(βⱼx − min(βⱼ·loⱼ, βⱼ·hiⱼ))."""
    beta = model.artifact.coefficients
    ranges = {p.name: p.nomogram_range for p in model.artifact.predictors}
    scale = 100 / max(abs(beta[n]) * (hi - lo) for n, (lo, hi) in ranges.items())
    out = {}
    for name, (lo, hi) in ranges.items():
        term, lowest = beta[name] * values[name], min(beta[name] * lo, beta[name] * hi)
        out[name] = (scale * (term - lowest), POINTS_RTOL * scale * (abs(term) + abs(lowest)) + 1e-12)
    return out


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(model=models(), d=binary, k=ki67, c=binary)
def test_probability_ci_and_points(model, d, k, c):
    result = model.predict({"surface_depression": d, "ki67_percent": k, "cga_positive": c})
    assert 0.0 < result.probability < 1.0
    assert result.ci95[0] <= result.probability <= result.ci95[1]
    expected = nomogram_points(model, {"surface_depression": d, "ki67_percent": k, "cga_positive": c})
    for name, (points, tolerance) in expected.items():
        assert abs(result.points[name] - points) <= tolerance, name
    total, tolerance = sum(v for v, _ in expected.values()), sum(t for _, t in expected.values())
    assert abs(result.total_points - total) <= tolerance
    # The nomogram's numbers are stored to 8 significant digits apart from the coefficients: the points
    # axis reproduces the risk to ~1e-8 (|Δlp| ≤ 5e-9·(|lp₀| + T/s) ≈ 1e-7, times p(1 − p) ≤ ¼).
    assert math.isclose(model.probability_from_points(result.total_points), result.probability, abs_tol=1e-7)


@PROPERTY_SETTINGS
@given(model=models(), k=ki67, step=st.floats(min_value=0.1, max_value=50), c=binary, d=binary)
def test_risk_is_monotone_in_each_factor_with_a_positive_coefficient(model, k, step, c, d):
    coef = model.artifact.coefficients
    base = {"surface_depression": d, "ki67_percent": k, "cga_positive": c}
    p = model.predict(base).probability
    if coef["ki67_percent"] > 0:
        assert model.predict({**base, "ki67_percent": min(100.0, k + step)}).probability >= p
    if coef["surface_depression"] > 0:
        assert (
            model.predict({**base, "surface_depression": 1.0}).probability
            >= model.predict({**base, "surface_depression": 0.0}).probability
        )
    if coef["cga_positive"] > 0:
        assert (
            model.predict({**base, "cga_positive": 1.0}).probability
            >= model.predict({**base, "cga_positive": 0.0}).probability
        )


@PROPERTY_SETTINGS
@given(model=models())
def test_artifact_round_trips_bit_for_bit(model):
    first = render(model.artifact.model_dump(mode="json"))
    again = ModelArtifact.model_validate(json.loads(first))
    assert render(again.model_dump(mode="json")) == first
    assert with_digest(json.loads(first))["sha256"] == model.sha256
