"""The model card says how much information the development data held, in both languages."""

from __future__ import annotations

import pytest

from app.model.artifact import write_artifact
from app.stats.cohort import read_cohort
from app.stats.train import train_artifact
from tests.conftest import REPO, select_one, text_of
from tests.web.conftest import make_client

SPARSE = REPO / "tests" / "reference" / "sparse-events-cohort.csv"


@pytest.fixture(scope="module")
def sparse_artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sparse")
    paths = {}
    for shrinkage in ("none", "bootstrap"):
        data, _ = train_artifact(
            cohort=read_cohort(SPARSE),
            predictors=("surface_depression", "ki67_percent", "cga_positive"),
            bootstrap=200,
            seed=5,
            model_id=f"sparse-{shrinkage}",
            shrinkage=shrinkage,
        )
        paths[shrinkage] = folder / f"{shrinkage}.json"
        write_artifact(paths[shrinkage], data)
    return paths


def _section(html: str) -> str:
    return text_of(select_one(html, "section", cls="information"))


def test_model_card_reports_epp_riley_and_low_slope(sparse_artifacts):
    page = make_client(artifact=sparse_artifacts["none"]).get("/model").text
    text = _section(page)
    assert "Events per predictor parameter: 3.3 (10 events, 3 parameters)." in text
    assert "The 150 patients are fewer than the minimum sample size of Riley et al. (BMJ 2020):" in text
    assert "below 0.9: predictions are likely too extreme for new patients." in text
    assert "shrunk" not in text


def test_model_card_says_the_coefficients_were_shrunk_in_chinese(sparse_artifacts):
    page = make_client(artifact=sparse_artifacts["bootstrap"]).get("/model?lang=zh").text
    text = _section(page)
    assert "每个预测参数的事件数：3.3（10 例事件，3 个参数）。" in text
    assert "系数已按收缩因子" in text and "重新估计了截距" in text


def test_model_card_reports_ki67_form_and_influential_rows_of_the_shipped_model():
    """The shipped artifact's numbers, as its own train run computed them (checked against R in
    tests/stats/test_diagnostics.py); here: that the card shows them, in both languages."""
    import json

    from tests.conftest import DEMO_ARTIFACT

    performance = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))["performance"]
    linearity, influence = performance["ki67_linearity"], performance["influence"]
    rows = ", ".join(str(p["row"]) for p in influence["most_influential"][:5])
    english = _section(make_client().get("/model").text)
    assert (
        f"likelihood-ratio χ² {linearity['lr_chi2']:.2f}, df 1, p = {linearity['p']:.3f}. The model keeps Ki-67 "
        "linear on the logit scale."
    ) in english
    assert f"{influence['flagged']} flagged; the most influential are spreadsheet rows {rows} of" in english
    chinese = _section(make_client().get("/model?lang=zh").text)
    assert f"似然比 χ² {linearity['lr_chi2']:.2f}，自由度 1" in chinese
    assert f"影响最大的是建模数据文件中的第 {rows.replace(', ', '、')} 行" in chinese  # an enumeration comma
