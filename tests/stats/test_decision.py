"""Net benefit against the dcurves package (MSKCC)."""

from __future__ import annotations

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


def test_net_benefit_equals_dcurves(data):
    import warnings

    y, p = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dcurves/pandas deprecation noise is not ours
        from dcurves import dca

        table = dca(
            data=pd.DataFrame({"y": y, "p": p}),
            outcome="y",
            modelnames=["p"],
            thresholds=np.round(np.arange(0.01, 1.0, 0.01), 2),
        )
    ours = decision_curve(y=y, p=p)
    for model, key in (("p", "net_benefit_model"), ("all", "net_benefit_all"), ("none", "net_benefit_none")):
        reference = table[table["model"] == model].sort_values("threshold")
        np.testing.assert_allclose(ours[key], reference["net_benefit"].to_numpy(), atol=NB_TOL)
    model_rows = table[table["model"] == "p"].sort_values("threshold")
    np.testing.assert_allclose(
        ours["standardized_net_benefit_model"], model_rows["net_benefit"].to_numpy() / y.mean(), atol=NB_TOL
    )


def test_interventions_avoided_by_definition(data):
    y, p = data
    curve = decision_curve(y=y, p=p, thresholds=np.array([0.2]))
    nb_model = (np.sum((p >= 0.2) & (y == 1)) - np.sum((p >= 0.2) & (y == 0)) * 0.25) / y.size
    nb_all = y.mean() - (1 - y.mean()) * 0.25
    assert curve["net_interventions_avoided_per_100"][0] == pytest.approx((nb_model - nb_all) / 0.25 * 100)
