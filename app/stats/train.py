"""Cohort → fitted, internally validated model artifact (the `train` command).

One public function, `train_artifact`, reads as the sequence of steps the
methods section would describe: complete-case selection, maximum-likelihood
fit, apparent performance, bootstrap optimism, nomogram geometry, provenance.
"""

from __future__ import annotations

import math
import platform
from datetime import UTC, datetime
from typing import Any

import numpy as np

import app
from app.errors import UserInputError
from app.model.nomogram import build_nomogram
from app.stats.bootstrap import CURVE_REPLICATES_MAX, bootstrap_optimism
from app.stats.cohort import COLUMNS, OUTCOME, Cohort
from app.stats.fit import CoefficientRow, LogisticFit, fit_logistic
from app.stats.performance import apparent_performance
from app.stats.performance import finite as _finite

MODEL_POPULATION_MAX_DIAMETER_MM = 20.0

# Labels the calculator shows; other predictors use the data dictionary's.
PREDICTOR_LABELS = {
    "surface_depression": ("Surface depression", {"0": "No", "1": "Yes"}),
    "cga_positive": ("Chromogranin A (CgA) staining", {"0": "Negative", "1": "Positive"}),
    "ki67_percent": ("Ki-67 index", None),
}

STUDY_REFERENCE = (
    "Risk factors for non-curative endoscopic resection of rectal neuroendocrine tumours ≤20 mm "
    "(two Suzhou hospitals, 2013–2023, n = 213). Chinese Journal of Digestive Endoscopy, article NJ240221."
)


def software_versions() -> dict[str, str]:
    """Versions that can change a fitted number in its last digits."""
    import scipy
    import statsmodels

    return {
        "rnet-calculator": app.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
    }


def created_at_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _nice_ceiling(value: float) -> float:
    """Round an axis end up to 1, 2 or 5 times a power of ten, or a multiple of 5 above 10."""
    if value <= 0:
        return 1.0
    if value > 10:
        return float(math.ceil(value / 5.0) * 5)
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return float(factor * magnitude)
    return float(10 * magnitude)


