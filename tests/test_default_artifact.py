"""The shipped demonstration model is re-made bit-for-bit by the project's own commands, on any CPU."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT, REPO

# OpenBLAS kernels that differ in how they sum (SSE3, AVX, AVX2 and AMD's), each with the /proc/cpuinfo
# flag the CPU needs to run it; and thread counts, which change how a product is split.
KERNELS = {"Prescott": "pni", "Sandybridge": "avx", "Haswell": "avx2", "Zen": "avx2"}
THREADS = (1, 2)


def _recipe() -> list[list[str]]:
    """The two commands of model_artifacts/README.md, read from the README itself."""
    text = (REPO / "model_artifacts" / "README.md").read_text(encoding="utf-8")
    block = text.split("```")[1].replace("\\\n", " ")
    return [line.split()[3:] for line in block.strip().splitlines() if line.startswith("python -m app")]


def _train_arguments(cohort: Path, out: Path) -> list[str]:
    """The README's train command with its --data and --out pointed elsewhere (the notes keep their spaces)."""
    train = _recipe()[1]
    train = " ".join(train).split(" --notes ")[0].split()
    notes = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))["provenance"]["notes"]
    train[train.index("--data") + 1] = str(cohort)
    train[train.index("--out") + 1] = str(out)
    return [*train, "--notes", notes]


def test_default_cohort_and_artifact_are_reproduced_exactly(tmp_path):
    simulate, train = _recipe()
    assert simulate[0] == "simulate" and train[0] == "train"
    cohort = tmp_path / DEMO_COHORT.name  # the file name is part of the provenance
    out = tmp_path / "model.json"
    simulate[simulate.index("--out") + 1] = str(cohort)
    assert main(simulate) == 0
    assert cohort.read_bytes() == DEMO_COHORT.read_bytes()
    assert main(_train_arguments(cohort, out)) == 0
    made = json.loads(out.read_text(encoding="utf-8"))
    shipped = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    if made["provenance"]["software"] != shipped["provenance"]["software"]:
        raise AssertionError(
            "software versions differ from those the shipped artifact was made with "
            f"({made['provenance']['software']} vs {shipped['provenance']['software']}); install constraints.txt "
            "or re-make the artifact with the commands in model_artifacts/README.md"
        )
    assert out.read_bytes() == DEMO_ARTIFACT.read_bytes()


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_default_artifact_is_the_same_bytes_under_every_blas_kernel_and_thread_count(tmp_path):
    """OPENBLAS_CORETYPE forces each kernel in turn; all eight runs must write the shipped bytes."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"OPENBLAS_CORETYPE names x86 kernels; this machine is {platform.machine()}")
    flags = _cpu_flags()
    runnable = [kernel for kernel, flag in KERNELS.items() if flag in flags]
    assert "Prescott" in runnable, f"an x86-64 CPU without SSE3? flags: {sorted(flags)[:20]}"
    settings = [(kernel, threads) for kernel in runnable for threads in THREADS]

    def run(setting: tuple[str, int]) -> tuple[tuple[str, int], bytes]:
        kernel, threads = setting
        out = tmp_path / f"{kernel}-{threads}.json"
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "OPENBLAS_NUM_THREADS": str(threads)}
        env.pop("OPENBLAS_L2_SIZE", None)
        done = subprocess.run(
            [sys.executable, "-m", "app", *_train_arguments(DEMO_COHORT, out)],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{kernel}/{threads} thread(s): {done.stderr}"
        return setting, out.read_bytes()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(run, settings))
    shipped = DEMO_ARTIFACT.read_bytes()
    differing = [f"{kernel} with {threads} thread(s)" for (kernel, threads), made in results.items() if made != shipped]
    assert not differing, f"the shipped artifact is not re-made byte-for-byte under: {', '.join(differing)}"
    missing = [kernel for kernel in KERNELS if kernel not in runnable]
    if missing:
        pytest.skip(f"checked {', '.join(runnable)}; this CPU cannot run the {', '.join(missing)} kernel(s)")


def test_shipped_model_is_labelled_a_demonstration():
    shipped = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    assert shipped["provenance"]["source"] == "synthetic-demo"
    assert "not on the study's data" in shipped["provenance"]["notes"]
