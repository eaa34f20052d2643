"""Internal validation by bootstrap optimism (Efron–Gong; Harrell's `rms::validate`).

For b = 1…B: draw n rows with replacement, refit, and compute each index on
the bootstrap sample (apparent_b) and on the original data with the
bootstrap model (test_b).  Optimism = mean(apparent_b − test_b); the
corrected index = apparent − optimism.  The calibration curve is corrected
the same way, pointwise on a grid of predicted risks (`rms::calibrate`).

Speed comes from three exact rewrites, not approximations:
- all B refits run together (`fit_logistic_batch`);
- patients with identical predictors are one covariate pattern with a
  multiplicity, and a bootstrap sample is the same patterns with other
  multiplicities, so every index is computed over patterns;
- one sort of a replicate's linear predictor serves the AUC on both the
  bootstrap sample and the original sample;
- the two lowess curves of every replicate are computed for a block of
  replicates at once (`lowess_rows_at`);
- blocks of replicates are refitted on two threads (numpy releases the GIL
  in its array work); the resamples are drawn in order beforehand and the
  blocks' sums added in order, so the result is the same on any number of
  CPUs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from app.stats.batch_logistic import expit, fit_intercept_slope_batch, fit_logistic_batch, fit_offset_intercept_batch
from app.stats.calibration import calibration_grid, smooth_at
from app.stats.cpus import usable_cpus
from app.stats.discrimination import weighted_auc_sorted
from app.stats.lowess_rows import lowess_rows_at

# Replicates per block: bounds the (draws × block) working arrays to ~4 M cells each.
_CELLS_PER_BLOCK = 4_000_000

INDICES = ("auc", "calibration_intercept", "calibration_slope", "citl", "brier")


@dataclass(frozen=True)
class OptimismResult:
    """Apparent, optimism and corrected value of each index, and the corrected curve."""

    apparent: dict[str, float]
    optimism: dict[str, float]
    corrected: dict[str, float]
    replicates_requested: int
    replicates_used: int
    curve_grid: np.ndarray
    curve_apparent: np.ndarray
    curve_corrected: np.ndarray
    curve_replicates: np.ndarray  # replicates covering each grid point
    seed: int


def linear_predictors(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """lp (m, B) for coefficient rows coef (B, 1 + p).

    Summed column by column rather than by a matrix product so that rows
    with identical predictors get bit-identical lp (ties must stay ties for
    the AUC, as in R).
    """
    lp = np.broadcast_to(coef[:, 0], (x.shape[0], coef.shape[0])).copy()
    for j in range(x.shape[1]):
        lp += x[:, j : j + 1] * coef[None, :, j + 1]
    return lp


@dataclass(frozen=True)
class Patterns:
    """Distinct covariate patterns: rows of `x`, with trials and events of each."""

    x: np.ndarray
    index: np.ndarray  # pattern of each patient
    trials: np.ndarray
    events: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> Patterns:
        unique, index = np.unique(x, axis=0, return_inverse=True)
        index = index.ravel()
        return cls(
            x=unique,
            index=index,
            trials=np.bincount(index, minlength=unique.shape[0]).astype(float),
            events=np.bincount(index, weights=y, minlength=unique.shape[0]),
        )


def _bootstrap_block(
    rng: np.random.Generator, patterns: Patterns, y: np.ndarray, replicates: int
) -> tuple[np.ndarray, np.ndarray]:
    """(trials, events), each (replicates, patterns), of `replicates` bootstrap samples."""
    n = y.size
    m = patterns.trials.size
    draws = rng.integers(0, n, size=(replicates, n))
    flat = (patterns.index[draws] + m * np.arange(replicates)[:, None]).ravel()
    trials = np.bincount(flat, minlength=replicates * m).reshape(replicates, m).astype(float)
    events = np.bincount(flat, weights=y[draws].ravel(), minlength=replicates * m).reshape(replicates, m)
    return trials, events


def _brier(p: np.ndarray, events: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Σ over rows of events·(1 − p)² + non-events·p², divided by the patients."""
    return (events * (1 - p) ** 2 + (trials - events) * p**2).sum(axis=0) / trials.sum(axis=0)


