"""A synthetic demonstration cohort that looks like the published one.

The study's coefficients are not published, so the shipped model is fitted
on simulated patients.  Marginals follow the abstract's summary figures
(DATA_DICTIONARY.md); the true outcome model uses literature-plausible
effects, stated here so that nobody mistakes them for findings:

- surface depression: OR 4.0 (the only independent factor for R0 in a Korean
  four-centre series of 10–20 mm tumours; depression in 41.9 % there);
- Ki-67: OR 1.30 per percentage point (R1 11.2 % in G1 vs 23.2 % in G2,
  Li et al., Ther Clin Risk Manag 2021);
- CgA positive: OR 2.2 (assumed, direction from the abstract);
- intercept set for a non-R0 rate near 18 % (R1 12.6 % overall in Li et
  al.; R0 76.2 % among 10–20 mm tumours in the Korean series).

None of this is clinical evidence: it exists to exercise the software.
"""

from __future__ import annotations

import csv
import io

import numpy as np

TRUE_EFFECTS = {
    "intercept": -2.75,
    "surface_depression": float(np.log(4.0)),
    "ki67_percent": float(np.log(1.30)),
    "cga_positive": float(np.log(2.2)),
}

COLUMNS = (
    "patient_id", "hospital", "age_years", "sex", "distance_anal_verge_cm", "tumor_diameter_mm",
    "surface_depression", "resection_method", "who_grade", "ki67_percent", "cga_positive", "syn_positive",
    "intraop_bleeding", "postop_bleeding", "non_curative_resection", "procedure_time_min",
    "hospital_stay_days", "cost_cny", "follow_up_months", "recurrence", "metastasis",
)  # fmt: skip

# Published method counts (EMR 25, ESD 179, EFR 5, EMR then ESD 2; they total 211, not 213).
METHODS = ("EMR", "ESD", "EFR", "EMR+ESD")
METHOD_WEIGHTS = np.array([25, 179, 5, 2]) / 211


def simulate_cohort(*, n: int = 213, seed: int = 20240221) -> list[dict[str, object]]:
    """Simulate `n` patients; the same seed gives the same rows on any machine with the same numpy."""
    rng = np.random.default_rng(seed)
    small = rng.random(n) < 0.624  # <10 mm: 133 of 213
    diameter = np.where(
        small,
        rng.uniform(2.2, 9.9, n),
        np.minimum(10.0 + rng.gamma(1.0, 2.0, n), 20.0),
    ).round(1)
    depression = (rng.random(n) < np.where(small, 0.08, 0.32)).astype(int)
    # Lognormal Ki-67 with mean 2.37 and SD 2.82, truncated to the G1–G2 range seen (no G3).
    sigma = float(np.sqrt(np.log1p((2.82 / 2.37) ** 2)))
    mu = float(np.log(2.37) - sigma**2 / 2)
    ki67 = np.clip(rng.lognormal(mu, sigma, n), 0.1, 20.0).round(1)
    cga = (rng.random(n) < 0.648).astype(int)
    lp = (
        TRUE_EFFECTS["intercept"]
        + TRUE_EFFECTS["surface_depression"] * depression
        + TRUE_EFFECTS["ki67_percent"] * ki67
        + TRUE_EFFECTS["cga_positive"] * cga
    )
    non_curative = (rng.random(n) < 1.0 / (1.0 + np.exp(-lp))).astype(int)
    method = rng.choice(len(METHODS), size=n, p=METHOD_WEIGHTS)
    esd_like = np.isin(method, (1, 3))
    procedure = np.round(rng.lognormal(np.where(esd_like, 3.3, 2.8), 0.4, n), 0)
    rows: list[dict[str, object]] = []
    for i in range(n):
        rows.append(
            {
                "patient_id": f"SIM-{i + 1:04d}",
                "hospital": "Hospital A" if rng.random() < 0.6 else "Hospital B",
                "age_years": int(np.clip(round(rng.normal(50.53, 11.42)), 18, 90)),
                "sex": "M" if rng.random() < 0.479 else "F",
                "distance_anal_verge_cm": float(np.clip(round(rng.normal(7.11, 2.79), 1), 1.0, 20.0)),
                "tumor_diameter_mm": float(diameter[i]),
                "surface_depression": int(depression[i]),
                "resection_method": METHODS[method[i]],
                "who_grade": "G1" if ki67[i] < 3 else "G2",
                "ki67_percent": float(ki67[i]),
                "cga_positive": int(cga[i]),
                "syn_positive": int(rng.random() < 0.972),
                "intraop_bleeding": int(rng.random() < 0.08),
                "postop_bleeding": int(rng.random() < 0.03),
                "non_curative_resection": int(non_curative[i]),
                "procedure_time_min": float(procedure[i]),
                "hospital_stay_days": int(np.clip(round(rng.gamma(4.0, 1.0)), 1, 15)),
                "cost_cny": float(round(rng.lognormal(np.log(12000 if esd_like[i] else 8000), 0.25), 0)),
                "follow_up_months": int(rng.integers(6, 121)),
                "recurrence": int(rng.random() < 0.01),
                "metastasis": int(rng.random() < 0.005),
            }
        )
    return rows


def cohort_csv(rows: list[dict[str, object]]) -> bytes:
    """The rows as the data dictionary's CSV (LF line ends, so the bytes are the same everywhere)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
