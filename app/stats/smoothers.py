"""Scatterplot smoothers for calibration curves, exact to R's.

`lowess_fit` is R's `lowess(x, y, f = 2/3, iter = 0)` (Cleveland's clowess,
as `rms::val.prob` and `rms::calibrate` use it).  `loess_interpolate_fit` is
R's `loess(y ~ x)` with its defaults (degree 2, span 0.75,
`surface = "interpolate"`: local fits at the vertices of a k-d tree, cubic
Hermite interpolation between them), the smoother of the integrated
calibration index (Austin & Steyerberg 2019).  `loess_quadratic_fit` is the
same local quadratic evaluated exactly at the data (`surface = "direct"`).

All work on tied x values aggregated with their multiplicities.  That is
exact (tied points get identical weights; loess's k-d tree still counts
every copy, see `_kd_tree_vertices`), makes bootstrap samples cheap (a
resample is the original points with counts) and makes a 20,000-patient
cohort with a few hundred distinct predicted risks as cheap as a small one.
"""

from __future__ import annotations

import math

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
    """Distance from each centre to its k-th nearest point, counting multiplicities.

    The k nearest copies of the sorted points form a contiguous run [l, r(l)], where r(l) is the
    first index at which the copies from l on reach k.  The k-th nearest distance is the smallest,
    over l, of the larger distance to the run's two ends — no sort of distances needed.
    """
    before = np.concatenate([[0.0], np.cumsum(count)])  # copies strictly before each index
    right = np.searchsorted(before[1:], before[:-1] + k - 1e-9, side="left")
    usable = right < ux.size
    left_x, right_x = ux[usable], ux[right[usable]]
    spans = np.maximum(np.abs(centres[:, None] - left_x[None, :]), np.abs(right_x[None, :] - centres[:, None]))
    return spans.min(axis=1)


def _lowess_anchors(ux: np.ndarray, delta: float) -> np.ndarray:
    """Indices of the points clowess fits directly; the rest it interpolates.

    After fitting at x_last, clowess skips to the last point within
    x_last + delta (at least one point on), so with delta = 1 % of the range
    about a hundred local fits describe the whole curve.
    """
    # The next anchor after each point (the last point within delta, at least one on), for all points at once.
    following = np.maximum(np.searchsorted(ux, ux + delta, side="right") - 1, np.arange(1, ux.size + 1)).tolist()
    anchors = [0]
    last = 0
    end = ux.size - 1
    while last < end:
        last = following[last]
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


def lowess_at(
    x: np.ndarray,
    y: np.ndarray,
    at: np.ndarray,
    *,
    f: float = 2.0 / 3.0,
    weights: np.ndarray | None = None,
    aggregated: bool = False,
    outside: float = np.nan,
) -> np.ndarray:
    """R's `approx(lowess(x, y, f, iter = 0), xout = at)`: the lowess curve read at `at`.

    Equal to interpolating `lowess_fit`'s values, but fits only the anchors that bracket a point
    of `at`: between two anchors clowess interpolates linearly, and so does `approx` between two
    data points, so a point's value depends on its two bracketing anchors alone.  Points beyond
    the data get `outside` (R's rule = 1 gives NA).
    """
    ux, count, ysum = _aggregate(x, y, weights, aggregated)
    at = np.asarray(at, dtype=float)
    result = np.full(at.shape, outside, dtype=float)
    inside = (at >= ux[0]) & (at <= ux[-1])
    if not inside.any():
        return result
    if ux.size == 1:
        result[inside] = ysum[0] / count[0]
        return result
    x_range = ux[-1] - ux[0]
    ns = max(2.0, min(count.sum(), float(int(f * count.sum() + 1e-7))))
    anchor_x = ux[_lowess_anchors(ux, 0.01 * x_range)]
    right = np.clip(np.searchsorted(anchor_x, at[inside], side="right"), 1, anchor_x.size - 1)
    needed = np.unique(np.concatenate([right - 1, right]))
    fitted = _local_linear(ux, count, ysum, anchor_x[needed], ns, x_range)
    result[inside] = np.interp(at[inside], anchor_x[needed], fitted)
    return result


