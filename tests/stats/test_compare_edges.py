"""Group comparisons at their edges: agreement with R in every branch, Hodges–Lehmann without the m·n
pairs, Freeman–Halton exact or Monte Carlo, and a summary and test fixed by the variable, not the data.

Reference values: tests/reference/compare_reference.json, made by
tests/reference/make_compare_reference.R (base R 4.2 wilcox.test, t.test, fisher.test).
Tolerances, per branch:
- Mann–Whitney p, both branches: 1e-12 relative (R sums doubles, we sum exact integers).
- Exact branch CI and estimate: identical doubles (both are order statistics of fl(xᵢ − yⱼ)).
- Normal-approximation CI: 1e-8 against R with tol.root = 1e-10, 2e-4 against R's default
  tol.root = 1e-4 (R's own uniroot tolerance); the estimate equals R's median of the pairwise
  differences exactly, and R's uniroot estimate to 1e-8 when mn is odd (between the two middle
  differences when mn is even, where R's statistic is exactly 0 on that whole gap).
- Welch t: 1e-12.  Fisher / Freeman–Halton exact p: 1e-9 relative.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from app.stats import compare
from app.stats.compare import (
    CONTINUOUS_KIND,
    GROUPING_VARIABLES,
    PairwiseDifferences,
    _rank_sum_counts,
    compare_categorical,
    compare_continuous,
    freeman_halton,
    freeman_halton_exact,
    freeman_halton_monte_carlo,
    table_count_bound,
    welch_t_test,
    wilcoxon_rank_sum,
)

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "compare_reference.json").read_text())
WILCOX = {case["name"]: case for case in REFERENCE["wilcox"]}
EXACT_CASES = [name for name, case in WILCOX.items() if case["exact"]]
APPROX_CASES = [name for name, case in WILCOX.items() if not case["exact"]]


# ------------------------------------------------------------------------------------------ R agreement


def test_the_reference_covers_both_branches():
    assert len(EXACT_CASES) >= 5 and len(APPROX_CASES) >= 5
    assert any(len(WILCOX[n]["x"]) * len(WILCOX[n]["y"]) % 2 == 0 for n in APPROX_CASES)
    assert any(len(WILCOX[n]["x"]) * len(WILCOX[n]["y"]) % 2 == 1 for n in APPROX_CASES)


@pytest.mark.parametrize("name", EXACT_CASES)
def test_exact_mann_whitney_equals_r(name):
    case = WILCOX[name]
    result = wilcoxon_rank_sum(np.array(case["x"]), np.array(case["y"]))
    assert result.exact is True
    assert result.statistic == case["statistic"]
    assert result.p == pytest.approx(case["p"], rel=1e-12, abs=1e-300)
    assert result.estimate == case["estimate"]
    assert result.ci == tuple(case["conf_int"])


@pytest.mark.parametrize("name", APPROX_CASES)
def test_normal_approximation_mann_whitney_equals_r(name):
    case = WILCOX[name]
    x, y = np.array(case["x"]), np.array(case["y"])
    result = wilcoxon_rank_sum(x, y)
    assert result.exact is False
    assert result.statistic == case["statistic"]
    assert result.p == pytest.approx(case["p"], rel=1e-12)
    assert result.ci == pytest.approx(tuple(case["conf_int_tight"]), abs=1e-8)
    assert result.ci == pytest.approx(tuple(case["conf_int"]), abs=2e-4)
    assert result.estimate == case["median_pairwise"]
    if x.size * y.size % 2:
        assert result.estimate == pytest.approx(case["estimate_tight"], abs=1e-8)
    else:
        low, high = case["middle_pair"]
        assert low - 1e-8 <= case["estimate_tight"] <= high + 1e-8
        assert low <= result.estimate <= high


@pytest.mark.parametrize("case", REFERENCE["welch"], ids=lambda c: c["name"])
def test_welch_equals_r(case):
    p, difference, ci = welch_t_test(np.array(case["x"]), np.array(case["y"]))
    assert p == pytest.approx(case["p"], abs=1e-12)
    assert difference == pytest.approx(case["estimate"], abs=1e-12)
    assert ci == pytest.approx(tuple(case["conf_int"]), abs=1e-12)


@pytest.mark.parametrize("case", REFERENCE["fisher"], ids=lambda c: c["name"])
def test_exact_fisher_and_freeman_halton_equal_r(case):
    table = np.array(case["table"])
    result = freeman_halton(table)
    assert result.exact is True and result.se is None
    assert result.p == pytest.approx(case["p"], rel=1e-9)


# --------------------------------------------------------------------------------- Hodges–Lehmann, lazily


@pytest.mark.parametrize("seed", range(12))
def test_order_statistics_equal_the_sorted_pairwise_differences(seed):
    """Every rank, with ties (values rounded to 0–2 decimals) and decimals that do not subtract exactly."""
    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(1, 60, 2))
    decimals = int(rng.integers(0, 3))
    x = np.round(rng.lognormal(0.3, 1.0, m), decimals)
    y = np.round(rng.lognormal(0.0, 1.0, n), decimals)
    differences = np.sort(np.subtract.outer(x, y).ravel())
    pairs = PairwiseDifferences(x, y)
    assert [pairs.select(k) for k in range(1, differences.size + 1)] == differences.tolist()
    assert pairs.median() == np.median(differences)


@pytest.mark.parametrize("seed", range(3))
def test_selection_beyond_the_listing_threshold_is_exact(seed, monkeypatch):
    """With a small listing threshold the sampling rounds (and their fallbacks) do the work."""
    monkeypatch.setattr(compare, "MATERIALISE_MIN", 16)
    monkeypatch.setattr(compare, "SELECTION_SAMPLE", 64)
    rng = np.random.default_rng(100 + seed)
    x = np.round(rng.normal(0, 1, 300), 1)
    y = np.concatenate([np.round(rng.normal(0.3, 1, 150), 2), np.full(50, 0.1)])
    differences = np.sort(np.subtract.outer(x, y).ravel())
    pairs = PairwiseDifferences(x, y)
    for k in [1, 2, 17, 1000, differences.size // 2, differences.size // 2 + 1, differences.size - 3, differences.size]:
        assert pairs.select(k) == differences[k - 1]


def test_hodges_lehmann_for_40000_patients_uses_linear_memory():
    """24,000 vs 16,000 patients: 384 million pairwise differences would take 3 GB as doubles.
    The peak traced allocation must stay below 64 MB (O(m + n), with a fixed sample of 65,536)."""
    rng = np.random.default_rng(40_000)
    x = np.round(rng.lognormal(9.4, 0.3, 24_000), 0)  # costs: many ties
    y = np.round(rng.lognormal(9.3, 0.3, 16_000), 2)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = wilcoxon_rank_sum(x, y)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert elapsed < 30
    assert result.exact is False
    assert result.ci[0] < result.estimate < result.ci[1]
    # the median is the pairwise one: half the differences on either side
    below = PairwiseDifferences(x, y).count_below(result.estimate).sum()
    at_most = PairwiseDifferences(x, y).count_at_most(result.estimate).sum()
    assert below <= x.size * y.size / 2 <= at_most


def test_rank_sum_distribution_by_enumeration():
    """cwilcox by listing every way to choose which m of the m + n ranks belong to x."""
    for m, n in [(1, 1), (2, 3), (4, 4), (5, 3), (3, 7)]:
        counts = [0] * (m * n + 1)
        for chosen in itertools.combinations(range(m + n), m):
            rank_sum = sum(chosen) + m  # ranks 1…m+n
            counts[rank_sum - m * (m + 1) // 2] += 1
        assert list(_rank_sum_counts(m, n)) == counts
        assert list(_rank_sum_counts(n, m)) == counts


def test_exact_branch_follows_r_rule_on_size_and_ties():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 49), rng.normal(0, 1, 49)
    assert wilcoxon_rank_sum(x, y).exact is True
    assert wilcoxon_rank_sum(np.append(x, 5.0), y).exact is False  # 50 values
    assert wilcoxon_rank_sum(np.append(x[:-1], y[0]), y).exact is False  # a tie


# ----------------------------------------------------------------------------------- Freeman–Halton paths


def brute_force_p(table: np.ndarray) -> float:
    """Every 2×c table with the margins, written out."""
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    total = int(table.sum())

    def probability(first: tuple[int, ...]) -> float:
        return math.prod(math.comb(int(c), k) for c, k in zip(cols, first, strict=True)) / math.comb(
            total, int(rows[0])
        )

    observed = probability(tuple(int(v) for v in table[0]))
    firsts = [f for f in itertools.product(*(range(int(c) + 1) for c in cols)) if sum(f) == rows[0]]
    return sum(p for p in map(probability, firsts) if p <= observed * (1 + 1e-7))


@pytest.mark.parametrize("table", [[[25, 4, 1], [15, 3, 2]], [[0, 7, 1, 3], [2, 5, 0, 9]], [[1, 0], [0, 30]]])
def test_exact_enumeration_equals_the_written_out_sum(table):
    table = np.array(table)
    result = freeman_halton_exact(table)
    assert result.p == pytest.approx(brute_force_p(table), rel=1e-10)
    assert result.tables is not None and result.tables <= table_count_bound(table)


def test_monte_carlo_when_too_many_tables_with_its_standard_error(monkeypatch):
    table = np.array([[1, 4, 25], [2, 3, 15]])  # EFR, EMR, ESD: the order compare_categorical uses
    monkeypatch.setattr(compare, "EXACT_MAX_TABLES", 10)
    assert table_count_bound(table) > 10
    result = freeman_halton(table)
    exact = freeman_halton_exact(table).p
    assert result.exact is False and result.tables == compare.MONTE_CARLO_TABLES
    assert result.se == pytest.approx(math.sqrt(result.p * (1 - result.p) / compare.MONTE_CARLO_TABLES))
    assert abs(result.p - exact) < 4 * result.se
    group = np.repeat([0.0, 1.0], [30, 20])
    values = np.array(["ESD"] * 25 + ["EMR"] * 4 + ["EFR"] + ["ESD"] * 15 + ["EMR"] * 3 + ["EFR"] * 2, dtype=object)
    row = compare_categorical("resection_method", values, group, binary=False)
    assert row.test.startswith("Freeman–Halton (Monte Carlo") and row.p_se == result.se
    assert f"{result.se:.4f}" in row.test_detail


def test_monte_carlo_is_seeded_and_follows_r_counting():
    table = np.array([[10, 118, 3, 2], [15, 61, 2, 0]])
    first, second = freeman_halton_monte_carlo(table, tables=2000), freeman_halton_monte_carlo(table, tables=2000)
    assert first.p == second.p
    assert (first.p * 2001) == pytest.approx(round(first.p * 2001))  # (1 + count) / (B + 1)


def test_small_tables_are_exact_not_simulated():
    group = np.repeat([0.0, 1.0], [30, 20])
    values = np.array(["ESD"] * 25 + ["EMR"] * 4 + ["EFR"] + ["ESD"] * 15 + ["EMR"] * 3 + ["EFR"] * 2, dtype=object)
    row = compare_categorical("resection_method", values, group, binary=False)
    assert row.test == "Freeman–Halton exact test" and row.p_se is None
    assert row.p == pytest.approx(0.7413576430144708, rel=1e-9)  # R fisher.test, 2x3_methods in the reference


# ------------------------------------------------------------------- the choice depends on the variable only


NORMALITY_PRETESTS = ("shapiro", "normaltest", "anderson", "kstest", "jarque_bera", "lilliefors")


def _data(shape: str, rng: np.random.Generator) -> np.ndarray:
    if shape == "normal":
        return rng.normal(50, 10, 200)
    return np.round(rng.lognormal(1.0, 1.2, 200), 1) + 1  # strongly skewed, positive


@pytest.mark.parametrize("name", sorted(set(CONTINUOUS_KIND) - set(GROUPING_VARIABLES)))
def test_the_test_is_fixed_by_the_variable_not_by_a_normality_pretest(name, monkeypatch):
    """Mutation check: with every normality test in scipy made to fail loudly, and with normal data
    given to skewed variables and skewed data to normal ones, the test follows CONTINUOUS_KIND."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a normality pretest was called")

    for test in NORMALITY_PRETESTS:
        if hasattr(scipy.stats, test):
            monkeypatch.setattr(scipy.stats, test, forbidden)
    expected = "Welch t-test" if CONTINUOUS_KIND[name] == "normal" else "Mann–Whitney U"
    expected_summary = "mean ± SD" if CONTINUOUS_KIND[name] == "normal" else "median [IQR]"
    group = np.repeat([0.0, 1.0], [120, 80])
    for shape in ("normal", "skewed"):
        row = compare_continuous(name, _data(shape, np.random.default_rng(7)), group)
        assert row.test == expected, (name, shape)
        assert row.summary == expected_summary
    source = Path(compare.__file__).read_text()
    assert not re.search(r"shapiro\s*\(|import\s+shapiro|\.shapiro\b|normaltest|is_normal", source, re.IGNORECASE)


