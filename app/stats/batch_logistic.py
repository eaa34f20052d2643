"""Many logistic fits at once, in numpy (Newton–Raphson / IRLS).

The bootstrap refits the same design B times with different case weights.
Looping over statsmodels would cost B full model set-ups; here one Newton
step updates all B coefficient vectors together: with the matrix of
products xᵢxᵢᵀ precomputed, XᵀWX for every replicate is one matrix product.
Started at the full-data estimate, 3–6 steps converge.

Data come as binomial counts per row (events out of trials), so the rows
may be distinct covariate patterns with their multiplicities: a bootstrap
sample, or a large cohort with few distinct patterns, costs O(patterns)
rather than O(patients).  Checked against statsmodels in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STEPS = 30
STEP_TOLERANCE = 1e-9
# A coefficient whose logit span over the data passes this means separation.
RUNAWAY_SPAN = 50.0
MAX_HALVINGS = 30


def expit(eta: np.ndarray) -> np.ndarray:
    """Logistic function; exp overflow for very negative eta correctly gives 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-eta))


@dataclass(frozen=True)
class BatchFit:
    """B fits: `coef` (B, p), `converged` (B,)."""

    coef: np.ndarray
    converged: np.ndarray


def fit_logistic_batch(*, design: np.ndarray, events: np.ndarray, trials: np.ndarray, start: np.ndarray) -> BatchFit:
    """Maximum-likelihood logistic fits sharing one design, one per row of `events`/`trials`.

    Parameters
    ----------
    design
        (m, p) rows (patients or covariate patterns) with the leading column of ones.
    events, trials
        (B, m): events and trials of each row in each replicate (a bootstrap
        count is the trials; the events are those of its copies with y = 1).
    start
        (p,) starting coefficients, normally the full-data estimate.

    A replicate whose information matrix is singular (a binary predictor
    constant in the resample) or whose coefficients run off (separation in
    the resample) is returned with converged = False; callers leave it
    out, as `rms::validate` does, and say how many.
    """
    m, p = design.shape
    b = trials.shape[0]
    outer = (design[:, :, None] * design[:, None, :]).reshape(m, p * p)
    value_range = np.ptp(design, axis=0)
    value_range[0] = 1.0  # the intercept's own size
    coef = np.tile(np.asarray(start, dtype=float), (b, 1))
    active = np.ones(b, dtype=bool)
    converged = np.zeros(b, dtype=bool)
    for _ in range(MAX_STEPS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        eta = coef[idx] @ design.T
        mu = expit(eta)
        info = ((trials[idx] * mu * (1.0 - mu)) @ outer).reshape(idx.size, p, p)
        score = (events[idx] - trials[idx] * mu) @ design
        step, solvable = _solve_each(info, score)
        step[~solvable] = 0.0
        step = _halve_until_better(
            lambda c, rows=idx: _loglik_rows(c @ design.T, events[rows], trials[rows]),
            coef[idx],
            step,
            _loglik_rows(eta, events[idx], trials[idx]),
        )
        coef[idx] += step
        active[idx[~solvable]] = False
        settled = solvable & (np.max(np.abs(step), axis=1) < STEP_TOLERANCE)
        converged[idx[settled]] = True
        active[idx[settled]] = False
        spans = np.abs(coef[idx]) * value_range[None, :]
        runaway = ~np.all(np.isfinite(spans), axis=1) | (np.max(spans, axis=1) > RUNAWAY_SPAN)
        active[idx[runaway]] = False
        converged[idx[runaway]] = False
    return BatchFit(coef=coef, converged=converged)


def _loglik_rows(eta: np.ndarray, events: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood of each row of eta (B, m): Σ events·η − trials·log(1 + e^η)."""
    softplus = np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta)))  # log(1 + e^η), no overflow; faster than logaddexp
    return (events * eta - trials * softplus).sum(axis=1)


def _halve_until_better(loglik, params: np.ndarray, step: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Step-halving (as `glm` and `lrm.fit` do): shrink each replicate's Newton step until its
    log-likelihood does not fall.  Plain Newton can overshoot and diverge on an overfitted
    replicate, which would then be dropped and bias the optimism downwards."""
    factor = np.ones(step.shape[0])
    for _ in range(MAX_HALVINGS):
        proposed = loglik(params + factor[:, None] * step)
        worse = ~np.isfinite(proposed) | (proposed < current - 1e-10 * (1.0 + np.abs(current)))
        if not worse.any():
            break
        factor[worse] /= 2.0
    return factor[:, None] * step


def _solve_each(matrices: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve many small systems; flag the singular ones instead of failing all."""
    try:
        return np.linalg.solve(matrices, rhs[..., None])[..., 0], np.ones(rhs.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        out = np.zeros_like(rhs)
        ok = np.ones(rhs.shape[0], dtype=bool)
        for i in range(rhs.shape[0]):
            try:
                out[i] = np.linalg.solve(matrices[i], rhs[i])
            except np.linalg.LinAlgError:
                ok[i] = False
        return out, ok


def fit_intercept_slope_batch(
    *, lp: np.ndarray, events: np.ndarray, trials: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Calibration intercept and slope for many linear predictors at once.

    Fits logit P(y=1) = a + b·lp for every column of `lp` (m, B), with
    `events`/`trials` (m,) per row.  Returns (a, b), each (B,); NaN where
    the fit did not converge.
    """
    trials = np.ones_like(events, dtype=float) if trials is None else trials
    b = lp.shape[1]
    params = np.column_stack([np.zeros(b), np.ones(b)])  # (a, slope) per column

    def loglik(candidate: np.ndarray) -> np.ndarray:
        return _loglik_rows((candidate[:, :1] + candidate[:, 1:] * lp.T), events[None, :], trials[None, :])

    done = np.zeros(b, dtype=bool)
    failed = np.zeros(b, dtype=bool)  # singular information (e.g. a constant lp): no estimate
    for _ in range(MAX_STEPS):
        mu = expit(params[:, 0][None, :] + params[:, 1][None, :] * lp)
        w = trials[:, None] * mu * (1.0 - mu)
        r = events[:, None] - trials[:, None] * mu
        wl = w * lp
        h00, h01, h11 = w.sum(axis=0), wl.sum(axis=0), (wl * lp).sum(axis=0)
        g0, g1 = r.sum(axis=0), (r * lp).sum(axis=0)
        det = h00 * h11 - h01 * h01
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.column_stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det])
        failed |= ~np.all(np.isfinite(step), axis=1) | (det <= 1e-12 * h00 * h11)
        step[done | failed] = 0.0
        step = _halve_until_better(loglik, params, step, loglik(params))
        params += step
        done |= (np.max(np.abs(step), axis=1) < STEP_TOLERANCE) & ~failed
        if (done | failed).all():
            break
    bad = ~done | failed | ~np.all(np.isfinite(params), axis=1)
    return np.where(bad, np.nan, params[:, 0]), np.where(bad, np.nan, params[:, 1])


def fit_offset_intercept_batch(*, lp: np.ndarray, events: np.ndarray, trials: np.ndarray | None = None) -> np.ndarray:
    """Calibration-in-the-large for many linear predictors: a in logit P = a + offset(lp)."""
    trials = np.ones_like(events, dtype=float) if trials is None else trials
    a = np.zeros((lp.shape[1], 1))

    def loglik(candidate: np.ndarray) -> np.ndarray:
        return _loglik_rows(candidate + lp.T, events[None, :], trials[None, :])

    for _ in range(MAX_STEPS):
        mu = expit(a[:, 0][None, :] + lp)
        step = (events[:, None] - trials[:, None] * mu).sum(axis=0) / (trials[:, None] * mu * (1.0 - mu)).sum(axis=0)
        step = _halve_until_better(loglik, a, step[:, None], loglik(a))
        a += step
        if np.max(np.abs(step)) < STEP_TOLERANCE:
            break
    return a[:, 0]
