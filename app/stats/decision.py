"""Decision-curve analysis (Vickers & Elkin, Med Decis Making 2006)."""

from __future__ import annotations

import numpy as np

DEFAULT_THRESHOLDS = np.round(np.arange(1, 100) / 100.0, 2)


def decision_curve(
    *, y: np.ndarray, p: np.ndarray, thresholds: np.ndarray = DEFAULT_THRESHOLDS
) -> dict[str, list[float]]:
    """Net benefit of the model, treat-all and treat-none at each threshold t.

    NB(t) = TP/n − FP/n · t/(1 − t), positive when p ≥ t.
    Treat all: π − (1 − π)·t/(1 − t); treat none: 0.
    Standardized NB = NB / π.  Net interventions avoided per 100 =
    (NB_model − NB_all) / (t/(1 − t)) · 100.  As the `dcurves` package.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    n = y.size
    prevalence = y.mean()
    odds = t / (1 - t)
    # Sorting once lets every threshold count TP/FP by binary search.
    order = np.argsort(p)
    p_sorted = p[order]
    y_sorted = y[order]
    events_above = np.concatenate([np.cumsum(y_sorted[::-1])[::-1], [0.0]])
    first_positive = np.searchsorted(p_sorted, t, side="left")
    tp = events_above[first_positive]
    fp = (n - first_positive) - tp
    nb_model = tp / n - fp / n * odds
    nb_all = prevalence - (1 - prevalence) * odds
    return {
        "threshold": t.tolist(),
        "net_benefit_model": nb_model.tolist(),
        "net_benefit_all": nb_all.tolist(),
        "net_benefit_none": [0.0] * t.size,
        "standardized_net_benefit_model": (nb_model / prevalence).tolist(),
        "standardized_net_benefit_all": (nb_all / prevalence).tolist(),
        "net_interventions_avoided_per_100": ((nb_model - nb_all) / odds * 100).tolist(),
    }
