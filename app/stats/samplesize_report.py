"""`rnet samplesize`: the results as JSON-ready data and as a table for the terminal.

Computed once (app.stats.samplesize, app.stats.samplesize_validation), then
rendered both ways from the same dictionary.
"""

from __future__ import annotations

from typing import Any

from app.stats.samplesize import C_TO_R2_METHOD, DevelopmentSampleSize
from app.stats.samplesize_validation import ValidationSampleSize

DEVELOPMENT_REFERENCE = (
    "Riley RD et al. Calculating the sample size required for developing a clinical prediction model. "
    "BMJ 2020;368:m441 (criteria as the R package pmsampsize 1.1.3)."
)
VALIDATION_REFERENCE = (
    "Riley RD et al. Minimum sample size for external validation of a clinical prediction model with a binary "
    "outcome. Stat Med 2021;40:4230-4251; Archer L et al. Stat Med 2021 (criteria as the R package "
    "pmvalsampsize 0.1.0)."
)


def development_data(
    result: DevelopmentSampleSize, *, delta: float, margin: float, c_statistic: float | None
) -> dict[str, Any]:
    """Inputs, the three criteria with events and EPP (as pmsampsize reports them), the minimum and what sets it."""
    rows = [
        ("shrinkage", f"expected shrinkage ≥ {result.shrinkage_target:g}", result.criterion_1),
        ("optimism", f"optimism in Nagelkerke R² ≤ {delta:g}", result.criterion_2),
        ("overall_risk", f"overall risk within ± {margin:g}", result.criterion_3),
    ]
    criteria = [
        {
            "criterion": key,
            "label": label,
            "sample_size": n,
            "events": result.events(n),
            "events_per_parameter": result.events_per_parameter(n),
        }
        for key, label, n in rows
    ]
    return {
        "kind": "development",
        "reference": DEVELOPMENT_REFERENCE,
        "inputs": {
            "parameters": result.parameters,
            "prevalence": result.prevalence,
            "r2_cox_snell": None if c_statistic is not None else result.r2_cs,
            "c_statistic": c_statistic,
            "shrinkage": result.shrinkage_target,
            "delta": delta,
            "margin": margin,
        },
        "r2_cox_snell": result.r2_cs,
        "r2_cox_snell_method": C_TO_R2_METHOD if c_statistic is not None else "given",
        "max_r2_cox_snell": result.max_r2_cs,
        "nagelkerke_r2": result.nagelkerke_r2,
        "shrinkage_criterion_2": result.shrinkage_criterion_2,
        "criteria": criteria,
        "minimum": result.minimum,
        "binding": [row["criterion"] for row in criteria if row["sample_size"] == result.minimum],
        "events": result.events(result.minimum),
        "events_per_parameter": result.events_per_parameter(result.minimum),
    }


def development_text(data: dict[str, Any]) -> str:
    inputs = data["inputs"]
    lines = [
        "Minimum sample size for developing a binary-outcome model (Riley et al., BMJ 2020)",
        f"{inputs['parameters']} predictor parameters, prevalence {inputs['prevalence']:g}",
    ]
    if inputs["c_statistic"] is not None:
        lines.append(f"Cox–Snell R² {data['r2_cox_snell']:.4f} from C-statistic {inputs['c_statistic']:g}:")
        lines.append(f"  {data['r2_cox_snell_method']}")
    else:
        lines.append(f"Cox–Snell R² {data['r2_cox_snell']:g} (given)")
    lines.append(f"max Cox–Snell R² {data['max_r2_cox_snell']:.3f}, Nagelkerke R² {data['nagelkerke_r2']:.3f}")
    lines.append("")
    lines.append(f"{'criterion':<42}{'n':>8}{'events':>10}{'EPP':>8}")
    for index, row in enumerate(data["criteria"], start=1):
        label = f"{index}. {row['label']}"
        lines.append(f"{label:<42}{row['sample_size']:>8}{row['events']:>10.1f}{row['events_per_parameter']:>8.2f}")
    binding = ", ".join(str(_position(data, key)) for key in data["binding"])
    lines.append(
        f"{'minimum (criterion ' + binding + ')':<42}{data['minimum']:>8}{data['events']:>10.1f}"
        f"{data['events_per_parameter']:>8.2f}"
    )
    return "\n".join(lines)


