"""Model diagnostics (app.stats.diagnostics) against R: Ki-67 linearity and influential patients.

Reference values: tests/reference/diagnostics_reference.json, made by
`Rscript tests/reference/make_diagnostics_reference.R` (R is not needed to run
these tests).  Cohorts, each fitted on the rows `train` uses (complete cases,
tumours ≤ 20 mm):

- "demo": model_artifacts/rnet-demo-cohort.csv (213 patients, 76 events);
- "few_events": tests/reference/few-events-cohort.csv (150 patients, 10 events);
- "demo_head": the demo cohort's rows 2–81 (80 patients: the n < 100 knot rule);
- "g3_event" / "g3_non_event": the demo cohort with one G3 lesion (Ki-67 95 %,
  surface depression, CgA negative) appended as spreadsheet row 215, once as a
  non-curative resection and once as a curative one.

The G3 lesion that is an event agrees with the model (fitted risk 1 − 3e-11):
its weight p(1 − p), hence its leverage and Cook's distance, are ~0 and it is
not flagged.  As a curative resection it contradicts the model and is by far
the most influential patient (Cook's distance 21).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from app.errors import StatisticalError
from app.stats.cohort import OUTCOME, read_cohort
from app.stats.diagnostics import (
    MAX_INFLUENTIAL_LISTED,
    InfluenceMeasures,
    influence_cutoffs,
    influence_measures,
    influential_patients,
    ki67_linearity,
    restricted_cubic_spline_basis,
    restricted_cubic_spline_knots,
)
from app.stats.fit import LogisticFit, fit_logistic
from app.stats.train import MODEL_POPULATION_MAX_DIAMETER_MM

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((REPO / "tests" / "reference" / "diagnostics_reference.json").read_text(encoding="utf-8"))
PREDICTORS = tuple(REFERENCE["predictors"])
COHORTS = tuple(REFERENCE["cohorts"])
G3_ROW = REFERENCE["g3_patient"]["row"]

# --- Tolerances -------------------------------------------------------------
# Knots and the spline basis, relative: the same order statistics and R's own
# interpolation and basis formulas; observed equal to the last bit.
KNOT_RTOL = 1e-12
BASIS_RTOL = 1e-12
BASIS_ATOL = 1e-12
# LR chi-squared and the Wald chi-squared, relative; p-values absolute.
# Contract 1e-6; both sides are the converged MLE (lrm eps = 1e-12), observed
# ~1e-13.  A Ki-67 spline without its 1/(t₃ − t₁)² normalisation leaves the LR
# unchanged but scales the nonlinear coefficient by (t₃ − t₁)² ≈ 21: caught by
# SPLINE_COEF_RTOL.
CHI2_RTOL = 1e-6
P_ATOL = 1e-6
SPLINE_COEF_RTOL = 1e-6
LOGLIK_RTOL = 1e-9
# Leverage, Cook's distance and dfbetas, every patient: |ours − R| ≤
# 1e-6·|R| + 1e-12.  R's glm is started at lrm's MLE so that its QR holds the
# MLE's weights; observed ~1e-13 relative.  The absolute floor is for the G3
# event, whose leverage (1.7e-9) and Cook's distance (1e-20) R computes from
# 1 − p in double precision, i.e. to ~6 significant digits only.
INFLUENCE_RTOL = 1e-6
INFLUENCE_ATOL = 1e-12


@dataclass(frozen=True)
class Cohort:
    """One cohort's model rows as train builds them, with R's reference values."""

    ref: dict
    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    fit: LogisticFit


@cache
def cohort_data(name: str) -> Cohort:
    ref = REFERENCE["cohorts"][name]
    columns = [*PREDICTORS, OUTCOME]
    cohort = read_cohort(REPO / ref["file"], required=columns)
    selection = cohort.complete_case(columns, max_diameter_mm=MODEL_POPULATION_MAX_DIAMETER_MM)
    x = np.column_stack([selection.columns[c] for c in PREDICTORS])
    y = selection.columns[OUTCOME]
    rows = selection.row_numbers
    if name == "demo_head":
        keep = rows <= 81
        x, y, rows = x[keep], y[keep], rows[keep]
    if name.startswith("g3_"):
        assert G3_ROW == cohort.n_rows + 2  # appended after the last spreadsheet row
        x = np.vstack([x, [REFERENCE["g3_patient"][c] for c in PREDICTORS]])
        y = np.append(y, 1.0 if name == "g3_event" else 0.0)
        rows = np.append(rows, G3_ROW)
    return Cohort(ref=ref, x=x, y=y, rows=rows, fit=fit_logistic(x=x, y=y, names=PREDICTORS))


@cache
def linearity(name: str) -> dict:
    data = cohort_data(name)
    return ki67_linearity(x=data.x, y=data.y, names=PREDICTORS)


@cache
def measures(name: str) -> InfluenceMeasures:
    data = cohort_data(name)
    return influence_measures(x=data.x, y=data.y, coef=data.fit.coef_)


@cache
def all_flagged(name: str) -> list[dict]:
    data = cohort_data(name)
    return influential_patients(
        x=data.x, y=data.y, coef=data.fit.coef_, names=PREDICTORS, rows=data.rows, max_patients=None
    )


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# --- The data the reference was made from ------------------------------------


@pytest.mark.parametrize("name", list(REFERENCE["data"]))
def test_reference_was_made_from_these_data_files(name):
    entry = REFERENCE["data"][name]
    assert _md5(REPO / entry["file"]) == entry["md5"], (
        f"{entry['file']} changed since diagnostics_reference.json was made: "
        "run `Rscript tests/reference/make_diagnostics_reference.R`"
    )


@pytest.mark.parametrize("name", COHORTS)
def test_same_patients_and_row_numbers_as_r(name):
    data = cohort_data(name)
    influence = data.ref["influence"]
    assert (data.y.size, int(data.y.sum())) == (data.ref["n"], data.ref["events"])
    assert data.rows.tolist() == influence["rows"]
    np.testing.assert_allclose(data.fit.coef_, influence["coef"], rtol=SPLINE_COEF_RTOL)


# --- Restricted cubic spline: knots and basis ------------------------------------


@pytest.mark.parametrize("case", list(REFERENCE["knots"]))
def test_knots_match_rcs_for_every_branch_of_the_rule(case):
    ref = REFERENCE["knots"][case]
    knots, notes = restricted_cubic_spline_knots(np.array(ref["x"]), knots=3)
    np.testing.assert_allclose(knots, ref["knots"], rtol=KNOT_RTOL, atol=0)
    assert bool(notes) == bool(ref["warnings"])  # a note exactly where R warns


@pytest.mark.parametrize("case", list(REFERENCE["knots"]))
def test_spline_basis_matches_rcspline_eval(case):
    ref = REFERENCE["knots"][case]
    basis = restricted_cubic_spline_basis(np.array(ref["x"]), knots=np.array(ref["knots"]))
    np.testing.assert_allclose(basis[:, 0], ref["basis"], rtol=BASIS_RTOL, atol=BASIS_ATOL)


def test_knots_are_the_10th_50th_90th_percentiles_for_100_patients_or_more():
    x = np.array(REFERENCE["knots"]["quantiles"]["x"])
    knots, _ = restricted_cubic_spline_knots(x, knots=3)
    np.testing.assert_allclose(knots, np.quantile(x, [0.1, 0.5, 0.9]), rtol=KNOT_RTOL)


def test_spline_is_normalised_by_the_squared_outer_knot_distance():
    knots = np.array([1.0, 2.0, 5.0])
    # Above the last knot the basis is linear: (x−1)³ − (x−2)³·4/3 + (x−5)³·1/3 = 12x − 32, over (5 − 1)².
    basis = restricted_cubic_spline_basis(np.array([6.0, 10.0]), knots=knots)[:, 0]
    np.testing.assert_allclose(basis, [(12 * 6 - 32) / 16, (12 * 10 - 32) / 16], rtol=1e-12)
    assert restricted_cubic_spline_basis(np.array([0.5, 1.0]), knots=knots)[:, 0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("x", "message"),
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], "at least 6 patients"),
        ([1.0] * 50 + [2.0, 3.0, 4.0], "fewer than 3 distinct knots"),
    ],
)
def test_knots_that_cannot_be_placed_are_refused(x, message):
    with pytest.raises(StatisticalError, match=message):
        restricted_cubic_spline_knots(np.array(x), knots=3)


# --- Linearity of Ki-67: spline model against the linear one ----------------------


@pytest.mark.parametrize("name", COHORTS)
def test_linearity_knots_match_rcs(name):
    np.testing.assert_allclose(linearity(name)["knots"], cohort_data(name).ref["linearity"]["knots"], rtol=KNOT_RTOL)


@pytest.mark.parametrize("name", COHORTS)
def test_linearity_lr_test_matches_lrm_deviance_difference(name):
    ours, ref = linearity(name), cohort_data(name).ref["linearity"]
    assert ours["df"] == ref["df"] == 1
    assert ours["lr_chi2"] == pytest.approx(ref["lr_chi2"], rel=CHI2_RTOL)
    assert ours["p"] == pytest.approx(ref["p"], abs=P_ATOL)
    assert ours["loglik_linear"] == pytest.approx(ref["loglik_linear"], rel=LOGLIK_RTOL)
    assert ours["loglik_spline"] == pytest.approx(ref["loglik_spline"], rel=LOGLIK_RTOL)


@pytest.mark.parametrize("name", COHORTS)
def test_linearity_p_is_chi_squared_with_one_df(name):
    ours = linearity(name)
    assert ours["p"] == pytest.approx(math.erfc(math.sqrt(ours["lr_chi2"] / 2)), rel=1e-12)


@pytest.mark.parametrize("name", COHORTS)
def test_spline_coefficients_match_lrm(name):
    ours, ref = linearity(name), cohort_data(name).ref["linearity"]
    assert list(ours["spline_coef"]) == ["intercept", *ref["spline_coef_names"][1:]]
    assert list(ours["spline_coef"])[3] == "ki67_percent'"
    np.testing.assert_allclose(list(ours["spline_coef"].values()), ref["spline_coef"], rtol=SPLINE_COEF_RTOL)
    np.testing.assert_allclose(list(ours["spline_se"].values()), ref["spline_se"], rtol=SPLINE_COEF_RTOL)


@pytest.mark.parametrize("name", COHORTS)
def test_nonlinear_wald_matches_anova_lrm(name):
    ours, ref = linearity(name), cohort_data(name).ref["linearity"]["anova_nonlinear_wald"]
    assert ours["wald_chi2"] == pytest.approx(ref["chi2"], rel=CHI2_RTOL)
    assert ours["wald_p"] == pytest.approx(ref["p"], abs=P_ATOL)


def test_demo_cohort_is_nonlinear_in_ki67_at_5_percent():
    # What the model card will say about the shipped demo model (LR 4.48, p = 0.034).
    assert linearity("demo")["p"] < 0.05


def test_linearity_needs_the_continuous_predictor():
    data = cohort_data("demo")
    with pytest.raises(ValueError, match="ki67_percent"):
        ki67_linearity(x=data.x[:, [0, 2]], y=data.y, names=("surface_depression", "cga_positive"))


# --- Influence: every patient against R -----------------------------------------


def _assert_close(ours, ref):
    np.testing.assert_allclose(ours, ref, rtol=INFLUENCE_RTOL, atol=INFLUENCE_ATOL)


@pytest.mark.parametrize("name", COHORTS)
def test_leverage_matches_hatvalues(name):
    _assert_close(measures(name).leverage_, cohort_data(name).ref["influence"]["hat"])


@pytest.mark.parametrize("name", COHORTS)
def test_cooks_distance_matches_r_for_every_patient(name):
    _assert_close(measures(name).cooks_distance_, cohort_data(name).ref["influence"]["cooks_distance"])


@pytest.mark.parametrize("name", COHORTS)
def test_dfbetas_match_r_for_every_patient_and_coefficient(name):
    _assert_close(measures(name).dfbetas_, cohort_data(name).ref["influence"]["dfbetas"])


# --- Flagged patients -----------------------------------------------------------


def test_cutoffs_are_4_over_n_and_2_over_root_n():
    assert influence_cutoffs(n=213) == {"cooks_distance": 4 / 213, "dfbetas": 2 / math.sqrt(213)}
    for name in COHORTS:
        influence = cohort_data(name).ref["influence"]
        cutoffs = influence_cutoffs(n=cohort_data(name).y.size)
        assert cutoffs["cooks_distance"] == pytest.approx(influence["cutoff_cooks_distance"], rel=1e-15)
        assert cutoffs["dfbetas"] == pytest.approx(influence["cutoff_dfbetas"], rel=1e-15)


def test_the_reference_tells_4_over_n_from_4_over_n_minus_k():
    # Guard for the test below: the demo cohort has patients whose Cook's distance lies between 4/n and
    # 4/(n − k), so a cut-off of 4/(n − k) (or 4/(n − p)) changes their flag and fails the comparison.
    cooks = np.array(cohort_data("demo").ref["influence"]["cooks_distance"])
    n, k = cooks.size, len(PREDICTORS) + 1
    assert np.any((cooks > 4 / n) & (cooks <= 4 / (n - k)))
    dfbetas = np.abs(np.array(cohort_data("demo").ref["influence"]["dfbetas"])).max(axis=1)
    assert np.any((dfbetas > 2 / math.sqrt(n)) & (dfbetas <= 2 / math.sqrt(n - k)))


@pytest.mark.parametrize("name", COHORTS)
def test_flagged_patients_their_rules_and_order_match_r(name):
    ref = cohort_data(name).ref["influence"]
    flagged = all_flagged(name)
    assert [p["row"] for p in flagged] == ref["flagged_rows"]
    assert [("cooks_distance" in p["flagged_by"]) for p in flagged] == ref["flagged_by_cooks_distance"]
    assert [("dfbetas" in p["flagged_by"]) for p in flagged] == ref["flagged_by_dfbetas"]
    assert [p["max_abs_dfbetas_term"] for p in flagged] == ref["max_abs_dfbetas_term"]
    _assert_close([p["max_abs_dfbetas"] for p in flagged], ref["max_abs_dfbetas"])


@pytest.mark.parametrize("name", COHORTS)
def test_at_most_ten_listed_by_default_the_most_influential(name):
    data = cohort_data(name)
    listed = influential_patients(x=data.x, y=data.y, coef=data.fit.coef_, names=PREDICTORS, rows=data.rows)
    assert MAX_INFLUENTIAL_LISTED == 10
    assert [p["row"] for p in listed] == data.ref["influence"]["flagged_rows"][:10]


def test_entry_describes_the_patient():
    data = cohort_data("demo")
    entry = all_flagged("demo")[0]
    i = int(np.flatnonzero(data.rows == entry["row"])[0])
    assert entry["findings"] == dict(zip(PREDICTORS, data.x[i].tolist(), strict=True))
    assert entry["outcome"] == int(data.y[i])
    assert entry["cooks_distance"] == measures("demo").cooks_distance_[i]
    assert entry["leverage"] == measures("demo").leverage_[i]
    assert list(entry["dfbetas"]) == ["intercept", *PREDICTORS]
    assert entry["max_abs_dfbetas"] == max(abs(v) for v in entry["dfbetas"].values())
    assert entry["risk"] == pytest.approx(1 / (1 + math.exp(-data.fit.linear_predictor(data.x[[i]])[0])), rel=1e-12)


def test_g3_lesion_resected_curatively_is_the_most_influential_patient():
    first = all_flagged("g3_non_event")[0]
    assert first["row"] == G3_ROW
    assert first["findings"]["ki67_percent"] == 95.0
    assert first["outcome"] == 0
    assert first["flagged_by"] == ["cooks_distance", "dfbetas"]
    assert first["max_abs_dfbetas_term"] == "ki67_percent"
    assert first["cooks_distance"] > 100 * all_flagged("g3_non_event")[1]["cooks_distance"]


def test_g3_lesion_that_is_an_event_agrees_with_the_model_and_is_not_flagged():
    # Fitted risk 1 − 3e-11: it carries no weight in the fit, so no influence either.
    rows = [p["row"] for p in all_flagged("g3_event")]
    assert G3_ROW not in rows
    data = cohort_data("g3_event")
    assert measures("g3_event").cooks_distance_[-1] == measures("g3_event").cooks_distance_.min()
    assert measures("g3_event").cooks_distance_[-1] < 1e-15
    # The other patients' flags are those of the demo cohort, bar the cut-offs moving from n = 213 to 214.
    assert {p["row"] for p in all_flagged("demo")} <= set(rows)
    assert data.rows[-1] == G3_ROW


# --- Determinism and refusals ---------------------------------------------------


def test_identical_patients_get_identical_values_and_tie_by_row():
    data = cohort_data("demo")
    keys = [tuple(r) for r in np.column_stack([data.x, data.y]).tolist()]
    duplicates = [k for k in set(keys) if keys.count(k) > 1]
    assert duplicates  # the demo cohort has patients with the same findings and outcome
    cooks = measures("demo").cooks_distance_
    for key in duplicates:
        same = [i for i, k in enumerate(keys) if k == key]
        assert len({cooks[i] for i in same}) == 1
    listed = [p["row"] for p in all_flagged("demo")]
    for a, b in zip(all_flagged("demo"), all_flagged("demo")[1:], strict=False):
        if a["cooks_distance"] == b["cooks_distance"]:
            assert a["row"] < b["row"]
    assert len(listed) == len(set(listed))


def test_order_does_not_depend_on_the_order_of_the_patients():
    data = cohort_data("g3_non_event")
    order = np.random.default_rng(5).permutation(data.y.size)
    x, y, rows = data.x[order], data.y[order], data.rows[order]
    fit = fit_logistic(x=x, y=y, names=PREDICTORS)
    shuffled = influential_patients(x=x, y=y, coef=fit.coef_, names=PREDICTORS, rows=rows, max_patients=None)
    assert [p["row"] for p in shuffled] == [p["row"] for p in all_flagged("g3_non_event")]


def test_coefficients_other_than_the_mle_are_refused():
    data = cohort_data("demo")
    with pytest.raises(ValueError, match="maximum-likelihood"):
        influential_patients(x=data.x, y=data.y, coef=0.9 * data.fit.coef_, names=PREDICTORS, rows=data.rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rows": [2, 3]}, "one entry per patient"),
        ({"rows": "duplicate"}, "distinct"),
        ({"names": ("surface_depression", "ki67_percent")}, "one column per predictor"),
    ],
)
def test_inconsistent_arguments_are_refused(change, message):
    data = cohort_data("demo")
    arguments = {"x": data.x, "y": data.y, "coef": data.fit.coef_, "names": PREDICTORS, "rows": data.rows}
    arguments.update(change)
    if change.get("rows") == "duplicate":
        arguments["rows"] = np.where(data.rows == 3, 2, data.rows)
    with pytest.raises(ValueError, match=message):
        influential_patients(**arguments)
