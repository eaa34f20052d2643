"""The command line never clobbers files: outputs that name an input, a folder, a link, a device or a FIFO.

Each case is refused with exit 2 and a message naming the option, even with --force, and the
inputs are left byte for byte as they were.  Inputs that are FIFOs are refused without being opened
(the command would otherwise wait for ever), so these tests run each command with a timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from app.cli import _only_own_options
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT, REPO
from tests.stats.test_published import SPEC


def run(*args: str | bytes) -> subprocess.CompletedProcess:
    """`python -m app …` with a timeout: a blocked open would fail the test rather than hang it."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=REPO, capture_output=True, timeout=60, env={**os.environ}
    )


@pytest.fixture
def files(tmp_path):
    """A copy of the demo cohort and artifact, a spec, a FIFO, a link and a folder to aim outputs at."""
    cohort = tmp_path / "cohort.csv"
    shutil.copy(DEMO_COHORT, cohort)
    artifact = tmp_path / "model.json"
    shutil.copy(DEMO_ARTIFACT, artifact)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = tmp_path / "elsewhere.json"
    target.write_text("keep me\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    folder = tmp_path / "folder"
    folder.mkdir()
    return {"cohort": cohort, "artifact": artifact, "spec": spec, "fifo": fifo, "link": link, "target": target,
            "folder": folder, "dir": tmp_path}  # fmt: skip


def snapshot(directory) -> dict[str, bytes | str]:
    """Every entry's bytes (or kind), to show that a refusal changed nothing."""
    state: dict[str, bytes | str] = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_symlink():
            state[entry.name] = f"link to {os.readlink(entry)}"
        elif entry.is_fifo() or entry.is_dir():
            state[entry.name] = "fifo" if entry.is_fifo() else "folder"
        else:
            state[entry.name] = entry.read_bytes()
    return state


# (command with placeholders, the message's start); {x} is replaced by the fixture's path of x.
CLOBBERING = [
    pytest.param("train --data {cohort} --out {cohort} --bootstrap 0", "--out '{cohort}' is the same file as --data", id="train-out-is-data"),
    pytest.param("report --data {cohort} --out {cohort} --bootstrap 0", "--out '{cohort}' is the same file as --data", id="report-out-is-data"),
    pytest.param("report --data {cohort} --out {dir}/r.html --json {cohort} --bootstrap 0", "--json '{cohort}' is the same file as --data", id="report-json-is-data"),
    pytest.param("recalibrate --artifact {artifact} --data {cohort} --out {artifact}", "--out '{artifact}' is the same file as --artifact", id="recalibrate-out-is-artifact"),
    pytest.param("recalibrate --artifact {artifact} --data {cohort} --out {cohort}", "--out '{cohort}' is the same file as --data", id="recalibrate-out-is-data"),
    pytest.param("validate --artifact {artifact} --data {cohort} --json {artifact}", "--json '{artifact}' is the same file as --artifact", id="validate-json-is-artifact"),
    pytest.param("validate --artifact {artifact} --data {cohort} --out {dir}/same --json {dir}/same", "--out and --json name the same file", id="validate-out-is-json"),
    pytest.param("from-coefficients {spec} --out {spec}", "--out '{spec}' is the same file as the spec", id="spec-out-is-spec"),
    pytest.param("train --data {cohort} --out {folder}/../cohort.csv --bootstrap 0", "--out '{folder}/../cohort.csv' is the same file as --data", id="same-file-other-spelling"),
    pytest.param("train --data {cohort} --out {link} --bootstrap 0", "--out '{link}' is a symbolic link", id="symlink"),
    pytest.param("simulate --out {link}", "--out '{link}' is a symbolic link", id="simulate-symlink"),
    pytest.param("train --data {cohort} --out /dev/null --bootstrap 0", "--out '/dev/null' is a device", id="device"),
    pytest.param("validate --artifact {artifact} --data {cohort} --json /dev/null", "--json '/dev/null' is a device", id="validate-device"),
    pytest.param("train --data {cohort} --out {fifo} --bootstrap 0", "--out '{fifo}' is a named pipe (FIFO)", id="fifo-out"),
    pytest.param("from-coefficients {spec} --out {folder}", "--out '{folder}' is a folder", id="folder"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "message"), CLOBBERING)
def test_outputs_that_would_clobber_are_refused_even_with_force(files, command, message):
    before = snapshot(files["dir"])
    result = run(*command.format(**files).split(), "--force")
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.startswith("error: " + message.format(**files)), stderr
    assert "Traceback" not in stderr
    assert snapshot(files["dir"]) == before  # nothing written, nothing replaced
    assert files["target"].read_text() == "keep me\n"


def test_the_link_target_itself_may_be_named_and_replaced_with_force(files):
    """Refusing the link is not refusing the file: `--out` naming the real file works as before."""
    result = run("simulate", "--out", str(files["target"]), "--n", "50", "--force")
    assert result.returncode == 0, result.stderr.decode()
    assert files["target"].read_text().startswith("patient_id,")  # a cohort now, not "keep me"
    assert files["link"].is_symlink()


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("train --data {fifo} --out {dir}/m.json --bootstrap 0", "--data '{fifo}' is a named pipe (FIFO), not a file"),
        ("report --data {fifo} --out {dir}/r.html", "--data '{fifo}' is a named pipe (FIFO), not a file"),
        ("validate --artifact {fifo} --data {cohort}", "--artifact '{fifo}' is a named pipe (FIFO), not a file"),
        ("validate --artifact {artifact} --data {fifo}", "--data '{fifo}' is a named pipe (FIFO), not a file"),
        ("recalibrate --artifact {artifact} --data {fifo} --out {dir}/b.json", "--data '{fifo}' is a named pipe"),
        ("from-coefficients {fifo} --out {dir}/p.json", "the spec '{fifo}' is a named pipe (FIFO), not a file"),
        ("train --data {folder} --out {dir}/m.json", "--data '{folder}' is a folder, not a file"),
    ],
)
def test_inputs_that_are_not_files_are_refused_without_blocking(files, command, message):
    result = run(*command.format(**files).split())  # a blocking open() would hit the 60 s timeout instead
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: " + message.format(**files))


