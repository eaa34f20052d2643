"""The batched bootstrap against a plain loop of statsmodels refits on the same resamples."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

from app.stats.bootstrap import bootstrap_optimism
from app.stats.fit import fit_logistic
from tests.conftest import simulated_xy

TOL = 1e-8


def naive_optimism(x, y, coef, replicates, seed):
    """Harrell's algorithm written out: one statsmodels refit per resample."""
    n = y.size
    draws = np.random.default_rng(seed).integers(0, n, size=(replicates, n))
    design = sm.add_constant(x)
    diffs = {"auc": [], "calibration_slope": [], "calibration_intercept": [], "brier": []}
    for rows in draws:
        refit = sm.Logit(y[rows], design[rows]).fit(disp=0, tol=1e-12, method="newton")
        lp_boot, lp_orig = design[rows] @ refit.params, design @ refit.params
        p_boot, p_orig = 1 / (1 + np.exp(-lp_boot)), 1 / (1 + np.exp(-lp_orig))
        slope_fit = sm.GLM(y, sm.add_constant(lp_orig), family=sm.families.Binomial()).fit(tol=1e-12)
        diffs["auc"].append(roc_auc_score(y[rows], lp_boot) - roc_auc_score(y, lp_orig))
        diffs["calibration_intercept"].append(0.0 - slope_fit.params[0])
        diffs["calibration_slope"].append(1.0 - slope_fit.params[1])
        diffs["brier"].append(np.mean((p_boot - y[rows]) ** 2) - np.mean((p_orig - y) ** 2))
    return {k: float(np.mean(v)) for k, v in diffs.items()}


def test_batched_optimism_equals_the_plain_algorithm():
    x, y = simulated_xy(213, 41)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    result = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=25, seed=3)
    reference = naive_optimism(x, y, fit.coef_, 25, 3)
    assert result.replicates_used == 25
    for key, value in reference.items():
        assert result.optimism[key] == pytest.approx(value, abs=TOL), key
    assert result.apparent["auc"] == pytest.approx(roc_auc_score(y, x @ fit.coef_[1:]), abs=1e-12)


def test_same_seed_same_result_and_curve_is_finite():
    x, y = simulated_xy(150, 42)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    first = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=9)
    second = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=9)
    assert first.corrected == second.corrected
    assert np.isfinite(first.curve_corrected).all()
    assert first.curve_replicates == 30
    # Optimism of the AUC is positive on average for a fitted model: its own data flatter it.
    assert first.optimism["auc"] > 0
