"""Discrimination: AUC (c statistic), its DeLong confidence interval, ROC points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.stats.fit import Z_95


def midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given the mean of their ranks (O(n log n))."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Boundaries of runs of equal values in the sorted array.
    new_run = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1], [True]])
    edges = np.flatnonzero(new_run)
    run_mid = (edges[:-1] + edges[1:] + 1) / 2.0  # mean of ranks start+1..end
    ranks_sorted = np.repeat(run_mid, np.diff(edges))
    ranks = np.empty_like(ranks_sorted)
    ranks[order] = ranks_sorted
    return ranks


@dataclass(frozen=True)
class AucResult:
    """AUC with its DeLong standard error and Wald 95 % CI."""

    auc: float
    se: float
    ci95: tuple[float, float]
    n_events: int
    n_non_events: int


def auc_delong(*, y: np.ndarray, score: np.ndarray) -> AucResult:
    """AUC and DeLong variance by the midrank algorithm of Sun & Xu (2014).

    AUC = P(s₊ > s₋) + ½ P(s₊ = s₋).  With m events, k non-events, Rᵢ the
    midrank of event i in the pooled sample and Rᵢ⁽¹⁾ among events:
    V₁₀,ᵢ = (Rᵢ − Rᵢ⁽¹⁾)/k; for non-event j, V₀₁,ⱼ = 1 − (Rⱼ − Rⱼ⁽⁰⁾)/m.
    Var(AUC) = s²(V₁₀)/m + s²(V₀₁)/k (ddof 1), CI = AUC ± z·SE, as
    `pROC::ci.auc(method = "delong")`.

    References: DeLong, DeLong & Clarke-Pearson, Biometrics 1988;
    Sun & Xu, IEEE Signal Processing Letters 2014.
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    pos, neg = score[y], score[~y]
    m, k = pos.size, neg.size
    if m == 0 or k == 0:
        raise ValueError("AUC needs at least one event and one non-event")
    pooled = midranks(np.concatenate([pos, neg]))
    v10 = (pooled[:m] - midranks(pos)) / k
    v01 = 1.0 - (pooled[m:] - midranks(neg)) / m
    auc = float(v10.mean())
    var = (v10.var(ddof=1) if m > 1 else 0.0) / m + (v01.var(ddof=1) if k > 1 else 0.0) / k
    se = float(np.sqrt(var))
    # Truncated to [0, 1], as pROC::ci.auc does.
    ci95 = (max(0.0, auc - Z_95 * se), min(1.0, auc + Z_95 * se))
    return AucResult(auc=auc, se=se, ci95=ci95, n_events=m, n_non_events=k)


def roc_points(*, y: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """ROC curve at every distinct threshold (positive when score ≥ threshold).

    Returns false-positive rates, true-positive rates and thresholds, from
    (0, 0) at threshold +inf (stored as None in JSON terms: we use the
    largest score plus one) to (1, 1).
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    last_of_run = np.concatenate([s[1:] != s[:-1], [True]])
    tp = np.cumsum(t)[last_of_run]
    fp = np.cumsum(~t)[last_of_run]
    tpr = np.concatenate([[0.0], tp / t.sum()])
    fpr = np.concatenate([[0.0], fp / (~t).sum()])
    thresholds = np.concatenate([[np.inf], s[last_of_run]])
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "threshold": thresholds.tolist()}


def thin_curve(points: dict[str, list[float]], *, max_points: int) -> dict[str, list[float]]:
    """Keep at most `max_points` points, evenly by index, always with both ends (for plotting)."""
    n = len(next(iter(points.values())))
    if n <= max_points:
        return points
    keep = np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))
    return {key: [values[i] for i in keep] for key, values in points.items()}


def weighted_auc_sorted(
    *, sorted_score: np.ndarray, sorted_events: np.ndarray, sorted_non_events: np.ndarray
) -> np.ndarray:
    """AUC of many score vectors at once, each column already sorted ascending.

    Column b holds one bootstrap model's scores for the rows (patients or
    covariate patterns), with each row's event and non-event weights in the
    same order.  AUC = Σ events·(non-events below + ½ tied) / (E·N), the
    Mann–Whitney definition.  The same sort serves the bootstrap sample
    (weights from bootstrap counts) and the original sample.
    """
    n = sorted_score.shape[0]
    cum_non = np.cumsum(sorted_non_events, axis=0)
    new_run = np.ones_like(sorted_score, dtype=bool)
    new_run[1:] = sorted_score[1:] != sorted_score[:-1]
    index = np.arange(n)[:, None]
    start = np.maximum.accumulate(np.where(new_run, index, 0), axis=0)
    end_marker = np.ones_like(new_run)
    end_marker[:-1] = new_run[1:]
    end = np.flip(np.minimum.accumulate(np.flip(np.where(end_marker, index, n - 1), axis=0), axis=0), axis=0)
    below = np.where(start > 0, np.take_along_axis(cum_non, np.maximum(start - 1, 0), axis=0), 0.0)
    tied = np.take_along_axis(cum_non, end, axis=0) - below
    numerator = np.sum(sorted_events * (below + 0.5 * tied), axis=0)
    return numerator / (sorted_events.sum(axis=0) * sorted_non_events.sum(axis=0))