def _local_linear(
    ux: np.ndarray, count: np.ndarray, ysum: np.ndarray, centres: np.ndarray, ns: float, x_range: float
) -> np.ndarray:
    """clowess's `lowest` at each centre, with iter = 0 (no robustness weights)."""
    h = _kth_distance(ux, count, centres, ns)
    distance = np.subtract(ux[None, :], centres[:, None])
    np.abs(distance, out=distance)
    with np.errstate(divide="ignore"):
        inverse_h = np.where(h > 0, 1.0 / h, 0.0)
    # clowess: tricube weights (1 − (d/h)³)³, full weight very close to the centre, none beyond 0.999 h.
    w = np.multiply(distance, inverse_h[:, None])
    np.minimum(w, 1.0, out=w)
    cube = w * w
    cube *= w
    np.subtract(1.0, cube, out=cube)
    np.multiply(cube, cube, out=w)
    w *= cube
    w[distance <= (0.001 * h)[:, None]] = 1.0
    w[distance > (0.999 * h)[:, None]] = 0.0
    # Weighted sums as one product: Σw·count, Σw·count·x, Σw·count·x², Σw·ysum, Σw·ysum·x.
    sums = w @ np.column_stack([count, count * ux, count * ux * ux, ysum, ysum * ux])
    total_w = sums[:, 0]
    a = sums[:, 1] / total_w
    c = np.maximum(sums[:, 2] / total_w - a * a, 0.0)
    slope_term = np.where((h > 0) & (np.sqrt(c) > 0.001 * x_range), (centres - a) / np.where(c > 0, c, 1.0), 0.0)
    # Σ w·(slope·(x − a) + 1)·ysum / Σ w·count
    return (sums[:, 3] + slope_term * (sums[:, 4] - a * sums[:, 3])) / total_w


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


# --- loess with surface = "interpolate" (R's default) --------------------------------------------------------


