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
        {"name": "ki67_percent", "kind": "continuous", "fitted_range": [0.1, 18], "nomogram_range": [0, 20],
         "applicable_range": [0, 20]}   (optional: where the model applies; outside it no risk is given)
      ],
      "coefficients": {"intercept": -2.5, "surface_depression": 1.3, …},
      "covariance": [[…], …]             (order: intercept, then predictors)
        or "standard_errors": {"intercept": 0.4, …},
      "performance": {"n": 213, "events": 45, "auc": 0.766, "auc_ci95": [0.696, 0.837]},  (optional)
      "submodels": [                       (optional: answers when findings are not yet known)
        {"missing": ["ki67_percent"], "coefficients": {"intercept": …, "surface_depression": …},
         "covariance": [[…]] or "standard_errors": {…}, "performance": {"auc": …}}
      ]
    }

Without a fitted range, values beyond a predictor's nomogram axis are flagged
as extrapolation (the authors' axis is the best description of their data).

Without a submodel for a pattern of unknown findings, the calculator asks for
those findings (HTTP 422) rather than guessing them.

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
from app.stats.cohort import COLUMNS
from app.stats.fit import coefficient_rows
from app.stats.train import (
    PREDICTOR_LABELS,
    artifact_body,
    check_predictor_names,
    created_at_now,
    software_versions,
    table_as_dicts,
)

PERFORMANCE_FIELDS = (
    "n", "events", "auc", "auc_ci95", "auc_optimism_corrected", "calibration_intercept", "calibration_slope",
    "calibration_slope_optimism_corrected", "brier", "hosmer_lemeshow", "bootstrap_replicates",
)  # fmt: skip


class SpecError(UserInputError):
    pass


# Larger coefficients or variances are typing errors (or units mixed up), not models.
MAX_ABS_VALUE = 1e6


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where} must be a number, got {value!r}.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
        raise SpecError(f"{where} must be a finite number of magnitude below {MAX_ABS_VALUE:g}, got {value!r}.")
    return number


