"""The cohort report: group sizes exact, the shipped synthetic cohort resembles the abstract, outputs self-contained."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from app.cli import main
from app.stats.cohort import read_cohort
from app.stats.report import cohort_report, looks_synthetic, size_groups
from tests.conftest import DEMO_COHORT, select, write_csv


def test_size_groups_are_exact(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["tumor_diameter_mm"], [[9.99], [10], [20], [20.01], [""], [3]])
    group, excluded = size_groups(read_cohort(path))
    assert [None if np.isnan(g) else int(g) for g in group] == [0, 1, 1, None, None, 0]
    assert excluded == {"diameter over 20 mm": 1, "diameter missing": 1}


@pytest.fixture(scope="module")
def demo_report():
    cohort = read_cohort(DEMO_COHORT)
    return cohort_report(cohort=cohort, predictors=("surface_depression", "ki67_percent", "cga_positive"),
                         bootstrap=50, seed=1, synthetic=looks_synthetic(cohort))  # fmt: skip


def test_shipped_synthetic_cohort_resembles_the_abstract(demo_report):
    flow = demo_report["flow"]
    assert demo_report["cohort"]["synthetic"] is True
    assert flow["small"] + flow["large"] == 213
    assert 120 <= flow["small"] <= 150  # published 133 vs 80
    ki67 = next(r for r in demo_report["table1"] if r["variable"] == "ki67_percent")["summaries"]["overall"]
    assert 1.8 <= ki67["mean"] <= 3.0  # published 2.37 ± 2.82
    age = next(r for r in demo_report["table1"] if r["variable"] == "age_years")["summaries"]["overall"]
    assert 48 <= age["mean"] <= 53  # published 50.53 ± 11.42
    counts = next(r for r in demo_report["table1"] if r["variable"] == "cga_positive")["summaries"]["overall"]
    assert counts["counts"]["1"] / counts["n"] == pytest.approx(0.648, abs=0.06)
    assert "Welch" in demo_report["methods"] and "bootstrap" in demo_report["methods"]


def test_univariable_odds_ratios_match_a_direct_fit(demo_report):
    import statsmodels.api as sm

    cohort = read_cohort(DEMO_COHORT)
    x, y = cohort.columns["surface_depression"], cohort.columns["non_curative_resection"]
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    row = next(r for r in demo_report["univariable"] if r["variable"] == "surface_depression")
    assert row["odds_ratio"] == pytest.approx(np.exp(reference.params[1]), rel=1e-6)
    assert row["p"] == pytest.approx(reference.pvalues[1], rel=1e-6)


def test_report_command_writes_html_json_and_csv(tmp_path, capsys):
    out, js, folder = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "tables"
    folder.mkdir()
    assert main(["report", "--data", str(DEMO_COHORT), "--out", str(out), "--json", str(js), "--csv-dir", str(folder),
                 "--bootstrap", "50"]) == 0  # fmt: skip
    html = out.read_text(encoding="utf-8")
    # Self-contained: no script, stylesheet, image or frame element, and nothing that links out.
    assert [
        e.tag for e in select(html) if e.tag in ("script", "link", "img", "iframe") or {"src", "href"} & set(e.attrs)
    ] == []
    assert "Synthetic data" in html and "Table 1" in html and "TRIPOD" in html and html.count("<svg") == 4
    data = json.loads(js.read_text())
    assert data["flow"]["analysed"] == 213
    with (folder / "table1.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "variable" and {r[0] for r in rows[1:]} >= {"age_years", "ki67_percent", "sex"}
    assert {p.name for p in folder.iterdir()} == {"table1.csv", "outcomes.csv", "univariable.csv", "multivariable.csv"}


def test_a_group_with_no_patients_is_reported_not_a_crash(tmp_path, capsys):
    lines = DEMO_COHORT.read_text().splitlines()
    k = lines[0].split(",").index("tumor_diameter_mm")
    small_only = [line for line in lines[1:] if float(line.split(",")[k]) < 10]
    path = tmp_path / "small.csv"
    path.write_text("\n".join([lines[0], *small_only]) + "\n")
    assert main(["report", "--data", str(path), "--out", str(tmp_path / "r.html"), "--bootstrap", "20"]) == 0
    assert (
        "a group has no patients" in (tmp_path / "r.html").read_text()
        or "too few values" in (tmp_path / "r.html").read_text()
    )


def test_bad_cells_are_named_by_row_and_column(tmp_path, capsys):
    path = write_csv(tmp_path / "c.csv", ["tumor_diameter_mm", "sex"], [[5, "M"], [12, "X"]])
    assert main(["report", "--data", str(path), "--out", str(tmp_path / "r.html")]) == 2
    assert "row 3, column 'sex': 'X'" in capsys.readouterr().err
