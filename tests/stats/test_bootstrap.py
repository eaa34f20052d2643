"""The batched bootstrap against a plain loop of statsmodels refits on the same resamples.

`naive_optimism` is Harrell's algorithm as STATISTICS.md states it, one
statsmodels refit per resample, with every index computed by another
library (scikit-learn's AUC and Brier score, statsmodels' GLM for the
calibration intercept, slope and calibration-in-the-large, statsmodels'
lowess for the calibration curve).  It draws the resamples exactly as the
code does (numpy's PCG64 seeded with `seed`, one (B, n) matrix of row
indices), so the two must agree to rounding, not only to Monte Carlo error.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import brier_score_loss, roc_auc_score
from statsmodels.nonparametric.smoothers_lowess import lowess

from app.stats import bootstrap as bootstrap_module
from app.stats.bootstrap import bootstrap_optimism
from app.stats.fit import fit_logistic
from tests.conftest import simulated_xy

# Optimism, absolute: the code refits as rms's lrm.fit does (one Newton step after −2 log L changed by
# ≤ 0.025, which lands ~1e-7 standard errors from the MLE), the reference to statsmodels' 1e-12.
TOL = 1e-6
# Bias-corrected curve, absolute: two lowess implementations on the same points, of refits that stop
# as lrm.fit does (see TOL); observed ~1e-9, while the correction itself is ~1e-2.
CURVE_TOL = 1e-7
# The same computation split into blocks, absolute: only the order of floating-point sums may differ.
BLOCK_TOL = 1e-12


def _expit(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


def resamples(n: int, replicates: int, seed: int) -> np.ndarray:
    """The row indices of each bootstrap sample, drawn as the code draws them (one block)."""
    return np.random.default_rng(seed).integers(0, n, size=(replicates, n))


def naive_optimism(x: np.ndarray, y: np.ndarray, replicates: int, seed: int) -> dict[str, float]:
    """Harrell's algorithm written out: one statsmodels refit per resample (STATISTICS.md).

    apparent_b is the index of the bootstrap model on its own sample: the AUC
    and Brier score computed there, and by construction intercept 0, slope 1
    and calibration-in-the-large 0.  test_b is the index of the same model on
    the original data: for the intercept and slope the logistic regression of
    y on its lp, for calibration-in-the-large the intercept with lp as offset.
    """
    design = sm.add_constant(x)
    binomial = sm.families.Binomial()
    diffs: dict[str, list[float]] = {k: [] for k in ("auc", "calibration_slope", "calibration_intercept", "citl")}
    diffs["brier"] = []
    for rows in resamples(y.size, replicates, seed):
        refit = sm.Logit(y[rows], design[rows]).fit(disp=0, tol=1e-12, method="newton")
        lp_boot, lp_orig = design[rows] @ refit.params, design @ refit.params
        slope_fit = sm.GLM(y, sm.add_constant(lp_orig), family=binomial).fit(tol=1e-12)
        offset_fit = sm.GLM(y, np.ones((y.size, 1)), family=binomial, offset=lp_orig).fit(tol=1e-12)
        diffs["auc"].append(roc_auc_score(y[rows], lp_boot) - roc_auc_score(y, lp_orig))
        diffs["calibration_intercept"].append(0.0 - slope_fit.params[0])
        diffs["calibration_slope"].append(1.0 - slope_fit.params[1])
        diffs["citl"].append(0.0 - offset_fit.params[0])
        diffs["brier"].append(brier_score_loss(y[rows], _expit(lp_boot)) - brier_score_loss(y, _expit(lp_orig)))
    return {k: float(np.mean(v)) for k, v in diffs.items()}


def lowess_at(p: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """R's lowess(p, y, iter = 0) by statsmodels, linearly interpolated at `grid`; NaN outside the data (R's approx).

    statsmodels is run with delta = 0 (a local fit at every distinct p).  R's
    default delta (1 % of the range) fits every distinct p as well when no two
    are closer than that, which is asserted, so this is R's curve.
    """
    distinct = np.unique(p)
    assert np.min(np.diff(distinct)) > 0.01 * np.ptp(distinct), "the reference needs well-separated risks"
    fitted = lowess(y, p, frac=2 / 3, it=0, delta=0.0)
    at_distinct = dict(zip(fitted[:, 0], fitted[:, 1], strict=True))  # tied p share one fitted value
    return np.interp(grid, distinct, [at_distinct[v] for v in distinct], left=np.nan, right=np.nan)


def naive_curve(
    x: np.ndarray, y: np.ndarray, replicates: int, seed: int, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`rms::calibrate`'s bias-corrected curve: apparent − mean over replicates of (smooth on the
    bootstrap sample − smooth on the original data), both smooths of the bootstrap model's risks.

    Returns (apparent, corrected, replicates covering each grid point).  A grid
    point outside a replicate's range of risks is NA for it (R's `approx`), so
    each point averages the replicates that cover it; NaN where none does.
    """
    design = sm.add_constant(x)
    full = sm.Logit(y, design).fit(disp=0, tol=1e-12, method="newton")
    apparent = lowess_at(_expit(design @ full.params), y, grid)
    differences = []
    for rows in resamples(y.size, replicates, seed):
        refit = sm.Logit(y[rows], design[rows]).fit(disp=0, tol=1e-12, method="newton")
        p_orig = _expit(design @ refit.params)
        differences.append(lowess_at(p_orig[rows], y[rows], grid) - lowess_at(p_orig, y, grid))
    differences = np.array(differences)
    covering = np.isfinite(differences).sum(axis=0)
    with np.errstate(invalid="ignore"):
        optimism = np.where(np.isfinite(differences), differences, 0.0).sum(axis=0) / covering
    return apparent, apparent - optimism, covering


