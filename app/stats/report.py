"""The study, reproducible: cohort comparison (<10 mm vs 10–20 mm), risk factors and the model's figures.

`cohort_report` returns one dict that the HTML report, the JSON file and
the CSV tables are all written from, so the three can never disagree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.errors import StatisticalError
from app.stats.cohort import OUTCOME, Cohort, CohortError
from app.stats.compare import (
    MONTE_CARLO_SEED,
    MONTE_CARLO_TABLES,
    NORMALITY_ALPHA,
    Comparison,
    compare_categorical,
    compare_continuous,
)
from app.stats.fit import fit_logistic
from app.stats.train import software_versions, train_artifact

SMALL_MAX_MM = 10.0  # <10 mm vs 10–20 mm, as the study
LARGE_MAX_MM = 20.0

TABLE1 = (
    ("age_years", "continuous"), ("sex", "categorical"), ("distance_anal_verge_cm", "continuous"),
    ("tumor_diameter_mm", "continuous"), ("surface_depression", "binary"), ("resection_method", "categorical"),
    ("who_grade", "categorical"), ("ki67_percent", "continuous"), ("cga_positive", "binary"), ("syn_positive", "binary"),
)  # fmt: skip
OUTCOMES = (
    ("intraop_bleeding", "binary"), ("postop_bleeding", "binary"), ("curative_resection", "binary"),
    ("procedure_time_min", "continuous"), ("hospital_stay_days", "continuous"), ("cost_cny", "continuous"),
    ("follow_up_months", "continuous"), ("recurrence", "binary"), ("metastasis", "binary"),
)  # fmt: skip
UNIVARIABLE = (
    "surface_depression", "ki67_percent", "cga_positive", "tumor_diameter_mm", "age_years", "male",
    "distance_anal_verge_cm", "syn_positive",
)  # fmt: skip

TRIPOD_ITEMS = (
    ("5a", "Source of data and study dates", True),
    ("5b", "Participants: eligibility (≤20 mm; size groups)", True),
    ("6a", "Outcome definition (non-curative, non-R0 resection)", True),
    ("7a", "Predictors: definition", True),
    ("8", "Sample size: patients and events", True),
    ("9", "Missing data: how handled (complete case, counts per variable)", True),
    ("10a", "Predictors' handling in the analysis (Ki-67 linear)", True),
    ("10b", "Model type and building (logistic, prespecified predictors)", True),
    ("10d", "Performance measures (discrimination, calibration, net benefit)", True),
    ("10e", "Internal validation (bootstrap optimism)", True),
    ("13a", "Flow of participants (included, excluded and why)", True),
    ("13b", "Characteristics of participants", True),
    ("14a", "Number of participants and events in each analysis", True),
    ("14b", "Unadjusted associations of each candidate predictor", True),
    ("15a", "Full model: all coefficients and intercept", True),
    ("15b", "How to use the model (nomogram)", True),
    ("16", "Performance measures with CIs", True),
    ("10c", "External validation", False),
    ("17", "Model updating", False),
    ("18-22", "Discussion, limitations, funding: for the authors", False),
)


def _column(cohort: Cohort, name: str) -> np.ndarray | None:
    if name == "curative_resection":
        outcome = cohort.columns.get(OUTCOME)
        return None if outcome is None else 1.0 - outcome
    if name == "male":
        sex = cohort.columns.get("sex")
        return None if sex is None else np.array([np.nan if s is None else float(s == "M") for s in sex])
    return cohort.columns.get(name)


def size_groups(cohort: Cohort) -> tuple[np.ndarray, dict[str, int]]:
    """0 = <10 mm, 1 = 10–20 mm, NaN = left out (over 20 mm or diameter missing)."""
    diameter = cohort.columns.get("tumor_diameter_mm")
    if diameter is None:
        raise CohortError(f"{cohort.source_name} has no tumor_diameter_mm column: the report groups patients by size.")
    group = np.where(diameter < SMALL_MAX_MM, 0.0, np.where(diameter <= LARGE_MAX_MM, 1.0, np.nan))
    group[np.isnan(diameter)] = np.nan
    excluded = {
        "diameter over 20 mm": int(np.sum(diameter > LARGE_MAX_MM)),
        "diameter missing": int(np.sum(np.isnan(diameter))),
    }
    return group, excluded


def _as_dict(row: Comparison) -> dict[str, Any]:
    return {
        "variable": row.variable,
        "kind": row.kind,
        "summaries": row.summaries,
        "levels": row.levels,
        "test": row.test,
        "p": row.p,
        "effect": row.effect,
        "effect_value": row.effect_value,
        "effect_ci95": list(row.effect_ci95) if row.effect_ci95 else None,
        "note": row.note,
    }


def _compare(cohort: Cohort, group: np.ndarray, specs: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, kind in specs:
        values = _column(cohort, name)
        if values is None:
            rows.append({"variable": name, "kind": kind, "note": "not in the file", "summaries": {}, "levels": [],
                         "test": "", "p": None, "effect": "", "effect_value": None, "effect_ci95": None})  # fmt: skip
            continue
        if kind == "continuous":
            rows.append(_as_dict(compare_continuous(name, values, group)))
        else:
            row = _as_dict(compare_categorical(name, values, group, binary=kind == "binary"))
            row["kind"] = kind
            rows.append(row)
    return rows


def univariable(cohort: Cohort, keep: np.ndarray) -> list[dict[str, Any]]:
    """Unadjusted logistic regression of the outcome on each candidate, complete cases of that pair."""
    outcome = cohort.columns.get(OUTCOME)
    if outcome is None:
        raise CohortError(f"{cohort.source_name} has no {OUTCOME} column: the risk-factor analysis needs it.")
    rows: list[dict[str, Any]] = []
    for name in UNIVARIABLE:
        values = _column(cohort, name)
        if values is None:
            rows.append({"variable": name, "note": "not in the file"})
            continue
        ok = keep & ~np.isnan(values) & ~np.isnan(outcome)
        try:
            fit = fit_logistic(x=values[ok][:, None], y=outcome[ok], names=(name,))
        except StatisticalError as exc:
            rows.append({"variable": name, "n": int(ok.sum()), "note": f"not estimable: {str(exc).split('.')[0]}"})
            continue
        row = fit.table()[1]
        rows.append({"variable": name, "n": fit.n, "events": fit.events, "odds_ratio": row.odds_ratio,
                     "or_ci95": list(row.or_ci95), "p": row.p, "beta": row.beta, "se": row.se, "note": ""})  # fmt: skip
    return rows


def methods_paragraph(data: dict[str, Any]) -> str:
    """What was actually done, written from the run itself."""
    flow = data["flow"]
    tests = sorted({row["test"] for row in data["table1"] + data["outcomes"] if row["test"]})
    model = data["model"]
    excluded = "; ".join(f"{v} {k}" for k, v in flow["excluded"].items() if v) or "none"
    return (
        f"Of {flow['rows_in_file']} patients in {data['cohort']['file']}, {flow['analysed']} with a tumour of 20 mm or "
        f"less were compared by size (<10 mm: {flow['small']}; 10–20 mm: {flow['large']}); excluded: {excluded}. "
        "Continuous variables are given as mean ± SD and median [IQR], categorical ones as n (%), each with its own n "
        "where values were missing. Continuous variables were compared with Welch's t-test when the Shapiro–Wilk test "
        f"gave p ≥ {NORMALITY_ALPHA} in both groups, otherwise with the Mann–Whitney U test (scipy's default: exact "
        "for small samples without ties, else the normal approximation with continuity correction), with the "
        "difference in means (Welch CI) or the Hodges–Lehmann shift (CI by inverting the test) as the effect. "
        "Categorical variables were compared with Pearson's χ² test without continuity correction when every expected "
        "count was at least 5, otherwise with Fisher's exact test (2×2) or a Monte Carlo Freeman–Halton test "
        f"({MONTE_CARLO_TABLES:,} tables, seed {MONTE_CARLO_SEED}); risk differences have Newcombe's hybrid score CI. "
        f"Tests used: {', '.join(tests) or 'none'}. "
        "Each candidate predictor was related to non-curative resection by univariable logistic regression. The "
        f"multivariable logistic model ({', '.join(model['predictors'])}) was fitted by maximum likelihood on "
        f"{model['n']} complete cases with {model['events']} events; discrimination is the AUC with DeLong's CI, "
        "calibration the intercept and slope with the lowess calibration curve, clinical usefulness the decision "
        f"curve. Internal validation used Harrell's bootstrap optimism correction with {model['bootstrap']} "
        f"replicates (seed {model['seed']}). Software: "
        + ", ".join(f"{k} {v}" for k, v in data["software"].items())
        + ". All p-values are two-sided."
    )


def cohort_report(
    *, cohort: Cohort, predictors: tuple[str, ...], bootstrap: int, seed: int, synthetic: bool
) -> dict[str, Any]:
    """Every table and figure of the report, as plain data."""
    group, excluded = size_groups(cohort)
    keep = ~np.isnan(group)
    if not keep.any():
        raise CohortError(f"{cohort.source_name}: no patient has a tumour diameter of 20 mm or less.")
    table1 = _compare(cohort, group, TABLE1)
    outcomes = _compare(cohort, group, OUTCOMES)
    artifact, notices = train_artifact(
        cohort=cohort, predictors=predictors, bootstrap=bootstrap, seed=seed, model_id="report-model",
        source="synthetic-demo" if synthetic else "fitted",
    )  # fmt: skip
    perf = artifact["performance"]
    data = {
        "cohort": {
            "file": cohort.source_name,
            "sha256": cohort.source_sha256,
            "synthetic": synthetic,
            "notices": cohort.notices(),
        },  # fmt: skip
        "flow": {
            "rows_in_file": cohort.n_rows,
            "analysed": int(keep.sum()),
            "small": int(np.sum(group == 0)),
            "large": int(np.sum(group == 1)),
            "excluded": excluded,
        },
        "table1": table1,
        "outcomes": outcomes,
        "univariable": univariable(cohort, keep),
        "model": {
            "predictors": list(predictors),
            "n": perf["n"],
            "events": perf["events"],
            "bootstrap": bootstrap,
            "seed": seed,
            "selection": artifact["provenance"]["selection"],
            "notices": notices,
        },
        "artifact": artifact,
        "software": software_versions(),
        "tripod": [{"item": i, "topic": t, "covered": c} for i, t, c in TRIPOD_ITEMS],
    }
    data["methods"] = methods_paragraph(data)
    return data


def csv_tables(data: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The report's tables as rows for CSV files."""

    def summary_text(row: dict[str, Any], key: str) -> str:
        s = row["summaries"].get(key, {})
        if not s or not s.get("n"):
            return "—"
        if row["kind"] == "continuous":
            sd = "—" if s.get("sd") is None else f"{s['sd']:.2f}"
            return f"{s['mean']:.2f} ± {sd}; {s['median']:.2f} [{s['q1']:.2f}, {s['q3']:.2f}] (n={s['n']})"
        parts = [f"{lv}: {s['counts'][lv]} ({100 * s['counts'][lv] / s['n']:.1f}%)" for lv in row["levels"]]
        return "; ".join(parts) + f" (n={s['n']})"

    def comparison_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
        out = [
            [
                "variable",
                "overall",
                "<10 mm",
                "10-20 mm",
                "test",
                "p",
                "effect",
                "estimate",
                "ci_low",
                "ci_high",
                "note",
            ]
        ]
        for row in rows:
            ci = row.get("effect_ci95") or [None, None]
            out.append([
                row["variable"], summary_text(row, "overall"), summary_text(row, "small"), summary_text(row, "large"),
                row["test"], "" if row["p"] is None else f"{row['p']:.6g}", row["effect"],
                "" if row["effect_value"] is None else f"{row['effect_value']:.6g}",
                "" if ci[0] is None else f"{ci[0]:.6g}", "" if ci[1] is None else f"{ci[1]:.6g}", row["note"],
            ])  # fmt: skip
        return out

    univariable_rows = [["variable", "n", "events", "odds_ratio", "ci_low", "ci_high", "p", "note"]]
    for row in data["univariable"]:
        ci = row.get("or_ci95") or [None, None]
        univariable_rows.append([
            row["variable"], str(row.get("n", "")), str(row.get("events", "")),
            "" if row.get("odds_ratio") is None else f"{row['odds_ratio']:.6g}",
            "" if ci[0] is None else f"{ci[0]:.6g}", "" if ci[1] is None else f"{ci[1]:.6g}",
            "" if row.get("p") is None else f"{row['p']:.6g}", row.get("note", ""),
        ])  # fmt: skip
    multivariable_rows = [["term", "beta", "se", "odds_ratio", "ci_low", "ci_high", "p"]]
    for row in data["artifact"]["coefficient_table"]:
        multivariable_rows.append([row["name"], f"{row['beta']:.6g}", f"{row['se']:.6g}", f"{row['odds_ratio']:.6g}",
                                   f"{row['or_ci95'][0]:.6g}", f"{row['or_ci95'][1]:.6g}", f"{row['p']:.6g}"])  # fmt: skip
    return {
        "table1.csv": comparison_rows(data["table1"]),
        "outcomes.csv": comparison_rows(data["outcomes"]),
        "univariable.csv": univariable_rows,
        "multivariable.csv": multivariable_rows,
    }


def looks_synthetic(cohort: Cohort) -> bool:
    """Cohorts written by `rnet simulate` have ids SIM-0001, SIM-0002, …"""
    ids = cohort.columns.get("patient_id")
    return ids is not None and ids.size > 0 and all(isinstance(i, str) and i.startswith("SIM-") for i in ids)