def _auc(lp: np.ndarray, events: np.ndarray, trials: np.ndarray) -> np.ndarray:
    order = np.argsort(lp, axis=0, kind="stable")
    return weighted_auc_sorted(
        sorted_score=np.take_along_axis(lp, order, axis=0),
        sorted_events=np.take_along_axis(events, order, axis=0),
        sorted_non_events=np.take_along_axis(trials - events, order, axis=0),
    )


@dataclass(frozen=True)
class _Totals:
    """One block's sums of optimism per index (and how many replicates defined each), and of the curve's."""

    sums: dict[str, float]
    counts: dict[str, int]
    curve_sum: np.ndarray
    curve_count: np.ndarray
    used: int


@dataclass(frozen=True)
class _Context:
    """What every block needs: the patterns, the apparent indices and the curve's grid."""

    patterns: Patterns
    design: np.ndarray
    apparent: dict[str, float]
    grid: np.ndarray
    curve: bool

    def totals(self, sample: tuple[np.ndarray, np.ndarray]) -> _Totals:
        """Refit a block of resamples and test each refit on its resample and on the original data."""
        patterns, apparent, grid = self.patterns, self.apparent, self.grid
        trials_b, events_b = sample
        empty = _Totals(
            dict.fromkeys(INDICES, 0.0),
            dict.fromkeys(INDICES, 0),
            np.zeros(grid.size),
            np.zeros(grid.size, dtype=int),
            0,
        )
        fits = fit_logistic_batch(design=self.design, events=events_b, trials=trials_b)
        ok = fits.converged
        if not ok.any():
            return empty
        trials_b, events_b = trials_b[ok].T, events_b[ok].T  # (patterns, b)
        lp = linear_predictors(patterns.x, fits.coef[ok])
        p = expit(lp)
        original_events = np.broadcast_to(patterns.events[:, None], lp.shape)
        original_trials = np.broadcast_to(patterns.trials[:, None], lp.shape)
        intercept_test, slope_test = fit_intercept_slope_batch(lp=lp, events=patterns.events, trials=patterns.trials)
        differences = {
            "auc": _auc(lp, events_b, trials_b) - _auc(lp, original_events, original_trials),
            "calibration_intercept": apparent["calibration_intercept"] - intercept_test,
            "calibration_slope": apparent["calibration_slope"] - slope_test,
            "citl": apparent["citl"]
            - fit_offset_intercept_batch(lp=lp, events=patterns.events, trials=patterns.trials),
            "brier": _brier(p, events_b, trials_b) - _brier(p, original_events, original_trials),
        }
        sums = {index: float(np.sum(d[np.isfinite(d)])) for index, d in differences.items()}
        counts = {index: int(np.isfinite(d).sum()) for index, d in differences.items()}
        curve_sum, curve_count = empty.curve_sum, empty.curve_count
        if self.curve:
            risks = p.T
            train = lowess_rows_at(risks, events_b.T, trials_b.T, grid, threads=1)
            test = lowess_rows_at(
                risks,
                np.broadcast_to(patterns.events, risks.shape),
                np.broadcast_to(patterns.trials, risks.shape),
                grid,
                threads=1,
            )
            covered = np.isfinite(train) & np.isfinite(test)
            curve_sum = np.where(covered, train - test, 0.0).sum(axis=0)
            curve_count = covered.sum(axis=0)
        return _Totals(sums, counts, curve_sum, curve_count, int(ok.sum()))


