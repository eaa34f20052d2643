"""Calibration: do predicted risks match observed rates? (STATISTICS.md)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.errors import StatisticalError
from app.stats.batch_logistic import expit, fit_intercept_slope_batch, fit_offset_intercept_batch
from app.stats.fit import Z_95
from app.stats.smoothers import loess_interpolate_fit, lowess_at, lowess_fit


def logit(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its Wald 95 % CI."""

    value: float
    se: float
    ci95: tuple[float, float]


def _wald(value: float, se: float) -> Estimate:
    return Estimate(value=float(value), se=float(se), ci95=(float(value - Z_95 * se), float(value + Z_95 * se)))


def calibration_in_the_large(*, y: np.ndarray, lp: np.ndarray) -> Estimate:
    """a in logit P(y=1) = a + offset(lp): 0 when risks are right on average.

    SE from the observed information 1/√Σp(1−p) at the estimate; equals a
    statsmodels GLM with `offset=lp`.
    """
    y = np.asarray(y, dtype=float)
    lp = np.asarray(lp, dtype=float)
    a = float(fit_offset_intercept_batch(lp=lp[:, None], events=y)[0])
    p = expit(a + lp)
    return _wald(a, 1.0 / np.sqrt(np.sum(p * (1 - p))))


def calibration_intercept_slope(*, y: np.ndarray, lp: np.ndarray) -> tuple[Estimate, Estimate]:
    """(a′, b) in logit P(y=1) = a′ + b·lp; b < 1 means predictions too extreme (overfitting)."""
    y = np.asarray(y, dtype=float)
    lp = np.asarray(lp, dtype=float)
    a, b = fit_intercept_slope_batch(lp=lp[:, None], events=y)
    if not (np.isfinite(a[0]) and np.isfinite(b[0])):
        raise StatisticalError(
            "the calibration slope cannot be estimated: every patient has (nearly) the same predicted risk, or "
            "the outcome is separated by it."
        )
    p = expit(a[0] + b[0] * lp)
    w = p * (1 - p)
    info = np.array([[w.sum(), (w * lp).sum()], [(w * lp).sum(), (w * lp * lp).sum()]])
    cov = np.linalg.inv(info)
    return _wald(a[0], np.sqrt(cov[0, 0])), _wald(b[0], np.sqrt(cov[1, 1]))


def brier_score(*, y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the predicted risks, mean (p − y)²."""
    return float(np.mean((np.asarray(p) - np.asarray(y)) ** 2))


def scaled_brier(*, y: np.ndarray, p: np.ndarray) -> float:
    """1 − Brier / (ȳ(1 − ȳ)): the Brier score's improvement over predicting the prevalence."""
    prevalence = float(np.mean(y))
    return 1.0 - brier_score(y=y, p=p) / (prevalence * (1 - prevalence))


def observed_expected(*, y: np.ndarray, p: np.ndarray) -> float:
    """Σy / Σp."""
    return float(np.sum(y) / np.sum(p))


@dataclass(frozen=True)
class ZTest:
    statistic: float
    p: float


def spiegelhalter_z(*, y: np.ndarray, p: np.ndarray) -> ZTest:
    """Spiegelhalter's z = Σ(y − p)(1 − 2p) / √Σ(1 − 2p)²p(1 − p), two-sided p (as `rms::val.prob`)."""
    from scipy.stats import norm

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    z = float(np.sum((y - p) * (1 - 2 * p)) / np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p))))
    return ZTest(statistic=z, p=float(2 * norm.sf(abs(z))))


@dataclass(frozen=True)
class HosmerLemeshow:
    """Hosmer–Lemeshow χ² over groups of predicted risk; depends on the grouping chosen."""

    chi2: float
    df: int
    p: float
    groups: int


def decile_groups(p: np.ndarray, *, groups: int = 10) -> np.ndarray:
    """Group index 0..G−1 by quantiles of p (R: cut(p, unique(quantile(p, 0:g/g)), include.lowest = TRUE)).

    Tied risks never straddle a boundary, so with few distinct risks there
    are fewer than `groups` groups.
    """
    p = np.asarray(p, dtype=float)
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, groups + 1)))
    if breaks.size < 2:
        return np.zeros(p.size, dtype=int)
    # Right-closed intervals (b_{k-1}, b_k]; the lowest includes its left end.
    index = np.searchsorted(breaks, p, side="left") - 1
    return np.clip(index, 0, breaks.size - 2)


