"""The statistics against independent values from R (rms, pROC, stats).

The reference values are in tests/reference/r_reference.json, made by
`Rscript tests/reference/make_reference.R` (see tests/reference/README.md);
R is not needed to run these tests.  Two cohorts are compared:

- "main": the shipped synthetic cohort model_artifacts/rnet-demo-cohort.csv
  (binary, continuous, binary predictor: mostly distinct risks);
- "ties": tests/reference/ties-cohort.csv, three binary predictors, so only
  8 distinct risks: every tie-handling rule (midranks, tied smoother x,
  fewer HL groups, p == threshold) is exercised.

Every figure is recomputed here through the project's public functions, the
way `app.stats.train` computes it, and compared with R's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from app.model.artifact import load_artifact
from app.model.predict import Model
from app.stats.bootstrap import bootstrap_optimism
from app.stats.calibration import (
    brier_score,
    calibration_in_the_large,
    calibration_intercept_slope,
    hosmer_lemeshow,
    integrated_calibration_index,
    smoothed_calibration,
    spiegelhalter_z,
)
from app.stats.cohort import OUTCOME, read_cohort
from app.stats.decision import decision_curve
from app.stats.discrimination import auc_delong
from app.stats.fit import LogisticFit, fit_logistic
from app.stats.smoothers import loess_quadratic_fit, lowess_fit

REPO = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO / "tests" / "reference"
REFERENCE = json.loads((REFERENCE_DIR / "r_reference.json").read_text(encoding="utf-8"))
ARTIFACT = REPO / "model_artifacts" / "rnet-demo-v1.json"
COHORTS = ("main", "ties")

# --- Tolerances -------------------------------------------------------------
# Coefficients and covariance, relative.  The contract is 1e-4; both sides
# are the converged MLE (lrm with eps = 1e-12, statsmodels Newton to 1e-10)
# and agree to ~1e-13, so 1e-6 is used.  Never loosen beyond 1e-4.
COEF_RTOL = 1e-6
# Linear predictor, SE and probability/CI of the shipped artifact against
# predict(lrm, se.fit = TRUE), relative.  Contract 1e-4; observed ~1e-14.
PREDICTION_RTOL = 1e-6
# The artifact stores coefficients to 8 significant digits: |Δlp| ≤ Σ|βⱼxⱼ|·5e-8 < 1e-6 on the grid,
# which matters where lp itself is near 0.
ARTIFACT_LP_ATOL = 1e-6
# AUC, absolute (contract).  Rank-based, so exact unless ties differ.
AUC_ATOL = 1e-6
# DeLong 95 % CI bounds, absolute (contract; observed ~1e-16).
DELONG_CI_ATOL = 1e-4
# DeLong SE, relative: exact arithmetic on midranks, so a ddof or
# tie-handling slip (percent-sized) shows even where the CI bound would not.
DELONG_SE_RTOL = 1e-6
# lowess(p, y, iter = 0) fitted values, absolute (contract).
LOWESS_ATOL = 1e-8
# loess(y ~ p, degree = 2, span = 0.75, surface = "direct") fitted values and
# the ICI, absolute (contract).
LOESS_ATOL = 1e-6
# rms::val.prob figures (Brier, Intercept, Slope, Eavg, E90, Emax, S:z, S:p),
# absolute.  val.prob's Intercept/Slope come from lrm.fit's default stopping
# rule, ~1e-9 from the exact 0 and 1.
VAL_PROB_ATOL = 1e-6
# Calibration-in-the-large and calibration intercept/slope with their SEs
# against glm run to convergence, absolute.
CALIBRATION_ATOL = 1e-6
# The x values of the smoothers are the predicted risks, computed by R and
# by numpy from the same coefficients: equal to rounding.
RISK_ATOL = 1e-12
# Hosmer-Lemeshow chi-squared and p, absolute (contract).
HL_ATOL = 1e-8
# Net benefit, absolute (contract).
NET_BENEFIT_ATOL = 1e-10
# Bootstrap optimism correction: R's validate(B = 1000) and ours use
# different random draws, so only Monte Carlo agreement is expected.  Over 30
# R seeds and 40 numpy seeds the SD of a single 1000-replicate estimate is
# about 0.0012 (AUC), 0.005 (slope), 0.008 (intercept), 0.0005 (Brier); the
# means agree to within 0.004.  The bounds are several SDs of a difference:
OPTIMISM_AUC_ATOL = 0.02  # corrected AUC (contract)
OPTIMISM_SLOPE_ATOL = 0.05  # corrected calibration slope (contract)
OPTIMISM_INTERCEPT_ATOL = 0.06  # corrected calibration intercept (~5 SD)
OPTIMISM_BRIER_ATOL = 0.004  # corrected Brier score (~6 SD)
BOOTSTRAP_REPLICATES = 1000
BOOTSTRAP_SEED = 20240221


@dataclass(frozen=True)
class Computed:
    """One cohort as the project computes it, with R's reference values."""

    ref: dict
    x: np.ndarray
    y: np.ndarray
    fit: LogisticFit
    lp: np.ndarray
    p: np.ndarray


