"""The model artifact: one JSON file, verified by its SHA-256, never pickle.

The digest is over the canonical JSON of everything but the `sha256` field:
keys sorted, no insignificant white space, UTF-8, floats in Python's
shortest round-trip form, NaN and infinity forbidden (undefined figures are
null).  The file on disk is the same data indented for people to read.

Every float is written to CANONICAL_SIGNIFICANT_DIGITS before the digest is
taken.  Why: OpenBLAS picks different kernels on different CPUs (and thread
counts), which moves fitted numbers by about 1e-13 relative; written in full,
the same recipe would give other bytes and another digest on another
machine.  Eight digits are far finer than any estimate's precision, and a
1e-13 wobble crosses an 8-digit rounding boundary only about once in 10⁵
numbers.  Artifacts written before this rule (full precision) still load:
the digest is checked over the numbers as stored.
Writes are atomic: a temporary file in the same folder, flushed and fsynced,
then renamed over the target, so a reader never sees half an artifact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from app.errors import UserInputError

SCHEMA_VERSION = 1

CANONICAL_SIGNIFICANT_DIGITS = 8
"""Significant digits every float of an artifact is written with (see the module docstring)."""

CANONICAL_RELATIVE_TOLERANCE = 1e-7
"""How closely figures derived from other stored figures must agree after both were rounded."""


class ArtifactError(UserInputError):
    """The artifact cannot be used; the message says why and what to do."""


MODEL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


def check_model_id(model_id: str) -> str:
    """Model ids appear in URLs (/m/{model_id}/): lower-case letters, digits, '.', '_' and '-'."""
    import re

    if not re.fullmatch(MODEL_ID_PATTERN, model_id):
        raise UserInputError(
            f"model id '{model_id}' is not allowed: use 1–64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it becomes part of a web address)."
        )
    return model_id


def canonical_number(value: float) -> float:
    """`value` rounded to CANONICAL_SIGNIFICANT_DIGITS; −0.0 becomes 0.0; NaN and ±inf pass (JSON refuses them)."""
    if value == 0.0 or not math.isfinite(value):
        return 0.0 if value == 0.0 else float(value)
    return float(f"{value:.{CANONICAL_SIGNIFICANT_DIGITS - 1}e}")


def canonical_numbers(data: Any) -> Any:
    """A copy of `data` with every float (at any depth) in canonical precision; ints, strings and None as they are."""
    if isinstance(data, float):
        return canonical_number(data)
    if isinstance(data, dict):
        return {key: canonical_numbers(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [canonical_numbers(value) for value in data]
    return data


def canonical_json(data: dict[str, Any]) -> bytes:
    """The bytes the digest is computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def digest(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of everything except the `sha256` field."""
    return hashlib.sha256(canonical_json({k: v for k, v in data.items() if k != "sha256"})).hexdigest()


class PredictorSpec(BaseModel):
    """A predictor as the calculator offers it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["binary", "continuous"]
    label: str
    unit: str = ""
    allowed_range: tuple[float, float]
    fitted_range: tuple[float, float] | None = None
    nomogram_range: tuple[float, float]
    levels: dict[str, str] | None = None
    # Where the model applies at all: the population it was developed for (Ki-67 0–20 %, G1/G2 tumours).
    # Outside it no risk is given; None means wherever the value is allowed.
    applicable_range: tuple[float, float] | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_applicable_range(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Artifacts written before the field existed must keep their bytes and digest.
        data = handler(self)
        if data.get("applicable_range") is None:
            data.pop("applicable_range", None)
        return data


class Performance(BaseModel):
    """Apparent and optimism-corrected figures; null where the source does not give them."""

    model_config = ConfigDict(extra="allow")

    n: int | None
    events: int | None
    auc: float | None
    auc_ci95: tuple[float, float] | None
    auc_optimism_corrected: float | None
    calibration_intercept: float | None
    calibration_slope: float | None
    calibration_slope_optimism_corrected: float | None
    brier: float | None
    hosmer_lemeshow: dict[str, float | int | None] | None
    bootstrap_replicates: int | None


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: Literal["fitted", "published", "synthetic-demo"]
    created_at: str
    data_sha256: str | None
    software: dict[str, str]
    notes: str


class NomogramAxis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["binary", "continuous"]
    lo: float
    hi: float
    beta: float
    min_contribution: float
    ticks: list[dict[str, float]]


class Nomogram(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points_per_logit: float
    lp_at_zero_points: float
    max_total_points: float
    axes: list[NomogramAxis]
    total_points_ticks: list[float]
    probability_ticks: list[dict[str, float]]


class Submodel(BaseModel):
    """The model refitted on the same patients without findings that may not yet be known.

    Fletcher Mercaldo & Blume (2020), pattern submodels: an unknown finding is answered by the
    model that never used it, with its own coefficients, covariance (hence delta-method CI),
    performance and nomogram, rather than by a range over the finding's plausible values.
    """

    model_config = ConfigDict(extra="forbid")

    missing: list[str]
    predictors: list[str]
    coefficients: dict[str, float]
    covariance: list[list[float]]
    performance: dict[str, Any]
    nomogram: Nomogram


class ModelArtifact(BaseModel):
    """Schema version 1 of the artifact (shared/design/ARCHITECTURE.md)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1]
    model_id: str = Field(pattern=MODEL_ID_PATTERN)
    title: str
    outcome: dict[str, str]
    predictors: list[PredictorSpec]
    coefficients: dict[str, float]
    covariance: list[list[float]]
    covariance_order: list[str]
    coefficient_table: list[dict[str, Any]]
    performance: Performance
    curves: dict[str, Any]
    nomogram: Nomogram
    provenance: Provenance
    submodels: list[Submodel] = Field(default_factory=list)
    sha256: str

    @model_validator(mode="after")
    def _consistent(self) -> ModelArtifact:
        names = [p.name for p in self.predictors]
        expected = ["intercept", *names]
        if self.covariance_order != expected:
            raise ValueError(f"covariance_order must be {expected}")
        _check_equation(self.coefficients, self.covariance, expected, where="")
        if [a.name for a in self.nomogram.axes] != names:
            raise ValueError("nomogram axes must follow the predictors")
        if not self.nomogram.points_per_logit > 0:
            raise ValueError("nomogram.points_per_logit must be positive")
        for axis in self.nomogram.axes:
            if not axis.lo < axis.hi:
                raise ValueError(f"nomogram axis '{axis.name}' must have lo < hi")
            if abs(axis.beta - self.coefficients[axis.name]) > CANONICAL_RELATIVE_TOLERANCE * abs(axis.beta):
                raise ValueError(f"nomogram axis '{axis.name}' does not match its coefficient")
            lowest = min(axis.beta * axis.lo, axis.beta * axis.hi)
            scale = abs(axis.beta) * max(abs(axis.lo), abs(axis.hi))
            if abs(axis.min_contribution - lowest) > CANONICAL_RELATIVE_TOLERANCE * scale:
                raise ValueError(f"nomogram axis '{axis.name}' has an inconsistent lowest contribution")
            if len(axis.ticks) < 2:
                raise ValueError(f"nomogram axis '{axis.name}' needs at least two ticks")
        if self.curves and not {"roc", "calibration", "decision"} <= set(self.curves):
            raise ValueError("curves must hold roc, calibration and decision (or be empty)")
        _check_positive_definite(self.covariance, "covariance")
        _check_coefficient_table(self.coefficient_table, self.covariance_order, self.coefficients)
        _check_performance(self.performance)
        _check_ranges(self.predictors)
        if self.curves:
            _check_curves(self.curves)
        if len(self.provenance.notes) > MAX_NOTES_CHARACTERS:
            raise ValueError(f"provenance.notes is longer than {MAX_NOTES_CHARACTERS} characters")
        _check_external_validations((self.provenance.model_extra or {}).get("external_validations"))
        seen: set[frozenset[str]] = set()
        for submodel in self.submodels:
            _check_submodel(submodel, names)
            pattern = frozenset(submodel.missing)
            if pattern in seen:
                raise ValueError(f"two submodels are missing the same findings {sorted(pattern)}")
            seen.add(pattern)
        return self


MAX_ARTIFACT_BYTES = 5_000_000
"""An artifact is tens of kilobytes; anything this large is not one (and would be held in every worker)."""

MAX_NOTES_CHARACTERS = 10_000

PREDICTOR_DOMAINS = {"ki67_percent": (0.0, 100.0)}
"""Values a finding can take at all, whatever a model's ranges say."""


def _check_positive_definite(matrix: list[list[float]], where: str) -> None:
    """A covariance matrix must be symmetric positive definite: otherwise a CI collapses or explodes."""
    import numpy as np

    try:
        np.linalg.cholesky(np.array(matrix, dtype=float))
    except np.linalg.LinAlgError:
        raise ValueError(f"{where} is not positive definite (CIs would be meaningless)") from None


def _check_coefficient_table(table: list[dict[str, Any]], order: list[str], coefficients: dict[str, float]) -> None:
    names = [row.get("name") for row in table]
    if names != order:
        raise ValueError(f"coefficient_table rows must be the terms {order}, in that order")
    for row in table:
        beta = row.get("beta")
        if not isinstance(beta, int | float) or abs(beta - coefficients[row["name"]]) > CANONICAL_RELATIVE_TOLERANCE * (
            1 + abs(beta)
        ):
            raise ValueError(f"coefficient_table row '{row['name']}' does not match its coefficient")


def _unit_interval(value: Any) -> bool:
    return isinstance(value, int | float) and 0.0 <= value <= 1.0


def _check_performance(performance: Performance) -> None:
    for name in ("auc", "auc_optimism_corrected", "brier"):
        value = getattr(performance, name)
        if value is not None and not _unit_interval(value):
            raise ValueError(f"performance.{name} must lie between 0 and 1")
    if performance.auc_ci95 is not None and not all(_unit_interval(v) for v in performance.auc_ci95):
        raise ValueError("performance.auc_ci95 must lie between 0 and 1")
    extra = performance.model_extra or {}
    if "prevalence" in extra and not _unit_interval(extra["prevalence"]):
        raise ValueError("performance.prevalence must lie between 0 and 1")
    if performance.n is not None and performance.events is not None and not 0 <= performance.events <= performance.n:
        raise ValueError("performance.events must lie between 0 and n")


def _check_external_validations(records: Any) -> None:
    """provenance.external_validations, when present: [{"cohort": text, "n": patients, "auc": 0–1 or null}].

    The pages state "externally validated on …" from it, so a malformed record is refused rather than
    shown half or silently dropped.
    """
    if records is None:
        return
    if not isinstance(records, list):
        raise ValueError("provenance.external_validations must be a list")
    for i, record in enumerate(records):
        where = f"provenance.external_validations[{i}]"
        if not isinstance(record, dict) or not set(record) <= {"cohort", "n", "auc"}:
            raise ValueError(f"{where} must be an object with the keys cohort, n and (optionally) auc")
        cohort = record.get("cohort")
        if not isinstance(cohort, str) or not 0 < len(cohort.strip()) <= 200:
            raise ValueError(f"{where}.cohort must be a name of 1 to 200 characters")
        n = record.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{where}.n must be a positive whole number of patients")
        auc = record.get("auc")
        if auc is not None and (isinstance(auc, bool) or not _unit_interval(auc)):
            raise ValueError(f"{where}.auc must lie between 0 and 1 (or be null)")


def _check_ranges(predictors: list[PredictorSpec]) -> None:
    for spec in predictors:
        lo, hi = spec.allowed_range
        domain = PREDICTOR_DOMAINS.get(spec.name, (-math.inf, math.inf))
        if not (lo <= hi and domain[0] <= lo and hi <= domain[1]):
            raise ValueError(f"predictor '{spec.name}': allowed_range must be ordered and within {list(domain)}")
        if spec.fitted_range is not None:
            f_lo, f_hi = spec.fitted_range
            if not (f_lo <= f_hi and lo <= f_lo and f_hi <= hi):
                raise ValueError(f"predictor '{spec.name}': fitted_range must be ordered and within allowed_range")
        if spec.applicable_range is not None:
            a_lo, a_hi = spec.applicable_range
            if not (a_lo <= a_hi and lo <= a_lo and a_hi <= hi):
                raise ValueError(f"predictor '{spec.name}': applicable_range must be ordered and within allowed_range")
        n_lo, n_hi = spec.nomogram_range
        if not (n_lo < n_hi and domain[0] <= n_lo and n_hi <= domain[1]):
            raise ValueError(f"predictor '{spec.name}': nomogram_range must be ordered and within {list(domain)}")


def _same_length_numbers(curve: Any, keys: tuple[str, ...], where: str, *, unit: tuple[str, ...] = ()) -> None:
    if not isinstance(curve, dict) or not all(isinstance(curve.get(k), list) for k in keys):
        raise ValueError(f"curves.{where} must hold the lists {list(keys)}")
    lengths = {len(curve[k]) for k in keys}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"curves.{where}: {list(keys)} must be non-empty lists of one length")
    for key in keys:
        for value in curve[key]:
            if value is not None and not isinstance(value, int | float):
                raise ValueError(f"curves.{where}.{key} must hold numbers")
            if key in unit and value is not None and not _unit_interval(value):
                raise ValueError(f"curves.{where}.{key} must lie between 0 and 1")


def _check_curves(curves: dict[str, Any]) -> None:
    """The shapes the model card draws from; a verified artifact never makes it fail."""
    _same_length_numbers(curves["roc"], ("fpr", "tpr"), "roc", unit=("fpr", "tpr"))
    calibration = curves["calibration"]
    if not isinstance(calibration, dict):
        raise ValueError("curves.calibration must be an object")
    grouped = ("predicted", "observed", "observed_lo", "observed_hi")
    _same_length_numbers(calibration.get("grouped"), grouped, "calibration.grouped", unit=grouped)
    # Smoothed observed rates may stray just outside [0, 1] (a local linear fit), the risks may not.
    _same_length_numbers(
        calibration.get("smoothed"), ("predicted", "observed"), "calibration.smoothed", unit=("predicted",)
    )
    if "bias_corrected" in calibration:
        _same_length_numbers(calibration["bias_corrected"], ("predicted", "corrected"), "calibration.bias_corrected")
    decision = ("threshold", "net_benefit_model", "net_benefit_all", "net_benefit_none")
    _same_length_numbers(curves["decision"], decision, "decision", unit=("threshold",))


def _check_equation(
    coefficients: dict[str, float], covariance: list[list[float]], expected: list[str], *, where: str
) -> None:
    """Coefficients with exactly the expected terms, and a symmetric covariance of matching size."""
    if sorted(coefficients) != sorted(expected):
        raise ValueError(f"{where}coefficients must have exactly the keys {expected}")
    k = len(expected)
    if len(covariance) != k or any(len(row) != k for row in covariance):
        raise ValueError(f"{where}covariance must be a {k}x{k} matrix in the order {expected}")
    for i in range(k):
        if covariance[i][i] < 0:
            raise ValueError(f"{where}covariance has a negative variance")
        for j in range(i):
            if abs(covariance[i][j] - covariance[j][i]) > 1e-12 * (1 + abs(covariance[i][j])):
                raise ValueError(f"{where}covariance is not symmetric")


def _check_submodel(submodel: Submodel, names: list[str]) -> None:
    """A submodel leaves out some of the model's predictors and keeps the rest, in the model's order."""
    where = f"submodel without {', '.join(submodel.missing) or '(nothing)'}"
    if not submodel.missing or not set(submodel.missing) <= set(names):
        raise ValueError(f"{where}: 'missing' must name some of the predictors {names}")
    kept = [n for n in names if n not in submodel.missing]
    if submodel.predictors != kept or not kept:
        raise ValueError(f"{where}: 'predictors' must be {kept}")
    _check_equation(submodel.coefficients, submodel.covariance, ["intercept", *kept], where=f"{where}: ")
    _check_positive_definite(submodel.covariance, f"{where}: covariance")
    if [a.name for a in submodel.nomogram.axes] != kept:
        raise ValueError(f"{where}: nomogram axes must follow its predictors")
    for axis in submodel.nomogram.axes:
        if abs(axis.beta - submodel.coefficients[axis.name]) > CANONICAL_RELATIVE_TOLERANCE * abs(axis.beta):
            raise ValueError(f"{where}: nomogram axis '{axis.name}' does not match its coefficient")


def with_digest(data: dict[str, Any]) -> dict[str, Any]:
    """Return `data` in canonical precision with its `sha256` set, after checking it against the schema."""
    body = canonical_numbers({k: v for k, v in data.items() if k != "sha256"})
    stamped = {**body, "sha256": digest(body)}
    try:
        ModelArtifact.model_validate(stamped)
    except ValidationError as exc:  # a bug in the writer, not user input
        raise ValueError(f"refusing to write an artifact that fails its own schema: {exc}") from exc
    return stamped


def render(data: dict[str, Any]) -> bytes:
    """The file's bytes: indented, sorted keys, trailing newline (stable across runs)."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def write_atomic(path: str | Path, content: bytes, *, force: bool = False) -> None:
    """Write `content` to `path` so that readers see the old file or the new one, never a part.

    Refuses to replace an existing file unless `force`.
    """
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"'{path}' is a folder; give a file name to write to.")
    if path.exists() and not force:
        raise UserInputError(f"'{path}' already exists; choose another --out or add --force to replace it.")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UserInputError(f"the folder '{directory}' for '{path.name}' does not exist; create it first.")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UserInputError(f"cannot write in '{directory}': {exc.strerror}.") from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from a server's own user
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as exc:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise UserInputError(f"cannot write '{path}': {exc.strerror or exc}; nothing was written.") from None
        raise


def write_artifact(path: str | Path, data: dict[str, Any], *, force: bool = False) -> dict[str, Any]:
    """Stamp the digest, validate, and write atomically.  Returns the stamped data."""
    stamped = with_digest(data)
    write_atomic(path, render(stamped), force=force)
    return stamped


def load_artifact(path: str | Path) -> ModelArtifact:
    """Read, check the schema and verify the digest.

    Raises
    ------
    ArtifactError
        Missing, unreadable, not JSON, wrong schema or digest mismatch; the
        message names the file, the problem and what to do.
    """
    path = Path(path)
    try:
        if not path.exists():
            raise FileNotFoundError
        if not path.is_file():  # a folder, a device or a FIFO (reading a FIFO would block start-up)
            raise ArtifactError(f"model artifact '{path}' is not a regular file; give the path of the JSON file.")
        if path.stat().st_size > MAX_ARTIFACT_BYTES:
            raise ArtifactError(
                f"model artifact '{path}' is {path.stat().st_size:,} bytes; an artifact is far smaller "
                f"(at most {MAX_ARTIFACT_BYTES:,}). It is not a model artifact."
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"model artifact '{path}' does not exist. Check the path (or RNET_ARTIFACT).") from None
    except OSError as exc:
        raise ArtifactError(f"model artifact '{path}' cannot be read: {exc.strerror}.") from None
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ArtifactError(
            f"model artifact '{path}' is nested far deeper than an artifact is; it is not a model artifact."
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ArtifactError(
            f"model artifact '{path}' is not valid JSON ({exc}); it may be truncated or damaged. "
            "Restore it from its source or re-create it with `python -m app train`."
        ) from None
    if not isinstance(data, dict):
        raise ArtifactError(f"model artifact '{path}' is not a JSON object; it is not a model artifact.")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"model artifact '{path}' has schema_version {version!r}; this program reads schema_version "
            f"{SCHEMA_VERSION}. Re-create the artifact with this version's `python -m app train`."
        )
    recorded = data.get("sha256")
    if not isinstance(recorded, str) or recorded != digest(data):
        raise ArtifactError(
            f"model artifact '{path}' fails verification: its SHA-256 does not match its content "
            "(it was edited or damaged after it was made). Do not use it; restore the original file."
        )
    try:
        return ModelArtifact.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ArtifactError(
            f"model artifact '{path}' does not follow schema version 1 at '{where}': {first['msg']}. "
            "Re-create it with `python -m app train` or `python -m app from-coefficients`."
        ) from None


def _finite_float(text: str) -> float:
    """JSON numbers such as 1e999 overflow to infinity, which no artifact holds."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in an artifact")