def loess_interpolate_fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    span: float = 0.75,
    cell: float = 0.2,
    weights: np.ndarray | None = None,
    aggregated: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """R's `loess(y ~ x)` with its defaults, `surface = "interpolate"`, at each unique x.

    This is what `fitted(loess(y ~ x))` returns in R (degree 2, span 0.75,
    family gaussian, `loess.control(surface = "interpolate", cell = 0.2)`),
    the smoother of the integrated calibration index (Austin & Steyerberg
    2019).  It follows the netlib dloess code that R uses (Cleveland, Grosse
    & Shyu; R's src/library/stats/src/loessf.f, routines lowesb, ehg131,
    ehg126, ehg124, ehg129, ehg106, ehg139, ehg127 and, for evaluation,
    lowese/ehg128), for one predictor:

    1. Bounding box (ehg126): [min x − μ, max x + μ] with
       μ = 0.005·max(range, 1e-10·max(|min x|, |max x|) + 1e-30), i.e. each
       end moves out by 0.5 % of the range.  Its ends are the first two
       vertices.
    2. k-d tree (ehg124), cells processed breadth first.  A cell holding at
       most fc = ⌊n·(span·cell)⌋ points (or of zero width) is a leaf; so is
       every cell once there would be more than max(200, n) vertices or cells.
       Otherwise, with the cell's points sorted (positions l..u, 1-based),
       the split position starts at m = ⌊(l + u)/2⌋ (ehg106 selects the
       median) and moves to the nearest change of value, trying the gaps
       after positions m, m+1, m−1, m+2, m−2, ... (ehg124's loop, from a
       2006 fix by B. Tyner) and stopping, with m unchanged, at the first of
       them that is outside l..u−1.  (ehg129 picks the widest coordinate
       to split: with one predictor, always x.)  The split value is x₍ₘ₎ (ties with it go to
       the left cell); if it equals either end of the cell, the cell is a
       leaf, else x₍ₘ₎ becomes a vertex and the cell splits into l..m and
       m+1..u.
    3. At each vertex v (ehg127): q = ⌊n·span + 1e-5⌋ (at most n), ρ the
       q-th smallest (xᵢ − v)² (times span if span > 1), weights
       (1 − (√((xᵢ − v)²/ρ))³)³ for the q nearest points (zero at distance
       √ρ), and weighted least squares of y on (1, x − v, (x − v)²).  The
       intercept and the linear coefficient are the value and the slope of
       the surface at v.
    4. Between consecutive vertices v₀ < v₁ (the leaf cell holding z;
       z on a split point belongs to the left cell), cubic Hermite
       interpolation of the values g and slopes s (ehg128): with
       h = (z − v₀)/(v₁ − v₀),
       (1 − h)²(1 + 2h)·g₀ + h²(3 − 2h)·g₁ + (h(1 − h)²·s₀ + h²(h − 1)·s₁)(v₁ − v₀).

    Where a local fit has fewer than three distinct x with positive weight,
    R solves it with a pseudoinverse of the column-equilibrated design
    (ehg127: singular values below 100·ε·σ₁ dropped); that is reproduced.
    Where more than q points tie at a vertex (ρ = 0), R divides by zero and
    returns NaN ("zero-width neighborhood"); here the neighbourhood is
    widened to the nearest other x instead, as `loess_quadratic_fit` does,
    so the tied points get their own mean.

    Parameters
    ----------
    x, y
        The points; `weights` are whole-number multiplicities (bootstrap
        counts): the result is R's loess on the data with each row repeated
        that many times (not `loess(weights =)`, whose prior weights do not
        count points).
    span, cell
        R's `span` and `loess.control(cell)`.
    aggregated
        y holds y-sums over each row's `weights` copies (see `_aggregate`).

    Returns
    -------
    (unique sorted x, fitted value at each)

    Notes
    -----
    Cost O(n log n) per vertex and O(n) memory; leaf cells hold between
    about fc/2 and fc points, so there are at most about 2/(span·cell) + 1
    ≈ 14 vertices whatever n is (more when fc is tiny: n < 1/(span·cell) or
    a small `cell`, up to R's limit of max(200, n)).  Sums are exactly rounded
    (`math.fsum`) and the 3×3 least-squares problems are solved by modified
    Gram-Schmidt without BLAS, so results do not depend on the machine.

    References
    ----------
    Cleveland WS, Grosse E, Shyu WM (1992). Local regression models. In
    Chambers & Hastie (eds), Statistical Models in S, ch. 8.
    Austin PC, Steyerberg EW (2019). The Integrated Calibration Index (ICI)
    and related metrics for quantifying the calibration of logistic
    regression models. Stat Med 38:4051-4065.
    """
    ux, count, ysum = _aggregate(x, y, weights, aggregated)
    if ux.size == 0:
        raise ValueError("loess needs at least one point")
    if not np.all(count == np.round(count)):
        raise ValueError("weights must be whole-number multiplicities")
    n = int(round(float(count.sum())))
    nf = min(n, int(np.floor(n * span + 1e-5)))  # loess_workspace
    if nf <= 0:
        raise ValueError("span is too small")
    fc = int(np.floor(n * (span * cell)))  # lowesb: ifloor(n * f * cell)
    lower, upper = _bounding_box(ux)
    vertices = _kd_tree_vertices(ux, count.astype(np.int64), fc, lower, upper)
    value = np.empty(vertices.size)
    slope = np.empty(vertices.size)
    for i, vertex in enumerate(vertices.tolist()):
        value[i], slope[i] = _local_quadratic_at(ux, count, ysum, vertex, nf, span)
    return ux, _hermite(ux, vertices, value, slope)


def _fsum(a: np.ndarray) -> float:
    """Exactly rounded sum: the same on every machine, whatever the BLAS or SIMD."""
    return math.fsum(a.tolist())


def _bounding_box(ux: np.ndarray) -> tuple[float, float]:
    """ehg126: the range of x widened by 0.5 % of its width at each end."""
    alpha = float(ux[0])
    beta = float(ux[-1])
    mu = 0.005 * max(beta - alpha, 1e-10 * max(abs(alpha), abs(beta)) + 1e-30)
    return alpha - mu, beta + mu


