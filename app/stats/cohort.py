"""Read and check a cohort CSV (shared/design/DATA_DICTIONARY.md).

The reader never stops at the first bad cell: a data manager fixing a file
wants every problem at once, each with the row number a spreadsheet shows
(header = row 1), the column, the value and what is allowed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import UserInputError

MISSING_SPELLINGS = frozenset({"", "na", "n/a", "nan", "."})
TRUE_SPELLINGS = frozenset({"1", "yes", "true", "y", "pos", "positive", "+"})
FALSE_SPELLINGS = frozenset({"0", "no", "false", "n", "neg", "negative", "-"})
BINARY_ALLOWED = "0/1 (or yes/no, true/false, y/n, pos/neg, positive/negative, +/-)"

# How many individual cell errors the message lists before summarising; the
# `CohortError.errors` list always holds all of them.
MAX_ERRORS_LISTED = 200

OUTCOME = "non_curative_resection"
DEFAULT_PREDICTORS = ("surface_depression", "ki67_percent", "cga_positive")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the data dictionary."""

    name: str
    kind: str  # "binary" | "number" | "category" | "text"
    label: str
    lo: float | None = None
    hi: float | None = None
    lo_exclusive: bool = False
    categories: tuple[str, ...] = ()
    unit: str = ""

    def allowed(self) -> str:
        """Human wording of the allowed values, for error messages."""
        if self.kind == "binary":
            return BINARY_ALLOWED
        if self.kind == "category":
            return "one of " + ", ".join(self.categories)
        if self.kind == "number":
            lo = "" if self.lo is None else (f">{self.lo:g}" if self.lo_exclusive else f"{self.lo:g}")
            hi = "" if self.hi is None else f"{self.hi:g}"
            if lo and hi:
                return f"a number from {lo} to {hi}"
            if lo:
                return f"a number {lo if self.lo_exclusive else '≥' + lo}"
            return "a number"
        return "any text"


def _spec(*args, **kwargs) -> ColumnSpec:
    return ColumnSpec(*args, **kwargs)


COLUMNS: dict[str, ColumnSpec] = {
    c.name: c
    for c in (
        _spec("patient_id", "text", "Patient id"),
        _spec("hospital", "text", "Hospital"),
        _spec("age_years", "number", "Age", 0, 120, unit="years"),
        _spec("sex", "category", "Sex", categories=("M", "F")),
        _spec("distance_anal_verge_cm", "number", "Distance from the anal verge", 0, 30, unit="cm"),
        # >20 mm is readable (the report counts and excludes it); the model population is <=20 mm.
        _spec("tumor_diameter_mm", "number", "Tumour diameter", 0, 200, lo_exclusive=True, unit="mm"),
        _spec("surface_depression", "binary", "Surface depression"),
        _spec("resection_method", "category", "Resection method", categories=("EMR", "ESD", "EFR", "EMR+ESD")),
        _spec("who_grade", "category", "WHO grade", categories=("G1", "G2", "G3")),
        _spec("ki67_percent", "number", "Ki-67 index", 0, 100, unit="%"),
        _spec("cga_positive", "binary", "CgA positive"),
        _spec("syn_positive", "binary", "Synaptophysin positive"),
        _spec("intraop_bleeding", "binary", "Intraoperative bleeding"),
        _spec("postop_bleeding", "binary", "Postoperative bleeding"),
        _spec("non_curative_resection", "binary", "Non-curative resection (non-R0 or LVI/PNI)"),
        _spec("procedure_time_min", "number", "Procedure time", 0, None, unit="min"),
        _spec("hospital_stay_days", "number", "Hospital stay", 0, None, unit="days"),
        _spec("cost_cny", "number", "Cost", 0, None, unit="CNY"),
        _spec("follow_up_months", "number", "Follow-up", 0, None, unit="months"),
        _spec("recurrence", "binary", "Local recurrence"),
        _spec("metastasis", "binary", "Metastasis"),
    )
}


@dataclass(frozen=True)
class CellError:
    """One bad value: `row` is the spreadsheet row number (the header is row 1)."""

    row: int
    column: str
    value: str
    allowed: str

    def __str__(self) -> str:
        return f"row {self.row}, column '{self.column}': '{self.value}' is not allowed (expected {self.allowed})"