def two_binary_xy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two binary predictors with well-separated effects: four risks, far apart in every refit.

    (With more binary predictors some refit puts two risks within 1 % of the
    range of each other, where R's lowess interpolates rather than fits.)
    """
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 2)) < [0.35, 0.5]).astype(float)
    y = (rng.random(n) < _expit(-2.0 + x @ [2.0, 1.0])).astype(float)
    return x, y


def test_batched_optimism_equals_the_plain_algorithm():
    x, y = simulated_xy(213, 41)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    result = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=25, seed=3)
    reference = naive_optimism(x, y, 25, 3)
    assert result.replicates_used == 25
    for key, value in reference.items():
        assert result.optimism[key] == pytest.approx(value, abs=TOL), key
    lp = fit.coef_[0] + x @ fit.coef_[1:]
    assert result.apparent["auc"] == pytest.approx(roc_auc_score(y, lp), abs=1e-12)
    assert result.apparent["brier"] == pytest.approx(brier_score_loss(y, _expit(lp)), abs=1e-12)


def test_corrected_index_is_apparent_minus_optimism():
    """Corrected = apparent − optimism, with the apparent intercept, CITL and slope 0, 0 and 1 by
    construction (STATISTICS.md): an added optimism, or a sign slip in one index, shows here."""
    x, y = simulated_xy(160, 8)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    result = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=12)
    reference = naive_optimism(x, y, 30, 12)
    lp = fit.coef_[0] + x @ fit.coef_[1:]
    expected = {
        "auc": roc_auc_score(y, lp) - reference["auc"],
        "calibration_intercept": 0.0 - reference["calibration_intercept"],
        "calibration_slope": 1.0 - reference["calibration_slope"],
        "citl": 0.0 - reference["citl"],
        "brier": brier_score_loss(y, _expit(lp)) - reference["brier"],
    }
    assert result.corrected == pytest.approx(expected, abs=TOL)


def test_bias_corrected_curve_equals_rms_calibrate_loop():
    x, y = two_binary_xy(250, 0)
    fit = fit_logistic(x=x, y=y, names=("a", "b"))
    result = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=40, seed=5)
    assert result.replicates_used == 40
    # rms::calibrate's grid: 50 risks from the 5th to the (n − 4)th smallest apparent prediction.
    p_sorted = np.sort(_expit(fit.coef_[0] + x @ fit.coef_[1:]))
    np.testing.assert_allclose(result.curve_grid, np.linspace(p_sorted[4], p_sorted[-5], 50), rtol=0, atol=1e-12)
    apparent, corrected, covering = naive_curve(x, y, 40, 5, result.curve_grid)
    np.testing.assert_array_equal(result.curve_replicates, covering)
    # Some grid points are covered by every replicate, some by only part of them: both rules are exercised.
    assert (covering == 40).sum() >= 20 and ((covering > 0) & (covering < 40)).sum() >= 5
    np.testing.assert_allclose(result.curve_apparent, apparent, rtol=0, atol=CURVE_TOL)
    np.testing.assert_allclose(result.curve_corrected, corrected, rtol=0, atol=CURVE_TOL, equal_nan=True)
    # The correction is not negligible here, so adding instead of subtracting it cannot pass unnoticed.
    assert np.nanmax(np.abs(apparent - corrected)) > 100 * CURVE_TOL


def test_blocks_continue_one_random_stream(monkeypatch):
    """Splitting the replicates into blocks (to bound memory) must not change the draws: the
    result with five blocks equals the one-block result with the same seed."""
    x, y = simulated_xy(150, 42)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    one_block = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=9)
    monkeypatch.setattr(bootstrap_module, "_CELLS_PER_BLOCK", 7 * y.size)  # blocks of 7, 7, 7, 7 and 2 replicates
    blocked = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=9)
    assert blocked.replicates_used == one_block.replicates_used == 30
    np.testing.assert_array_equal(blocked.curve_replicates, one_block.curve_replicates)
    assert blocked.optimism == pytest.approx(one_block.optimism, abs=BLOCK_TOL)
    np.testing.assert_allclose(blocked.curve_corrected, one_block.curve_corrected, rtol=0, atol=BLOCK_TOL)
    # And both equal the plain algorithm, whose draws are one (B, n) matrix.
    assert blocked.optimism == pytest.approx(naive_optimism(x, y, 30, 9), abs=TOL)


def test_one_cpu_or_two_give_the_same_bits(monkeypatch):
    """Blocks run on two threads where there are two CPUs; the answer must not depend on it."""
    x, y = simulated_xy(150, 44)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    monkeypatch.setattr(bootstrap_module, "usable_cpus", lambda: 2)
    two = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=41, seed=3)
    monkeypatch.setattr(bootstrap_module, "usable_cpus", lambda: 1)
    one = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=41, seed=3)
    assert two.optimism == one.optimism and two.replicates_used == one.replicates_used == 41
    np.testing.assert_array_equal(two.curve_corrected, one.curve_corrected)
    np.testing.assert_array_equal(two.curve_replicates, one.curve_replicates)


def test_same_seed_same_result_other_seed_other_result():
    x, y = simulated_xy(150, 42)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    first = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=9)
    second = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=9)
    other = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=30, seed=10)
    assert first.corrected == second.corrected
    np.testing.assert_array_equal(first.curve_corrected, second.curve_corrected)
    assert (first.seed, first.replicates_requested) == (9, 30)
    assert other.optimism["auc"] != first.optimism["auc"]


def test_without_the_curve_the_indices_are_the_same():
    """Submodels skip the costly curve; the validation indices must not depend on that choice."""
    x, y = simulated_xy(150, 43)
    fit = fit_logistic(x=x, y=y, names=("a", "b", "c"))
    full = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=20, seed=4)
    quick = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=20, seed=4, curve=False)
    assert quick.optimism == full.optimism
    assert np.isnan(quick.curve_corrected).all() and not np.isnan(full.curve_corrected).all()