def test_every_continuous_report_variable_has_a_fixed_kind():
    from app.stats.report import OUTCOMES, TABLE1

    continuous = {name for name, kind in TABLE1 + OUTCOMES if kind == "continuous"}
    assert continuous == set(CONTINUOUS_KIND)
    with pytest.raises(ValueError, match="CONTINUOUS_KIND"):
        compare_continuous("something_else", np.arange(10.0), np.repeat([0.0, 1.0], 5))


def test_tumour_diameter_is_summarised_but_never_tested():
    rng = np.random.default_rng(1)
    diameter = np.concatenate([rng.uniform(2, 9.9, 60), rng.uniform(10, 20, 40)])
    group = (diameter >= 10).astype(float)
    row = compare_continuous("tumor_diameter_mm", diameter, group)
    assert row.p is None and row.test == "" and row.effect_value is None and row.effect_ci95 is None
    assert "defined by tumour diameter" in row.note
    assert row.summaries["small"]["n"] == 60 and row.summaries["large"]["median"] >= 10


def test_constant_groups_that_differ_give_no_welch_test_rather_than_a_warning():
    group = np.repeat([0.0, 1.0], [5, 5])
    row = compare_continuous("age_years", np.repeat([50.0, 60.0], 5), group)
    assert row.p is None and "not defined" in row.note