def test_an_existing_output_still_needs_force(files):
    out = files["dir"] / "existing.json"
    out.write_text("old\n")
    result = run("from-coefficients", str(files["spec"]), "--out", str(out))
    assert result.returncode == 2 and "already exists" in result.stderr.decode()
    assert out.read_text() == "old\n"
    assert run("from-coefficients", str(files["spec"]), "--out", str(out), "--force").returncode == 0
    assert json.loads(out.read_text())["model_id"] == SPEC["model_id"]


def test_from_coefficients_never_mentions_an_option_it_does_not_have(files):
    spec = {**SPEC, "predictors": [*SPEC["predictors"][:2], {"name": "tumour_colour", "kind": "binary"}]}
    files["spec"].write_text(json.dumps(spec))
    result = run("from-coefficients", str(files["spec"]), "--out", str(files["dir"] / "p.json"))
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr == "error: the spec's 'predictors': 'tumour_colour' is not a column of the data dictionary.\n"


@pytest.mark.parametrize(
    ("message", "options", "expected"),
    [
        # recalibrate (no --predictors, has --method): the train advice is replaced by its own.
        ("the predictors 'a', 'b' are collinear in this cohort. Leave one of them out with --predictors.",
         {"--artifact", "--data", "--out", "--method"},
         "the predictors 'a', 'b' are collinear in this cohort. Choose a --method that does not re-estimate the "
         "coefficients (intercept or logistic)."),
        # validate (neither): the sentence goes, nothing is put in its place.
        ("the predictors are collinear. Leave one out with --predictors.", {"--artifact", "--data", "--out"},
         "the predictors are collinear."),
        # train has the option: the message is kept whole.
        ("the predictors are collinear. Leave one out with --predictors.", {"--data", "--predictors"},
         "the predictors are collinear. Leave one out with --predictors."),
    ],
)  # fmt: skip
def test_advice_naming_another_commands_option_is_not_given(message, options, expected):
    assert _only_own_options(message, options) == expected


def test_a_broken_character_in_a_spec_gets_a_plain_message(files):
    files["spec"].write_text(json.dumps({**SPEC, "reference": "Example et al.\ud800 2025"}))
    result = run("from-coefficients", str(files["spec"]), "--out", str(files["dir"] / "p.json"))
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith(f"error: the spec '{files['spec']}' has a broken character in 'reference'")
    assert "surrogates not allowed" not in stderr and "internal error" not in stderr


def test_a_broken_character_in_an_argument_gets_a_plain_message(files):
    out = str(files["dir"] / "m.json")
    result = run("train", "--data", str(files["cohort"]), "--out", out, "--bootstrap", "0", "--notes", b"bad \xff")
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith("error: --notes contains bytes that are not UTF-8 text"), stderr
    assert not (files["dir"] / "m.json").exists()


def test_a_broken_character_in_an_artifact_is_exit_2_not_a_bug(files):
    data = json.loads(files["artifact"].read_text())
    data["provenance"]["notes"] = "x\ud800"
    files["artifact"].write_text(json.dumps(data))
    result = run("validate", "--artifact", str(files["artifact"]), "--data", str(files["cohort"]))
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith("error: an input holds text that is not valid") and "bug" not in stderr
