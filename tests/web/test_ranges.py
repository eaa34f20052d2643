"""Unknown findings give a range whose ends are the lowest and highest risk, whatever the coefficients' signs.

The shipped model's coefficients are all positive, so "the last combination of values is the
highest risk" happens to hold for it; here a model made in code has a negative Ki-67 coefficient,
and every expected number is worked out by hand from its coefficients.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.model.artifact import write_artifact
from app.stats.published import artifact_from_spec
from tests.conftest import by_id, parse_html, select, select_one, text_of
from tests.web.conftest import make_client

# lp = -2 + 1.0·depression - 0.1·Ki-67 + 0.5·CgA; Ki-67 fitted on 0.5–20 %, its axis drawn over 0–20 %.
# Standard errors only (diagonal covariance): var(lp) = 0.3² + 0.4²·dep² + 0.01²·ki67² + 0.5²·cga².
SPEC = {
    "model_id": "negative-ki67",
    "reference": "Made up for a test: a model whose Ki-67 coefficient is negative.",
    "predictors": [
        {"name": "surface_depression", "kind": "binary"},
        {"name": "ki67_percent", "kind": "continuous", "fitted_range": [0.5, 20], "nomogram_range": [0, 20]},
        {"name": "cga_positive", "kind": "binary"},
    ],
    "coefficients": {"intercept": -2.0, "surface_depression": 1.0, "ki67_percent": -0.1, "cga_positive": 0.5},
    "standard_errors": {"intercept": 0.3, "surface_depression": 0.4, "ki67_percent": 0.01, "cga_positive": 0.5},
}
Z_95 = 1.959964  # the 97.5th percentile of the standard normal distribution


def expit(lp: float) -> float:
    """The logistic function, written out here rather than taken from the code under test."""
    return 1.0 / (1.0 + math.exp(-lp))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    data, _ = artifact_from_spec(SPEC, created_at="2026-01-01T00:00:00Z")
    path: Path = tmp_path_factory.mktemp("negative") / "negative-ki67.json"
    write_artifact(path, data)
    return make_client(artifact=path)


def range_ends(client, form: dict[str, str]) -> tuple[float, float]:
    response = client.post("/", data={"lang": "en", **form})
    assert response.status_code == 200
    data = by_id(response.text, "result-data")
    assert "data-probability" not in data.attrs
    return float(data.get("data-range-lo")), float(data.get("data-range-hi"))


# Depression yes, Ki-67 and CgA unknown: the four corners (Ki-67 0.5 or 20, CgA 0 or 1) in the order tried:
#   (0.5, 0): -2 + 1 - 0.05      = -1.05
#   (0.5, 1): -2 + 1 - 0.05 + 0.5 = -0.55   highest: the *lowest* Ki-67 (negative coefficient), CgA positive
#   (20, 0):  -2 + 1 - 2          = -3.0    lowest: neither the first nor the last corner
#   (20, 1):  -2 + 1 - 2 + 0.5    = -2.5
# Depression yes, Ki-67 unknown, CgA positive: (0.5, 1) = -0.55 is the highest, (20, 1) = -2.5 the lowest.
# Depression no, Ki-67 5, CgA unknown: CgA 0 gives -2 - 0.5 = -2.5, CgA 1 gives -2.0.
# Depression no, both unknown: (0.5, 1) = -2 - 0.05 + 0.5 = -1.55 highest, (20, 0) = -2 - 2 = -4.0 lowest.
RANGES = [
    ({"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "unknown"}, -3.0, -0.55),
    ({"surface_depression": "1", "ki67_percent": "unknown", "cga_positive": "1"}, -2.5, -0.55),
    ({"surface_depression": "0", "ki67_percent": "5", "cga_positive": "unknown"}, -2.5, -2.0),
    ({"surface_depression": "0", "ki67_unknown": "1", "cga_positive": "unknown"}, -4.0, -1.55),
]


@pytest.mark.parametrize(("form", "lp_low", "lp_high"), RANGES, ids=["both", "ki67", "cga", "both-no-depression"])
def test_range_ends_are_the_lowest_and_highest_risk(client, form, lp_low, lp_high):
    low, high = range_ends(client, form)
    assert low == pytest.approx(expit(lp_low), rel=1e-6)
    assert high == pytest.approx(expit(lp_high), rel=1e-6)


def test_range_as_shown_and_summarised(client):
    form = {"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "unknown", "lang": "en"}
    page = parse_html(client.post("/", data=form).text)
    # expit(-3.0) = 0.04743 → 4.7 %; expit(-0.55) = 0.36586 → 36.6 %.
    assert text_of(select_one(page, "span", cls="risk-value")) == "4.7 % – 36.6 %"
    # The widest span: the lowest corner's lower CI end and the highest corner's upper one.
    #   (20, 0):  se = √(0.09 + 0.16 + 400·0.0001)            = √0.29     = 0.538516; -3.0 - 1.959964·0.538516 = -4.05547
    #             expit(-4.05547) = 0.017032 → 1.7 %
    #   (0.5, 1): se = √(0.09 + 0.16 + 0.25·0.0001 + 0.25)    = √0.500025 = 0.707124; -0.55 + 1.959964·0.707124 = 0.835938
    #             expit(0.835938) = 0.697609 → 69.8 %
    assert text_of(select_one(page, "p", cls="note")) == (
        "This is a range over the possible values of the unknown findings (Ki-67 0.5–20 % (the development "
        "cohort's range); CgA negative or positive), not an estimate. Each end has its own 95 % CI; the widest "
        "span is 1.7 % to 69.8 %."
    )
    assert text_of(by_id(page, "summary-text")) == (
        "R-NET non-R0 risk: range 4.7 %–36.6 % over unknown findings; surface depression Yes, Ki-67 Unknown, "
        "CgA Unknown; model negative-ki67 (published coefficients)"
    )
    assert select(page, "table", cls="points") == []  # no points for a finding that is not known


def test_the_live_fragment_and_the_embed_view_show_the_same_range(client):
    form = {"surface_depression": "1", "ki67_percent": "unknown", "cga_positive": "1", "touched": ""}
    for path in ("/partials/result", "/embed"):
        data = by_id(client.post(path, data=form).text, "result-data")
        assert float(data.get("data-range-lo")) == pytest.approx(expit(-2.5), rel=1e-6), path
        assert float(data.get("data-range-hi")) == pytest.approx(expit(-0.55), rel=1e-6), path


def test_a_known_ki67_gives_one_estimate_with_the_hand_computed_ci(client):
    # Depression yes, Ki-67 10, CgA negative: lp = -2 + 1 - 1 = -2.0; se = √(0.09 + 0.16 + 100·0.0001) = √0.26.
    data = by_id(client.post("/", data={"surface_depression": "1", "ki67_percent": "10", "cga_positive": "0"}).text,
                 "result-data")  # fmt: skip
    se = math.sqrt(0.26)
    assert float(data.get("data-probability")) == pytest.approx(expit(-2.0), rel=1e-6)
    assert float(data.get("data-ci-lo")) == pytest.approx(expit(-2.0 - Z_95 * se), rel=1e-5)
    assert float(data.get("data-ci-hi")) == pytest.approx(expit(-2.0 + Z_95 * se), rel=1e-5)
