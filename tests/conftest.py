"""Shared fixtures: small cohorts written in code, the shipped artifact."""

from __future__ import annotations

import csv
import socket
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_ARTIFACT = REPO / "model_artifacts" / "rnet-demo-v1.json"
DEMO_COHORT = REPO / "model_artifacts" / "rnet-demo-cohort.csv"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30.0) -> bytes:
    """The body of `url` once a server answers it, retrying until `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def simulated_xy(n: int, seed: int, *, beta=(-1.5, 1.2, 0.25, 0.7)) -> tuple[np.ndarray, np.ndarray]:
    """Three predictors shaped like the study's (binary, Ki-67-like, binary) and a logistic outcome."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.random(n) < 0.25, np.round(rng.lognormal(0.4, 0.8, n), 1), rng.random(n) < 0.6]).astype(
        float
    )
    lp = beta[0] + x @ np.asarray(beta[1:])
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    return x, y


@pytest.fixture
def small_cohort_csv(tmp_path: Path) -> Path:
    x, y = simulated_xy(120, 7)
    rows = [
        [f"P{i}", int(a), b, int(c), int(o)]
        for i, (a, b, c, o) in enumerate(zip(x[:, 0], x[:, 1], x[:, 2], y, strict=True))
    ]
    return write_csv(
        tmp_path / "cohort.csv",
        ["patient_id", "surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"],
        rows,
    )
