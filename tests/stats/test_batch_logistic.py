"""Batched Newton-Raphson against statsmodels, replicate by replicate."""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm

from app.stats.batch_logistic import fit_intercept_slope_batch, fit_logistic_batch, fit_offset_intercept_batch
from app.stats.fit import fit_logistic
from tests.conftest import simulated_xy

TOL = 1e-8  # both are Newton-Raphson to convergence: they agree to rounding


def test_weighted_batch_fits_equal_statsmodels_frequency_weighted_glm():
    x, y = simulated_xy(250, 11)
    design = np.column_stack([np.ones(y.size), x])
    start = fit_logistic(x=x, y=y, names=("a", "b", "c")).coef_
    rng = np.random.default_rng(0)
    counts = np.stack([np.bincount(rng.integers(0, y.size, y.size), minlength=y.size) for _ in range(5)]).astype(float)
    batch = fit_logistic_batch(design=design, events=counts * y, trials=counts, start=start)
    assert batch.converged.all()
    for b in range(5):
        reference = sm.GLM(y, design, family=sm.families.Binomial(), freq_weights=counts[b]).fit(tol=1e-12)
        np.testing.assert_allclose(batch.coef[b], reference.params, rtol=TOL, atol=TOL)


def test_replicate_with_a_constant_predictor_is_flagged_not_fatal():
    x, y = simulated_xy(200, 12)
    design = np.column_stack([np.ones(y.size), x])
    start = fit_logistic(x=x, y=y, names=("a", "b", "c")).coef_
    counts = np.ones((2, y.size))
    counts[1, x[:, 0] == 1] = 0  # predictor 'a' is 0 for everyone left: singular information
    batch = fit_logistic_batch(design=design, events=counts * y, trials=counts, start=start)
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
