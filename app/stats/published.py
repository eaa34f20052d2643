"""An artifact from published or locally fitted coefficients, without patient data.

A hospital that holds a model's coefficients (from a paper, or fitted in its
own statistics package) can serve it here.  The spec is a JSON file:

    {
      "model_id": "smith-2025",
      "title": "…",                         (optional)
      "reference": "Smith et al. 2025 …",
      "notes": "…",                         (optional)
      "predictors": [
        {"name": "surface_depression", "kind": "binary"},
        {"name": "ki67_percent", "kind": "continuous", "fitted_range": [0.1, 18], "nomogram_range": [0, 20]}
      ],
      "coefficients": {"intercept": -2.5, "surface_depression": 1.3, …},
      "covariance": [[…], …]             (order: intercept, then predictors)
        or "standard_errors": {"intercept": 0.4, …},
      "performance": {"n": 213, "events": 45, "auc": 0.766, "auc_ci95": [0.696, 0.837]}   (optional)
    }

With standard errors only, the covariance is taken as diagonal; the CIs of
predictions then ignore the correlation between estimates (usually strong
between the intercept and the other coefficients), and the artifact says so.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import UserInputError
from app.model.artifact import check_model_id
from app.model.nomogram import build_nomogram
from app.stats.cohort import COLUMNS, OUTCOME
from app.stats.fit import coefficient_rows
from app.stats.train import PREDICTOR_LABELS, check_predictor_names, created_at_now, software_versions, table_as_dicts

PERFORMANCE_FIELDS = (
    "n", "events", "auc", "auc_ci95", "auc_optimism_corrected", "calibration_intercept", "calibration_slope",
    "calibration_slope_optimism_corrected", "brier", "hosmer_lemeshow", "bootstrap_replicates",
)  # fmt: skip


class SpecError(UserInputError):
    pass


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"{where} must be a finite number, got {value!r}.")
    return float(value)


def _range(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise SpecError(f"{where} must be a list of two numbers [low, high].")
    lo, hi = _number(value[0], where), _number(value[1], where)
    if not lo < hi:
        raise SpecError(f"{where}: low must be below high.")
    return [lo, hi]


def read_spec(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"coefficient spec '{path}' does not exist.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"coefficient spec '{path}' is not valid JSON: {exc}.") from None
    if not isinstance(spec, dict):
        raise SpecError(f"coefficient spec '{path}' must be a JSON object.")
    return spec


def artifact_from_spec(spec: dict[str, Any], *, created_at: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """Build artifact data (without digest) from a coefficient spec; return it with notices."""
    for key in ("model_id", "predictors", "coefficients", "reference"):
        if key not in spec:
            raise SpecError(f"the spec has no '{key}' field (see `python -m app from-coefficients --help`).")
    if not isinstance(spec["predictors"], list) or not all(isinstance(p, dict) for p in spec["predictors"]):
        raise SpecError("'predictors' must be a list of objects with 'name' and 'kind'.")
    names = tuple(str(p.get("name")) for p in spec["predictors"])
    check_predictor_names(names)
    order = ["intercept", *names]
    coefficients_in = spec["coefficients"]
    if not isinstance(coefficients_in, dict) or sorted(coefficients_in) != sorted(order):
        raise SpecError(f"'coefficients' must have exactly the keys {order}.")
    coefficients = {k: _number(coefficients_in[k], f"coefficients.{k}") for k in order}
    notices: list[str] = []
    if "covariance" in spec:
        cov = spec["covariance"]
        if not isinstance(cov, list) or len(cov) != len(order) or any(
            not isinstance(row, list) or len(row) != len(order) for row in cov
        ):
            raise SpecError(f"'covariance' must be a {len(order)}x{len(order)} matrix in the order {order}.")
        covariance = [[_number(v, "covariance") for v in row] for row in cov]
        covariance_note = "Covariance as given in the spec."
    elif "standard_errors" in spec:
        se = spec["standard_errors"]
        if not isinstance(se, dict) or sorted(se) != sorted(order):
            raise SpecError(f"'standard_errors' must have exactly the keys {order}.")
        covariance = [
            [(_number(se[a], f"standard_errors.{a}") ** 2 if a == b else 0.0) for b in order] for a in order
        ]
        covariance_note = (
            "Only standard errors were available: the covariance is taken as diagonal, so confidence intervals "
            "of predictions ignore the correlation between estimates and may be too wide or too narrow."
        )
        notices.append(covariance_note)
    else:
        raise SpecError("the spec needs 'covariance' or 'standard_errors' so that predictions get a CI.")

    predictors = []
    for entry in spec["predictors"]:
        name = entry["name"]
        column = COLUMNS[name]
        kind = entry.get("kind", "binary" if column.kind == "binary" else "continuous")
        label, levels = PREDICTOR_LABELS.get(name, (column.label, None))
        if kind == "binary":
            nomogram_range = [0.0, 1.0]
            allowed = [0.0, 1.0]
            levels = levels or {"0": "No", "1": "Yes"}
        elif kind == "continuous":
            if "nomogram_range" not in entry:
                raise SpecError(f"predictor '{name}' needs a 'nomogram_range' [low, high] for its axis.")
            nomogram_range = _range(entry["nomogram_range"], f"predictors.{name}.nomogram_range")
            allowed = [float(column.lo or 0.0), float(column.hi if column.hi is not None else 1e9)]
            levels = None
        else:
            raise SpecError(f"predictor '{name}': kind must be 'binary' or 'continuous'.")
        fitted = _range(entry["fitted_range"], f"predictors.{name}.fitted_range") if "fitted_range" in entry else None
        predictors.append(
            {
                "name": name,
                "kind": kind,
                "label": label,
                "unit": column.unit if kind == "continuous" else "",
                "allowed_range": allowed,
                "fitted_range": fitted,
                "nomogram_range": nomogram_range,
                "levels": levels,
            }
        )
    given = spec.get("performance") or {}
    if not isinstance(given, dict):
        raise SpecError("'performance' must be an object.")
    performance = {field: given.get(field) for field in PERFORMANCE_FIELDS}
    model_id = check_model_id(str(spec["model_id"]))
    artifact = {
        "schema_version": 1,
        "model_id": model_id,
        "title": str(spec.get("title", f"Published model {model_id}")),
        "outcome": {"name": OUTCOME, "label": "Non-curative (non-R0) endoscopic resection"},
        "predictors": predictors,
        "coefficients": coefficients,
        "covariance": covariance,
        "covariance_order": order,
        "coefficient_table": table_as_dicts(
            coefficient_rows(order, np.array([coefficients[k] for k in order]), np.array(covariance))
        ),
        "performance": performance,
        "curves": {},
        "nomogram": build_nomogram(intercept=coefficients["intercept"], predictors=predictors, coefficients=coefficients),
        "provenance": {
            "source": "published",
            "created_at": created_at or created_at_now(),
            "data_sha256": None,
            "software": software_versions(),
            "notes": " ".join(filter(None, [str(spec.get("notes", "")), covariance_note])),
            "reference": str(spec["reference"]),
        },
    }
    return artifact, notices
