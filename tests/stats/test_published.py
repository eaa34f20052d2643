"""Artifacts from published coefficients: what a spec may hold, and the message for each mistake."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.stats.published import SpecError, artifact_from_spec

SPEC: dict[str, Any] = {
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

# (change to SPEC, the whole message the user gets); None removes a field.
BAD_SPECS = [
    pytest.param(
        {"coefficients": {**SPEC["coefficients"], "ki67_percent": 10**400}},
        f"coefficients.ki67_percent must be a finite number of magnitude below 1e+06, got {10**400!r}.",
        id="overflowing-coefficient",
    ),
    pytest.param(
        {"coefficients": {**SPEC["coefficients"], "surface_depression": 0, "ki67_percent": 0, "cga_positive": 0}},
        "every predictor's coefficient is zero: such a model predicts one risk for everyone.",
        id="all-zero",
    ),
    pytest.param(
        {"standard_errors": {**SPEC["standard_errors"], "intercept": -0.4}},
        "every standard error must be positive.",
        id="negative-se",
    ),
    pytest.param({"performance": {"n": 213.5}}, "performance.n must be a whole number ≥ 0, got 213.5.", id="n"),
    pytest.param({"performance": {"auc": 7}}, "performance.auc must be between 0 and 1, got 7.", id="auc"),
    pytest.param({"performance": {"auc_ci95": [0.6]}}, "performance.auc_ci95 must be [low, high].", id="auc-ci"),
    pytest.param(
        {
            "predictors": [
                {"name": "surface_depression", "kind": "binary"},
                {"name": "ki67_percent", "kind": "binary"},
                {"name": "cga_positive", "kind": "binary"},
            ]
        },
        "predictor 'ki67_percent' is continuous in the data dictionary, not 'binary'.",
        id="kind",
    ),
    pytest.param(
        {"standard_errors": None, "covariance": [[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]},
        "'covariance' must be symmetric.",
        id="asymmetric-covariance",
    ),
    pytest.param(
        {
            "predictors": [
                {**p, "nomogram_range": [3, 3]} if p["name"] == "ki67_percent" else p for p in SPEC["predictors"]
            ]
        },
        "predictors.ki67_percent.nomogram_range: low must be below high.",
        id="empty-axis",
    ),
]


def spec_with(change: dict[str, Any]) -> dict[str, Any]:
    """SPEC with the fields of `change` replaced (None: removed)."""
    return {k: v for k, v in {**SPEC, **change}.items() if v is not None}


@pytest.mark.parametrize(("change", "message"), BAD_SPECS)
def test_bad_specs_are_refused_with_a_message(change, message):
    with pytest.raises(SpecError) as caught:
        artifact_from_spec(spec_with(change), created_at="2026-01-01T00:00:00Z")
    assert str(caught.value) == message


def test_standard_errors_only_give_a_diagonal_covariance_and_say_so():
    data, notices = artifact_from_spec(SPEC, created_at="2026-01-01T00:00:00Z")
    # 0.4², 0.35², 0.07², 0.3² on the diagonal, nothing else.
    np.testing.assert_allclose(data["covariance"], np.diag([0.16, 0.1225, 0.0049, 0.09]), rtol=0, atol=1e-15)
    assert notices == [
        "Only standard errors were available: the covariance is taken as diagonal, so confidence intervals "
        "of predictions ignore the correlation between estimates and may be too wide or too narrow."
    ]
    assert data["provenance"]["source"] == "published"
    assert data["provenance"]["data_sha256"] is None


def test_spec_submodels_answer_unknown_findings_with_their_own_coefficients(tmp_path):
    """A published submodel without Ki-67 answers when Ki-67 is unknown: expit(−2.2 + 1.1·1 + 0.6·0) by hand."""
    import json
    import math

    from app.cli import main
    from app.model.predict import Model

    spec = {
        "model_id": "published-sub",
        "reference": "Example et al. 2025",
        "predictors": [
            {"name": "surface_depression", "kind": "binary"},
            {"name": "ki67_percent", "kind": "continuous", "nomogram_range": [0, 20]},
            {"name": "cga_positive", "kind": "binary"},
        ],
        "coefficients": {"intercept": -3.0, "surface_depression": 1.4, "ki67_percent": 0.25, "cga_positive": 0.8},
        "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.07, "cga_positive": 0.3},
        "submodels": [
            {
                "missing": ["ki67_percent"],
                "coefficients": {"intercept": -2.2, "surface_depression": 1.1, "cga_positive": 0.6},
                "standard_errors": {"intercept": 0.3, "surface_depression": 0.3, "cga_positive": 0.25},
            }
        ],
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "a.json"
    assert main(["from-coefficients", str(path), "--out", str(out)]) == 0
    model = Model.from_file(out)
    answer = model.predict({"surface_depression": 1.0, "ki67_percent": None, "cga_positive": 0.0})
    assert answer.probability == pytest.approx(1 / (1 + math.exp(-(-2.2 + 1.1))), abs=1e-9)
    se = math.sqrt(0.3**2 + 0.3**2)  # diagonal covariance: Var(b0) + Var(b_dep)
    assert answer.ci95[1] == pytest.approx(1 / (1 + math.exp(-(-1.1 + 1.959963984540054 * se))), abs=1e-7)
    assert answer.missing == ("ki67_percent",) and answer.predictors == ("surface_depression", "cga_positive")
    assert not model.can_leave_out(("cga_positive",))


def test_spec_submodel_with_an_unknown_name_is_refused(tmp_path):
    from app.stats.published import SpecError, artifact_from_spec

    spec = {
        "model_id": "bad-sub",
        "reference": "x",
        "predictors": [{"name": "surface_depression", "kind": "binary"}, {"name": "cga_positive", "kind": "binary"}],
        "coefficients": {"intercept": -1.0, "surface_depression": 1.0, "cga_positive": 0.5},
        "standard_errors": {"intercept": 0.3, "surface_depression": 0.3, "cga_positive": 0.3},
        "submodels": [{"missing": ["ki67_percent"], "coefficients": {"intercept": -1.0}, "standard_errors": {}}],
    }
    with pytest.raises(SpecError, match=r"submodels\[0\]: 'missing' must list some of the predictors"):
        artifact_from_spec(spec)