def hosmer_lemeshow(*, y: np.ndarray, p: np.ndarray, groups: int = 10) -> HosmerLemeshow:
    """Σ_g (O_g − E_g)² / (E_g(1 − E_g/n_g)), χ² on G − 2 df (Hosmer & Lemeshow 1980, deciles of risk)."""
    from scipy.stats import chi2

    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    g = decile_groups(p, groups=groups)
    used = np.unique(g)
    n_g = np.array([np.sum(g == k) for k in used], dtype=float)
    o_g = np.array([y[g == k].sum() for k in used])
    e_g = np.array([p[g == k].sum() for k in used])
    statistic = float(np.sum((o_g - e_g) ** 2 / (e_g * (1 - e_g / n_g))))
    df = max(int(used.size - 2), 0)  # fewer than three groups: no test
    p_value = float(chi2.sf(statistic, df)) if df > 0 else float("nan")
    return HosmerLemeshow(chi2=statistic, df=df, p=p_value, groups=int(used.size))


def wilson_interval(*, events: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score 95 % interval for proportions events/n."""
    events = np.asarray(events, dtype=float)
    n = np.asarray(n, dtype=float)
    z2 = Z_95**2
    phat = events / n
    centre = (phat + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * np.sqrt(phat * (1 - phat) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def grouped_curve(*, y: np.ndarray, p: np.ndarray, groups: int = 10) -> dict[str, list[float]]:
    """Observed rate (with Wilson CI) against mean predicted risk, by deciles of risk."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    g = decile_groups(p, groups=groups)
    used = np.unique(g)
    n_g = np.array([np.sum(g == k) for k in used], dtype=float)
    events = np.array([y[g == k].sum() for k in used])
    lo, hi = wilson_interval(events=events, n=n_g)
    return {
        "predicted": [float(p[g == k].mean()) for k in used],
        "observed": (events / n_g).tolist(),
        "observed_lo": lo.tolist(),
        "observed_hi": hi.tolist(),
        "n": n_g.astype(int).tolist(),
    }


@dataclass(frozen=True)
class SmoothCalibration:
    """The lowess calibration curve and the absolute-error summaries of `rms::val.prob`."""

    predicted: np.ndarray
    observed: np.ndarray
    e_avg: float
    e_90: float
    e_max: float


def smoothed_calibration(*, y: np.ndarray, p: np.ndarray) -> SmoothCalibration:
    """lowess(p, y, iter = 0), as `rms::val.prob`; Eavg, E90, Emax of |p − p_c| over patients."""
    p = np.asarray(p, dtype=float)
    ux, fitted = lowess_fit(p, y)
    per_patient = np.interp(p, ux, fitted)
    error = np.abs(p - per_patient)
    return SmoothCalibration(
        predicted=ux,
        observed=fitted,
        e_avg=float(error.mean()),
        e_90=float(np.quantile(error, 0.9)),
        e_max=float(error.max()),
    )


def integrated_calibration_index(*, y: np.ndarray, p: np.ndarray) -> float:
    """Integrated calibration index: ICI = (1/n) Σᵢ |pᵢ − p̂ᵢ|, the mean over patients.

    p̂ᵢ is the fitted value at pᵢ of R's `loess(y ~ p)` with its defaults
    (degree 2, span 0.75, family gaussian, `surface = "interpolate"`,
    cell 0.2), as in the code of Austin & Steyerberg (2019), "The Integrated
    Calibration Index (ICI) and related metrics for quantifying the
    calibration of logistic regression models", Stat Med 38:4051-4065.
    The smoother is `app.stats.smoothers.loess_interpolate_fit` (R's k-d tree
    and cubic Hermite interpolation between local quadratic fits, not the
    exact local fit at every patient of `surface = "direct"`).
    """
    p = np.asarray(p, dtype=float)
    ux, fitted = loess_interpolate_fit(p, y)
    return float(np.mean(np.abs(p - fitted[np.searchsorted(ux, p)])))


def calibration_grid(p: np.ndarray, *, points: int = 50) -> np.ndarray:
    """Where the bias-corrected curve is read: `rms::calibrate`'s seq(p₍₅₎, p₍ₙ₋₄₎, length = 50).

    p₍ᵢ₎ is the i-th smallest apparent predicted risk (1-based), so the grid
    leaves out the four most extreme patients at each end.
    """
    ordered = np.sort(np.asarray(p, dtype=float))
    if ordered.size < 11:
        raise StatisticalError("a calibration curve needs more than 10 patients (rms::calibrate's rule).")
    return np.linspace(ordered[4], ordered[-5], points)


def smooth_at(
    *, p: np.ndarray, events: np.ndarray, trials: np.ndarray, grid: np.ndarray, outside: float | None = None
) -> np.ndarray:
    """The lowess calibration curve evaluated at `grid` (linear interpolation, as rms's `approx`).

    Rows are risks with their events out of trials (patients, or covariate
    patterns with multiplicities): lowess on the expanded data, exactly.
    Grid points beyond the smallest or largest risk get `outside` (NaN for
    `approx`'s rule = 1, as `rms::calibrate`); None extends the end values.
    """
    if outside is not None:
        return lowess_at(p, events, grid, weights=trials, aggregated=True, outside=outside)
    ux, fitted = lowess_fit(p, events, weights=trials, aggregated=True)
    return np.interp(grid, ux, fitted)