def _kd_tree_vertices(ux: np.ndarray, count: np.ndarray, fc: int, lower: float, upper: float) -> np.ndarray:
    """Sorted vertices of loess's 1-D k-d tree (ehg124), with tied x given as counts.

    Positions are 0-based into the sorted data (each copy of a tied x has
    its own position, as in R).  ehg106 partially sorts, but every value the
    Fortran reads at a position is the one a full sort puts there, so the
    sorted data stands in for it.
    """
    n = int(count.sum())
    end = np.cumsum(count)  # group k occupies positions end[k-1] .. end[k]-1
    nvmax = max(200, n)  # loess_workspace: nvmax = max(200, N); ncmax = nvmax
    ncmax = nvmax
    vertices = [lower, upper]
    cells = [(0, n - 1, lower, upper)]
    p = 0
    while p < len(cells):
        first, last, left, right = cells[p]
        p += 1
        if last - first + 1 <= fc or right - left <= 0.0:  # fd = 0
            continue
        if ncmax < len(cells) + 2 or nvmax < len(vertices) + 1:  # out of room: leaf
            continue
        m = _split_position(end, first, last)
        xi = float(ux[int(np.searchsorted(end, m, side="right"))])
        if xi == left or xi == right:
            continue
        vertices.append(xi)
        cells.append((first, m, left, xi))
        cells.append((m + 1, last, xi, right))
    return np.sort(np.asarray(vertices))


def _split_position(end: np.ndarray, first: int, last: int) -> int:
    """ehg124's split position in first..last (0-based): the median, moved to the nearest change of value.

    The Fortran tries offsets 0, +1, −1, +2, −2, ... from m = ⌊(l + u)/2⌋,
    testing whether x at m+offset differs from x at m+offset+1, and gives up
    (keeping m) at the first offset with m+offset outside l..u−1.  Ranking
    offset +j as 2j and −j as 2j+1, the first of those events wins.
    """
    m = (first + last) // 2  # 1-based ⌊(l + u)/2⌋, shifted
    group = int(np.searchsorted(end, m, side="right"))
    up_gap = int(end[group]) - 1  # last position holding x₍ₘ₎
    down_gap = (int(end[group - 1]) if group > 0 else 0) - 1  # last position before them
    events = [(2 * (last - m), m), (2 * (m - first + 1) + 1, m)]  # ran out of the cell
    if up_gap < last:
        events.append((2 * (up_gap - m), up_gap))
    if down_gap >= first:
        events.append((2 * (m - down_gap) + 1, down_gap))
    return min(events)[1]


def _local_quadratic_at(
    ux: np.ndarray, count: np.ndarray, ysum: np.ndarray, vertex: float, nf: int, span: float
) -> tuple[float, float]:
    """ehg127 at one vertex: (value, slope) of the tricube-weighted local quadratic."""
    distance = ux - vertex
    dist = distance * distance
    order = np.argsort(dist, kind="stable")
    reached = np.cumsum(count[order])
    rho = float(dist[order[int(np.searchsorted(reached, nf - 0.5))]]) * max(1.0, span)
    if rho <= 0.0:
        # R: 0/0 weights and NaN ("zero-width neighborhood").  Widen to the nearest other x.
        others = dist[dist > 0.0]
        rho = float(others.min()) if others.size else 1.0
    inside = dist < rho  # the q nearest; those at distance √ρ get weight 0
    u = np.sqrt(dist[inside] / rho)
    tricube = 1.0 - u * u * u
    weight = count[inside] * (tricube * tricube * tricube)
    positive = weight > 0.0
    weight = weight[positive]
    h = math.sqrt(rho)
    t = distance[inside][positive] / h  # x − v in units of the radius: well-conditioned columns
    ybar = ysum[inside][positive] / count[inside][positive]
    if weight.size >= 3:  # three distinct x (ux is unique): the quadratic is identified
        intercept, linear = _weighted_quadratic(t, ybar, weight)
    else:
        intercept, linear = _pseudoinverse_quadratic(t, ybar, weight)
    return intercept, linear / h