@cache
def computed(name: str) -> Computed:
    ref = REFERENCE[name]
    predictors = tuple(ref["predictors"])
    columns = [*predictors, OUTCOME]
    cohort = read_cohort(REPO / REFERENCE["data"][name]["file"], required=columns)
    selection = cohort.complete_case(columns)
    x = np.column_stack([selection.columns[c] for c in predictors])
    y = selection.columns[OUTCOME]
    fit = fit_logistic(x=x, y=y, names=predictors)
    lp = fit.linear_predictor(x)
    p = 1.0 / (1.0 + np.exp(-lp))  # as app.stats.train.apparent_performance
    return Computed(ref=ref, x=x, y=y, fit=fit, lp=lp, p=p)


@pytest.fixture(params=COHORTS)
def cohort(request) -> Computed:
    return computed(request.param)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# --- The data the reference was made from ------------------------------------


@pytest.mark.parametrize("name", COHORTS)
def test_reference_was_made_from_these_data_files(name):
    entry = REFERENCE["data"][name]
    assert _md5(REPO / entry["file"]) == entry["md5"], (
        f"{entry['file']} changed since r_reference.json was made: "
        "run `Rscript tests/reference/make_reference.R` (see tests/reference/README.md)"
    )


def test_same_rows_are_analysed(cohort):
    assert cohort.y.size == cohort.ref["n"]
    assert int(cohort.y.sum()) == cohort.ref["events"]


# --- 1. Fit --------------------------------------------------------------------


def test_coefficients_match_lrm(cohort):
    assert cohort.ref["coef_names"][1:] == list(cohort.fit.predictors)
    np.testing.assert_allclose(cohort.fit.coef_, cohort.ref["coef"], rtol=COEF_RTOL, atol=0)


def test_coefficients_match_lrm_with_its_default_convergence(cohort):
    # What a plain `lrm(...)` call reports (eps = 0.025): still within the tolerance.
    np.testing.assert_allclose(cohort.fit.coef_, cohort.ref["coef_lrm_default_eps"], rtol=COEF_RTOL, atol=0)


def test_covariance_matches_lrm_vcov(cohort):
    np.testing.assert_allclose(cohort.fit.cov_, cohort.ref["vcov"], rtol=COEF_RTOL, atol=0)


def test_log_likelihood_matches_lrm(cohort):
    assert cohort.fit.loglik_ == pytest.approx(cohort.ref["loglik"], rel=COEF_RTOL)


def test_linear_predictor_and_its_ties_match_lrm(cohort):
    np.testing.assert_allclose(cohort.lp, cohort.ref["lp"], rtol=COEF_RTOL, atol=0)
    # Ties decide the AUC, the smoothers and net benefit: the same patients must tie.
    assert np.unique(cohort.p).size == len(cohort.ref["lowess"]["x"])
    r_lp = np.asarray(cohort.ref["lp"])
    np.testing.assert_array_equal(np.unique(cohort.lp, return_inverse=True)[1], np.unique(r_lp, return_inverse=True)[1])


# --- 2. Predictions of the shipped artifact --------------------------------------


def _grid_rows():
    grid = REFERENCE["main"]["predictions"]
    names = REFERENCE["main"]["predictors"]
    return [
        pytest.param(i, {n: grid[n][i] for n in names}, id="-".join(f"{grid[n][i]:g}" for n in names))
        for i in range(len(grid["lp"]))
    ]


