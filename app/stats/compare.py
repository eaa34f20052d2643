"""Group comparisons for the cohort report: <10 mm vs 10–20 mm (STATISTICS.md, "Group comparisons").

Each comparison says which test produced its p-value and gives an effect
with a 95 % CI, not only a p-value.  A variable with no data or no
variation, or a group with no patients, is reported as such, never a crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.stats.calibration import wilson_interval
from app.stats.fit import Z_95

# Normality rule for choosing Welch's t-test: Shapiro–Wilk p ≥ 0.05 in both groups, each with 3–5000 values.
NORMALITY_ALPHA = 0.05
MIN_EXPECTED = 5.0
MONTE_CARLO_TABLES = 20_000
MONTE_CARLO_SEED = 20240221


@dataclass
class Comparison:
    """One row of a table: summaries per group, the test, the p-value and the effect with its CI."""

    variable: str
    kind: str  # continuous | categorical
    summaries: dict[str, Any]
    test: str = ""
    p: float | None = None
    effect: str = ""
    effect_value: float | None = None
    effect_ci95: tuple[float, float] | None = None
    note: str = ""
    levels: list[str] = field(default_factory=list)


def _continuous_summary(values: np.ndarray) -> dict[str, Any]:
    v = values[~np.isnan(values)]
    if v.size == 0:
        return {"n": 0}
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    return {
        "n": int(v.size),
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else None,
        "median": float(median),
        "q1": float(q1),
        "q3": float(q3),
    }


def is_normal(values: np.ndarray) -> bool:
    """The stated rule: Shapiro–Wilk p ≥ 0.05 (3 ≤ n ≤ 5000, not constant)."""
    from scipy.stats import shapiro

    if not 3 <= values.size <= 5000 or np.ptp(values) == 0:
        return False
    return bool(shapiro(values).pvalue >= NORMALITY_ALPHA)


def hodges_lehmann(x: np.ndarray, y: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Hodges–Lehmann shift (median of all x − y differences) with the CI from inverting the
    Mann–Whitney test by its normal approximation (Hollander & Wolfe): the k-th smallest and
    k-th largest differences, k = ⌊mn/2 − z·√(mn(m + n + 1)/12)⌋."""
    differences = np.sort((x[:, None] - y[None, :]).ravel())
    m, n = x.size, y.size
    k = int(math.floor(m * n / 2 - Z_95 * math.sqrt(m * n * (m + n + 1) / 12)))
    k = max(k, 0)
    return float(np.median(differences)), (float(differences[k]), float(differences[-k - 1]))


def compare_continuous(name: str, values: np.ndarray, group: np.ndarray) -> Comparison:
    """Welch t with a mean-difference CI when both groups look normal; else Mann–Whitney U with Hodges–Lehmann."""
    from scipy.stats import mannwhitneyu, ttest_ind

    a = values[(group == 0) & ~np.isnan(values)]
    b = values[(group == 1) & ~np.isnan(values)]
    summaries = {
        "overall": _continuous_summary(values[~np.isnan(group)]),
        "small": _continuous_summary(a),
        "large": _continuous_summary(b),
    }
    row = Comparison(variable=name, kind="continuous", summaries=summaries)
    if a.size < 2 or b.size < 2:
        row.note = "too few values in a group to compare"
        return row
    if np.ptp(np.concatenate([a, b])) == 0:
        row.note = "no variation"
        return row
    if is_normal(a) and is_normal(b):
        result = ttest_ind(b, a, equal_var=False)
        ci = result.confidence_interval()
        row.test, row.p = "Welch t-test", float(result.pvalue)
        row.effect, row.effect_value = "difference in means (10–20 mm − <10 mm)", float(b.mean() - a.mean())
        row.effect_ci95 = (float(ci.low), float(ci.high))
    else:
        result = mannwhitneyu(b, a, alternative="two-sided")
        row.test, row.p = "Mann–Whitney U", float(result.pvalue)
        shift, ci = hodges_lehmann(b, a)
        row.effect, row.effect_value, row.effect_ci95 = "Hodges–Lehmann shift (10–20 mm − <10 mm)", shift, ci
    return row


def newcombe_difference(*, events1: int, n1: int, events2: int, n2: int) -> tuple[float, tuple[float, float]]:
    """Risk difference p1 − p2 with Newcombe's hybrid score CI from the two Wilson intervals (method 10)."""
    p1, p2 = events1 / n1, events2 / n2
    (l1, l2), (u1, u2) = wilson_interval(events=np.array([events1, events2]), n=np.array([n1, n2]))
    d = p1 - p2
    return d, (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def compare_categorical(name: str, values: np.ndarray, group: np.ndarray, *, binary: bool) -> Comparison:
    """n (%) per level; Pearson χ² (no continuity correction) when every expected count is ≥ 5, else
    Fisher's exact test (2×2) or a Monte Carlo Freeman–Halton test (larger tables)."""
    from scipy.stats import MonteCarloMethod, chi2_contingency, fisher_exact

    present = np.array([v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values]) & ~np.isnan(
        group
    )
    v, g = values[present], group[present]
    levels = sorted({str(x) for x in v}, key=lambda s: (s not in ("0", "0.0"), s))
    if binary:
        levels = ["1"]
        v = np.array(["1" if float(x) == 1 else "0" for x in v])
        all_levels = ["0", "1"]
    else:
        v = np.array([str(x) for x in v])
        all_levels = levels
    counts = {
        key: {level: int(np.sum((v == level) & mask)) for level in all_levels}
        for key, mask in (("overall", np.ones(v.size, bool)), ("small", g == 0), ("large", g == 1))
    }
    totals = {
        key: int(mask.sum()) for key, mask in (("overall", np.ones(v.size, bool)), ("small", g == 0), ("large", g == 1))
    }
    summaries = {key: {"n": totals[key], "counts": counts[key]} for key in counts}
    row = Comparison(variable=name, kind="categorical", summaries=summaries, levels=levels)
    table = np.array([[counts["small"][lv] for lv in all_levels], [counts["large"][lv] for lv in all_levels]])
    table = table[:, table.sum(axis=0) > 0]
    if totals["small"] == 0 or totals["large"] == 0:
        row.note = "a group has no patients with this value recorded"
        return row
    if table.shape[1] < 2:
        row.note = "no variation"
        return row
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    if expected.min() >= MIN_EXPECTED:
        result = chi2_contingency(table, correction=False)
        row.test, row.p = "Pearson χ²", float(result.pvalue)
    elif table.shape == (2, 2):
        row.test, row.p = "Fisher's exact test", float(fisher_exact(table).pvalue)
    else:
        method = MonteCarloMethod(n_resamples=MONTE_CARLO_TABLES, rng=np.random.default_rng(MONTE_CARLO_SEED))
        row.test = f"Freeman–Halton (Monte Carlo, {MONTE_CARLO_TABLES:,} tables)"
        row.p = float(fisher_exact(table, method=method).pvalue)
    if binary:
        d, ci = newcombe_difference(
            events1=counts["large"]["1"], n1=totals["large"], events2=counts["small"]["1"], n2=totals["small"]
        )
        row.effect, row.effect_value, row.effect_ci95 = "risk difference (10–20 mm − <10 mm), Newcombe", d, ci
    return row