def _range(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise SpecError(f"{where} must be a list of two numbers [low, high].")
    lo, hi = _number(value[0], where), _number(value[1], where)
    if not lo < hi:
        raise SpecError(f"{where}: low must be below high.")
    return [lo, hi]


def _check_performance(performance: dict[str, Any]) -> None:
    """Published figures are shown on the model card: check their types and ranges."""
    for field in ("n", "events", "bootstrap_replicates"):
        value = performance[field]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise SpecError(f"performance.{field} must be a whole number ≥ 0, got {value!r}.")
    for field in ("auc", "auc_optimism_corrected", "brier"):
        value = performance[field]
        if value is not None and not 0 <= _number(value, f"performance.{field}") <= 1:
            raise SpecError(f"performance.{field} must be between 0 and 1, got {value!r}.")
    for field in ("calibration_intercept", "calibration_slope", "calibration_slope_optimism_corrected"):
        if performance[field] is not None:
            _number(performance[field], f"performance.{field}")
    ci = performance["auc_ci95"]
    if ci is not None:
        if not isinstance(ci, list) or len(ci) != 2:
            raise SpecError("performance.auc_ci95 must be [low, high].")
        _range(ci, "performance.auc_ci95")
    if performance["hosmer_lemeshow"] is not None:
        raise SpecError(
            "performance.hosmer_lemeshow is not taken from a spec (it depends on the grouping of patient data)."
        )


def read_spec(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"coefficient spec '{path}' does not exist.") from None
    except OSError as exc:
        raise SpecError(f"coefficient spec '{path}' cannot be read: {exc.strerror}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"coefficient spec '{path}' is not valid JSON: {exc}.") from None
    if not isinstance(spec, dict):
        raise SpecError(f"coefficient spec '{path}' must be a JSON object.")
    return spec


def _coefficients_and_covariance(
    part: dict[str, Any], order: list[str], *, where: str
) -> tuple[dict[str, float], list[list[float]], str]:
    """Coefficients in `order` and their covariance (given, or diagonal from standard errors), with a note."""
    prefix = f"{where}: " if where else ""
    coefficients_in = part.get("coefficients")
    if not isinstance(coefficients_in, dict) or sorted(coefficients_in) != sorted(order):
        raise SpecError(f"{prefix}'coefficients' must have exactly the keys {order}.")
    coefficients = {k: _number(coefficients_in[k], f"coefficients.{k}") for k in order}
    if "covariance" in part:
        cov = part["covariance"]
        if (
            not isinstance(cov, list)
            or len(cov) != len(order)
            or any(not isinstance(row, list) or len(row) != len(order) for row in cov)
        ):
            raise SpecError(f"{prefix}'covariance' must be a {len(order)}x{len(order)} matrix in the order {order}.")
        covariance = [[_number(v, "covariance") for v in row] for row in cov]
        matrix = np.array(covariance)
        if not np.allclose(matrix, matrix.T, rtol=1e-9, atol=1e-12):
            raise SpecError(f"{prefix}'covariance' must be symmetric.")
        if np.min(np.linalg.eigvalsh(matrix)) <= 0:
            raise SpecError(
                f"{prefix}'covariance' must be positive definite (check the order: intercept, then predictors)."
            )
        return coefficients, covariance, "Covariance as given in the spec."
    if "standard_errors" in part:
        se = part["standard_errors"]
        if not isinstance(se, dict) or sorted(se) != sorted(order):
            raise SpecError(f"{prefix}'standard_errors' must have exactly the keys {order}.")
        errors = {a: _number(se[a], f"standard_errors.{a}") for a in order}
        if min(errors.values()) <= 0:
            raise SpecError(f"{prefix}every standard error must be positive.")
        covariance = [[(errors[a] ** 2 if a == b else 0.0) for b in order] for a in order]
        return (
            coefficients,
            covariance,
            "Only standard errors were available: the covariance is taken as diagonal, so confidence intervals "
            "of predictions ignore the correlation between estimates and may be too wide or too narrow.",
        )
    raise SpecError(f"{prefix}the spec needs 'covariance' or 'standard_errors' so that predictions get a CI.")


def _submodels(spec: dict[str, Any], names: tuple[str, ...], predictors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Published pattern submodels: the model refitted without findings that may be unknown."""
    given = spec.get("submodels", [])
    if not isinstance(given, list):
        raise SpecError("'submodels' must be a list of objects with 'missing', 'coefficients' and a covariance.")
    submodels = []
    for index, entry in enumerate(given):
        where = f"submodels[{index}]"
        missing = entry.get("missing") if isinstance(entry, dict) else None
        if (
            not isinstance(missing, list)
            or not missing
            or not set(missing) <= set(names)
            or len(set(missing)) < len(missing)
        ):
            raise SpecError(f"{where}: 'missing' must list some of the predictors {list(names)}, each once.")
        kept = [n for n in names if n not in missing]
        if not kept:
            raise SpecError(f"{where}: a submodel must keep at least one predictor.")
        order = ["intercept", *kept]
        coefficients, covariance, _ = _coefficients_and_covariance(entry, order, where=where)
        performance = entry.get("performance") or {}
        if not isinstance(performance, dict):
            raise SpecError(f"{where}: 'performance' must be an object.")
        submodels.append(
            {
                "missing": [n for n in names if n in missing],
                "predictors": kept,
                "coefficients": coefficients,
                "covariance": covariance,
                "performance": {k: performance.get(k) for k in ("n", "events", "auc", "auc_ci95")},
                "nomogram": build_nomogram(
                    intercept=coefficients["intercept"],
                    predictors=[p for p in predictors if p["name"] in kept],
                    coefficients=coefficients,
                ),
            }
        )
    return submodels


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
    coefficients, covariance, covariance_note = _coefficients_and_covariance(spec, order, where="")
    if all(coefficients[k] == 0 for k in names):
        raise SpecError("every predictor's coefficient is zero: such a model predicts one risk for everyone.")
    notices: list[str] = [covariance_note] if covariance_note.startswith("Only standard errors") else []

    predictors = []
    for entry in spec["predictors"]:
        name = entry["name"]
        column = COLUMNS[name]
        expected_kind = "binary" if column.kind == "binary" else "continuous"
        kind = entry.get("kind", expected_kind)
        if kind != expected_kind:
            raise SpecError(f"predictor '{name}' is {expected_kind} in the data dictionary, not '{kind}'.")
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
        applicable = None
        if "applicable_range" in entry:
            where = f"predictors.{name}.applicable_range"
            if kind != "continuous":
                raise SpecError(f"{where}: only a continuous predictor has an applicable range.")
            applicable = _range(entry["applicable_range"], where)
            if not (allowed[0] <= applicable[0] and applicable[1] <= allowed[1]):
                raise SpecError(
                    f"{where} must lie within the values {name} can take ({allowed[0]:g} to {allowed[1]:g})."
                )
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
                **({"applicable_range": applicable} if applicable is not None else {}),
            }
        )
    given = spec.get("performance") or {}
    if not isinstance(given, dict):
        raise SpecError("'performance' must be an object.")
    performance = {field: given.get(field) for field in PERFORMANCE_FIELDS}
    _check_performance(performance)
    model_id = check_model_id(str(spec["model_id"]))
    artifact = artifact_body(
        model_id=model_id,
        title=str(spec.get("title", f"Published model {model_id}")),
        specs=predictors,
        coefficients=coefficients,
        covariance=np.array(covariance),
        coefficient_rows_=table_as_dicts(
            coefficient_rows(order, np.array([coefficients[k] for k in order]), np.array(covariance))
        ),
        performance=performance,
        curves={},
        submodels=_submodels(spec, names, predictors),
        provenance={
            "source": "published",
            "created_at": created_at or created_at_now(),
            "data_sha256": None,
            "software": software_versions(),
            "notes": " ".join(filter(None, [str(spec.get("notes", "")), covariance_note])),
            "reference": str(spec["reference"]),
        },
    )
    return artifact, notices
