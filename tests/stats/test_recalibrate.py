"""Model updating: each method's estimates and covariance, and closed testing."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from app.model.artifact import ModelArtifact, load_artifact, with_digest
from app.model.predict import Model
from app.stats.cohort import read_cohort
from app.stats.recalibrate import recalibrated_artifact
from app.stats.validate import validate_artifact
from tests.conftest import DEMO_ARTIFACT
from tests.stats.test_validate import cohort_from_model

TOL = 1e-6


def updated(tmp_path, path, method):
    data, notices = recalibrated_artifact(
        artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(path), method=method, model_id=f"local-{method}"
    )
    return Model(ModelArtifact.model_validate(with_digest(data))), notices


def local_arrays(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :3], data[:, 3]


def test_intercept_recalibration_restores_calibration_in_the_large(tmp_path):
    development = cohort_from_model(tmp_path, n=2000, seed=11, intercept_shift=-1.0, name="dev.csv")
    model, _ = updated(tmp_path, development, "intercept")
    parent = load_artifact(DEMO_ARTIFACT)
    before = validate_artifact(artifact=parent, cohort=read_cohort(development))["figures"]
    assert before["calibration_in_the_large_ci95"][1] < 0  # too high before the update
    same = validate_artifact(artifact=model.artifact, cohort=read_cohort(development))["figures"]
    # The score equation makes it 0; the stored intercept has 8 significant digits (|Δ| ≤ 5e-8·|β₀|).
    assert same["calibration_in_the_large"] == pytest.approx(0.0, abs=5e-7)
    fresh = cohort_from_model(tmp_path, n=3000, seed=12, intercept_shift=-1.0, name="fresh.csv")
    after = validate_artifact(artifact=model.artifact, cohort=read_cohort(fresh))["figures"]
    # On new patients the remaining error is within the two estimates' combined uncertainty.
    se_update = np.sqrt(model.artifact.covariance[0][0] - parent.covariance[0][0])
    se_fresh = (after["calibration_in_the_large_ci95"][1] - after["calibration_in_the_large"]) / 1.959963984540054
    assert abs(after["calibration_in_the_large"]) < 3 * np.hypot(se_update, se_fresh)
    assert abs(after["calibration_in_the_large"]) < abs(before["calibration_in_the_large"]) / 3
    assert model.artifact.provenance.model_extra["parent_sha256"] == parent.sha256
    assert model.artifact.provenance.model_extra["update_method"] == "intercept"
    assert model.artifact.provenance.model_extra["local_data_sha256"] == read_cohort(development).source_sha256
    # Slopes are untouched; the intercept moved by the offset-model estimate.
    for name in ("surface_depression", "ki67_percent", "cga_positive"):
        assert model.artifact.coefficients[name] == parent.coefficients[name]


def test_intercept_update_estimate_and_covariance(tmp_path):
    path = cohort_from_model(tmp_path, n=600, seed=13, intercept_shift=0.5)
    model, _ = updated(tmp_path, path, "intercept")
    parent = Model.from_file(DEMO_ARTIFACT)
    x, y = local_arrays(path)
    lp = np.array([parent.predict(dict(zip(parent.predictor_names, row, strict=True))).linear_predictor for row in x])
    offset = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-12)
    assert model.artifact.coefficients["intercept"] == pytest.approx(
        parent.artifact.coefficients["intercept"] + offset.params[0], abs=TOL
    )
    patient = {"surface_depression": 1.0, "ki67_percent": 4.0, "cga_positive": 1.0}
    expected_var = parent.predict(patient).se_linear_predictor ** 2 + offset.bse[0] ** 2
    assert model.predict(patient).se_linear_predictor ** 2 == pytest.approx(expected_var, rel=1e-6)


def test_logistic_update_estimate_and_delta_method_covariance(tmp_path):
    path = cohort_from_model(tmp_path, n=900, seed=14, intercept_shift=0.3, slope=0.6)
    model, _ = updated(tmp_path, path, "logistic")
    parent = Model.from_file(DEMO_ARTIFACT)
    x, y = local_arrays(path)
    lp = np.array([parent.predict(dict(zip(parent.predictor_names, row, strict=True))).linear_predictor for row in x])
    fit = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12)
    a, b = fit.params
    patient = {"surface_depression": 0.0, "ki67_percent": 7.0, "cga_positive": 1.0}
    lp_parent = parent.predict(patient)
    assert model.predict(patient).linear_predictor == pytest.approx(a + b * lp_parent.linear_predictor, abs=TOL)
    g = np.array([1.0, lp_parent.linear_predictor])
    expected_var = g @ fit.cov_params() @ g + b**2 * lp_parent.se_linear_predictor**2
    assert model.predict(patient).se_linear_predictor ** 2 == pytest.approx(expected_var, rel=1e-5)


def test_refit_equals_statsmodels_on_the_local_cohort(tmp_path):
    path = cohort_from_model(tmp_path, n=700, seed=15, slope=0.7)
    model, _ = updated(tmp_path, path, "refit")
    x, y = local_arrays(path)
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    coef = [model.artifact.coefficients[n] for n in ("intercept", "surface_depression", "ki67_percent", "cga_positive")]
    np.testing.assert_allclose(coef, reference.params, rtol=1e-6)
    np.testing.assert_allclose(model.artifact.covariance, reference.cov_params(), rtol=1e-5)
    assert model.artifact.provenance.source == "fitted"


@pytest.mark.parametrize(
    ("shift", "slope", "expected"),
    [(0.0, 1.0, "original"), (-1.0, 1.0, "intercept"), (0.2, 0.45, "logistic")],
)
def test_auto_follows_closed_testing(tmp_path, shift, slope, expected):
    path = cohort_from_model(tmp_path, n=4000, seed=16, intercept_shift=shift, slope=slope)
    model, notices = updated(tmp_path, path, "auto")
    assert model.artifact.provenance.model_extra["update_method"] == expected
    assert any("closed testing" in n or "refit chosen" in n for n in notices)
    assert model.artifact.provenance.model_extra["update_tests"]
