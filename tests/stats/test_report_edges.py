"""The cohort report at its edges: a model the data cannot support, the grouping variable, the rule
stated in the methods, the Monte Carlo standard error on the page, and refusals that write nothing."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main
from app.stats import compare
from tests.conftest import DEMO_COHORT, Element, parse_html, select, text_of

BOOTSTRAP = "20"


def cohort_with(tmp_path: Path, name: str, change) -> Path:
    """The demo cohort with `change(index, cells, header)` applied to each row."""
    lines = DEMO_COHORT.read_text().splitlines()
    header = lines[0].split(",")
    rows = []
    for index, line in enumerate(lines[1:]):
        cells = line.split(",")
        change(index, cells, header)
        rows.append(",".join(cells))
    path = tmp_path / name
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def few_events(index: int, cells: list[str], header: list[str]) -> None:
    cells[header.index("non_curative_resection")] = "1" if index < 4 else "0"


def separated(index: int, cells: list[str], header: list[str]) -> None:
    # the outcome is surface depression itself: complete separation
    cells[header.index("non_curative_resection")] = cells[header.index("surface_depression")]


@dataclass(frozen=True)
class TableText:
    """Rows of every <table> as lists of cell texts, and every paragraph's text (the shared parser's tree)."""

    rows: list[list[str]]
    paragraphs: list[str]


def _words(element: Element) -> str:
    """The element's text pieces joined by spaces (cells break lines with <br>), whitespace collapsed."""

    def pieces(node: Element) -> list[str]:
        return [p for child in node.children for p in ([child] if isinstance(child, str) else pieces(child))]

    return " ".join(" ".join(pieces(element)).split())


def parse(path: Path) -> TableText:
    page = parse_html(path.read_text(encoding="utf-8"))
    rows = [[_words(cell) for cell in row.iter() if cell.tag in ("td", "th")] for row in select(page, "tr")]
    return TableText(rows=rows, paragraphs=[text_of(p) for p in select(page, "p")])


def row_of(parser: TableText, label: str) -> list[str]:
    return next(r for r in parser.rows if r and r[0].startswith(label))


@pytest.mark.parametrize(
    ("change", "reason"),
    [(few_events, "at least 10 of each are needed"), (separated, "separation")],
    ids=["too-few-events", "separation"],
)
def test_tables_are_written_when_the_model_cannot_be_fitted(tmp_path, capsys, change, reason):
    data = cohort_with(tmp_path, "c.csv", change)
    out, js, folder = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "tables"
    folder.mkdir()
    code = main(["report", "--data", str(data), "--out", str(out), "--json", str(js), "--csv-dir", str(folder),
                 "--bootstrap", BOOTSTRAP])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: The multivariable model could not be fitted" in err and reason in err
    page = parse(out)
    assert row_of(page, "Age, years") and row_of(page, "Cost, CNY")  # Table 1 and the outcomes
    failures = [p for p in page.paragraphs if p.startswith("The multivariable model could not be fitted")]
    assert failures and reason in failures[0]
    assert failures[0].count(". ") == 0 and failures[0].endswith(".")  # one sentence
    assert "<svg" not in out.read_text()
    report = json.loads(js.read_text())
    assert report["artifact"] is None and reason in report["model"]["error"]
    assert "could not be fitted" in report["methods"]
    with (folder / "multivariable.csv").open() as handle:
        assert list(csv.reader(handle))[0] == ["note"]
    with (folder / "table1.csv").open() as handle:
        assert len(list(csv.reader(handle))) == 11


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    out, js = folder / "r.html", folder / "r.json"
    assert main(["report", "--data", str(DEMO_COHORT), "--out", str(out), "--json", str(js),
                 "--bootstrap", BOOTSTRAP]) == 0  # fmt: skip
    return parse(out), json.loads(js.read_text())


def test_tumour_diameter_is_summarised_not_tested(demo_page):
    page, report = demo_page
    row = next(r for r in report["table1"] if r["variable"] == "tumor_diameter_mm")
    assert row["p"] is None and row["test"] == "" and row["effect_ci95"] is None
    assert row["summaries"]["small"]["n"] + row["summaries"]["large"]["n"] == 213
    cells = row_of(page, "Tumour diameter")
    assert cells[5] == "—" and "not tested" in cells[6]


