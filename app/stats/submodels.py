"""Pattern submodels for findings that may not yet be known (Fletcher Mercaldo & Blume, Biostatistics 2020).

When a finding is not known yet (the Ki-67 index or CgA staining before the
pathology report), the calculator answers with the model refitted on the
same patients without that finding: its own coefficients, covariance (so the
delta-method CI is that model's), optimism-corrected AUC and nomogram.  A
range of risks over the finding's plausible values would instead mix the
spread of the unknown value with sampling error and hinge on the most
extreme patient.  Surface depression is seen at endoscopy, so it is always
known; the other findings may each be unknown, alone or together.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np

from app.errors import StatisticalError
from app.model.nomogram import build_nomogram
from app.stats.bootstrap import bootstrap_optimism
from app.stats.discrimination import auc_delong
from app.stats.fit import fit_logistic
from app.stats.performance import finite

MAY_BE_UNKNOWN = ("ki67_percent", "cga_positive")
"""Findings that may not be known when the calculator is used; the others (surface depression) always are."""

Shrink = Callable[..., tuple[np.ndarray, np.ndarray]]
"""`train.shrink_uniformly`, called with keywords x, y, coef, cov, factor."""


def missing_patterns(predictors: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty set of may-be-unknown predictors whose removal leaves at least one predictor."""
    optional = [name for name in predictors if name in MAY_BE_UNKNOWN]
    patterns = []
    for size in range(1, len(optional) + 1):
        for missing in combinations(optional, size):
            if len(missing) < len(predictors):
                patterns.append(missing)
    return patterns


def fit_submodels(
    *,
    x: np.ndarray,
    y: np.ndarray,
    predictors: tuple[str, ...],
    specs: list[dict[str, Any]],
    bootstrap: int,
    seed: int,
    shrink: Shrink | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """One submodel per missing pattern, on the same patients; and warnings for patterns that cannot be fitted.

    Each is fitted by maximum likelihood (`fit_logistic`), validated by the same bootstrap as the
    full model (same B and seed), and, with `shrink`, shrunk by its own optimism-corrected slope.
    """
    submodels: list[dict[str, Any]] = []
    warnings: list[str] = []
    for missing in missing_patterns(predictors):
        kept = tuple(name for name in predictors if name not in missing)
        columns = [predictors.index(name) for name in kept]
        sub_x = x[:, columns]
        try:
            fit = fit_logistic(x=sub_x, y=y, names=kept)
        except StatisticalError as exc:
            warnings.append(f"warning: no submodel without {', '.join(missing)} ({exc}); the calculator will need it.")
            continue
        optimism = (
            bootstrap_optimism(x=sub_x, y=y, coef=fit.coef_, replicates=bootstrap, seed=seed, curve=False)
            if bootstrap
            else None
        )
        coef, cov = fit.coef_, fit.cov_
        if shrink is not None and optimism is not None:
            coef, cov = shrink(
                x=sub_x, y=y, coef=fit.coef_, cov=fit.cov_, factor=optimism.corrected["calibration_slope"]
            )
        lp = coef[0] + sum(sub_x[:, j] * coef[j + 1] for j in range(sub_x.shape[1]))
        auc = auc_delong(y=y, score=lp)
        coefficients = {name: float(value) for name, value in zip(fit.names, coef, strict=True)}
        kept_specs = [spec for spec in specs if spec["name"] in kept]
        submodels.append(
            {
                "missing": list(missing),
                "predictors": list(kept),
                "coefficients": coefficients,
                "covariance": ((cov + cov.T) / 2).tolist(),
                "performance": {
                    "n": int(y.size),
                    "events": int(y.sum()),
                    "auc": auc.auc,
                    "auc_ci95": list(auc.ci95),
                    "auc_optimism_corrected": finite(optimism.corrected["auc"]) if optimism else None,
                    "calibration_slope_optimism_corrected": finite(optimism.corrected["calibration_slope"])
                    if optimism
                    else None,
                    "bootstrap_replicates": bootstrap,
                },
                "nomogram": build_nomogram(
                    intercept=coefficients["intercept"], predictors=kept_specs, coefficients=coefficients
                ),
            }
        )
    return submodels, warnings