@pytest.fixture(scope="module")
def demo_model() -> Model:
    """The shipped model's equation without its applicable range: R's grid runs to Ki-67 30 % to check the
    arithmetic beyond the G1/G2 population too (where the calculator itself gives no risk, as
    tests/model/test_applicability.py checks)."""
    artifact = load_artifact(ARTIFACT)
    predictors = [p.model_copy(update={"applicable_range": None}) for p in artifact.predictors]
    return Model(artifact.model_copy(update={"predictors": predictors}))


@pytest.mark.parametrize(("i", "values"), _grid_rows())
def test_artifact_prediction_matches_predict_lrm(demo_model, i, values):
    grid = REFERENCE["main"]["predictions"]
    prediction = demo_model.predict(values)
    assert prediction.linear_predictor == pytest.approx(grid["lp"][i], rel=PREDICTION_RTOL, abs=ARTIFACT_LP_ATOL)
    assert prediction.se_linear_predictor == pytest.approx(grid["se"][i], rel=PREDICTION_RTOL)
    assert prediction.probability == pytest.approx(grid["probability"][i], rel=PREDICTION_RTOL)
    assert prediction.ci95[0] == pytest.approx(grid["lower"][i], rel=PREDICTION_RTOL)
    assert prediction.ci95[1] == pytest.approx(grid["upper"][i], rel=PREDICTION_RTOL)


# --- 3. Discrimination ------------------------------------------------------------


def test_auc_and_delong_interval_match_proc(cohort):
    result = auc_delong(y=cohort.y, score=cohort.lp)
    ref = cohort.ref["auc"]
    assert result.auc == pytest.approx(ref["auc"], abs=AUC_ATOL)
    assert result.ci95[0] == pytest.approx(ref["lower"], abs=DELONG_CI_ATOL)
    assert result.ci95[1] == pytest.approx(ref["upper"], abs=DELONG_CI_ATOL)
    assert result.se == pytest.approx(ref["se"], rel=DELONG_SE_RTOL)
    assert result.se**2 == pytest.approx(ref["var"], rel=DELONG_SE_RTOL)


def test_auc_matches_val_prob_c_statistic(cohort):
    result = auc_delong(y=cohort.y, score=cohort.p)
    assert result.auc == pytest.approx(cohort.ref["val_prob"]["C (ROC)"], abs=AUC_ATOL)


# --- 4-6. Smoothers and calibration ---------------------------------------------


def test_lowess_matches_r_lowess(cohort):
    x, fitted = lowess_fit(cohort.p, cohort.y)
    ref = cohort.ref["lowess"]
    assert x.size == len(ref["x"])
    np.testing.assert_allclose(x, ref["x"], rtol=0, atol=RISK_ATOL)
    np.testing.assert_allclose(fitted, ref["fitted"], rtol=0, atol=LOWESS_ATOL)


def test_loess_quadratic_matches_r_loess_direct(cohort):
    x, fitted = loess_quadratic_fit(cohort.p, cohort.y)
    ref = cohort.ref["loess"]
    assert x.size == len(ref["x"])
    np.testing.assert_allclose(x, ref["x"], rtol=0, atol=RISK_ATOL)
    np.testing.assert_allclose(fitted, ref["fitted"], rtol=0, atol=LOESS_ATOL)


def test_ici_matches_r_loess(cohort):
    ici = integrated_calibration_index(y=cohort.y, p=cohort.p)
    assert ici == pytest.approx(cohort.ref["loess"]["ici"], abs=LOESS_ATOL)


def test_val_prob_figures(cohort):
    ref = cohort.ref["val_prob"]
    smooth = smoothed_calibration(y=cohort.y, p=cohort.p)
    intercept, slope = calibration_intercept_slope(y=cohort.y, lp=cohort.lp)
    z = spiegelhalter_z(y=cohort.y, p=cohort.p)
    ours = {
        "Brier": brier_score(y=cohort.y, p=cohort.p),
        "Intercept": intercept.value,
        "Slope": slope.value,
        "Eavg": smooth.e_avg,
        "E90": smooth.e_90,
        "Emax": smooth.e_max,
        "S:z": z.statistic,
        "S:p": z.p,
    }
    for name, value in ours.items():
        assert value == pytest.approx(ref[name], abs=VAL_PROB_ATOL), name