def _weighted_quadratic(t: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Intercept and linear coefficient of the weighted least-squares quadratic in t.

    Modified Gram-Schmidt on the augmented matrix √w·[1, t, t², y]
    (backward stable for least squares, Björck 1967), then back substitution.
    """
    root = np.sqrt(weight)
    a0 = root
    a1 = root * t
    a2 = a1 * t
    b = root * y
    r00 = math.sqrt(_fsum(a0 * a0))
    q0 = a0 / r00
    r01 = _fsum(q0 * a1)
    a1 = a1 - r01 * q0
    r11 = math.sqrt(_fsum(a1 * a1))
    q1 = a1 / r11
    r02 = _fsum(q0 * a2)
    a2 = a2 - r02 * q0
    r12 = _fsum(q1 * a2)
    a2 = a2 - r12 * q1
    r22 = math.sqrt(_fsum(a2 * a2))
    q2 = a2 / r22
    z0 = _fsum(q0 * b)
    b = b - z0 * q0
    z1 = _fsum(q1 * b)
    b = b - z1 * q1
    z2 = _fsum(q2 * b)
    c2 = z2 / r22
    c1 = (z1 - r12 * c2) / r11
    c0 = (z0 - r01 * c1 - r02 * c2) / r00
    return c0, c1


def _pseudoinverse_quadratic(t: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """ehg127's answer when fewer than three distinct x have weight: a rank-deficient fit.

    R scales each column of √w·[1, t, t²] to unit length (D = the column
    norms; a zero column stays, norm taken as 1), takes the minimum-norm
    least-squares solution γ in those units (SVD, singular values below
    100·ε·σ₁ dropped: here the exactly-zero ones) and returns D⁻¹γ.  With
    r ≤ 2 distinct x the fit passes through each one's mean ȳₖ, so γ is the
    minimum-norm solution of R γ = ȳ, R's rows the scaled design rows
    rₖ = D⁻¹(1, tₖ, tₖ²): γ = Rᵀ(RRᵀ)⁻¹ȳ, an r×r system solved in closed
    form.  (One x at t ≠ 0 gives the intercept ȳ/3, not ȳ: R's quirk.)
    No weight at all: 0, 0, as R.
    """
    if weight.size == 0:
        return 0.0, 0.0
    columns = [np.ones_like(t), t, t * t]
    norms = [math.sqrt(_fsum(weight * c * c)) for c in columns]
    norms = [s if s > 0.0 else 1.0 for s in norms]
    rows = [[float(c[k]) / s for c, s in zip(columns, norms, strict=True)] for k in range(weight.size)]
    gram = [[math.fsum(a * b for a, b in zip(ri, rj, strict=True)) for rj in rows] for ri in rows]
    means = y.tolist()
    if weight.size == 1:
        alpha = [means[0] / gram[0][0]]
    else:
        det = gram[0][0] * gram[1][1] - gram[0][1] * gram[1][0]
        alpha = [
            (gram[1][1] * means[0] - gram[0][1] * means[1]) / det,
            (gram[0][0] * means[1] - gram[1][0] * means[0]) / det,
        ]
    gamma = [math.fsum(a * row[j] for a, row in zip(alpha, rows, strict=True)) for j in range(3)]
    return gamma[0] / norms[0], gamma[1] / norms[1]


def _hermite(z: np.ndarray, vertices: np.ndarray, value: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """ehg128 in 1-D: cubic Hermite interpolation between the vertices around each z.

    z on a vertex is in the cell to its left (z ≤ split goes to the low son), where h = 1.
    """
    cell = np.clip(np.searchsorted(vertices, z, side="left") - 1, 0, vertices.size - 2)
    v0 = vertices[cell]
    v1 = vertices[cell + 1]
    width = v1 - v0
    h = (z - v0) / width
    phi0 = (1 - h) ** 2 * (1 + 2 * h)
    phi1 = h**2 * (3 - 2 * h)
    psi0 = h * (1 - h) ** 2
    psi1 = h**2 * (h - 1)
    return phi0 * value[cell] + phi1 * value[cell + 1] + (psi0 * slope[cell] + psi1 * slope[cell + 1]) * width