def _position(data: dict[str, Any], key: str) -> int:
    return 1 + [row["criterion"] for row in data["criteria"]].index(key)


def validation_data(result: ValidationSampleSize, *, sources: dict[str, str]) -> dict[str, Any]:
    """Inputs, each criterion's n, anticipated value, SE and CI width, the minimum and the binding criterion."""
    lp = result.lp
    data: dict[str, Any] = {
        "kind": "validation",
        "reference": VALIDATION_REFERENCE,
        "inputs": {
            "prevalence": result.prevalence,
            "c_statistic": result.c_statistic,
            "sources": sources,
            "linear_predictor": {
                "distribution": "normal" if lp.normal else "empirical",
                "description": lp.description,
                "mean": lp.mean,
                "sd": lp.sd,
            },
        },
        "criteria": [
            {
                "criterion": c.key,
                "label": c.label,
                "sample_size": c.sample_size,
                "events": c.sample_size * result.prevalence,
                "anticipated": c.anticipated,
                "se": c.se,
                "ci_width": c.ci_width,
            }
            for c in result.criteria
        ],
        "minimum": result.minimum,
        "binding": list(result.binding),
        "events": result.events,
        "calibration_information": {
            key: result.details[key] for key in ("information_00", "information_01", "information_11")
        },
        "assumptions": (
            "The model is assumed calibrated in the validation population (O/E 1, calibration slope 1, "
            "intercept 0), as pmvalsampsize assumes; 95% intervals use 1.96."
        ),
    }
    if "threshold" in result.details:
        data["net_benefit"] = {
            "threshold": result.details["threshold"],
            "sensitivity": result.details["sensitivity"],
            "specificity": result.details["specificity"],
            "accuracy_from": "implied by the LP distribution of a calibrated model, rounded to 2 decimals as pmvalsampsize does"
            if result.accuracy_implied
            else "given",
            "net_benefit": result.details["net_benefit"],
        }
    return data


def validation_text(data: dict[str, Any]) -> str:
    inputs = data["inputs"]
    lp = inputs["linear_predictor"]
    sources = inputs["sources"]
    lines = [
        "Minimum sample size for externally validating a binary-outcome model (Riley et al., Stat Med 2021)",
        f"prevalence {inputs['prevalence']:.4g} ({sources['prevalence']}); "
        f"C-statistic {inputs['c_statistic']:.4g} ({sources['c_statistic']})",
        f"linear predictor: {lp['distribution']}, mean {lp['mean']:.3f}, SD {lp['sd']:.3f} ({lp['description']})",
    ]
    if "net_benefit" in data:
        nb = data["net_benefit"]
        lines.append(
            f"net benefit at threshold {nb['threshold']:g}: sensitivity {nb['sensitivity']:g}, "
            f"specificity {nb['specificity']:g} ({nb['accuracy_from']})"
        )
    lines.append(data["assumptions"])
    lines.append("")
    lines.append(f"{'criterion':<42}{'n':>8}{'events':>9}{'value':>8}{'SE':>8}{'CI width':>10}")
    for row in data["criteria"]:
        lines.append(
            f"{row['label']:<42}{row['sample_size']:>8}{row['events']:>9.1f}{row['anticipated']:>8.3f}"
            f"{row['se']:>8.4f}{row['ci_width']:>10.3g}"
        )
    labels = {row["criterion"]: row["label"] for row in data["criteria"]}
    binding = ", ".join(labels[key] for key in data["binding"])
    lines.append(f"{'minimum (set by ' + binding + ')':<42}{data['minimum']:>8}{data['events']:>9.1f}")
    return "\n".join(lines)
