"""`rnet samplesize development|validation`: tables, JSON, and refusals that name the option (exit 2)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from tests.conftest import DEMO_ARTIFACT


def test_development_prints_the_worked_example_and_writes_json(tmp_path, capsys):
    """pmsampsize's worked example: P 24, prevalence 0.174, R²_CS 0.288 → 623 / 662 / 221, minimum 662."""
    out_file = tmp_path / "dev.json"
    args = ["samplesize", "development", "--parameters", "24", "--prevalence", "0.174", "--r2cs", "0.288"]
    assert main([*args, "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line[:2] in ("1.", "2.", "3.")}
    assert [lines[k][-3] for k in ("1.", "2.", "3.")] == ["623", "662", "221"]
    assert "minimum (criterion 2)" in out and "662" in out.splitlines()[-1]
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert [c["sample_size"] for c in data["criteria"]] == [623, 662, 221]
    assert (data["minimum"], data["binding"], data["r2_cox_snell_method"]) == (662, ["optimism"], "given")
    assert data["events"] == pytest.approx(662 * 0.174)
    assert data["events_per_parameter"] == pytest.approx(662 * 0.174 / 24)
    assert data["max_r2_cox_snell"] == pytest.approx(0.6032, abs=1e-4)


def test_development_from_a_c_statistic_says_how_r2_was_obtained(tmp_path, capsys):
    out_file = tmp_path / "c.json"
    args = ["samplesize", "development", "--parameters", "24", "--prevalence", "0.174", "--c-statistic", "0.89"]
    assert main([*args, "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "from C-statistic 0.89" in out and "Gauss–Hermite quadrature" in out
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert data["inputs"]["c_statistic"] == 0.89 and data["inputs"]["r2_cox_snell"] is None
    assert data["r2_cox_snell"] == 0.291  # the limit 0.290955 to 4 decimals; pmsampsize's simulation gives 0.2902
    assert "pmsampsize" in data["r2_cox_snell_method"]


def test_validation_from_the_shipped_artifact_names_the_binding_criterion(tmp_path, capsys):
    out_file = tmp_path / "val.json"
    args = ["samplesize", "validation", "--artifact", str(DEMO_ARTIFACT), "--threshold", "0.3"]
    assert main([*args, "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "minimum (set by calibration slope)" in out
    assert "the artifact's optimism-corrected AUC" in out and "from the artifact's ROC curve" in out
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert [c["sample_size"] for c in data["criteria"]] == [694, 2512, 397, 445]
    assert data["minimum"] == 2512 and data["binding"] == ["calibration_slope"]
    assert data["inputs"]["linear_predictor"]["distribution"] == "empirical"
    assert data["net_benefit"]["sensitivity"] == 0.74


def test_validation_without_an_artifact_takes_everything_from_options(capsys):
    args = ["samplesize", "validation", "--prevalence", "0.018", "--c-statistic", "0.8", "--lp-normal", "-5", "2.5"]
    assert main([*args, "--oe-ci-width", "1"]) == 0
    out = capsys.readouterr().out
    sizes = [line.split()[-5] for line in out.splitlines() if line.startswith(("O/E", "calibration slope", "C-stat"))]
    assert sizes == ["905", "4554", "4252"]
    assert "minimum (set by calibration slope)" in out


def test_json_is_not_replaced_without_force(tmp_path, capsys):
    target = tmp_path / "exists.json"
    target.write_text("keep")
    args = ["samplesize", "development", "--parameters", "3", "--prevalence", "0.3", "--r2cs", "0.1"]
    assert main([*args, "--json", str(target)]) == 2
    assert "--json" in capsys.readouterr().err and target.read_text() == "keep"
    assert main([*args, "--json", str(target), "--force"]) == 0
    assert json.loads(target.read_text())["minimum"] > 0


def run(args: list[str]) -> int:
    """main(), with argparse's own refusals (exit 2 after the usage line) counted like ours."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["development", "--parameters", "0", "--prevalence", "0.2", "--r2cs", "0.1"], "--parameters"),
        (["development", "--parameters", "3", "--prevalence", "1.5", "--r2cs", "0.1"], "--prevalence"),
        (["development", "--parameters", "3", "--prevalence", "0", "--r2cs", "0.1"], "--prevalence"),
        (["development", "--parameters", "3", "--prevalence", "0.1", "--r2cs", "0.6"], "--r2cs"),
        (["development", "--parameters", "3", "--prevalence", "0.1", "--c-statistic", "0.4"], "--c-statistic"),
        (["development", "--parameters", "3", "--prevalence", "0.1", "--r2cs", "0.1", "--margin", "0"], "--margin"),
        (["development", "--parameters", "3", "--prevalence", "0.1", "--r2cs", "0.1", "--delta", "-1"], "--delta"),
        (
            ["development", "--parameters", "3", "--prevalence", "0.1", "--r2cs", "0.1", "--shrinkage", "1"],
            "--shrinkage",
        ),
        (["development", "--parameters", "3", "--prevalence", "nan", "--r2cs", "0.1"], "--prevalence"),
        (["development", "--parameters", "3", "--prevalence", "0.1"], "--r2cs"),
        (["validation", "--artifact", "/nonexistent/a.json"], "--artifact"),
        (["validation", "--prevalence", "0.1", "--c-statistic", "0.7"], "--lp-normal"),
        (["validation", "--artifact", "DEMO", "--prevalence", "2"], "--prevalence"),
        (["validation", "--artifact", "DEMO", "--c-statistic", "0.5"], "--c-statistic"),
        (["validation", "--artifact", "DEMO", "--oe-ci-width", "0"], "--oe-ci-width"),
        (["validation", "--artifact", "DEMO", "--slope-ci-width", "-0.2"], "--slope-ci-width"),
        (["validation", "--artifact", "DEMO", "--c-ci-width", "0"], "--c-ci-width"),
        (["validation", "--artifact", "DEMO", "--threshold", "0.3", "--nb-ci-width", "0"], "--nb-ci-width"),
        (["validation", "--artifact", "DEMO", "--threshold", "1"], "--threshold"),
        (["validation", "--artifact", "DEMO", "--threshold", "0.3", "--nb-ci-width", "0.001"], "--nb-ci-width"),
        (["validation", "--artifact", "DEMO", "--sensitivity", "0.7", "--specificity", "0.6"], "--threshold"),
        (["validation", "--artifact", "DEMO", "--lp-normal", "0", "0"], "--lp-normal"),
    ],
)
def test_bad_input_is_one_message_naming_the_option_and_exit_2(args, needle, capsys):
    args = [str(DEMO_ARTIFACT) if a == "DEMO" else a for a in args]
    assert run(["samplesize", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    message = err.strip().splitlines()[-1]  # argparse prints its usage first
    assert needle in message and "error:" in message
    if err.startswith("error: "):
        assert err.count("\n") == 1


def test_an_invalid_artifact_is_refused_with_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1')
    assert main(["samplesize", "validation", "--artifact", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --artifact: model artifact") and "not valid JSON" in err


def test_margin_delta_and_shrinkage_reach_the_criteria(tmp_path):
    """--margin 0.1: (1.96/0.1)² · 0.174 · 0.826 = 384.16 · 0.143724 = 55.21 → 56.  --delta 0.1: S₂ = 0.288 /
    (0.288 + 0.1 · 0.60320) = 0.288/0.34832 = 0.82683, n₂ = 24 / ((S₂ − 1) ln(1 − 0.288/S₂)) = 24 / (0.17317 ·
    0.42822) = 323.65 → 324.
    --shrinkage 0.8: n₁ = 24 / (0.2 · −ln(1 − 0.36)) = 24 / (0.2 · 0.446287) = 268.9 → 269."""
    out_file = tmp_path / "o.json"
    args = ["samplesize", "development", "--parameters", "24", "--prevalence", "0.174", "--r2cs", "0.288"]
    extra = ["--margin", "0.1", "--delta", "0.1", "--shrinkage", "0.8", "--json", str(out_file)]
    assert main([*args, *extra]) == 0
    data = json.loads(out_file.read_text())
    assert [c["sample_size"] for c in data["criteria"]] == [269, 324, 56]
    assert (data["inputs"]["margin"], data["inputs"]["delta"], data["inputs"]["shrinkage"]) == (0.1, 0.1, 0.8)