def test_brier_and_spiegelhalter_match_direct_r(cohort):
    assert brier_score(y=cohort.y, p=cohort.p) == pytest.approx(cohort.ref["brier"], abs=VAL_PROB_ATOL)
    z = spiegelhalter_z(y=cohort.y, p=cohort.p)
    assert z.statistic == pytest.approx(cohort.ref["spiegelhalter"]["z"], abs=VAL_PROB_ATOL)
    assert z.p == pytest.approx(cohort.ref["spiegelhalter"]["p"], abs=VAL_PROB_ATOL)


# --- 7. Calibration in the large, intercept and slope ------------------------------


def test_calibration_in_the_large_matches_glm_offset(cohort):
    result = calibration_in_the_large(y=cohort.y, lp=cohort.lp)
    ref = cohort.ref["calibration_in_the_large"]
    assert result.value == pytest.approx(ref["estimate"], abs=CALIBRATION_ATOL)
    assert result.se == pytest.approx(ref["se"], abs=CALIBRATION_ATOL)


def test_calibration_intercept_and_slope_match_glm(cohort):
    intercept, slope = calibration_intercept_slope(y=cohort.y, lp=cohort.lp)
    ref = cohort.ref["calibration_intercept_slope"]
    assert intercept.value == pytest.approx(ref["intercept"], abs=CALIBRATION_ATOL)
    assert intercept.se == pytest.approx(ref["intercept_se"], abs=CALIBRATION_ATOL)
    assert slope.value == pytest.approx(ref["slope"], abs=CALIBRATION_ATOL)
    assert slope.se == pytest.approx(ref["slope_se"], abs=CALIBRATION_ATOL)


# --- 8. Bootstrap optimism against rms::validate ----------------------------------


@cache
def _optimism():
    main = computed("main")
    return bootstrap_optimism(
        x=main.x, y=main.y, coef=main.fit.coef_, replicates=BOOTSTRAP_REPLICATES, seed=BOOTSTRAP_SEED
    )


def test_bootstrap_apparent_indices_equal_validate_index_orig():
    result = _optimism()
    ref = REFERENCE["main"]["validate"]
    assert result.apparent["auc"] == pytest.approx(ref["auc_apparent"], abs=AUC_ATOL)
    assert result.apparent["brier"] == pytest.approx(ref["table"]["B"]["index.orig"], abs=VAL_PROB_ATOL)
    assert result.apparent["calibration_intercept"] == ref["table"]["Intercept"]["index.orig"] == 0
    assert result.apparent["calibration_slope"] == ref["table"]["Slope"]["index.orig"] == 1


def test_bootstrap_corrected_indices_agree_with_validate():
    result = _optimism()
    ref = REFERENCE["main"]["validate"]
    assert ref["B"] == BOOTSTRAP_REPLICATES
    assert result.replicates_used >= 0.99 * BOOTSTRAP_REPLICATES
    assert result.corrected["auc"] == pytest.approx(ref["auc_corrected"], abs=OPTIMISM_AUC_ATOL)
    table = ref["table"]
    assert result.corrected["calibration_slope"] == pytest.approx(
        table["Slope"]["index.corrected"], abs=OPTIMISM_SLOPE_ATOL
    )
    assert result.corrected["calibration_intercept"] == pytest.approx(
        table["Intercept"]["index.corrected"], abs=OPTIMISM_INTERCEPT_ATOL
    )
    assert result.corrected["brier"] == pytest.approx(table["B"]["index.corrected"], abs=OPTIMISM_BRIER_ATOL)


# --- 9. Hosmer-Lemeshow ----------------------------------------------------------------


def test_hosmer_lemeshow_matches_r(cohort):
    result = hosmer_lemeshow(y=cohort.y, p=cohort.p)
    ref = cohort.ref["hosmer_lemeshow"]
    assert result.groups == ref["groups"]
    assert result.df == ref["df"]
    assert result.chi2 == pytest.approx(ref["chi2"], abs=HL_ATOL)
    assert result.p == pytest.approx(ref["p"], abs=HL_ATOL)


# --- 10. Decision curve --------------------------------------------------------------


def test_net_benefit_matches_r(cohort):
    result = decision_curve(y=cohort.y, p=cohort.p)
    ref = cohort.ref["decision_curve"]
    np.testing.assert_allclose(result["threshold"], ref["threshold"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(result["net_benefit_model"], ref["net_benefit_model"], rtol=0, atol=NET_BENEFIT_ATOL)
    np.testing.assert_allclose(result["net_benefit_all"], ref["net_benefit_all"], rtol=0, atol=NET_BENEFIT_ATOL)
