"""Artifacts store numbers in a canonical precision, so that a recipe gives the same bytes on any CPU."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from app.model.artifact import (
    CANONICAL_SIGNIFICANT_DIGITS,
    canonical_number,
    canonical_numbers,
    digest,
    load_artifact,
    render,
)
from tests.conftest import DEMO_ARTIFACT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # The two values OpenBLAS's Haswell and Prescott kernels gave for the demo model's intercept:
        # they differ in the 16th digit and agree to 8.
        (-2.83181157657494, -2.8318116),
        (-2.8318115765749403, -2.8318116),
        (0.1234567891, 0.12345679),  # 8 significant digits, not 8 decimals
        (123456789.0, 123456790.0),
        (4.959990698300118e-10, 4.9599907e-10),  # small p-values keep their significant digits
        (1.0, 1.0),
        (-0.0, 0.0),
    ],
)
def test_canonical_number_keeps_eight_significant_digits(value: float, expected: float) -> None:
    assert CANONICAL_SIGNIFICANT_DIGITS == 8
    assert canonical_number(value) == expected
    assert math.copysign(1.0, canonical_number(value)) == math.copysign(1.0, expected)


def test_canonical_numbers_rounds_floats_at_any_depth_and_leaves_other_values() -> None:
    data = {"a": [1.23456789012, {"b": (2.0000000049, 7)}], "flag": True, "n": 213, "text": "1.23456789012", "x": None}
    assert canonical_numbers(data) == {
        "a": [1.2345679, {"b": [2.0, 7]}],
        "flag": True,
        "n": 213,
        "text": "1.23456789012",
        "x": None,
    }
    assert canonical_numbers(data)["flag"] is True and type(canonical_numbers(data)["n"]) is int


def _floats(data: Any) -> list[float]:
    if isinstance(data, float):
        return [data]
    if isinstance(data, dict):
        return [v for value in data.values() for v in _floats(value)]
    if isinstance(data, list):
        return [v for value in data for v in _floats(value)]
    return []


def test_shipped_artifact_is_written_in_canonical_precision() -> None:
    shipped = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    floats = _floats(shipped)
    assert len(floats) > 300
    # A float with at most 8 significant digits survives a round trip through 8-digit text.
    too_long = [v for v in floats if float(f"{v:.8g}") != v]
    assert too_long == []


def test_apparent_calibration_is_exact_on_the_development_data() -> None:
    """Score equations of an ML fit with an intercept: Σy = Σp and slope 1; written as exact 0, 0 and 1."""
    performance = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))["performance"]
    assert performance["calibration_in_the_large"] == 0
    assert performance["calibration_intercept"] == 0
    assert performance["calibration_slope"] == 1


def test_an_artifact_written_at_full_precision_still_loads(tmp_path: Path) -> None:
    """Artifacts made before the canonical precision (shortest round-trip floats) keep their digests."""
    data = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    data["covariance"][0][0] = 0.2072511461246139  # a full-precision variance, as the old writer stored it
    data["sha256"] = digest(data)
    path = tmp_path / "legacy.json"
    path.write_bytes(render(data))
    assert load_artifact(path).covariance[0][0] == 0.2072511461246139
