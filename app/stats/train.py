"""Cohort → fitted, internally validated model artifact (the `train` command).

One public function, `train_artifact`, reads as the sequence of steps the
methods section would describe: complete-case selection, maximum-likelihood
fit, apparent performance, bootstrap optimism, nomogram geometry, provenance.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

import app
from app.errors import StatisticalError, UserInputError
from app.model.nomogram import build_nomogram
from app.stats.batch_logistic import expit, fit_offset_intercept_batch
from app.stats.bootstrap import bootstrap_optimism
from app.stats.cohort import COLUMNS, OUTCOME, Cohort
from app.stats.diagnostics import influence_cutoffs, influential_patients, ki67_linearity
from app.stats.fit import CoefficientRow, LogisticFit, coefficient_rows, fit_logistic
from app.stats.performance import apparent_performance
from app.stats.performance import finite as _finite
from app.stats.samplesize import cox_snell_r2, development_sample_size
from app.stats.submodels import fit_submodels

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


def predictor_specs(
    names: tuple[str, ...],
    columns: dict[str, np.ndarray],
    applicable: Mapping[str, tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """How each predictor is offered: kind, labels, allowed, fitted, nomogram and applicable ranges.

    `applicable` gives, for continuous predictors, the range where the model applies (the
    population it is meant for, e.g. Ki-67 0–20 % for G1/G2 tumours); outside it no risk is shown.
    """
    applicable = dict(applicable or {})
    for name in applicable:
        if name not in names or COLUMNS[name].kind == "binary":
            raise UserInputError(
                f"--applicable {name}=…: '{name}' is not a continuous predictor of this model "
                f"(its predictors are {', '.join(names)})."
            )
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
                    **_applicable_range(name, applicable.get(name)),
                }
            )
    return specs


def _applicable_range(name: str, bounds: tuple[float, float] | None) -> dict[str, list[float]]:
    if bounds is None:
        return {}
    column = COLUMNS[name]
    low, high = float(bounds[0]), float(bounds[1])
    floor = column.lo if column.lo is not None else -math.inf
    ceiling = column.hi if column.hi is not None else math.inf
    if not (math.isfinite(low) and math.isfinite(high) and floor <= low <= high <= ceiling):
        raise UserInputError(
            f"--applicable {name}={low:g}:{high:g}: give LOW:HIGH with LOW ≤ HIGH, within the values "
            f"{name} can take ({floor:g} to {ceiling:g})."
        )
    return {"applicable_range": [low, high]}


def _outside_applicability_notices(specs: list[dict[str, Any]], columns: dict[str, np.ndarray]) -> list[str]:
    """Patients the model was fitted on but will not answer for: worth knowing before shipping it."""
    notices = []
    for spec in specs:
        if "applicable_range" in spec:
            low, high = spec["applicable_range"]
            values = columns[spec["name"]]
            outside = int(np.sum((values < low) | (values > high)))
            if outside:
                notices.append(
                    f"warning: {outside} patient(s) in the fitting data have {spec['name']} outside the applicable "
                    f"range {low:g}–{high:g}; the model was fitted on them but will give no risk for such values."
                )
    return notices


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
    submodels: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The artifact's fields in one place, for train, recalibrate and from-coefficients alike."""
    return {
        "schema_version": 1,
        "model_id": model_id,
        "title": title,
        "outcome": {"name": OUTCOME, "label": "Non-curative endoscopic resection (non-R0 or LVI/PNI)"},
        "predictors": specs,
        "coefficients": coefficients,
        "covariance": np.asarray(covariance, dtype=float).tolist(),
        "covariance_order": list(coefficients),
        "coefficient_table": coefficient_rows_,
        "performance": performance,
        "curves": curves,
        "nomogram": build_nomogram(intercept=coefficients["intercept"], predictors=specs, coefficients=coefficients),
        "provenance": provenance,
        "submodels": submodels or [],
    }


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


RECOMMENDED_EVENTS_PER_PARAMETER = 10
"""The old rule of thumb, reported beside Riley's criteria, which supersede it (Riley et al., BMJ 2020)."""

OVERFITTING_SLOPE = 0.9
"""An optimism-corrected calibration slope below this means predictions are too extreme for new patients
(the target shrinkage of Riley's criterion 1)."""


