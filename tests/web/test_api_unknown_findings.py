"""Findings not yet known (null) are answered by the pattern submodel fitted without them.

Expected values come from statsmodels: the logistic model refitted on the demo cohort without the
unknown findings, and its own delta-method CI (GLM get_prediction, logit link), not from the code.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from app.model.artifact import write_artifact
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT
from tests.web.conftest import make_client

FINDINGS = ("surface_depression", "ki67_percent", "cga_positive")
# Artifact numbers are stored to 8 significant digits: risks agree to ~1e-7.
RISK_ATOL = 1e-6


def _cohort() -> tuple[np.ndarray, np.ndarray]:
    header, *rows = [line.split(",") for line in DEMO_COHORT.read_text(encoding="utf-8").splitlines()]
    columns = [header.index(name) for name in FINDINGS]
    outcome = header.index("non_curative_resection")
    x = np.array([[float(row[j]) for j in columns] for row in rows])
    return x, np.array([float(row[outcome]) for row in rows])


def _refit_prediction(keep: list[int], values: list[float]) -> tuple[float, float, float]:
    x, y = _cohort()
    fit = sm.GLM(y, sm.add_constant(x[:, keep]), family=sm.families.Binomial()).fit(tol=1e-12)
    frame = fit.get_prediction(np.array([[1.0, *values]])).summary_frame(alpha=0.05)
    return float(frame["mean"].iloc[0]), float(frame["mean_ci_lower"].iloc[0]), float(frame["mean_ci_upper"].iloc[0])


@pytest.mark.parametrize(
    ("body", "keep", "values", "missing"),
    [
        (
            {"surface_depression": False, "ki67_percent": None, "cga_positive": True},
            [0, 2],
            [0.0, 1.0],
            ["ki67_percent"],
        ),
        ({"surface_depression": True, "ki67_percent": 4.0, "cga_positive": None}, [0, 1], [1.0, 4.0], ["cga_positive"]),
        (
            {"surface_depression": True, "ki67_percent": None, "cga_positive": None},
            [0],
            [1.0],
            ["ki67_percent", "cga_positive"],
        ),
    ],
)
def test_null_finding_is_answered_by_the_refitted_model(body, keep, values, missing):
    answer = make_client().post("/api/v1/predict", json=body)
    assert answer.status_code == 200
    data = answer.json()
    risk, lo, hi = _refit_prediction(keep, values)
    assert data["probability"] == pytest.approx(risk, abs=RISK_ATOL)
    assert data["ci95"] == pytest.approx([lo, hi], abs=RISK_ATOL)
    assert data["missing"] == missing
    assert data["predictors"] == [FINDINGS[j] for j in keep]
    assert set(data["points"]) == set(data["predictors"])
    assert data["notice"].startswith("Demonstration model")


def test_a_model_without_submodels_answers_422_naming_the_finding(tmp_path):
    import json

    data = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    data.pop("submodels")
    data.pop("sha256")
    path = tmp_path / "plain.json"
    write_artifact(path, data)
    answer = make_client(artifact=path).post(
        "/api/v1/predict", json={"surface_depression": True, "ki67_percent": None, "cga_positive": False}
    )
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": [
            {
                "field": "ki67_percent",
                "message": "this model needs ki67_percent: it has no version fitted without that finding. Enter the "
                "value, or serve a model trained with pattern submodels (python -m app train makes them).",
            }
        ]
    }


def test_the_page_shows_one_risk_labelled_as_estimated_without_the_finding():
    page = make_client().post(
        "/", data={"surface_depression": "0", "ki67_percent": "", "ki67_unknown": "1", "cga_positive": "1"}
    )
    assert page.status_code == 200
    risk, lo, hi = _refit_prediction([0, 2], [0.0, 1.0])
    from tests.conftest import select_one, text_of

    shown = text_of(select_one(page.text, "p", cls="risk"))
    assert shown == f"{100 * risk:.1f} % 95 % CI: {100 * lo:.1f} % – {100 * hi:.1f} %"
    note = text_of(select_one(page.text, "p", cls="answered-by"))
    assert note.startswith("Estimated without Ki-67 index (not yet known): by the model refitted on the same patients")
    assert "range" not in page.text.split('id="result-heading"')[1].split("</section>")[0].lower()
