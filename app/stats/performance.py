"""Performance of a model on the data it is evaluated on: the figures and curves of STATISTICS.md.

`train` reports them on the development data (apparent), `recalibrate` on
the local cohort, `validate` on another hospital's patients: one function
so that the three can never define a figure differently.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.stats.batch_logistic import expit
from app.stats.calibration import (
    brier_score,
    calibration_in_the_large,
    calibration_intercept_slope,
    grouped_curve,
    hosmer_lemeshow,
    integrated_calibration_index,
    observed_expected,
    scaled_brier,
    smoothed_calibration,
    spiegelhalter_z,
)
from app.stats.decision import decision_curve
from app.stats.discrimination import auc_delong, roc_points, thin_curve

MAX_CURVE_POINTS = 200


def finite(value: float | None) -> float | None:
    """JSON has no NaN: undefined figures are null."""
    return float(value) if value is not None and math.isfinite(value) else None


def apparent_performance(*, y: np.ndarray, lp: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and curves of a model on the data it is evaluated on (STATISTICS.md)."""
    p = expit(lp)
    auc = auc_delong(y=y, score=lp)
    citl = calibration_in_the_large(y=y, lp=lp)
    intercept, slope = calibration_intercept_slope(y=y, lp=lp)
    hl = hosmer_lemeshow(y=y, p=p)
    smooth = smoothed_calibration(y=y, p=p)
    spiegelhalter = spiegelhalter_z(y=y, p=p)
    figures = {
        "n": int(y.size),
        "events": int(y.sum()),
        "prevalence": float(y.mean()),
        "auc": auc.auc,
        "auc_se": auc.se,
        "auc_ci95": list(auc.ci95),
        "calibration_in_the_large": citl.value,
        "calibration_in_the_large_ci95": list(citl.ci95),
        "calibration_intercept": intercept.value,
        "calibration_intercept_ci95": list(intercept.ci95),
        "calibration_slope": slope.value,
        "calibration_slope_ci95": list(slope.ci95),
        "observed_expected": observed_expected(y=y, p=p),
        "brier": brier_score(y=y, p=p),
        "brier_scaled": scaled_brier(y=y, p=p),
        "spiegelhalter_z": spiegelhalter.statistic,
        "spiegelhalter_p": spiegelhalter.p,
        "hosmer_lemeshow": {"chi2": hl.chi2, "df": hl.df, "p": finite(hl.p), "groups": hl.groups},
        "e_avg": smooth.e_avg,
        "e_90": smooth.e_90,
        "e_max": smooth.e_max,
        "ici": integrated_calibration_index(y=y, p=p),
    }
    smoothed = thin_curve(
        {"predicted": smooth.predicted.tolist(), "observed": smooth.observed.tolist()}, max_points=MAX_CURVE_POINTS
    )
    curves: dict[str, Any] = {
        "roc": thin_curve(roc_points(y=y, score=p), max_points=MAX_CURVE_POINTS),
        "calibration": {"grouped": grouped_curve(y=y, p=p), "smoothed": smoothed},
        "decision": decision_curve(y=y, p=p),
    }
    curves["roc"]["threshold"] = [finite(t) for t in curves["roc"]["threshold"]]
    return figures, curves
