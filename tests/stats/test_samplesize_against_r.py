"""`rnet samplesize` against pmsampsize 1.1.3 and pmvalsampsize 0.1.0 run in R.

The values are in tests/reference/samplesize_reference.json, made by
`Rscript tests/reference/make_samplesize_reference.R` from the packages' own
CRAN sources (see that script); R is not needed to run these tests.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from pathlib import Path

import pytest

from app.model.artifact import load_artifact
from app.stats.samplesize import cox_snell_r2_from_c_statistic, development_sample_size
from app.stats.samplesize_validation import inputs_from_artifact, normal_lp_distribution, validation_sample_size

REPO = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((REPO / "tests" / "reference" / "samplesize_reference.json").read_text(encoding="utf-8"))
DEVELOPMENT = REFERENCE["development"]


@pytest.mark.parametrize("case", DEVELOPMENT, ids=lambda c: f"C{c['c_statistic']}-phi{c['prevalence']}")
def test_c_to_r2_is_the_limit_of_pmsampsize_simulation(case):
    """Ours is the simulation's n → ∞ limit: within 4 standard errors of the mean of five seeded
    simulations of 10⁶ patients (plus half a unit in the 4th decimal, our rounding), and within
    0.002 of what pmsampsize itself uses (its seed 123456, rounded to 4 decimals)."""
    ours = cox_snell_r2_from_c_statistic(c_statistic=case["c_statistic"], prevalence=case["prevalence"])
    simulated = case["r2_cox_snell_simulated"]
    spread = statistics.stdev(simulated) / math.sqrt(len(simulated))
    assert abs(ours - statistics.mean(simulated)) <= 4 * spread + 5e-5
    assert abs(ours - case["pmsampsize_r2"]) <= 0.002
    assert ours == round(ours, 4)


@pytest.mark.parametrize("case", DEVELOPMENT, ids=lambda c: f"C{c['c_statistic']}-phi{c['prevalence']}")
def test_given_pmsampsize_r2_the_sizes_are_pmsampsize_sizes(case):
    """With the R² pmsampsize derived from C, our criteria give its table (sizes, EPP, max R², Nagelkerke)."""
    result = development_sample_size(
        parameters=case["parameters"], prevalence=case["prevalence"], r2_cs=case["pmsampsize_r2"]
    )
    table = case["pmsampsize_table"]
    sizes = (result.criterion_1, result.criterion_2, result.criterion_3, result.minimum)
    assert sizes == tuple(row[0] for row in table)
    assert [round(result.events_per_parameter(n), 2) for n in sizes] == pytest.approx([row[6] for row in table])
    assert round(result.max_r2_cs, 3) == pytest.approx(table[0][4])
    assert round(result.nagelkerke_r2, 3) == pytest.approx(table[0][5])


def test_the_paper_example_matches_pmvalsampsize():
    """Riley et al. 2021's heart-valve example as pmvalsampsize runs it (prevalence 0.018, C 0.8, LP N(−5, 2.5²),
    O/E CI width 1, threshold 0.08): criteria 1, 3 and 4 exactly; criterion 2 is pmvalsampsize's simulation
    (4563) whose exact integral R's integrate() gives as 4553.88, so ours is 4554."""
    case = REFERENCE["validation"]["paper_example"]
    result = validation_sample_size(
        prevalence=0.018, c_statistic=0.8, lp=normal_lp_distribution(mean=-5, sd=2.5, description="paper"),
        oe_ci_width=1, threshold=0.08,
    )  # fmt: skip
    sizes = [c.sample_size for c in result.criteria]
    table = case["table"]
    assert sizes[0] == table[0][0] == 905
    assert sizes[2] == table[2][0] == 4252
    assert sizes[3] == table[3][0] == 11397
    assert sizes[1] == math.ceil(case["criterion_2_exact"]["n2"]) == 4554
    assert abs(sizes[1] - table[1][0]) / table[1][0] < 0.01  # pmvalsampsize's Monte Carlo error
    assert result.criteria[0].se == pytest.approx(case["se_oe"], abs=1e-12)
    assert result.criteria[2].se == pytest.approx(case["se_cstat"], rel=1e-12)
    assert result.criteria[3].se == case["se_st_nb"]
    assert (result.details["sensitivity"], result.details["specificity"]) == (case["sensitivity"], case["specificity"])
    assert result.criteria[3].anticipated == pytest.approx(case["standardised_nb"], rel=1e-12)
    for key in ("i00", "i01", "i11"):
        assert result.details[f"information_{key[1:]}"] == pytest.approx(case["criterion_2_exact"][key], rel=1e-8)
    assert result.minimum == 11397 and result.binding == ("net_benefit",)


def test_given_sensitivity_and_specificity_match_pmvalsampsize():
    case = REFERENCE["validation"]["given_accuracy"]
    result = validation_sample_size(
        prevalence=0.1, c_statistic=0.72, lp=normal_lp_distribution(mean=-2.5, sd=1, description="given"),
        oe_ci_width=0.5, slope_ci_width=0.3, c_ci_width=0.08, threshold=0.15, sensitivity=0.7, specificity=0.6,
        nb_ci_width=0.3,
    )  # fmt: skip
    sizes = [c.sample_size for c in result.criteria]
    table = case["table"]
    assert (sizes[0], sizes[2], sizes[3]) == (table[0][0], table[2][0], table[3][0]) == (565, 1716, 1224)
    assert sizes[1] == math.ceil(case["criterion_2_exact"]["n2"]) == 2495
    assert result.binding == ("calibration_slope",) and result.minimum == 2495
    assert not result.accuracy_implied


def test_the_shipped_artifact_gives_what_r_computes_from_its_cohort():
    """The LP distribution recovered from the artifact's ROC curve is the glm refit's on the cohort: same
    information matrix and criterion 2 (pmvalsampsize's formula over the 213 values in R), same implied
    sensitivity/specificity at 0.3, and pmvalsampsize's criteria 1, 3 and 4 with the artifact's inputs."""
    demo = REFERENCE["demo_artifact"]
    cohort = REPO / "model_artifacts" / "rnet-demo-cohort.csv"
    assert hashlib.md5(cohort.read_bytes()).hexdigest() == demo["cohort_md5"], "re-run the R script"
    found = inputs_from_artifact(load_artifact(REPO / "model_artifacts" / "rnet-demo-v1.json"))
    assert found.prevalence == pytest.approx(demo["prevalence"], rel=1e-7)
    assert found.c_statistic == demo["c_statistic"]
    assert found.lp is not None
    assert found.lp.mean == pytest.approx(demo["lp_mean"], abs=1e-6)
    assert found.lp.sd == pytest.approx(demo["lp_sd_population"], rel=1e-6)
    result = validation_sample_size(
        prevalence=found.prevalence, c_statistic=found.c_statistic, lp=found.lp, threshold=demo["threshold"]
    )
    for key in ("i00", "i01", "i11"):
        assert result.details[f"information_{key[1:]}"] == pytest.approx(demo[key], rel=1e-6)
    sizes = [c.sample_size for c in result.criteria]
    table = demo["pmvalsampsize_table"]
    assert sizes == [table[0][0], demo["n2"], table[2][0], table[3][0]] == [694, 2512, 397, 445]
    assert (result.details["sensitivity"], result.details["specificity"]) == (demo["sensitivity"], demo["specificity"])
