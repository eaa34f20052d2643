"""`train` at low information: events per parameter, Riley's criteria, the overfitting warning and
`--shrinkage bootstrap` (Steyerberg 2019, ch. 13)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from app.errors import UserInputError
from app.stats.cohort import read_cohort
from app.stats.fit import fit_logistic
from app.stats.samplesize import development_sample_size
from app.stats.train import information_summary, shrink_uniformly, train_artifact
from tests.conftest import REPO, simulated_xy

SPARSE = REPO / "tests" / "reference" / "sparse-events-cohort.csv"  # 150 patients, 10 events (made in R)
PREDICTORS = ("surface_depression", "ki67_percent", "cga_positive")


def test_information_summary_uses_the_fits_cox_snell_r2():
    x, y = simulated_xy(300, 40)
    fit = fit_logistic(x=x, y=y, names=PREDICTORS)
    null = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial()).fit()
    full = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit()
    r2 = 1 - math.exp(-2 * (full.llf - null.llf) / y.size)  # Cox–Snell from statsmodels' likelihoods
    summary = information_summary(fit)
    assert summary["r2_cox_snell"] == pytest.approx(r2, rel=1e-8)
    assert summary["events_per_parameter"] == y.sum() / 3
    expected = development_sample_size(parameters=3, prevalence=y.mean(), r2_cs=r2)
    assert summary["riley"]["minimum"] == expected.minimum
    assert summary["riley"]["met"] == (y.size >= expected.minimum)


def test_ten_events_warn_about_epp_riley_and_the_corrected_slope():
    artifact, notices = train_artifact(
        cohort=read_cohort(SPARSE), predictors=PREDICTORS, bootstrap=200, seed=1, model_id="sparse"
    )
    warnings = [n for n in notices if n.startswith("warning: ")]
    assert warnings[0] == (
        "warning: only 3.3 events per predictor parameter (fewer than 10): the coefficients will be overfitted."
    )
    assert warnings[1].startswith("warning: 150 patients are fewer than the ")
    slope = artifact["performance"]["calibration_slope_optimism_corrected"]
    assert slope < 0.9
    assert warnings[2] == (
        f"warning: the optimism-corrected calibration slope is {slope:.2f} (below 0.9): predictions will be too "
        "extreme for new patients. Consider --shrinkage bootstrap, or more patients."
    )
    assert artifact["performance"]["information"]["riley"]["met"] is False


def test_bootstrap_shrinkage_multiplies_slopes_and_reestimates_the_intercept():
    plain, _ = train_artifact(cohort=read_cohort(SPARSE), predictors=PREDICTORS, bootstrap=200, seed=3, model_id="a")
    shrunk, _ = train_artifact(
        cohort=read_cohort(SPARSE), predictors=PREDICTORS, bootstrap=200, seed=3, model_id="b", shrinkage="bootstrap"
    )
    factor = plain["performance"]["calibration_slope_optimism_corrected"]
    assert shrunk["provenance"]["shrinkage"] == {"method": "bootstrap", "factor": factor}
    for name in PREDICTORS:
        assert shrunk["coefficients"][name] == pytest.approx(factor * plain["coefficients"][name], rel=1e-12)
    # The intercept is the offset model's MLE (statsmodels GLM with the shrunk lp as offset).
    data = np.loadtxt(SPARSE, delimiter=",", skiprows=1, usecols=(1, 2, 3, 4))
    x, y = data[:, :3], data[:, 3]
    offset = x @ np.array([shrunk["coefficients"][n] for n in PREDICTORS])
    reference = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=offset).fit(tol=1e-12)
    assert shrunk["coefficients"]["intercept"] == pytest.approx(reference.params[0], abs=1e-7)
    assert shrunk["performance"]["calibration_in_the_large"] == 0.0
    assert "bias_corrected" not in shrunk["curves"]["calibration"]
    assert "Uniform shrinkage (Steyerberg 2019, ch. 13)" in shrunk["provenance"]["method"]


def test_shrunk_intercept_gradient_matches_numerical_differentiation():
    """∂a/∂β = −s·Σwx/Σw, checked by re-solving the intercept for perturbed β with statsmodels."""
    x, y = simulated_xy(250, 41)
    fit = fit_logistic(x=x, y=y, names=PREDICTORS)
    factor = 0.8
    coef, cov = shrink_uniformly(x=x, y=y, coef=fit.coef_, cov=fit.cov_, factor=factor)

    def intercept(beta: np.ndarray) -> float:
        model = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=factor * (x @ beta))
        return float(model.fit(tol=1e-13).params[0])

    h = 1e-5
    gradient = np.array(
        [(intercept(fit.coef_[1:] + h * e) - intercept(fit.coef_[1:] - h * e)) / (2 * h) for e in np.eye(3)]
    )
    slopes = fit.cov_[1:, 1:]
    p = 1 / (1 + np.exp(-(coef[0] + factor * (x @ fit.coef_[1:]))))
    expected_var = 1 / np.sum(p * (1 - p)) + gradient @ slopes @ gradient
    assert cov[0, 0] == pytest.approx(expected_var, rel=1e-5)
    np.testing.assert_allclose(cov[0, 1:], factor * gradient @ slopes, rtol=1e-5)
    np.testing.assert_allclose(cov[1:, 1:], factor**2 * slopes, rtol=1e-12)


def test_shrinkage_without_bootstrap_is_refused():
    with pytest.raises(UserInputError, match="--shrinkage bootstrap needs the bootstrap's corrected slope"):
        train_artifact(
            cohort=read_cohort(SPARSE), predictors=PREDICTORS, bootstrap=0, seed=1, model_id="c", shrinkage="bootstrap"
        )


def test_train_records_ki67_form_and_influential_rows_as_r_computes_them():
    """`train` hands the diagnostics the fitted patients with their spreadsheet rows: the artifact's
    LR test and flagged rows equal R's (tests/reference/diagnostics_reference.json, demo cohort)."""
    import json

    from tests.conftest import DEMO_COHORT

    reference = json.loads((REPO / "tests" / "reference" / "diagnostics_reference.json").read_text(encoding="utf-8"))
    demo = reference["cohorts"]["demo"]
    artifact, notices = train_artifact(
        cohort=read_cohort(DEMO_COHORT), predictors=PREDICTORS, bootstrap=0, seed=1, model_id="d"
    )
    linearity = artifact["performance"]["ki67_linearity"]
    assert linearity["lr_chi2"] == pytest.approx(demo["linearity"]["lr_chi2"], rel=1e-6)
    assert linearity["knots"] == pytest.approx(demo["linearity"]["knots"], rel=1e-12)
    influence = artifact["performance"]["influence"]
    assert influence["flagged"] == len(demo["influence"]["flagged_rows"])
    listed = [patient["row"] for patient in influence["most_influential"]]
    assert len(listed) == 10 and set(listed) <= set(demo["influence"]["flagged_rows"])
    assert "findings" not in json.dumps(influence)  # rows and statistics only: no patient data in the artifact
    assert any(note.startswith("Ki-67 linearity: restricted cubic spline (3 knots") for note in notices)
