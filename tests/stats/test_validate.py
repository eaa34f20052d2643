"""External validation: figures against statsmodels, behaviour on cohorts simulated from the model."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

from app.errors import StatisticalError
from app.model.artifact import ModelArtifact, load_artifact, with_digest
from app.stats.cohort import CohortError, read_cohort
from app.stats.published import artifact_from_spec
from app.stats.validate import _verdicts, validate_artifact
from tests.conftest import DEMO_ARTIFACT, write_csv
from tests.stats.test_discrimination import delong_direct

TOL = 1e-6  # the contract for external-validation figures
HEADER = ["surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"]


def cohort_from_model(
    tmp_path, *, n: int, seed: int, intercept_shift: float = 0.0, slope: float = 1.0, name="local.csv"
):
    """Patients whose outcome follows the demo artifact's own model (optionally miscalibrated)."""
    artifact = load_artifact(DEMO_ARTIFACT)
    c = artifact.coefficients
    rng = np.random.default_rng(seed)
    d = (rng.random(n) < 0.2).astype(int)
    k = np.round(np.clip(rng.lognormal(0.4, 0.9, n), 0.1, 19.0), 1)
    g = (rng.random(n) < 0.65).astype(int)
    lp = c["intercept"] + c["surface_depression"] * d + c["ki67_percent"] * k + c["cga_positive"] * g
    y = (rng.random(n) < 1 / (1 + np.exp(-(intercept_shift + slope * lp)))).astype(int)
    return write_csv(tmp_path / name, HEADER, [list(row) for row in zip(d, k, g, y, strict=True)])


def test_well_calibrated_cohort_shows_slope_one_and_intercept_zero(tmp_path):
    result = validate_artifact(
        artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(cohort_from_model(tmp_path, n=5000, seed=1))
    )
    f = result["figures"]
    assert f["calibration_slope_ci95"][0] <= 1 <= f["calibration_slope_ci95"][1]
    assert f["calibration_in_the_large_ci95"][0] <= 0 <= f["calibration_in_the_large_ci95"][1]
    codes = {v["code"] for v in result["verdicts"]}
    assert {"citl_ok", "slope_ok"} <= codes


def test_shifted_intercept_is_found_and_named(tmp_path):
    result = validate_artifact(
        artifact=load_artifact(DEMO_ARTIFACT),
        cohort=read_cohort(cohort_from_model(tmp_path, n=3000, seed=2, intercept_shift=-1.0)),
    )
    assert result["figures"]["calibration_in_the_large_ci95"][1] < 0
    assert "citl_too_high" in {v["code"] for v in result["verdicts"]}


def test_overfitted_model_is_called_too_extreme(tmp_path):
    result = validate_artifact(
        artifact=load_artifact(DEMO_ARTIFACT),
        cohort=read_cohort(cohort_from_model(tmp_path, n=4000, seed=3, slope=0.5)),
    )
    assert "slope_too_extreme" in {v["code"] for v in result["verdicts"]}


def test_figures_equal_independent_statsmodels_fits(tmp_path):
    path = cohort_from_model(tmp_path, n=800, seed=4, intercept_shift=0.4, slope=0.8)
    artifact = load_artifact(DEMO_ARTIFACT)
    result = validate_artifact(artifact=artifact, cohort=read_cohort(path))
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    c = artifact.coefficients
    lp = c["intercept"] + data[:, :3] @ [c["surface_depression"], c["ki67_percent"], c["cga_positive"]]
    y = data[:, 3]
    offset = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-12)
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12)
    f = result["figures"]
    assert f["calibration_in_the_large"] == pytest.approx(offset.params[0], abs=TOL)
    assert f["calibration_in_the_large_ci95"] == pytest.approx(list(offset.conf_int()[0]), abs=TOL)
    assert f["calibration_slope"] == pytest.approx(slope.params[1], abs=TOL)
    assert f["calibration_slope_ci95"] == pytest.approx(list(slope.conf_int()[1]), abs=TOL)
    assert f["calibration_intercept"] == pytest.approx(slope.params[0], abs=TOL)
    # AUC by scikit-learn; its DeLong CI from the structural components written out in test_discrimination.
    auc, variance = delong_direct(y, lp)
    assert f["auc"] == pytest.approx(roc_auc_score(y, lp), abs=1e-12)
    half_width = 1.959963984540054 * np.sqrt(variance)
    assert f["auc_ci95"] == pytest.approx([auc - half_width, auc + half_width], abs=1e-10)
    p = 1 / (1 + np.exp(-lp))
    assert f["observed_expected"] == pytest.approx(y.sum() / p.sum(), rel=1e-12)


def test_values_outside_the_fitted_range_are_counted(tmp_path):
    rows = [[1, 45, 1, 1], [0, 2, 0, 0], [0, 1, 1, 0], [1, 30, 0, 1], [0, 3, 1, 1]] * 4 + [
        [0, 2, 1, 0],
        [1, 4, 0, 1],
        [1, 4, 0, 0],
        [0, 2, 1, 1],
    ] * 6
    path = write_csv(tmp_path / "c.csv", HEADER, rows)
    result = validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(path))
    assert result["cohort"]["outside_fitted_range"]["ki67_percent"] == 8  # the rows with Ki-67 45 and 30
    assert "out_of_range" in {v["code"] for v in result["verdicts"]}


