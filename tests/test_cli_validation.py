"""validate and recalibrate from the command line: reports, refusals, nothing half-written."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.conftest import DEMO_ARTIFACT, select, write_csv
from tests.stats.test_validate import HEADER, cohort_from_model


def test_validate_writes_a_self_contained_report_and_json(tmp_path, capsys):
    cohort = cohort_from_model(tmp_path, n=400, seed=21, intercept_shift=-0.8)
    report, figures = tmp_path / "v.html", tmp_path / "v.json"
    assert (
        main(
            [
                "validate",
                "--artifact",
                str(DEMO_ARTIFACT),
                "--data",
                str(cohort),
                "--out",
                str(report),
                "--json",
                str(figures),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "too high" in out
    html = report.read_text(encoding="utf-8")
    elements = select(html)
    assert [e.tag for e in elements if e.tag in ("script", "link", "img", "iframe")] == []
    assert [v for e in elements for k, v in e.attrs.items() if k in ("src", "href") and v and "://" in v] == []
    assert html.count("<svg") == 3 and "Demonstration model" in html
    data = json.loads(figures.read_text())
    assert data["figures"]["n"] == 400 and data["verdicts"][0]["text"]
    assert (
        main(
            [
                "validate",
                "--artifact",
                str(DEMO_ARTIFACT),
                "--data",
                str(cohort),
                "--out",
                str(tmp_path / "zh.html"),
                "--lang",
                "zh",
            ]
        )
        == 0
    )
    assert "外部验证报告" in (tmp_path / "zh.html").read_text(encoding="utf-8")


def test_validate_refuses_existing_output_without_force(tmp_path, capsys):
    cohort = cohort_from_model(tmp_path, n=100, seed=22)
    existing = tmp_path / "v.html"
    existing.write_text("keep")
    assert main(["validate", "--artifact", str(DEMO_ARTIFACT), "--data", str(cohort), "--out", str(existing)]) == 2
    assert existing.read_text() == "keep"


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        ([[1, 2, 1]], ["surface_depression", "ki67_percent", "non_curative_resection"], "no column 'cga_positive'"),
        ([[1, 2, 1, 0]] * 30, HEADER, "coded 1 = non-curative"),
        ([[1, 2, 1, "R0"]] * 30, HEADER, "'R0' is not allowed"),
    ],
)
def test_validate_and_recalibrate_refuse_unusable_cohorts(tmp_path, capsys, rows, header, expected):
    cohort = write_csv(tmp_path / "c.csv", header, rows)
    for command in (["validate"], ["recalibrate", "--out", str(tmp_path / "b.json")]):
        assert main([*command, "--artifact", str(DEMO_ARTIFACT), "--data", str(cohort)]) == 2
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_tampered_artifact_is_refused(tmp_path, capsys):
    data = json.loads(DEMO_ARTIFACT.read_text())
    data["coefficients"]["cga_positive"] = 3.0
    tampered = tmp_path / "t.json"
    tampered.write_text(json.dumps(data))
    cohort = cohort_from_model(tmp_path, n=100, seed=23)
    assert (
        main(["recalibrate", "--artifact", str(tampered), "--data", str(cohort), "--out", str(tmp_path / "b.json")])
        == 2
    )
    assert "fails verification" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_separated_local_cohort_writes_nothing(tmp_path, capsys):
    # depression = outcome; CgA varies independently of it (i // 2 % 2), so the design has full rank
    rows = [[d, 2.0 + i % 5, i // 2 % 2, d] for i, d in enumerate([0, 1] * 40)]
    cohort = write_csv(tmp_path / "sep.csv", HEADER, rows)
    assert (
        main(
            [
                "recalibrate",
                "--artifact",
                str(DEMO_ARTIFACT),
                "--data",
                str(cohort),
                "--out",
                str(tmp_path / "b.json"),
                "--method",
                "refit",
            ]
        )
        == 2
    )
    assert "separation" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_recalibrate_then_serve_both_models(tmp_path):
    cohort = cohort_from_model(tmp_path, n=1500, seed=24, intercept_shift=-1.0)
    out = tmp_path / "ours.json"
    assert (
        main(
            [
                "recalibrate",
                "--artifact",
                str(DEMO_ARTIFACT),
                "--data",
                str(cohort),
                "--out",
                str(out),
                "--model-id",
                "ours",
            ]
        )
        == 0
    )
    from tests.web.conftest import make_client

    client = make_client(artifacts=f"{out} {DEMO_ARTIFACT}")
    assert client.get("/api/v1/models").json()["default"] == "ours"  # the README's order: the hospital's own first
    page = client.get("/m/rnet-demo-v1/")
    assert page.status_code == 200 and "Model: rnet-demo-v1" in page.text
    body = {"surface_depression": True, "ki67_percent": 3.0, "cga_positive": True}
    ours = client.post("/api/v1/predict", json=body).json()
    original = client.post("/api/v1/models/rnet-demo-v1/predict", json=body).json()
    assert ours["model"]["id"] == "ours" and original["model"]["id"] == "rnet-demo-v1"
    assert ours["probability"] < original["probability"]  # the update lowered the risks
    assert "Updated on a local cohort by recalibration in the large (new intercept);" in client.get("/model").text


def test_validate_can_record_the_external_validation_in_a_copy_of_the_artifact(tmp_path, capsys):
    cohort = cohort_from_model(tmp_path, n=400, seed=31)
    record, figures = tmp_path / "recorded.json", tmp_path / "v.json"
    args = ["validate", "--artifact", str(DEMO_ARTIFACT), "--data", str(cohort), "--json", str(figures)]
    assert main([*args, "--record", str(record), "--cohort-name", "  Hospital B,\t2025 "]) == 0
    validated = json.loads(figures.read_text())["figures"]
    original, copy = json.loads(DEMO_ARTIFACT.read_text()), json.loads(record.read_text())
    assert copy["provenance"].pop("external_validations") == [
        {"cohort": "Hospital B, 2025", "n": 400, "auc": float(f"{validated['auc']:.8g}")}
    ]
    assert copy.pop("sha256") != original.pop("sha256")
    assert copy == original  # nothing else changes: same coefficients, same id
    from tests.web.conftest import make_client

    page = make_client(artifact=record).get("/").text
    assert f"External validation on Hospital B, 2025: n = 400, AUC {validated['auc']:.3f}." in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--record", "R"], "error: --record and --cohort-name go together: name the cohort the record will show."),
        (
            ["--cohort-name", "B"],
            "error: --record and --cohort-name go together: name the cohort the record will show.",
        ),
        (
            ["--record", "R", "--cohort-name", "Development"],
            "is the cohort model rnet-demo-v1 was fitted (or updated) on; validating on it is not an external "
            "validation, so nothing is recorded.",
        ),
    ],
)
def test_validate_records_nothing_it_should_not(tmp_path, capsys, extra, message):
    from tests.conftest import DEMO_COHORT

    extra = [str(tmp_path / "r.json") if value == "R" else value for value in extra]
    args = ["validate", "--artifact", str(DEMO_ARTIFACT), "--data", str(DEMO_COHORT)]
    assert main([*args, *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_an_updated_model_is_not_externally_validated_on_its_parents_development_data(tmp_path, capsys):
    """Recalibrated on a local cohort, then 'validated' on the demo's own development file: refused."""
    from tests.conftest import DEMO_COHORT

    local = cohort_from_model(tmp_path, n=400, seed=32, intercept_shift=-0.5)
    updated = tmp_path / "ours.json"
    recalibrate = ["recalibrate", "--artifact", str(DEMO_ARTIFACT), "--data", str(local), "--out", str(updated)]
    assert main([*recalibrate, "--model-id", "ours", "--method", "intercept"]) == 0
    demo = json.loads(DEMO_ARTIFACT.read_text())
    assert json.loads(updated.read_text())["provenance"]["ancestor_data_sha256"] == [demo["provenance"]["data_sha256"]]
    record = tmp_path / "r.json"
    validate = ["validate", "--artifact", str(updated), "--data", str(DEMO_COHORT), "--record", str(record)]
    assert main([*validate, "--cohort-name", "Suzhou"]) == 2
    assert "validating on it is not an external validation, so nothing is recorded." in capsys.readouterr().err
    assert not record.exists()
