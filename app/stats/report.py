"""The study, reproducible: cohort comparison (<10 mm vs 10–20 mm), risk factors and the model's figures.

`cohort_report` returns one dict that the HTML report, the JSON file and
the CSV tables are all written from, so the three can never disagree.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.errors import StatisticalError
from app.stats.cohort import OUTCOME, Cohort, CohortError
from app.stats.compare import (
    CONTINUOUS_KIND,
    EXACT_MAX_TABLES,
    GROUPING_VARIABLES,
    MONTE_CARLO_SEED,
    MONTE_CARLO_TABLES,
    SUMMARY_LABEL,
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

CSV_TABLE_NAMES = ("table1.csv", "outcomes.csv", "univariable.csv", "multivariable.csv")
METHODS_NAMES = {
    "age_years": "age", "distance_anal_verge_cm": "distance from the anal verge", "tumor_diameter_mm": "tumour diameter",
    "ki67_percent": "Ki-67 index", "procedure_time_min": "procedure time", "hospital_stay_days": "hospital stay",
    "cost_cny": "cost", "follow_up_months": "follow-up",
}  # fmt: skip

TRIPOD_ITEMS = (
    ("5a", "Source of data and study dates", True),
    ("5b", "Participants: eligibility (≤20 mm; size groups)", True),
    ("6a", "Outcome definition (non-curative resection: non-R0 or LVI/PNI)", True),
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

TRIPOD_MODEL_ITEMS = {"10b", "10d", "10e", "15a", "15b", "16"}  # not covered when the model cannot be fitted


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
        "summary": row.summary,
        "summaries": row.summaries,
        "levels": row.levels,
        "test": row.test,
        "test_detail": row.test_detail,
        "p": row.p,
        "p_monte_carlo_se": row.p_se,
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
            rows.append(_as_dict(Comparison(variable=name, kind=kind, summaries={}, note="not in the file")))
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


def _names(kind: str) -> str:
    names = [METHODS_NAMES.get(v, v) for v, k in CONTINUOUS_KIND.items() if k == kind and v not in GROUPING_VARIABLES]
    return ", ".join(names)


def comparison_methods() -> str:
    """The rule for Table 1 and the outcomes, fixed in advance (app.stats.compare.CONTINUOUS_KIND)."""
    grouping = ", ".join(f"{METHODS_NAMES.get(v, v)} ({SUMMARY_LABEL[CONTINUOUS_KIND[v]]})" for v in GROUPING_VARIABLES)
    return (
        "Categorical variables are given as n (%), each with its own n where values were missing. Each continuous "
        "variable's summary and test were fixed in advance by its kind, not chosen by a normality pretest (Rochon "
        f"et al., BMC Med Res Methodol 2012): approximately normal variables ({_names('normal')}) as mean ± SD, "
        "compared with Welch's t-test, the effect being the difference in means with its Welch CI; skewed variables "
        f"({_names('skewed')}) as median [IQR], compared with the Mann–Whitney U test, the effect being the "
        "Hodges–Lehmann shift (median of all pairwise differences) with its CI, both as R's wilcox.test: the exact "
        "distribution when both groups have fewer than 50 values and no ties, otherwise the normal approximation "
        f"with continuity and tie correction. {grouping[:1].upper() + grouping[1:]} defines the groups, so it is summarised "
        "but not tested. Categorical variables were compared with Pearson's χ² test without "
        "continuity correction when every expected count was at least 5, otherwise with Fisher's exact test (2×2) "
        "or the Freeman–Halton test, exact (all tables with the observed margins enumerated) when at most "
        f"{EXACT_MAX_TABLES:,} such tables can exist, else Monte Carlo ({MONTE_CARLO_TABLES:,} tables, seed "
        f"{MONTE_CARLO_SEED}) with its standard error shown next to the p-value; risk differences have Newcombe's "
        "hybrid score CI."
    )


def _model_methods(model: dict[str, Any]) -> str:
    predictors = ", ".join(model["predictors"])
    if model.get("error"):
        return f"The multivariable logistic model ({predictors}) could not be fitted: {model['error']}"
    return (
        f"The multivariable logistic model ({predictors}) was fitted by maximum likelihood on "
        f"{model['n']} complete cases with {model['events']} events; discrimination is the AUC with DeLong's CI, "
        "calibration the intercept and slope with the lowess calibration curve, clinical usefulness the decision "
        f"curve. Internal validation used Harrell's bootstrap optimism correction with {model['bootstrap']} "
        f"replicates (seed {model['seed']})."
    )


def methods_paragraph(data: dict[str, Any]) -> str:
    """What was actually done, written from the run itself."""
    flow = data["flow"]
    tests = sorted({row["test"] for row in data["table1"] + data["outcomes"] if row["test"]})
    excluded = "; ".join(f"{v} {k}" for k, v in flow["excluded"].items() if v) or "none"
    return (
        f"Of {flow['rows_in_file']} patients in {data['cohort']['file']}, {flow['analysed']} with a tumour of 20 mm or "
        f"less were compared by size (<10 mm: {flow['small']}; 10–20 mm: {flow['large']}); excluded: {excluded}. "
        + comparison_methods()
        + f" Tests used: {', '.join(tests) or 'none'}. "
        "Each candidate predictor was related to non-curative resection by univariable logistic regression. "
        + _model_methods(data["model"])
        + " Software: "
        + ", ".join(f"{k} {v}" for k, v in data["software"].items())
        + ". All p-values are two-sided."
    )


def first_sentence(text: str) -> str:
    """The first sentence of an error message, ending with a full stop."""
    match = re.match(r"(.+?[.!?])\s+(?=[A-Z])", text.strip(), flags=re.DOTALL)
    sentence = match.group(1) if match else text.strip()
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _fit_model(
    *, cohort: Cohort, predictors: tuple[str, ...], bootstrap: int, seed: int, synthetic: bool
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The artifact and the model's summary; when the data cannot support the model (separation, too few
    events, collinearity: StatisticalError) no artifact, and the reason in one sentence."""
    model: dict[str, Any] = {"predictors": list(predictors), "bootstrap": bootstrap, "seed": seed}
    try:
        artifact, notices = train_artifact(
            cohort=cohort, predictors=predictors, bootstrap=bootstrap, seed=seed, model_id="report-model",
            source="synthetic-demo" if synthetic else "fitted",
        )  # fmt: skip
    except StatisticalError as exc:
        model.update(n=None, events=None, selection=None, notices=[], error=first_sentence(str(exc)))
        return None, model
    perf = artifact["performance"]
    model.update(
        n=perf["n"], events=perf["events"], selection=artifact["provenance"]["selection"], notices=notices, error=None
    )
    return artifact, model


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
    artifact, model = _fit_model(
        cohort=cohort, predictors=predictors, bootstrap=bootstrap, seed=seed, synthetic=synthetic
    )
    data: dict[str, Any] = {
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
        "model": model,
        "artifact": artifact,
        "software": software_versions(),
        "tripod": [
            {"item": i, "topic": t, "covered": c and (artifact is not None or i not in TRIPOD_MODEL_ITEMS)}
            for i, t, c in TRIPOD_ITEMS
        ],
    }
    data["methods"] = methods_paragraph(data)
    return data