def test_missing_predictor_and_single_outcome_are_clear_errors(tmp_path):
    no_cga = write_csv(
        tmp_path / "a.csv", ["surface_depression", "ki67_percent", "non_curative_resection"], [[1, 2, 1]]
    )
    with pytest.raises(CohortError, match="no column 'cga_positive'"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(no_cga))
    no_events = write_csv(tmp_path / "b.csv", HEADER, [[1, 2, 1, 0], [0, 3, 0, 0]])
    with pytest.raises(CohortError, match="coded 1 = non-curative"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(no_events))
    few_events = write_csv(tmp_path / "c.csv", HEADER, [[1, 2, 1, 1]] * 3 + [[0, 3, 0, 0]] * 30)
    with pytest.raises(StatisticalError, match="3 event"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(few_events))
    same = write_csv(tmp_path / "d.csv", HEADER, [[1, 2, 1, 1]] * 15 + [[1, 2, 1, 0]] * 15)
    with pytest.raises(CohortError, match="same predicted risk"):
        validate_artifact(artifact=load_artifact(DEMO_ARTIFACT), cohort=read_cohort(same))


def one_predictor_artifact(**performance: object) -> ModelArtifact:
    """logit P = −ln 4 + ln 4 · surface_depression: risk 0.2 without depression, 0.5 with it.

    ln 4 is stored to 8 significant digits (1.3862944), which moves the 0.2 by 6e-9.
    """
    spec = {
        "model_id": "two-risks",
        "reference": "worked by hand in tests/stats/test_validate.py",
        "predictors": [{"name": "surface_depression", "kind": "binary"}],
        "coefficients": {"intercept": -1.3862944, "surface_depression": 1.3862944},
        "standard_errors": {"intercept": 0.3, "surface_depression": 0.4},
        "performance": performance,
    }
    data, _ = artifact_from_spec(spec, created_at="2026-01-01T00:00:00Z")
    return ModelArtifact.model_validate(with_digest(data))


def test_observed_expected_and_its_binomial_ci_worked_by_hand(tmp_path):
    """40 patients at risk 0.2 with 10 events, 40 at risk 0.5 with 15 events.

    O = 25, E = 40·0.2 + 40·0.5 = 28, N = 80; O/E = 25/28 = 0.892857…
    SE of ln(O/E) = √(1/O − 1/N) = √(0.04 − 0.0125) = √0.0275 = 0.165831… (Debray et al., BMJ 2017)
    z·SE = 1.959964 · 0.165831 = 0.325023
    CI = 0.892857 · exp(∓0.325023) = (0.645099, 1.235770)
    (√(1/O) would give (0.603312, 1.321363); √(1/N) (0.717158, 1.111602).)
    """
    rows = [[0, 1]] * 10 + [[0, 0]] * 30 + [[1, 1]] * 15 + [[1, 0]] * 25
    path = write_csv(tmp_path / "two.csv", ["surface_depression", "non_curative_resection"], rows)
    result = validate_artifact(artifact=one_predictor_artifact(), cohort=read_cohort(path))
    f = result["figures"]
    assert (f["n"], f["events"]) == (80, 25)
    assert f["mean_predicted_risk"] == pytest.approx(28 / 80, rel=1e-6)
    assert f["observed_expected"] == pytest.approx(0.8928571428571429, rel=1e-6)
    assert f["observed_expected_ci95"] == pytest.approx([0.6450987053955715, 1.235770388133371], rel=1e-6)


def figures_with_auc(lo: float, hi: float) -> dict:
    """The figures `_verdicts` reads, well calibrated, with the validation AUC's CI (lo, hi)."""
    return {
        "auc": (lo + hi) / 2,
        "auc_ci95": [lo, hi],
        "calibration_in_the_large": 0.0,
        "calibration_in_the_large_ci95": [-0.2, 0.2],
        "observed_expected": 1.0,
        "calibration_slope": 1.0,
        "calibration_slope_ci95": [0.8, 1.2],
        "e_avg": 0.01,
        "e_90": 0.02,
        "e_max": 0.03,
    }


@pytest.mark.parametrize(
    ("lo", "hi", "development", "codes"),
    [
        # The development AUC above the whole CI: discrimination is lower here.
        (0.70, 0.78, 0.80, ["auc_lower"]),
        # Inside the CI (its low end below the development AUC, its high end above): consistent.
        (0.72, 0.86, 0.80, ["auc_consistent"]),
        # The CI's high end equal to the development AUC does not exclude it.
        (0.72, 0.80, 0.80, ["auc_consistent"]),
        # Better than at development is not "lower".
        (0.82, 0.90, 0.80, ["auc_consistent"]),
        # No development AUC on the artifact: nothing to compare with.
        (0.72, 0.86, None, ["auc_no_development"]),
        # The whole CI below 0.7: poor, and also below a development AUC of 0.75.
        (0.55, 0.68, 0.75, ["auc_lower", "auc_poor"]),
        (0.55, 0.68, 0.60, ["auc_consistent", "auc_poor"]),
    ],
)
def test_discrimination_verdict_follows_the_ci_high_end(lo, hi, development, codes):
    verdicts = _verdicts(figures_with_auc(lo, hi), development, 150, 300, {})
    assert [v["code"] for v in verdicts if v["property"] == "discrimination"] == codes
    first = next(v for v in verdicts if v["property"] == "discrimination")
    assert first["values"] == {"auc": (lo + hi) / 2, "lo": lo, "hi": hi, "dev": development}
