"""Nomogram geometry, as `rms::nomogram` draws it.

Each predictor j has an axis [loⱼ, hiⱼ]; its contribution range is
rⱼ = |βⱼ|·(hiⱼ − loⱼ) and the scale s = 100 / maxⱼ rⱼ points per logit
unit, so the widest axis spans 0–100 points.  Points for value x are
s·(βⱼx − min over the axis of βⱼx): the lowest-risk end scores 0.  Total
points T = Σ points, and lp = β0 + Σⱼ min(βⱼx) + T/s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PROBABILITY_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
MAX_POINTS = 100.0


def _nice_step(span: float, target_ticks: int) -> float:
    """A 1-2-5 step giving about `target_ticks` ticks over `span`."""
    raw = span / max(target_ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def build_nomogram(
    *, intercept: float, predictors: list[dict[str, Any]], coefficients: dict[str, float]
) -> dict[str, Any]:
    """Geometry for the artifact's `nomogram` field.

    `predictors` are the artifact's predictor entries (name, kind,
    nomogram_range).  A zero coefficient gives a flat axis of 0 points.
    """
    axes = []
    spans = []
    for spec in predictors:
        lo, hi = spec["nomogram_range"]
        beta = coefficients[spec["name"]]
        spans.append(abs(beta) * (hi - lo))
    widest = max(spans)
    if widest <= 0:
        raise ValueError("every coefficient is zero: a nomogram has nothing to show")
    scale = MAX_POINTS / widest
    for spec in predictors:
        lo, hi = spec["nomogram_range"]
        beta = coefficients[spec["name"]]
        low_end = min(beta * lo, beta * hi)
        if spec["kind"] == "binary":
            values = [lo, hi]
        else:
            step = _nice_step(hi - lo, 10)
            first = math.ceil(lo / step) * step
            inner = [float(v) for v in np.round(np.arange(first, hi, step), 10) if lo + step / 4 < v < hi - step / 4]
            values = [float(lo), *inner, float(hi)]  # both ends always carry a tick
        ticks = [{"value": v, "points": scale * (beta * v - low_end)} for v in values]
        axes.append(
            {
                "name": spec["name"],
                "kind": spec["kind"],
                "lo": float(lo),
                "hi": float(hi),
                "beta": float(beta),
                "min_contribution": float(low_end),
                "ticks": ticks,
            }
        )
    max_total = sum(scale * abs(a["beta"]) * (a["hi"] - a["lo"]) for a in axes)
    lp0 = intercept + sum(a["min_contribution"] for a in axes)
    total_step = _nice_step(max_total, 10)
    total_ticks = [float(v) for v in np.round(np.arange(0.0, max_total + total_step / 2, total_step), 10)]
    probability_ticks = []
    for prob in PROBABILITY_TICKS:
        points = scale * (_logit(prob) - lp0)
        if 0.0 <= points <= max_total:
            probability_ticks.append({"probability": prob, "total_points": points})
    return {
        "points_per_logit": scale,
        "lp_at_zero_points": lp0,
        "max_total_points": max_total,
        "axes": axes,
        "total_points_ticks": total_ticks,
        "probability_ticks": probability_ticks,
    }