def csv_tables(data: dict[str, Any]) -> dict[str, list[list[str]]]:
    """The report's tables as rows for CSV files."""

    def comparison_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
        out = [["variable", "summary", "overall", "<10 mm", "10-20 mm", "test", "test_detail", "p",
                "p_monte_carlo_se", "effect", "estimate", "ci_low", "ci_high", "note"]]  # fmt: skip
        for row in rows:
            ci = row.get("effect_ci95") or [None, None]
            se = row.get("p_monte_carlo_se")
            out.append([
                row["variable"], row["summary"] or ("n (%)" if row["kind"] != "continuous" else ""),
                summary_text(row, "overall"), summary_text(row, "small"), summary_text(row, "large"),
                row["test"], row["test_detail"], "" if row["p"] is None else f"{row['p']:.6g}",
                "" if se is None else f"{se:.6g}", row["effect"],
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
    if data["artifact"] is None:
        multivariable_rows = [["note"], [model_failure_sentence(data["model"])]]
    for row in (data["artifact"] or {}).get("coefficient_table", []):
        multivariable_rows.append([row["name"], f"{row['beta']:.6g}", f"{row['se']:.6g}", f"{row['odds_ratio']:.6g}",
                                   f"{row['or_ci95'][0]:.6g}", f"{row['or_ci95'][1]:.6g}", f"{row['p']:.6g}"])  # fmt: skip
    tables = (comparison_rows(data["table1"]), comparison_rows(data["outcomes"]), univariable_rows, multivariable_rows)
    return dict(zip(CSV_TABLE_NAMES, tables, strict=True))


def summary_text(row: dict[str, Any], key: str) -> str:
    """One group's cell: the summary fixed for the variable (mean ± SD or median [IQR]) or n (%) per level."""
    s = row["summaries"].get(key, {})
    if not s or not s.get("n"):
        return "—"
    if row["kind"] == "continuous":
        if row.get("summary") == "mean ± SD":
            sd = "—" if s.get("sd") is None else f"{s['sd']:.2f}"
            return f"{s['mean']:.2f} ± {sd} (n={s['n']})"
        return f"{s['median']:.2f} [{s['q1']:.2f}, {s['q3']:.2f}] (n={s['n']})"
    parts = [f"{lv}: {s['counts'][lv]} ({100 * s['counts'][lv] / s['n']:.1f}%)" for lv in row["levels"]]
    return "; ".join(parts) + f" (n={s['n']})"


def model_failure_sentence(model: dict[str, Any]) -> str:
    """The one sentence the model sections show when the model could not be fitted."""
    return f"The multivariable model could not be fitted: {model['error']}"


def looks_synthetic(cohort: Cohort) -> bool:
    """Cohorts written by `rnet simulate` have ids SIM-0001, SIM-0002, …"""
    ids = cohort.columns.get("patient_id")
    return ids is not None and ids.size > 0 and all(isinstance(i, str) and i.startswith("SIM-") for i in ids)
