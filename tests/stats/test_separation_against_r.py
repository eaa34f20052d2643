"""The separation check against R: detectseparation's linear programme (Konis 2007) solved by lpSolve.

tests/reference/make_separation_reference.R builds seven cohorts (complete separation by Ki-67 alone, by a
combination of Ki-67 and CgA, quasi-complete separation by two binary findings together, an all-events
cell that does not separate the main-effects model, ordinary data, the demo cohort with one G3 event at
Ki-67 95 %, and the few-events cohort) and records which coefficients R finds infinite.  The code under
test uses another formulation (two programmes per coefficient on a column-scaled design) and another
solver (HiGHS), so agreement is not by construction.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from app.stats.fit import separated_predictors
from tests.conftest import REPO

REFERENCE = json.loads((REPO / "tests" / "reference" / "separation_reference.json").read_text(encoding="utf-8"))
NAMES = ("surface_depression", "ki67_percent", "cga_positive")


def test_the_reference_was_made_from_the_cohorts_in_the_repository():
    for key, path in (("demo_md5", "model_artifacts/rnet-demo-cohort.csv"),
                      ("few_events_md5", "tests/reference/few-events-cohort.csv")):  # fmt: skip
        assert hashlib.md5((REPO / path).read_bytes()).hexdigest() == REFERENCE[key], path


def test_the_reference_covers_both_answers():
    outcomes = [case["separation"] for case in REFERENCE["cases"].values()]
    assert outcomes.count(True) >= 3 and outcomes.count(False) >= 3


@pytest.mark.parametrize("name", sorted(REFERENCE["cases"]))
def test_infinite_coefficients_are_those_r_finds(name):
    case = REFERENCE["cases"][name]
    x = np.array(case["x"], dtype=float)
    y = np.array(case["y"], dtype=float)
    expected = [n for n in NAMES if case["beta"][n] != 0]
    assert separated_predictors(x, y, NAMES) == expected