def predictor_specs(names: tuple[str, ...], columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """How each predictor is offered: kind, labels, allowed, fitted and nomogram ranges."""
    specs: list[dict[str, Any]] = []
    for name in names:
        column = COLUMNS[name]
        values = columns[name]
        label, levels = PREDICTOR_LABELS.get(name, (column.label, None))
        fitted = [float(values.min()), float(values.max())]
        if column.kind == "binary":
            specs.append(
                {
                    "name": name,
                    "kind": "binary",
                    "label": label,
                    "unit": "",
                    "allowed_range": [0.0, 1.0],
                    "fitted_range": fitted,
                    "nomogram_range": [0.0, 1.0],
                    "levels": levels or {"0": "No", "1": "Yes"},
                }
            )
        else:
            lo = 0.0 if fitted[0] >= 0 else math.floor(fitted[0])
            hi = min(_nice_ceiling(fitted[1]), column.hi if column.hi is not None else math.inf)
            specs.append(
                {
                    "name": name,
                    "kind": "continuous",
                    "label": label,
                    "unit": column.unit,
                    "allowed_range": [float(column.lo or 0.0), float(column.hi if column.hi is not None else 1e9)],
                    "fitted_range": fitted,
                    "nomogram_range": [lo, float(hi)],
                    "levels": None,
                }
            )
    return specs


def check_predictor_names(names: tuple[str, ...]) -> None:
    """Only binary and numeric columns of the data dictionary can be predictors."""
    problems = []
    for name in names:
        if name == OUTCOME:
            problems.append(f"'{name}' is the outcome, not a predictor")
        elif name not in COLUMNS:
            problems.append(f"'{name}' is not a column of the data dictionary")
        elif COLUMNS[name].kind not in ("binary", "number"):
            problems.append(f"'{name}' is {COLUMNS[name].kind} data; predictors must be binary (0/1) or numeric")
    if len(set(names)) != len(names):
        problems.append("a predictor is named twice")
    if not names:
        problems.append("no predictors were given")
    if problems:
        raise UserInputError("--predictors: " + "; ".join(problems) + ".")


def artifact_body(
    *,
    model_id: str,
    title: str,
    specs: list[dict[str, Any]],
    coefficients: dict[str, float],
    covariance: np.ndarray,
    coefficient_rows_: list[dict[str, Any]],
    performance: dict[str, Any],
    curves: dict[str, Any],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The artifact's fields in one place, for train, recalibrate and from-coefficients alike."""
    return {
        "schema_version": 1,
        "model_id": model_id,
        "title": title,
        "outcome": {"name": OUTCOME, "label": "Non-curative (non-R0) endoscopic resection"},
        "predictors": specs,
        "coefficients": coefficients,
        "covariance": np.asarray(covariance, dtype=float).tolist(),
        "covariance_order": list(coefficients),
        "coefficient_table": coefficient_rows_,
        "performance": performance,
        "curves": curves,
        "nomogram": build_nomogram(intercept=coefficients["intercept"], predictors=specs, coefficients=coefficients),
        "provenance": provenance,
    }


def coefficient_table(fit: LogisticFit) -> list[dict[str, Any]]:
    """The artifact's coefficient table (β, SE, OR and its CI, z, p)."""
    return table_as_dicts(fit.table())


def table_as_dicts(rows: list[CoefficientRow]) -> list[dict[str, Any]]:
    return [
        {
            "name": row.name,
            "beta": row.beta,
            "se": row.se,
            "odds_ratio": row.odds_ratio,
            "or_ci95": list(row.or_ci95),
            "z": row.z,
            "p": row.p,
        }
        for row in rows
    ]


def train_artifact(
    *,
    cohort: Cohort,
    predictors: tuple[str, ...],
    bootstrap: int,
    seed: int,
    model_id: str,
    source: str = "fitted",
    created_at: str | None = None,
    title: str = "Risk of non-curative (non-R0) endoscopic resection of rectal NETs ≤20 mm",
    notes: str = "",
) -> tuple[dict[str, Any], list[str]]:
    """Fit and internally validate; return the artifact data (without its digest) and notices.

    Rows missing a predictor or the outcome are left out (complete-case),
    and so are tumours over 20 mm, which are outside the model's population.
    """
    check_predictor_names(predictors)
    if bootstrap < 0:
        raise UserInputError("--bootstrap must be 0 or more replicates (1000 is the default).")
    selection = cohort.complete_case([*predictors, OUTCOME], max_diameter_mm=MODEL_POPULATION_MAX_DIAMETER_MM)
    x = np.column_stack([selection.columns[name] for name in predictors])
    y = selection.columns[OUTCOME]
    fit = fit_logistic(x=x, y=y, names=predictors)
    lp = fit.linear_predictor(x)
    figures, curves = apparent_performance(y=y, lp=lp)
    # On its own data a maximum-likelihood fit with an intercept has Σy = Σp and slope 1 by its score
    # equations: written exactly, not as the ±1e-15 the recalibration fits return (noise that differs
    # between CPUs).
    figures["calibration_in_the_large"] = 0.0
    figures["calibration_intercept"] = 0.0
    figures["calibration_slope"] = 1.0

    optimism = None
    if bootstrap > 0:
        optimism = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=bootstrap, seed=seed)
        curves["calibration"]["bias_corrected"] = {
            "predicted": optimism.curve_grid.tolist(),
            "apparent": optimism.curve_apparent.tolist(),
            "corrected": [_finite(v) for v in optimism.curve_corrected],
            "replicates": optimism.curve_replicates,
        }
    corrected = optimism.corrected if optimism else {}
    performance = {
        **figures,
        "auc_optimism_corrected": _finite(corrected["auc"]) if optimism else None,
        "calibration_slope_optimism_corrected": _finite(corrected["calibration_slope"]) if optimism else None,
        "calibration_intercept_optimism_corrected": _finite(corrected["calibration_intercept"]) if optimism else None,
        "calibration_in_the_large_optimism_corrected": _finite(corrected["citl"]) if optimism else None,
        "brier_optimism_corrected": _finite(corrected["brier"]) if optimism else None,
        "optimism": {k: _finite(v) for k, v in optimism.optimism.items()} if optimism else None,
        "bootstrap_replicates": bootstrap,
        "bootstrap_replicates_used": optimism.replicates_used if optimism else 0,
        "bootstrap_seed": seed,
    }
    specs = predictor_specs(predictors, selection.columns)
    coefficients = {name: float(value) for name, value in zip(fit.names, fit.coef_, strict=True)}
    notices = cohort.notices() + [f"{cohort.source_name}: {selection.describe()}."]
    if optimism and optimism.replicates_used < bootstrap:
        notices.append(
            f"{bootstrap - optimism.replicates_used} of {bootstrap} bootstrap refits failed (a predictor constant "
            "in the resample, or separation) and were left out of the optimism averages."
        )
    artifact = artifact_body(
        model_id=model_id,
        title=title,
        specs=specs,
        coefficients=coefficients,
        covariance=fit.cov_,
        coefficient_rows_=coefficient_table(fit),
        performance=performance,
        curves=curves,
        provenance={
            "source": source,
            "created_at": created_at or created_at_now(),
            "data_sha256": cohort.source_sha256,
            "data_file": cohort.source_name,
            "software": software_versions(),
            "notes": notes,
            "reference": STUDY_REFERENCE,
            "selection": {
                "rows_in_file": selection.n_total,
                "rows_used": selection.n,
                "missing_by_column": selection.missing_by_column,
                "excluded": selection.excluded_by_rule,
            },
            "method": (
                "Maximum-likelihood logistic regression (statsmodels Logit); Wald CIs; AUC with DeLong CI; "
                f"Harrell's bootstrap optimism correction with B = {bootstrap} (seed {seed}); "
                f"bias-corrected calibration curve from the first {min(bootstrap, CURVE_REPLICATES_MAX)} usable "
                "replicates."
            ),
        },
    )
    return artifact, notices
