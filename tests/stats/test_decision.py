"""Net benefit against the dcurves package (MSKCC) and a decision curve worked by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from app.stats.decision import decision_curve

NB_TOL = 1e-10  # both count TP/FP exactly; only rounding differs


@pytest.fixture
def data():
    rng = np.random.default_rng(21)
    p = np.round(rng.beta(2, 6, 400), 3)
    y = (rng.random(400) < p).astype(int)
    return y, p


def dcurves_table(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dcurves/pandas deprecation noise is not ours
        from dcurves import dca

        return dca(data=pd.DataFrame({"y": y, "p": p}), outcome="y", modelnames=["p"], thresholds=thresholds)


def test_net_benefit_equals_dcurves(data):
    y, p = data
    table = dcurves_table(y, p, np.round(np.arange(0.01, 1.0, 0.01), 2))
    ours = decision_curve(y=y, p=p)
    for model, key in (("p", "net_benefit_model"), ("all", "net_benefit_all"), ("none", "net_benefit_none")):
        reference = table[table["model"] == model].sort_values("threshold")
        np.testing.assert_allclose(ours[key], reference["net_benefit"].to_numpy(), atol=NB_TOL)
    # Standardized net benefit is NB / prevalence for the model and for treat-all alike (dcurves' prevalence column).
    for model, key in (("p", "standardized_net_benefit_model"), ("all", "standardized_net_benefit_all")):
        reference = table[table["model"] == model].sort_values("threshold")
        expected = reference["net_benefit"].to_numpy() / reference["prevalence"].to_numpy()
        np.testing.assert_allclose(ours[key], expected, atol=NB_TOL)
    # dcurves reports interventions avoided per patient; ours are per 100 patients.
    reference = table[table["model"] == "p"].sort_values("threshold")
    np.testing.assert_allclose(
        ours["net_interventions_avoided_per_100"], 100 * reference["net_intervention_avoided"].to_numpy(), atol=1e-8
    )


def test_decision_curve_worked_by_hand():
    """8 patients, 2 events (prevalence π = 0.25); two thresholds, one of which equals a predicted risk.

    t = 0.2, t/(1 − t) = 0.25.  Positive when p ≥ 0.2: 0.9 (event), 0.3 (event), 0.6, 0.2, 0.5, 0.4,
    so TP = 2, FP = 4 (p = 0.2 itself counts as positive).
        NB model  = 2/8 − 4/8 · 0.25          = 0.25 − 0.125 = 0.125
        NB all    = 0.25 − 0.75 · 0.25        = 0.0625
        sNB model = 0.125 / 0.25 = 0.5;  sNB all = 0.0625 / 0.25 = 0.25
        avoided   = (0.125 − 0.0625) / 0.25 · 100 = 25
    t = 0.5, t/(1 − t) = 1.  Positive when p ≥ 0.5: 0.9 (event), 0.6, 0.5, so TP = 1, FP = 2.
        NB model  = 1/8 − 2/8 · 1 = −0.125
        NB all    = 0.25 − 0.75 · 1 = −0.5
        sNB model = −0.125 / 0.25 = −0.5;  sNB all = −0.5 / 0.25 = −2
        avoided   = (−0.125 + 0.5) / 1 · 100 = 37.5
    """
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.3, 0.6, 0.2, 0.1, 0.5, 0.05, 0.4])
    curve = decision_curve(y=y, p=p, thresholds=np.array([0.2, 0.5]))
    expected = {
        "threshold": [0.2, 0.5],
        "net_benefit_model": [0.125, -0.125],
        "net_benefit_all": [0.0625, -0.5],
        "net_benefit_none": [0.0, 0.0],
        "standardized_net_benefit_model": [0.5, -0.5],
        "standardized_net_benefit_all": [0.25, -2.0],
        "net_interventions_avoided_per_100": [25.0, 37.5],
    }
    assert set(curve) == set(expected)
    for key, values in expected.items():
        assert curve[key] == pytest.approx(values, abs=1e-12), key
