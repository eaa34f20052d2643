"""Batched fits against statsmodels replicate by replicate, and against R's own lrm.fit."""

from __future__ import annotations

import json

import numpy as np
import statsmodels.api as sm

from app.stats.batch_logistic import fit_intercept_slope_batch, fit_logistic_batch, fit_offset_intercept_batch
from tests.conftest import DEMO_COHORT, REPO, simulated_xy

TOL = 1e-8  # both are Newton-Raphson to convergence: they agree to rounding
# lrm.fit stops one step after −2 log L changed by ≤ 0.025: within ~5e-7 standard errors of the MLE.
LRM_STOP_SE = 1e-5
REFERENCE = json.loads((REPO / "tests" / "reference" / "r_reference.json").read_text(encoding="utf-8"))


def test_weighted_batch_fits_are_the_mle_to_within_lrm_fits_stopping_rule():
    x, y = simulated_xy(250, 11)
    design = np.column_stack([np.ones(y.size), x])
    rng = np.random.default_rng(0)
    counts = np.stack([np.bincount(rng.integers(0, y.size, y.size), minlength=y.size) for _ in range(5)]).astype(float)
    batch = fit_logistic_batch(design=design, events=counts * y, trials=counts)
    assert batch.converged.all()
    for b in range(5):
        reference = sm.GLM(y, design, family=sm.families.Binomial(), freq_weights=counts[b]).fit(tol=1e-12)
        se = np.sqrt(np.diag(reference.cov_params()))
        assert np.max(np.abs(batch.coef[b] - reference.params) / se) < LRM_STOP_SE


def test_batch_fit_is_r_lrm_fit_step_for_step():
    """The same algorithm as rms 6.5-0's lrm.fit (eps = 0.025, maxit = 12): R's coefficients for the demo
    cohort with lrm's default stopping rule, to rounding."""
    header, *rows = [line.split(",") for line in DEMO_COHORT.read_text(encoding="utf-8").splitlines()]
    columns = [header.index(name) for name in ("surface_depression", "ki67_percent", "cga_positive")]
    outcome = header.index("non_curative_resection")
    x = np.array([[float(row[j]) for j in columns] for row in rows])
    y = np.array([float(row[outcome]) for row in rows])
    design = np.column_stack([np.ones(y.size), x])
    batch = fit_logistic_batch(design=design, events=y[None, :], trials=np.ones((1, y.size)))
    assert batch.converged.tolist() == [True]
    np.testing.assert_allclose(batch.coef[0], REFERENCE["main"]["coef_lrm_default_eps"], rtol=1e-9)


def test_separated_resample_is_kept_with_large_finite_coefficients_as_lrm_fit_does():
    """Every event CgA positive: the MLE does not exist, but lrm.fit's deviance criterion settles within its
    11 steps, so rms::validate keeps the replicate; so must we."""
    x, y = simulated_xy(200, 16)
    x[:, 2] = np.where(y == 1, 1.0, x[:, 2])
    design = np.column_stack([np.ones(y.size), x])
    batch = fit_logistic_batch(design=design, events=y[None, :], trials=np.ones((1, y.size)))
    assert batch.converged.tolist() == [True]
    assert np.all(np.isfinite(batch.coef)) and 5 < batch.coef[0, 3] < 40


def test_replicate_with_a_constant_predictor_is_flagged_not_fatal():
    x, y = simulated_xy(200, 12)
    design = np.column_stack([np.ones(y.size), x])
    counts = np.ones((2, y.size))
    counts[1, x[:, 0] == 1] = 0  # predictor 'a' is 0 for everyone left: singular information
    batch = fit_logistic_batch(design=design, events=counts * y, trials=counts)
    assert batch.converged.tolist() == [True, False]


def test_calibration_intercept_slope_and_offset_equal_statsmodels():
    x, y = simulated_xy(300, 13)
    lp = np.column_stack([0.8 * (x @ [1.0, 0.2, 0.5]) - 1.0, x @ [0.5, 0.3, 0.1] - 2.0])
    a, b = fit_intercept_slope_batch(lp=lp, events=y)
    citl = fit_offset_intercept_batch(lp=lp, events=y)
    for j in range(2):
        slope_fit = sm.GLM(y, sm.add_constant(lp[:, j]), family=sm.families.Binomial()).fit(tol=1e-12)
        np.testing.assert_allclose([a[j], b[j]], slope_fit.params, rtol=TOL, atol=TOL)
        offset_fit = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp[:, j]).fit(tol=1e-12)
        assert abs(citl[j] - offset_fit.params[0]) < TOL
