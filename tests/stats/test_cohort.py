"""The cohort reader: spellings, missing values, and every bad value reported by row."""

from __future__ import annotations

import numpy as np
import pytest

from app.stats.cohort import CohortError, read_cohort
from tests.conftest import write_csv

HEADER = ["patient_id", "surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"]


def test_reads_bom_spellings_and_missing_values(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        HEADER + ["favourite_colour"],
        [
            ["a", "Yes", "2.5", "positive", "1", "red"],
            ["b", "no", "NA", "NEG", "0", "blue"],
            ["c", "+", "", "-", "TRUE", ""],
            ["d", "y", ".", "pos", "false", ""],
            ["e", "0", "N/A", "1", "nan", ""],
        ],
        bom=True,
    )
    cohort = read_cohort(path)
    np.testing.assert_array_equal(cohort.columns["surface_depression"], [1, 0, 1, 1, 0])
    np.testing.assert_array_equal(cohort.columns["cga_positive"], [1, 0, 0, 1, 1])
    assert np.isnan(cohort.columns["ki67_percent"][1:]).all()
    assert cohort.columns["patient_id"][0] == "a"  # the BOM is not part of the first column name
    assert cohort.ignored_columns == ("favourite_colour",)
    assert "favourite_colour" in cohort.notices()[0]


def test_complete_case_counts_each_missing_column(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        HEADER,
        [["a", "1", "2", "1", "1"], ["b", "", "2", "1", "0"], ["c", "", "", "1", "0"], ["d", "0", "3", "0", "NA"]],
    )
    selection = read_cohort(path).complete_case(
        ["surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"]
    )
    assert selection.n == 1 and selection.n_left_out == 3
    assert selection.missing_by_column == {
        "surface_depression": 2,
        "ki67_percent": 1,
        "cga_positive": 0,
        "non_curative_resection": 1,
    }
    assert selection.row_numbers.tolist() == [2]
    assert "1 of 4 rows used" in selection.describe()


def test_diameter_over_20mm_is_outside_the_model_population(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        ["surface_depression", "tumor_diameter_mm"],
        [["1", "5"], ["0", "20"], ["1", "25"]],
    )
    selection = read_cohort(path).complete_case(["surface_depression"], max_diameter_mm=20)
    assert selection.n == 2
    assert selection.excluded_by_rule == {"tumour diameter over 20 mm": 1}


def test_every_bad_value_is_reported_with_its_spreadsheet_row(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        HEADER + ["sex", "resection_method"],
        [
            ["a", "maybe", "2", "1", "1", "M", "ESD"],
            ["b", "0", "-3", "1", "0", "F", "EMR"],
            ["c", "0", "150", "2", "0", "X", "laser"],
            ["d", "1", "abc", "1", "0", "m", "emr+esd"],
            ["a", "1", "inf", "1", "1", "F", "EFR"],
        ],
    )
    with pytest.raises(CohortError) as caught:
        read_cohort(path)
    found = {(e.row, e.column, e.value) for e in caught.value.errors}
    assert found == {
        (2, "surface_depression", "maybe"),
        (3, "ki67_percent", "-3"),
        (4, "ki67_percent", "150"),
        (4, "cga_positive", "2"),
        (4, "sex", "X"),
        (4, "resection_method", "laser"),
        (5, "ki67_percent", "abc"),
        (6, "ki67_percent", "inf"),
        (6, "patient_id", "a"),
    }
    message = str(caught.value)
    assert "row 2, column 'surface_depression': 'maybe'" in message
    assert "expected 0/1" in message
    assert "a number from 0 to 100" in message
    assert "also on row 2" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"surface_depression,ki67_percent\n", "no patient rows"),
        (b"surface_depression;ki67_percent\n1;2\n", "';' or tabs"),
        (b"a,a\n1,2\n", "more than once"),
        (b"surface_depression\n\xff\xfe1\n", "not UTF-8"),
    ],
)
def test_unusable_files_get_a_clear_message(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CohortError, match=expected):
        read_cohort(path)


def test_missing_required_columns_are_named(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["surface_depression"], [["1"]])
    with pytest.raises(CohortError, match="required column.*ki67_percent, non_curative_resection"):
        read_cohort(path, required=("surface_depression", "ki67_percent", "non_curative_resection"))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CohortError, match="does not exist"):
        read_cohort(tmp_path / "nope.csv")
    with pytest.raises(CohortError, match="is a folder"):
        read_cohort(tmp_path)


def test_short_row_is_reported(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("surface_depression,ki67_percent\n1,2\n0\n", encoding="utf-8")
    with pytest.raises(CohortError, match=r"row 3, column '\(whole row\)'"):
        read_cohort(path)


@pytest.mark.parametrize("value", ["0", "0.0", "-0", "-2", "200.5"])
def test_tumour_diameter_must_be_above_0_mm(tmp_path, value):
    """A lesion has a size: 0 mm is a data-entry error (the dictionary allows >0), named by row and column."""
    path = write_csv(
        tmp_path / "c.csv", ["surface_depression", "tumor_diameter_mm"], [["1", "5"], ["0", value], ["1", "12"]]
    )
    with pytest.raises(CohortError) as caught:
        read_cohort(path)
    assert [(e.row, e.column, e.value) for e in caught.value.errors] == [(3, "tumor_diameter_mm", value)]
    assert str(caught.value) == (
        "c.csv: 1 bad value(s) (tumor_diameter_mm 1). Fix them and run again:\n"
        f"  row 3, column 'tumor_diameter_mm': '{value}' is not allowed (expected a number from >0 to 200)"
    )


@pytest.mark.parametrize(("value", "expected"), [("0.1", 0.1), ("20", 20.0), ("25", 25.0), ("200", 200.0)])
def test_tumour_diameter_above_0_is_read(tmp_path, value, expected):
    path = write_csv(tmp_path / "c.csv", ["surface_depression", "tumor_diameter_mm"], [["1", value]])
    assert read_cohort(path).columns["tumor_diameter_mm"].tolist() == [expected]
