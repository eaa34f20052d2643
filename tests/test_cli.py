"""The command line: exit codes, messages without tracebacks, `python -m app` = `rnet`."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.metrics import roc_auc_score

from app.cli import main
from tests.conftest import DEMO_COHORT, REPO, simulated_xy, write_csv
from tests.stats.test_discrimination import delong_direct
from tests.stats.test_published import BAD_SPECS, spec_with


def run(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_train_writes_a_verified_artifact_and_prints_the_table(tmp_path, small_cohort_csv):
    out = tmp_path / "m.json"
    result = run("train", "--data", str(small_cohort_csv), "--out", str(out), "--bootstrap", "20")
    assert result.returncode == 0, result.stderr
    # The fixture's patients, fitted independently by statsmodels; AUC by scikit-learn, its CI by DeLong's
    # structural components written out in tests/stats/test_discrimination.py.
    x, y = simulated_xy(120, 7)
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0, tol=1e-12, method="newton")
    lp = sm.add_constant(x) @ reference.params
    auc, variance = delong_direct(y, lp)
    half_width = 1.959963984540054 * np.sqrt(variance)
    data = json.loads(out.read_text())
    assert data["model_id"] == "m"
    assert data["provenance"]["source"] == "fitted"
    assert data["performance"]["bootstrap_replicates"] == 20
    assert (data["performance"]["n"], data["performance"]["events"]) == (120, int(y.sum()))
    names = ["intercept", "surface_depression", "ki67_percent", "cga_positive"]
    np.testing.assert_allclose([data["coefficients"][n] for n in names], reference.params, rtol=1e-6)
    # The printed table: model line, header, one row per term (β, SE, OR to the digits shown), then n and AUC.
    lines = result.stdout.splitlines()
    assert lines[0] == "model m (fitted)"
    assert lines[1].split() == ["term", "beta", "SE", "OR", "95%", "CI", "p"]
    for line, name, beta, se in zip(lines[2:6], names, reference.params, reference.bse, strict=True):
        fields = line.split()
        assert fields[0] == name
        assert float(fields[1]) == pytest.approx(beta, abs=5e-5)
        assert float(fields[2]) == pytest.approx(se, abs=5e-5)
        assert float(fields[3]) == pytest.approx(np.exp(beta), abs=5e-4)
    summary = re.fullmatch(r"n = 120, events = (\d+); AUC (\S+) \(DeLong 95% CI (\S+)–(\S+)\)", lines[6])
    assert summary is not None, lines[6]
    assert int(summary[1]) == int(y.sum())
    assert float(summary[2]) == pytest.approx(roc_auc_score(y, lp), abs=5e-4)
    assert [float(summary[3]), float(summary[4])] == pytest.approx([auc - half_width, auc + half_width], abs=5e-4)


def call(args: list[str]) -> int:
    """main() in-process; argparse's own errors arrive as SystemExit."""
    try:
        return main(args)
    except SystemExit as exit_:
        return int(exit_.code)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--data", "missing.csv", "--out", "x.json"], "does not exist"),
        (["train", "--data", "{cohort}", "--out", "x.json", "--predictors", "tumour_size"], "not a column"),
        (["train", "--data", "{cohort}", "--out", "x.json", "--predictors", "sex"], "must be binary"),
        (["train", "--data", "{cohort}", "--out", "x.json", "--bootstrap", "-1"], "0 or more"),
        (["train", "--data", "{cohort}", "--out", "{existing}"], "--force"),
        (["train", "--data", "{cohort}", "--out", "x.json", "--model-id", "Bad Id"], "not allowed"),
        (["train", "--data", "{cohort}"], "--out"),
        (["from-coefficients", "{cohort}", "--out", "x.json"], "not valid JSON"),
        (["simulate", "--out", "x.csv", "--n", "5"], "from 20"),
        (["simulate", "--out", "x.csv", "--n", "100000000"], "1,000,000"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path, small_cohort_csv, args, expected, capsys):
    existing = tmp_path / "existing.json"
    existing.write_text("{}")
    args = [a.format(cohort=small_cohort_csv, existing=existing) for a in args]
    args = [str(tmp_path / a) if a.endswith((".json", ".csv")) and "/" not in a else a for a in args]
    code = call(args)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_too_few_events_is_a_user_error(tmp_path, capsys):
    rows = [[i % 2, float(i % 7), (i // 2) % 2, 1 if i < 5 else 0] for i in range(60)]
    path = write_csv(
        tmp_path / "c.csv", ["surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"], rows
    )
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "m.json")]) == 2
    assert "5 event(s)" in capsys.readouterr().err


