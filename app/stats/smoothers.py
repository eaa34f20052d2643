"""Scatterplot smoothers for calibration curves, exact to R's.

`lowess_fit` is R's `lowess(x, y, f = 2/3, iter = 0)` (Cleveland's clowess,
as `rms::val.prob` and `rms::calibrate` use it).  `loess_quadratic_fit` is
R's `loess(y ~ x, degree = 2, span = 0.75)` evaluated exactly at the data
(`surface = "direct"`), the smoother of the integrated calibration index
(Austin & Steyerberg 2019).

Both work on tied x values aggregated with their multiplicities.  That is
exact (tied points get identical weights), makes bootstrap samples cheap
(a resample is the original points with counts) and makes a 20,000-patient
cohort with a few hundred distinct predicted risks as cheap as a small one.
"""

from __future__ import annotations

import numpy as np

# Evaluate this many anchor points at a time: bounds memory at a few MB.
_BLOCK = 256


def _aggregate(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None, aggregated: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique x (sorted), total weight and y-sum per unique x.

    With `aggregated`, y already holds each row's y-sum over its `weights`
    copies (events out of trials) rather than one y per copy.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = w > 0
    ux, inverse = np.unique(x[keep], return_inverse=True)
    count = np.bincount(inverse, weights=w[keep], minlength=ux.size)
    ysum = np.bincount(inverse, weights=(y if aggregated else w * y)[keep], minlength=ux.size)
    return ux, count, ysum


def _kth_distance(ux: np.ndarray, count: np.ndarray, centres: np.ndarray, k: float) -> np.ndarray:
    """Distance from each centre to its k-th nearest point, counting multiplicities."""
    distance = np.abs(ux[None, :] - centres[:, None])
    order = np.argsort(distance, axis=1, kind="stable")
    sorted_distance = np.take_along_axis(distance, order, axis=1)
    cumulative = np.cumsum(count[order], axis=1)
    position = np.argmax(cumulative >= k - 1e-9, axis=1)
    return sorted_distance[np.arange(centres.size), position]


def _lowess_anchors(ux: np.ndarray, delta: float) -> np.ndarray:
    """Indices of the points clowess fits directly; the rest it interpolates.

    After fitting at x_last, clowess skips to the last point within
    x_last + delta (at least one point on), so with delta = 1 % of the range
    about a hundred local fits describe the whole curve.
    """
    # Last point within delta of each point, found for all points at once.
    reach = (np.searchsorted(ux, ux + delta, side="right") - 1).tolist()
    anchors = [0]
    last = 0
    n = ux.size
    while last < n - 1:
        last = max(last + 1, reach[last])
        anchors.append(last)
    return np.asarray(anchors)


def lowess_fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    f: float = 2.0 / 3.0,
    delta: float | None = None,
    weights: np.ndarray | None = None,
    aggregated: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """R's `lowess(x, y, f, iter = 0, delta)`: local linear fits with tricube weights.

    Parameters
    ----------
    x, y
        The points; `weights` are whole-number multiplicities (bootstrap counts).
    f
        Span: the share of points in each local neighbourhood.
    delta
        Interpolation distance; R's default 1 % of the range of x.
    aggregated
        y holds y-sums over each row's `weights` copies (see `_aggregate`).

    Returns
    -------
    (unique sorted x, smoothed value at each)
    """
    ux, count, ysum = _aggregate(x, y, weights, aggregated)
    total = count.sum()
    if ux.size == 1:
        return ux, ysum / count
    x_range = ux[-1] - ux[0]
    if delta is None:
        delta = 0.01 * x_range
    ns = max(2.0, min(total, float(int(f * total + 1e-7))))
    anchors = _lowess_anchors(ux, delta)
    fitted = np.empty(anchors.size)
    for start in range(0, anchors.size, _BLOCK):
        block = anchors[start : start + _BLOCK]
        fitted[start : start + _BLOCK] = _local_linear(ux, count, ysum, ux[block], ns, x_range)
    return ux, np.interp(ux, ux[anchors], fitted)


def _local_linear(
    ux: np.ndarray, count: np.ndarray, ysum: np.ndarray, centres: np.ndarray, ns: float, x_range: float
) -> np.ndarray:
    """clowess's `lowest` at each centre, with iter = 0 (no robustness weights)."""
    h = _kth_distance(ux, count, centres, ns)
    distance = np.abs(ux[None, :] - centres[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(h[:, None] > 0, distance / h[:, None], 0.0)
    # clowess: full weight very close to the centre, none beyond 0.999 h.
    w = np.where(distance <= 0.001 * h[:, None], 1.0, (1.0 - np.clip(ratio, 0.0, 1.0) ** 3) ** 3)
    w = np.where(distance <= 0.999 * h[:, None], w, 0.0)
    total_w = (w * count).sum(axis=1)
    w = w / total_w[:, None]
    a = (w * count * ux).sum(axis=1)
    c = (w * count * (ux[None, :] - a[:, None]) ** 2).sum(axis=1)
    slope_term = np.where((h > 0) & (np.sqrt(c) > 0.001 * x_range), (centres - a) / np.where(c > 0, c, 1.0), 0.0)
    w = w * (slope_term[:, None] * (ux[None, :] - a[:, None]) + 1.0)
    return (w * ysum).sum(axis=1)


def loess_quadratic_fit(
    x: np.ndarray, y: np.ndarray, *, span: float = 0.75, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """R's `loess(y ~ x, degree = 2, span)` with `surface = "direct"`, at each unique x.

    At each x₀: q = ⌊span·n⌋ nearest points, weights (1 − (d/h)³)³ with h
    the distance to the q-th nearest, weighted least squares of y on
    (1, x − x₀, (x − x₀)²); the fit is the intercept.
    """
    ux, count, ysum = _aggregate(x, y, weights)
    total = count.sum()
    q = float(np.floor(span * total))
    fitted = np.empty(ux.size)
    for start in range(0, ux.size, _BLOCK):
        centres = ux[start : start + _BLOCK]
        h = _kth_distance(ux, count, centres, q)
        # More than q patients tied at this risk: widen to the nearest other risk so the weights exist.
        gaps = np.abs(ux[None, :] - centres[:, None])
        nearest_other = np.where(gaps > 0, gaps, np.inf).min(axis=1)
        h = np.where(h > 0, h, np.where(np.isfinite(nearest_other), nearest_other, 1.0))
        # Distances in units of h keep the 3x3 systems well conditioned; the intercept is unchanged.
        d = (ux[None, :] - centres[:, None]) / h[:, None]
        tricube = np.where(np.abs(d) < 1.0, (1.0 - np.abs(d) ** 3) ** 3, 0.0)
        moments = [(tricube * count * d**k).sum(axis=1) for k in range(5)]
        rhs = np.stack([(tricube * ysum * d**k).sum(axis=1) for k in range(3)], axis=-1)
        gram = np.stack([np.stack(moments[i : i + 3], axis=-1) for i in range(3)], axis=-2)
        # pinv, not solve: with fewer than three distinct risks in a window the
        # quadratic is not identified, and R's loess falls back the same way.
        solution = np.einsum("bij,bj->bi", np.linalg.pinv(gram), rhs)
        fitted[start : start + _BLOCK] = solution[:, 0]
    return ux, fitted