def information_summary(fit: LogisticFit) -> dict[str, Any]:
    """Events per parameter and Riley's criteria 1–3 for this fit's prevalence and apparent R²_CS.

    R²_CS = 1 − exp(−LR/n) with LR = 2(ln L − ln L_null), ln L_null = n(φ ln φ + (1 − φ) ln(1 − φ)).
    The apparent R²_CS is what Riley et al. suggest when the model is already fitted; it is itself
    optimistic, so the criteria it gives are if anything too lenient.
    """
    n, events = fit.n, fit.events
    prevalence = events / n
    parameters = len(fit.predictors)
    null_loglik = n * (prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence))
    r2 = cox_snell_r2(likelihood_ratio=2.0 * (fit.loglik_ - null_loglik), n=n)
    summary: dict[str, Any] = {
        "parameters": parameters,
        "events_per_parameter": events / parameters,
        "r2_cox_snell": r2,
        "riley": None,
    }
    if r2 > 0:
        criteria = development_sample_size(parameters=parameters, prevalence=prevalence, r2_cs=r2)
        summary["riley"] = {
            "criterion_1": criteria.criterion_1,
            "criterion_2": criteria.criterion_2,
            "criterion_3": criteria.criterion_3,
            "minimum": criteria.minimum,
            "max_r2_cox_snell": criteria.max_r2_cs,
            "met": n >= criteria.minimum,
        }
    return summary


def information_notices(summary: dict[str, Any], *, n: int, corrected_slope: float | None) -> list[str]:
    """Warnings a developer must read before using the model: too little information, overfitting."""
    notices = []
    epp = summary["events_per_parameter"]
    if epp < RECOMMENDED_EVENTS_PER_PARAMETER:
        notices.append(
            f"warning: only {epp:.1f} events per predictor parameter (fewer than "
            f"{RECOMMENDED_EVENTS_PER_PARAMETER}): the coefficients will be overfitted."
        )
    riley = summary["riley"]
    if riley is not None and not riley["met"]:
        notices.append(
            f"warning: {n} patients are fewer than the {riley['minimum']} that Riley et al.'s criteria ask for "
            f"(shrinkage ≥ 0.9: {riley['criterion_1']}; small optimism in R²: {riley['criterion_2']}; precise "
            f"overall risk: {riley['criterion_3']}; with R²_CS {summary['r2_cox_snell']:.3f} and "
            f"{summary['parameters']} parameters)."
        )
    if corrected_slope is not None and corrected_slope < OVERFITTING_SLOPE:
        notices.append(
            f"warning: the optimism-corrected calibration slope is {corrected_slope:.2f} (below "
            f"{OVERFITTING_SLOPE}): predictions will be too extreme for new patients. Consider "
            "--shrinkage bootstrap, or more patients."
        )
    return notices


SHRINKAGE_METHOD = (
    " Uniform shrinkage (Steyerberg 2019, ch. 13): every coefficient but the intercept multiplied by the "
    "optimism-corrected calibration slope {factor:.4f}, the intercept re-estimated with the shrunk linear "
    "predictor as an offset; covariance by the delta method (slopes factor^2·V; intercept 1/Σp(1-p) plus the "
    "slopes' variance carried through the re-estimation). The optimism-corrected indices are those of the "
    "maximum-likelihood model; the apparent figures are the shrunk model's."
)