class CohortError(UserInputError):
    """The cohort file has problems; `errors` lists every bad cell."""

    def __init__(self, message: str, errors: list[CellError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class CompleteCase:
    """The rows kept for an analysis and why the others were left out."""

    columns: dict[str, np.ndarray]
    row_numbers: np.ndarray
    n_total: int
    missing_by_column: dict[str, int]
    excluded_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.row_numbers.size)

    @property
    def n_left_out(self) -> int:
        return self.n_total - self.n

    def describe(self) -> str:
        """One sentence for logs, reports and the methods paragraph."""
        parts = [f"{v} missing {k}" for k, v in self.missing_by_column.items() if v]
        parts += [f"{v} {k}" for k, v in self.excluded_by_rule.items() if v]
        if not parts:
            return f"all {self.n_total} rows used"
        return f"{self.n} of {self.n_total} rows used; left out: " + "; ".join(parts)


@dataclass(frozen=True)
class Cohort:
    """A checked cohort: numbers and binaries as float arrays (NaN = missing), text as object arrays."""

    columns: dict[str, np.ndarray]
    row_numbers: np.ndarray
    source_name: str
    source_sha256: str
    ignored_columns: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        return int(self.row_numbers.size)

    def notices(self) -> list[str]:
        """Things the user should know that are not errors."""
        if not self.ignored_columns:
            return []
        return [f"{self.source_name}: ignored column(s) not in the data dictionary: " + ", ".join(self.ignored_columns)]

    def complete_case(
        self, names: tuple[str, ...] | list[str], *, max_diameter_mm: float | None = None
    ) -> CompleteCase:
        """Rows with every one of `names` present (complete-case analysis).

        Missing counts are per column (a row missing two columns counts in
        both), so they can add up to more than the rows left out.  With
        `max_diameter_mm`, rows whose recorded diameter exceeds it are left out
        too: they are outside the population the model is for.
        """
        missing = [n for n in names if n not in self.columns]
        if missing:
            raise CohortError(
                f"{self.source_name}: required column(s) missing: {', '.join(missing)}. "
                "Add them with the exact names of the data dictionary."
            )
        keep = np.ones(self.n_rows, dtype=bool)
        missing_by_column: dict[str, int] = {}
        for name in names:
            is_missing = _is_missing(self.columns[name])
            missing_by_column[name] = int(is_missing.sum())
            keep &= ~is_missing
        excluded: dict[str, int] = {}
        if max_diameter_mm is not None and "tumor_diameter_mm" in self.columns:
            too_big = np.nan_to_num(self.columns["tumor_diameter_mm"], nan=0.0) > max_diameter_mm
            excluded[f"tumour diameter over {max_diameter_mm:g} mm"] = int((too_big & keep).sum())
            keep &= ~too_big
        return CompleteCase(
            columns={n: self.columns[n][keep] for n in names},
            row_numbers=self.row_numbers[keep],
            n_total=self.n_rows,
            missing_by_column=missing_by_column,
            excluded_by_rule=excluded,
        )


def _is_missing(values: np.ndarray) -> np.ndarray:
    if values.dtype == object:
        return np.array([v is None for v in values], dtype=bool)
    return np.isnan(values)


def parse_binary(raw: str) -> float | None:
    """0/1 and the listed spellings (case-insensitive); None when not recognised."""
    key = raw.strip().lower()
    if key in TRUE_SPELLINGS:
        return 1.0
    if key in FALSE_SPELLINGS:
        return 0.0
    return None


def _parse_cell(spec: ColumnSpec, raw: str) -> tuple[object, bool]:
    """Return (value, ok).  Missing spellings give (None or NaN, True)."""
    text = raw.strip()
    if text.lower() in MISSING_SPELLINGS:
        return (None if spec.kind in ("category", "text") else math.nan), True
    if spec.kind == "text":
        return text, True
    if spec.kind == "category":
        for category in spec.categories:
            if text.upper() == category:
                return category, True
        return None, False
    if spec.kind == "binary":
        value = parse_binary(text)
        return (math.nan, False) if value is None else (value, True)
    try:
        number = float(text)
    except ValueError:
        return math.nan, False
    if not math.isfinite(number):
        return math.nan, False
    if spec.lo is not None and (number <= spec.lo if spec.lo_exclusive else number < spec.lo):
        return math.nan, False
    if spec.hi is not None and number > spec.hi:
        return math.nan, False
    return number, True


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_cohort(path: str | Path, *, required: tuple[str, ...] | list[str] = ()) -> Cohort:
    """Read a cohort CSV and check every cell against the data dictionary.

    Parameters
    ----------
    path
        The CSV file (UTF-8, with or without BOM, comma-separated, header row).
    required
        Columns that must be present (e.g. the predictors and the outcome).

    Raises
    ------
    CohortError
        With every bad cell listed by spreadsheet row, column and value.
    """
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CohortError(f"cohort file '{path}' does not exist. Check the path given with --data.") from None
    except IsADirectoryError:
        raise CohortError(f"'{path}' is a folder, not a cohort CSV file.") from None
    except OSError as exc:
        raise CohortError(f"cohort file '{path}' cannot be read: {exc.strerror}.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CohortError(
            f"{name} is not UTF-8 text (byte {exc.start} cannot be decoded). "
            "Save it from the spreadsheet as 'CSV UTF-8'."
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CohortError(f"{name} is not a readable CSV file ({exc}).") from None
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()  # trailing blank lines are not patients
    if not rows:
        raise CohortError(f"{name} is empty: expected a header row and one row per patient.")
    header = [h.strip() for h in rows[0]]
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        raise CohortError(
            f"{name}: the header has a single column '{header[0][:60]}…'; the file seems to use ';' or tabs. "
            "Save it as comma-separated CSV."
        )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise CohortError(f"{name}: column(s) appear more than once in the header: {', '.join(duplicates)}.")
    absent = [c for c in required if c not in header]
    if absent:
        raise CohortError(
            f"{name}: required column(s) missing: {', '.join(absent)}. "
            f"The header has: {', '.join(header) or '(nothing)'}. Use the exact names of the data dictionary."
        )
    known = [(i, COLUMNS[h]) for i, h in enumerate(header) if h in COLUMNS]
    ignored = tuple(h for h in header if h not in COLUMNS)
    body = rows[1:]
    if not body:
        raise CohortError(f"{name} has a header but no patient rows.")

    errors: list[CellError] = []
    values: dict[str, list[object]] = {spec.name: [] for _, spec in known}
    for offset, row in enumerate(body):
        row_number = offset + 2
        if len(row) != len(header) and any(cell.strip() for cell in row):
            errors.append(
                CellError(
                    row_number,
                    "(whole row)",
                    ",".join(row)[:60],
                    f"{len(header)} fields like the header, found {len(row)}",
                )
            )
        for index, spec in known:
            raw = row[index] if index < len(row) else ""
            value, ok = _parse_cell(spec, raw)
            if not ok:
                errors.append(CellError(row_number, spec.name, raw.strip(), spec.allowed()))
            values[spec.name].append(value)

    if "patient_id" in values:
        seen: dict[object, int] = {}
        for offset, pid in enumerate(values["patient_id"]):
            if pid is None:
                continue
            if pid in seen:
                errors.append(CellError(offset + 2, "patient_id", str(pid), f"a unique id (also on row {seen[pid]})"))
            else:
                seen[pid] = offset + 2

    if errors:
        raise CohortError(_summarise_errors(name, errors), errors)

    columns: dict[str, np.ndarray] = {}
    for _, spec in known:
        if spec.kind in ("category", "text"):
            columns[spec.name] = np.array(values[spec.name], dtype=object)
        else:
            columns[spec.name] = np.array(values[spec.name], dtype=float)
    return Cohort(
        columns=columns,
        row_numbers=np.arange(2, len(body) + 2),
        source_name=name,
        source_sha256=sha256_of_bytes(data),
        ignored_columns=ignored,
    )


def _summarise_errors(name: str, errors: list[CellError]) -> str:
    by_column: dict[str, int] = {}
    for error in errors:
        by_column[error.column] = by_column.get(error.column, 0) + 1
    counts = ", ".join(f"{col} {count}" for col, count in by_column.items())
    lines = [f"{name}: {len(errors)} bad value(s) ({counts}). Fix them and run again:"]
    lines += [f"  {error}" for error in errors[:MAX_ERRORS_LISTED]]
    if len(errors) > MAX_ERRORS_LISTED:
        lines.append(f"  … and {len(errors) - MAX_ERRORS_LISTED} more of the same kinds (counts per column above).")
    return "\n".join(lines)