def test_table1_shows_the_summary_fixed_for_each_variable(demo_page):
    page, _ = demo_page
    for label in ("Age, years", "Distance from the anal verge"):
        cells = row_of(page, label)
        assert "mean ± SD" in cells[0] and all("±" in c and "[" not in c for c in cells[1:4])
        assert cells[6] == "Welch t-test"
    for label in ("Ki-67 index", "Tumour diameter"):
        cells = row_of(page, label)
        assert "median [IQR]" in cells[0] and all("[" in c and "±" not in c for c in cells[1:4])
    assert row_of(page, "Ki-67 index")[6].startswith("Mann–Whitney U")
    assert "Hodges–Lehmann" in row_of(page, "Ki-67 index")[4]


def test_methods_state_the_rule_fixed_in_advance(demo_page):
    _, report = demo_page
    methods = report["methods"]
    assert "fixed in advance by its kind" in methods and "Rochon" in methods
    assert "approximately normal variables (age, distance from the anal verge)" in methods
    assert "skewed variables (Ki-67 index, procedure time, hospital stay, cost, follow-up)" in methods
    assert "fewer than 50 values and no ties" in methods and "1,000,000" in methods
    assert "Shapiro" not in methods.replace("not chosen by a normality pretest", "")
    assert "Tumour diameter (median [IQR]) defines the groups" in methods


def test_monte_carlo_standard_error_is_shown_next_to_the_p_value(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "EXACT_MAX_TABLES", 1)  # every non-χ² table is simulated
    out, js = tmp_path / "r.html", tmp_path / "r.json"
    assert main(["report", "--data", str(DEMO_COHORT), "--out", str(out), "--json", str(js),
                 "--bootstrap", BOOTSTRAP]) == 0  # fmt: skip
    row = next(r for r in json.loads(js.read_text())["table1"] if r["variable"] == "resection_method")
    assert row["test"].startswith("Freeman–Halton (Monte Carlo") and row["p_monte_carlo_se"] > 0
    cells = row_of(parse(out), "Resection method")
    assert f"Monte Carlo SE {row['p_monte_carlo_se']:.4f}" in cells[5]


# --------------------------------------------------------------------------------------------- refusals


def refusal(tmp_path: Path, capsys, argv: list[str]) -> str:
    before = {p for p in tmp_path.rglob("*")}
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert {p for p in tmp_path.rglob("*")} == before, "a refusal wrote something"
    assert err.startswith("error: ") and err.strip().count("\n") == 0  # one paragraph
    return err


def test_refusals_write_nothing(tmp_path, capsys):
    (tmp_path / "tables").mkdir()
    (tmp_path / "old.html").write_text("old")
    base = ["report", "--data", str(DEMO_COHORT), "--bootstrap", BOOTSTRAP]
    out, js = str(tmp_path / "r.html"), str(tmp_path / "r.json")
    err = refusal(tmp_path, capsys, [*base, "--out", str(tmp_path / "old.html"), "--json", js])
    assert "already exists" in err
    err = refusal(tmp_path, capsys, [*base, "--out", out, "--json", str(tmp_path / "missing" / "r.json")])
    assert "does not exist" in err
    err = refusal(tmp_path, capsys, [*base, "--out", out, "--csv-dir", str(tmp_path / "nowhere")])
    assert "--csv-dir" in err
    err = refusal(tmp_path, capsys, [*base, "--out", out, "--json", out])
    assert "different files" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("tumor_diameter_mm,sex\n5,M\n12,X\n")
    before = {p for p in tmp_path.rglob("*")}
    assert main(["report", "--data", str(bad), "--out", out, "--json", js, "--csv-dir", str(tmp_path / "tables")]) == 2
    assert {p for p in tmp_path.rglob("*")} == before
    assert "row 3, column 'sex'" in capsys.readouterr().err