def shrink_uniformly(
    *, x: np.ndarray, y: np.ndarray, coef: np.ndarray, cov: np.ndarray, factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients βⱼ·s with the intercept re-estimated, and their covariance.

    The intercept a solves Σ(yᵢ − expit(a + s·xᵢᵀβ)) = 0.  Its dependence on β, by implicit
    differentiation, is g = ∂a/∂β = −s·Σwᵢxᵢ / Σwᵢ (wᵢ = pᵢ(1 − pᵢ)); so Var(a) ≈ 1/Σw + g V g',
    Cov(a, sβ) = s·g V, Var(sβ) = s²V, with V the slopes' block of the fit's covariance.
    """
    if not (math.isfinite(factor) and factor > 0):
        raise UserInputError(f"--shrinkage bootstrap needs a positive corrected slope; the bootstrap gave {factor}.")
    offset = factor * (x @ coef[1:])
    intercept = float(fit_offset_intercept_batch(lp=offset[:, None], events=y)[0])
    p = expit(intercept + offset)
    w = p * (1 - p)
    gradient = -factor * (w @ x) / w.sum()
    slopes = cov[1:, 1:]
    shrunk = np.empty_like(cov)
    shrunk[0, 0] = 1.0 / w.sum() + gradient @ slopes @ gradient
    shrunk[0, 1:] = shrunk[1:, 0] = factor * (gradient @ slopes)
    shrunk[1:, 1:] = factor**2 * slopes
    return np.concatenate([[intercept], factor * coef[1:]]), shrunk


def model_diagnostics(
    *, x: np.ndarray, y: np.ndarray, fit: LogisticFit, predictors: tuple[str, ...], rows: np.ndarray
) -> tuple[dict[str, Any] | None, dict[str, Any], list[str]]:
    """Ki-67's form (LR test of a 3-knot restricted cubic spline against linear) and influential patients.

    The model stays linear unless a user asks otherwise; these say whether that is defensible and which
    patients drive the estimates.  The artifact keeps spreadsheet row numbers and influence statistics
    only, never a patient's findings (it is shared with the model); the command's output names the rows.
    """
    notes: list[str] = []
    linearity: dict[str, Any] | None = None
    if "ki67_percent" in predictors:
        try:
            test = ki67_linearity(x=x, y=y, names=predictors)
        except StatisticalError as exc:
            linearity = {"error": str(exc)}
        else:
            linearity = {k: test[k] for k in ("knots", "df", "lr_chi2", "p")}
            notes.append(
                f"Ki-67 linearity: restricted cubic spline (3 knots at {', '.join(f'{k:g}' for k in test['knots'])} %) "
                f"against linear, LR χ² {test['lr_chi2']:.2f}, df {test['df']}, p = {test['p']:.3f}"
                + (" (evidence of non-linearity: consider modelling Ki-67 flexibly)." if test["p"] < 0.05 else ".")
            )
    flagged = influential_patients(x=x, y=y, coef=fit.coef_, names=predictors, rows=rows, max_patients=None)
    listed = flagged[:10]
    influence = {
        "rule": "Cook's distance > 4/n or any |dfbetas| > 2/sqrt(n) (Belsley, Kuh & Welsch)",
        "cutoffs": influence_cutoffs(n=int(y.size)),
        "flagged": len(flagged),
        "most_influential": [
            {k: patient[k] for k in ("row", "cooks_distance", "max_abs_dfbetas", "max_abs_dfbetas_term", "flagged_by")}
            for patient in listed
        ],
    }
    if listed:
        notes.append(
            f"influential patients: {len(flagged)} flagged; most influential spreadsheet rows "
            + ", ".join(f"{p['row']} (Cook's D {p['cooks_distance']:.3f})" for p in listed[:5])
            + ". Check their data."
        )
    return linearity, influence, notes


def train_artifact(
    *,
    cohort: Cohort,
    predictors: tuple[str, ...],
    bootstrap: int,
    seed: int,
    model_id: str,
    source: str = "fitted",
    created_at: str | None = None,
    title: str = "Risk of non-curative endoscopic resection (non-R0 or LVI/PNI) of rectal NETs ≤20 mm",
    notes: str = "",
    shrinkage: str = "none",
    applicable: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Fit and internally validate; return the artifact data (without its digest) and notices.

    Rows missing a predictor or the outcome are left out (complete-case),
    and so are tumours over 20 mm, which are outside the model's population.
    """
    check_predictor_names(predictors)
    if bootstrap < 0:
        raise UserInputError("--bootstrap must be 0 or more replicates (1000 is the default).")
    if shrinkage not in ("none", "bootstrap"):
        raise UserInputError(f"--shrinkage must be 'none' or 'bootstrap' (got '{shrinkage}').")
    if shrinkage == "bootstrap" and bootstrap == 0:
        raise UserInputError(
            "--shrinkage bootstrap needs the bootstrap's corrected slope: use --bootstrap 200 or more."
        )
    selection = cohort.complete_case([*predictors, OUTCOME], max_diameter_mm=MODEL_POPULATION_MAX_DIAMETER_MM)
    x = np.column_stack([selection.columns[name] for name in predictors])
    y = selection.columns[OUTCOME]
    fit = fit_logistic(x=x, y=y, names=predictors)
    optimism = bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=bootstrap, seed=seed) if bootstrap else None
    corrected = optimism.corrected if optimism else {}
    coef, cov = fit.coef_, fit.cov_
    if shrinkage == "bootstrap":
        assert optimism is not None
        coef, cov = shrink_uniformly(x=x, y=y, coef=fit.coef_, cov=fit.cov_, factor=corrected["calibration_slope"])
    lp = coef[0] + sum(x[:, j] * coef[j + 1] for j in range(x.shape[1]))
    figures, curves = apparent_performance(y=y, lp=lp)
    # The intercept's score equation makes Σy = Σp, so calibration-in-the-large is exactly 0 on the
    # development data; for the maximum-likelihood fit the slope's makes the calibration intercept 0 and
    # slope 1 too.  Written exactly, not as the ±1e-15 the recalibration fits return (noise that differs
    # between CPUs).
    figures["calibration_in_the_large"] = 0.0
    if shrinkage == "none":
        figures["calibration_intercept"] = 0.0
        figures["calibration_slope"] = 1.0
    if optimism is not None and shrinkage == "none":
        # The curve's optimism is that of the maximum-likelihood model; it does not describe a shrunk one.
        curves["calibration"]["bias_corrected"] = {
            "predicted": optimism.curve_grid.tolist(),
            "apparent": optimism.curve_apparent.tolist(),
            "corrected": [_finite(v) for v in optimism.curve_corrected],
            "replicates": optimism.curve_replicates.tolist(),
        }
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
    information = information_summary(fit)
    performance["information"] = information
    performance["ki67_linearity"], performance["influence"], diagnostic_notes = model_diagnostics(
        x=x, y=y, fit=fit, predictors=predictors, rows=selection.row_numbers
    )
    specs = predictor_specs(predictors, selection.columns, applicable)
    coefficients = {name: float(value) for name, value in zip(fit.names, coef, strict=True)}
    notices = cohort.notices() + [f"{cohort.source_name}: {selection.describe()}."]
    notices += _outside_applicability_notices(specs, selection.columns)
    notices += information_notices(
        information, n=fit.n, corrected_slope=performance["calibration_slope_optimism_corrected"]
    )
    if optimism and optimism.replicates_used < bootstrap:
        notices.append(
            f"{bootstrap - optimism.replicates_used} of {bootstrap} bootstrap refits failed (a predictor constant "
            "in the resample) and were left out of the optimism averages, as rms::validate does."
        )
    submodels, submodel_warnings = fit_submodels(
        x=x,
        y=y,
        predictors=predictors,
        specs=specs,
        bootstrap=bootstrap,
        seed=seed,
        shrink=shrink_uniformly if shrinkage == "bootstrap" else None,
    )
    notices += submodel_warnings + diagnostic_notes
    artifact = artifact_body(
        model_id=model_id,
        submodels=submodels,
        title=title,
        specs=specs,
        coefficients=coefficients,
        covariance=cov,
        coefficient_rows_=table_as_dicts(coefficient_rows(fit.names, coef, cov)),
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
                f"Harrell's bootstrap optimism correction with B = {bootstrap} (seed {seed}), as rms::validate: "
                "each replicate refitted by lrm.fit's Newton-Raphson (rms 6.5-0: deviance change <= 0.025, at most "
                "11 steps, linear predictor clamped to +/-30), so that separated resamples count with large finite "
                "coefficients; replicates lrm.fit flags as failed (singular information) are left out. "
                "Bias-corrected calibration curve as rms::calibrate: lowess (iter = 0) at 50 risks from the 5th to "
                "the (n-4)th smallest prediction, each point averaged over the replicates that cover it. "
                "Pattern submodels (Fletcher Mercaldo & Blume 2020) for findings that may be unknown (Ki-67, CgA, "
                "both): refitted on the same patients without them, validated by the same bootstrap."
                + (SHRINKAGE_METHOD.format(factor=corrected["calibration_slope"]) if shrinkage == "bootstrap" else "")
            ),
            "shrinkage": {"method": shrinkage, "factor": corrected["calibration_slope"]}
            if shrinkage == "bootstrap"
            else {"method": "none"},
        },
    )
    return artifact, notices
