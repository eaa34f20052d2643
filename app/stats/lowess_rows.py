"""Many lowess curves at once: one per row, each read at the same points (`rms::calibrate`'s inner loop).

`rms::calibrate` smooths every bootstrap replicate twice (on the resample
and on the original data) and reads both curves at a grid of risks.  One
call of `smoothers.lowess_at` per curve spends most of its time on numpy
call overhead and on small sorts; here every step runs for a block of
rows together: one sort for all rows, the anchor points of clowess
walked in lock-step, the k-th nearest-neighbour distance found by a binary
search per centre instead of a scan of every point, and the tricube
weights and weighted sums of all local fits of a block as one array
expression and one batched matrix product.  Each row's result is what
`lowess_at` gives for that row alone (`tests/stats/test_lowess_rows.py`);
`lowess_at` in turn is checked against R.

Rows are blocked so that the working arrays stay near `_CELLS` numbers
each; blocks are independent, and with more than one CPU they run on a
second thread (numpy releases the GIL in its array loops).  Every block
writes only its own rows, so the result does not depend on the thread
count.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from app.stats.cpus import usable_cpus

# Numbers per (rows × centres × points) working array of a block: ~16 MB.
_CELLS = 600_000
# Candidates either side of the binary-search crossing when finding the k-th nearest distance (rounding slack).
_CROSSING_SLACK = 3


_buffers = threading.local()


def _workspace(name: str, shape: tuple[int, ...], dtype: type = float) -> np.ndarray:
    """A scratch array of this thread, reused from block to block.

    Fresh multi-megabyte arrays cost page faults on every block (they come from mmap); reusing
    one buffer per role keeps the tricube arithmetic at memory speed.
    """
    size = int(np.prod(shape))
    key = (name, np.dtype(dtype).str)
    buffer = getattr(_buffers, "arrays", {}).get(key)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype=dtype)
        _buffers.arrays = {**getattr(_buffers, "arrays", {}), key: buffer}
    return buffer[:size].reshape(shape)


def lowess_rows_at(
    x: np.ndarray,
    ysum: np.ndarray,
    count: np.ndarray,
    at: np.ndarray,
    *,
    f: float = 2.0 / 3.0,
    outside: float = np.nan,
    threads: int | None = None,
) -> np.ndarray:
    """Row r of the answer is `lowess_at(x[r], ysum[r], at, weights=count[r], aggregated=True, f=f, outside=outside)`.

    Parameters
    ----------
    x
        (R, m) the points of each row (risks of covariate patterns).
    ysum, count
        (R, m) the y-sum (events) and the whole-number multiplicity (trials) of each point;
        points with count 0 are not data.
    at
        (G,) where to read every curve; points outside a row's data get `outside`.
    threads
        Worker threads (default: the CPUs, at most 2); the result is the same for any number.
    """
    x = np.asarray(x, dtype=float)
    ysum = np.asarray(ysum, dtype=float)
    count = np.asarray(count, dtype=float)
    at = np.asarray(at, dtype=float)
    rows, m = x.shape
    result = np.full((rows, at.size), outside, dtype=float)
    if rows == 0 or at.size == 0:
        return result
    block = max(1, _CELLS // (m * max(2, min(m, 2 * at.size))))
    starts = range(0, rows, block)

    def run(start: int) -> None:
        end = min(rows, start + block)
        result[start:end] = _block(x[start:end], ysum[start:end], count[start:end], at, f, outside)

    workers = threads if threads is not None else min(2, usable_cpus())
    if workers <= 1 or len(starts) == 1:
        for start in starts:
            run(start)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, starts))
    return result


def _block(x: np.ndarray, ysum: np.ndarray, count: np.ndarray, at: np.ndarray, f: float, outside: float) -> np.ndarray:
    result = np.full((x.shape[0], at.size), outside, dtype=float)
    ux, weight, ys, size = _sorted_unique(x, ysum, count)
    # Each row's points come first; beyond the block's longest row there is only padding, which weighs
    # nothing: drop it (a resample leaves out about a third of the patterns seen once).
    width = max(1, int(size.max()))
    ux, weight, ys = ux[:, :width], weight[:, :width], ys[:, :width]
    data = size > 0
    if not data.all():  # a row without data: every point is outside
        sub = _block(x[data], ysum[data], count[data], at, f, outside) if data.any() else None
        if sub is not None:
            result[data] = sub
        return result
    rows = np.arange(x.shape[0])
    low, high = ux[:, 0], ux[rows, size - 1]
    inside = (at[None, :] >= low[:, None]) & (at[None, :] <= high[:, None])
    single = size == 1
    if single.any():  # one distinct point: the curve is its mean
        result[single] = np.where(inside[single], (ys[single, 0] / weight[single, 0])[:, None], outside)
    many = ~single & inside.any(axis=1)
    if not many.any():
        return result
    ux, weight, ys, size, inside = ux[many], weight[many], ys[many], size[many], inside[many]
    rows = np.arange(ux.shape[0])
    x_range = ux[rows, size - 1] - ux[:, 0]
    total = weight.sum(axis=1)
    ns = np.maximum(2.0, np.minimum(total, np.floor(f * total + 1e-7)))
    anchors = _anchors(ux, size, 0.01 * x_range)  # (rows, A) positions in ux, the end repeated
    anchor_x = np.take_along_axis(ux, anchors, axis=1)
    anchor_count = 1 + (anchors[:, 1:] != anchors[:, :-1]).sum(axis=1)
    # Bracketing anchors of each point: `right` = anchors at or before it (numpy.searchsorted, side="right").
    real = np.arange(anchors.shape[1])[None, :] < anchor_count[:, None]
    at_or_before = ((anchor_x[:, None, :] <= at[None, :, None]) & real[:, None, :]).sum(axis=2)
    right = np.clip(at_or_before, 1, anchor_count[:, None] - 1)
    # Fit only the anchors some point needs, packed to the front of each row.
    needed = np.zeros(anchors.shape, dtype=bool)
    needed_rows = np.broadcast_to(rows[:, None], right.shape)[inside]
    needed[needed_rows, right[inside] - 1] = True
    needed[needed_rows, right[inside]] = True
    slot = np.cumsum(needed, axis=1) - 1  # where each needed anchor lands in the packed row
    width = int(needed.sum(axis=1).max())
    packed = np.argsort(~needed, axis=1, kind="stable")[:, :width]
    centres = np.take_along_axis(anchor_x, packed, axis=1)
    fitted = _local_linear_rows(ux, weight, ys, size, centres, ns, x_range)
    left_x = np.take_along_axis(anchor_x, right - 1, axis=1)
    right_x = np.take_along_axis(anchor_x, right, axis=1)
    left_f = np.take_along_axis(fitted, np.take_along_axis(slot, right - 1, axis=1), axis=1)
    right_f = np.take_along_axis(fitted, np.take_along_axis(slot, right, axis=1), axis=1)
    # numpy.interp between the two bracketing anchors, with its exact end and node cases.
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (right_f - left_f) / (right_x - left_x)
        value = slope * (at[None, :] - left_x) + left_f
    value = np.where(at[None, :] == left_x, left_f, value)
    value = np.where(at_or_before >= anchor_count[:, None], right_f, value)
    result[many] = np.where(inside, value, outside)
    return result


def _sorted_unique(x: np.ndarray, ysum: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each row's distinct x with count > 0, sorted, with summed counts and y-sums (`smoothers._aggregate`).

    Rows are padded to the full width with their last x and zero counts, which add nothing to any
    weighted sum.  Returns (ux, count, ysum, size), size = distinct points per row.
    """
    rows, m = x.shape
    key = np.where(count > 0, x, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    xs = np.take_along_axis(key, order, axis=1)
    cs = np.take_along_axis(count, order, axis=1)
    ys = np.take_along_axis(ysum, order, axis=1)
    first = cs > 0
    first[:, 1:] &= xs[:, 1:] != xs[:, :-1]
    size = first.sum(axis=1)
    group = np.maximum(np.cumsum(first, axis=1) - 1, 0)  # zero-count tail joins the last group, adding 0
    flat = (group + m * np.arange(rows)[:, None]).ravel()
    summed_count = np.bincount(flat, weights=np.where(cs > 0, cs, 0.0).ravel(), minlength=rows * m).reshape(rows, m)
    summed_y = np.bincount(flat, weights=np.where(cs > 0, ys, 0.0).ravel(), minlength=rows * m).reshape(rows, m)
    ux = np.zeros((rows, m))
    r, c = np.nonzero(first)
    ux[r, group[r, c]] = xs[r, c]
    last = ux[np.arange(rows), np.maximum(size - 1, 0)]
    ux = np.where(np.arange(m)[None, :] < size[:, None], ux, last[:, None])
    return ux, summed_count, summed_y, size


def _anchors(ux: np.ndarray, size: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """clowess's anchor points of every row (`smoothers._lowess_anchors`).

    Returns positions (rows, A); a row with fewer anchors repeats its last point.  The jumps of a
    row are found in one search; following them is a short walk over a Python list (about a
    hundred steps), cheaper than any array operation per step.
    """
    walks = []
    for r in range(ux.shape[0]):
        n = int(size[r])
        points = ux[r, :n]
        following = np.maximum(np.searchsorted(points, points + delta[r], side="right") - 1, np.arange(1, n + 1))
        jumps = following.tolist()
        walk = [0]
        last, end = 0, n - 1
        while last < end:
            last = jumps[last]
            walk.append(last)
        walks.append(walk)
    longest = max(len(walk) for walk in walks)
    return np.array([walk + [walk[-1]] * (longest - len(walk)) for walk in walks], dtype=np.intp)


def _kth_distance_rows(
    ux: np.ndarray, count: np.ndarray, size: np.ndarray, centres: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """Distance from each centre to its k-th nearest point, counting multiplicities (`smoothers._kth_distance`).

    The k nearest copies form a contiguous run from some l to r(l), the first index at which the
    copies from l on reach k; the distance is min over l of max(|c − x_l|, |x_r(l) − c|).  The first
    term falls and the second rises with l (also in floating point: rounding is monotone), so the
    minimum sits where x_l + x_r(l) crosses 2c: a binary search, then the exact spans of the
    candidates either side of it.  Counts are whole numbers, so r(l) is found for all rows at once
    by one search in the rows' cumulative counts laid end to end.
    """
    rows, m = ux.shape
    copies = np.rint(count).astype(np.int64)
    cumulative = np.cumsum(copies, axis=1)
    offset = (np.arange(rows, dtype=np.int64) * (int(cumulative[:, -1].max()) + 1))[:, None]
    target = cumulative - copies + k.astype(np.int64)[:, None]  # copies before l, plus k
    flat = np.searchsorted((cumulative + offset).ravel(), (target + offset).ravel(), side="left")
    run_end = flat.reshape(rows, m) - m * np.arange(rows)[:, None]
    usable = (run_end < size[:, None]).sum(axis=1)  # run_end rises with l: a prefix is usable
    ends = np.take_along_axis(ux, np.minimum(run_end, m - 1), axis=1)
    crossing = np.empty(centres.shape, dtype=np.intp)
    for r in range(rows):
        u = int(usable[r])
        crossing[r] = np.searchsorted(ux[r, :u] + ends[r, :u], 2.0 * centres[r], side="left")
    offsets = np.arange(-_CROSSING_SLACK, _CROSSING_SLACK + 1)
    candidates = np.clip(crossing[:, :, None] + offsets, 0, (usable - 1)[:, None, None]).reshape(rows, -1)
    c = np.repeat(centres, offsets.size, axis=1)
    spans = np.maximum(
        np.abs(c - np.take_along_axis(ux, candidates, axis=1)), np.abs(np.take_along_axis(ends, candidates, axis=1) - c)
    )
    return spans.reshape(centres.shape + (offsets.size,)).min(axis=2)


def _local_linear_rows(
    ux: np.ndarray,
    count: np.ndarray,
    ysum: np.ndarray,
    size: np.ndarray,
    centres: np.ndarray,
    ns: np.ndarray,
    x_range: np.ndarray,
) -> np.ndarray:
    """clowess's `lowest` (iter = 0) at each row's centres (`smoothers._local_linear`, the same arithmetic)."""
    h = _kth_distance_rows(ux, count, size, centres, ns)
    shape = (*centres.shape, ux.shape[1])
    distance = _workspace("distance", shape)
    np.subtract(ux[:, None, :], centres[:, :, None], out=distance)
    np.abs(distance, out=distance)
    with np.errstate(divide="ignore"):
        inverse_h = np.where(h > 0, 1.0 / h, 0.0)
    # Tricube weights (1 − u³)³, u = d/h; no clipping of u at 1 is needed: every point beyond 0.999 h
    # gets weight 0 below anyway (and an overflow there to ±inf is overwritten).
    w = _workspace("weight", shape)
    cube = _workspace("cube", shape)
    np.multiply(distance, inverse_h[:, :, None], out=w)
    np.multiply(w, w, out=cube)
    cube *= w
    np.subtract(1.0, cube, out=cube)
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(cube, cube, out=w)
        w *= cube
    mask = _workspace("mask", shape, dtype=bool)
    np.less_equal(distance, (0.001 * h)[:, :, None], out=mask)
    np.copyto(w, 1.0, where=mask)
    np.greater(distance, (0.999 * h)[:, :, None], out=mask)
    np.copyto(w, 0.0, where=mask)
    columns = np.stack([count, count * ux, count * ux * ux, ysum, ysum * ux], axis=2)
    sums = np.matmul(w, columns)
    total_w = sums[:, :, 0]
    a = sums[:, :, 1] / total_w
    c = np.maximum(sums[:, :, 2] / total_w - a * a, 0.0)
    slope_term = np.where(
        (h > 0) & (np.sqrt(c) > 0.001 * x_range[:, None]), (centres - a) / np.where(c > 0, c, 1.0), 0.0
    )
    return (sums[:, :, 3] + slope_term * (sums[:, :, 4] - a * sums[:, :, 3])) / total_w