def bootstrap_optimism(
    *, x: np.ndarray, y: np.ndarray, coef: np.ndarray, replicates: int, seed: int, curve: bool = True
) -> OptimismResult:
    """Harrell's bootstrap optimism correction of AUC, calibration intercept/slope, CITL and Brier.

    Parameters
    ----------
    x
        (n, p) predictors without the intercept column.
    y
        (n,) outcome 0/1.
    coef
        (1 + p,) the full-data maximum-likelihood estimate.
    replicates
        B, the number of bootstrap samples.
    seed
        Seed of numpy's PCG64 generator: the same seed gives the same result.
    curve
        Whether to correct the calibration curve too (the costly part: two smoothers per
        replicate); without it the curve's optimism is NaN and every point's count 0.

    As `rms::validate` (predab.resample): every replicate is refitted as
    `lrm.fit` would (`fit_logistic_batch`), and every replicate lrm.fit does
    not flag as failed counts, separated resamples included; an index that is
    undefined in a replicate (NaN) leaves only that index's average, which
    is over the replicates where it is defined.  The apparent calibration
    intercept, CITL and slope of a model on its own sample are 0, 0 and 1 by
    definition (rms: `intercept <- 0; shrink <- 1`).  The calibration curve
    is `rms::calibrate`'s: lowess(iter = 0) on each sample, read at 50 risks
    from the 5th to the (n − 4)th smallest apparent prediction, a grid point
    outside a replicate's range of predictions is NA for that replicate
    (`approx` with rule 1), and each point's optimism averages the
    replicates that cover it.  `replicates_used` counts the replicates kept.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = y.size
    patterns = Patterns.of(x, y)
    design = np.column_stack([np.ones(patterns.x.shape[0]), patterns.x])
    lp_full = linear_predictors(patterns.x, coef[None, :])
    p_full = expit(lp_full)
    grid = calibration_grid(expit(lp_full[patterns.index, 0]))
    apparent_curve = smooth_at(p=p_full[:, 0], events=patterns.events, trials=patterns.trials, grid=grid)
    apparent = {
        "auc": float(_auc(lp_full, patterns.events[:, None], patterns.trials[:, None])[0]),
        "calibration_intercept": 0.0,
        "calibration_slope": 1.0,
        "citl": 0.0,
        "brier": float(_brier(p_full, patterns.events[:, None], patterns.trials[:, None])[0]),
    }
    rng = np.random.default_rng(seed)
    sums = dict.fromkeys(INDICES, 0.0)
    counts = dict.fromkeys(INDICES, 0)
    curve_sum = np.zeros_like(grid)
    curve_count = np.zeros(grid.size, dtype=int)
    used = 0
    # Blocks bound memory, and there are at least two so both CPUs work.  The block size never depends
    # on the CPU count: the same blocks, summed in the same order, give the same bits on any machine.
    block = max(1, min(replicates, _CELLS_PER_BLOCK // n, -(-replicates // 2)))
    starts = list(range(0, replicates, block))
    context = _Context(patterns=patterns, design=design, apparent=apparent, grid=grid, curve=curve)
    workers = min(2, usable_cpus())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for first in range(0, len(starts), workers):
            # Draw this round's resamples in order (the stream does not depend on the threads), then refit them in parallel.
            samples = [
                _bootstrap_block(rng, patterns, y, min(block, replicates - s)) for s in starts[first : first + workers]
            ]
            for totals in pool.map(context.totals, samples):
                for index in INDICES:
                    sums[index] += totals.sums[index]
                    counts[index] += totals.counts[index]
                curve_sum += totals.curve_sum
                curve_count += totals.curve_count
                used += totals.used
    optimism = {k: sums[k] / counts[k] if counts[k] else float("nan") for k in INDICES}
    with np.errstate(invalid="ignore", divide="ignore"):
        curve_corrected = apparent_curve - np.where(curve_count > 0, curve_sum / curve_count, np.nan)
    return OptimismResult(
        apparent=apparent,
        optimism=optimism,
        corrected={k: apparent[k] - optimism[k] for k in INDICES},
        replicates_requested=replicates,
        replicates_used=used,
        curve_grid=grid,
        curve_apparent=apparent_curve,
        curve_corrected=curve_corrected,
        curve_replicates=curve_count,
        seed=seed,
    )