def test_bad_cells_are_all_listed(tmp_path, capsys):
    rows = [["x", "1", "1", "0"], ["1", "200", "1", "1"]] + [[1, 1, 1, 1]] * 5
    path = write_csv(
        tmp_path / "c.csv", ["surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"], rows
    )
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "row 2, column 'surface_depression': 'x'" in err
    assert "row 3, column 'ki67_percent': '200'" in err
    assert not (tmp_path / "m.json").exists()


def test_from_coefficients_with_standard_errors(tmp_path):
    spec = {
        "model_id": "published-example",
        "reference": "Example et al. 2025",
        "predictors": [
            {"name": "surface_depression", "kind": "binary"},
            {"name": "ki67_percent", "kind": "continuous", "nomogram_range": [0, 20], "fitted_range": [0.1, 18]},
            {"name": "cga_positive", "kind": "binary"},
        ],
        "coefficients": {"intercept": -3.0, "surface_depression": 1.4, "ki67_percent": 0.25, "cga_positive": 0.8},
        "standard_errors": {"intercept": 0.4, "surface_depression": 0.35, "ki67_percent": 0.07, "cga_positive": 0.3},
        "performance": {"n": 213, "events": 45, "auc": 0.766, "auc_ci95": [0.696, 0.837]},
    }
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    out = tmp_path / "pub.json"
    result = run("from-coefficients", str(spec_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "diagonal" in result.stderr
    from app.model.predict import Model

    model = Model.from_file(out)
    assert model.source == "published"
    assert model.artifact.performance.auc == 0.766
    prediction = model.predict({"surface_depression": 1, "ki67_percent": 4, "cga_positive": 1})
    assert prediction.se_linear_predictor == pytest.approx((0.4**2 + 0.35**2 + (4 * 0.07) ** 2 + 0.3**2) ** 0.5)


def test_from_coefficients_refuses_incomplete_spec(tmp_path):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(
        json.dumps(
            {
                "model_id": "x",
                "reference": "r",
                "predictors": [{"name": "surface_depression"}],
                "coefficients": {"intercept": 1.0, "surface_depression": 1.0},
            }
        )
    )
    result = run("from-coefficients", str(spec_path), "--out", str(tmp_path / "o.json"))
    assert result.returncode == 2
    assert "'covariance' or 'standard_errors'" in result.stderr
    assert "Traceback" not in result.stderr


def test_module_and_script_are_the_same_cli():
    import tomllib

    from app.cli import main as script_main

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["rnet"] == "app.cli:main"
    assert script_main is main
    assert run("--help").stdout.startswith("usage: rnet")


@pytest.mark.parametrize(("change", "message"), BAD_SPECS)
def test_bad_specs_exit_2_and_write_nothing(tmp_path, capsys, change, message):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec_with(change)))
    assert call(["from-coefficients", str(path), "--out", str(tmp_path / "o.json")]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "o.json").exists()


def test_other_user_errors_exit_2_with_the_last_line_saying_why(tmp_path, capsys, monkeypatch):
    def last_error_line() -> str:
        return capsys.readouterr().err.splitlines()[-1]

    assert call(["simulate", "--out", str(tmp_path / "c.csv"), "--seed", "-1"]) == 2
    assert last_error_line() == "rnet simulate: error: argument --seed: must be 0 or more"
    assert call(["train", "--data", str(DEMO_COHORT), "--out", str(tmp_path), "--force", "--bootstrap", "0"]) == 2
    assert last_error_line() == f"error: --out '{tmp_path}' is a folder; give the name of a file to write to."
    assert call(["from-coefficients", str(tmp_path), "--out", str(tmp_path / "o.json")]) == 2
    assert last_error_line() == f"error: the spec '{tmp_path}' is a folder, not a file; give the path of a file."
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "99999999999999999")
    assert call(["train", "--data", str(DEMO_COHORT), "--out", str(tmp_path / "m.json"), "--bootstrap", "0"]) == 2
    assert last_error_line() == "error: SOURCE_DATE_EPOCH must be whole seconds since 1970, got '99999999999999999'."
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    huge = tmp_path / "huge.csv"
    huge.write_text(
        "surface_depression,ki67_percent,cga_positive,non_curative_resection\n1," + "9" * 200_000 + ",0,1\n"
    )
    assert call(["train", "--data", str(huge), "--out", str(tmp_path / "h.json")]) == 2
    assert last_error_line() == "error: huge.csv is not a readable CSV file (field larger than field limit (131072))."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.csv"]
