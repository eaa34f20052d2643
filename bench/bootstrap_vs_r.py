#!/usr/bin/env python3
"""Benchmark: what 1000 bootstrap replicates add to `train`, against R's rms::validate + rms::calibrate.

For each cohort size, the whole `python -m app train` process is timed with
--bootstrap 1000 and with --bootstrap 10; the difference is what the 990
extra replicates cost (start-up, reading and fitting cancel).  With R and
rms installed, the same is done for `rms::validate` plus `rms::calibrate`
(B = 1000 minus B = 10) on the same file.  Prints a table; asserts nothing.

Usage: python bench/bootstrap_vs_r.py [--sizes 213,1500,20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# As the command line does (app.cli.single_threaded_blas), before numpy is imported here.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

R_SCRIPT = r"""
suppressMessages(library(rms))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); B <- as.integer(args[2])
set.seed(1)
t <- system.time({
  f <- lrm(non_curative_resection ~ surface_depression + ki67_percent + cga_positive, data = d, x = TRUE, y = TRUE)
  v <- validate(f, B = B)
  k <- calibrate(f, B = B)
})
cat(sprintf("%.3f\n", t[["elapsed"]]))
"""


def timed(command: list[str], repeats: int) -> float:
    """Best of `repeats` wall-clock times (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        best = min(best, time.perf_counter() - start)
    return best


def r_time(cohort: Path, replicates: int, script: Path, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        out = subprocess.run(
            ["Rscript", str(script), str(cohort), str(replicates)], check=True, capture_output=True, text=True
        )
        best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def bootstrap_alone(cohort: Path, repeats: int, cpus: int | None = None) -> float:
    """Wall time of the main model's bootstrap_optimism(B = 1000), best of `repeats`.

    With `cpus`, in a child process pinned to that many CPUs (sched_setaffinity, as `taskset`): the
    bootstrap then uses only those, which gives the one-core figure R's single thread compares with.
    """
    if cpus is not None:
        script = (
            f"import os, sys; os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:{cpus}])); "
            f"sys.path.insert(0, {str(REPO)!r}); from bench.bootstrap_vs_r import bootstrap_alone; "
            f"print(bootstrap_alone(__import__('pathlib').Path({str(cohort)!r}), {repeats}))"
        )
        out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=REPO)
        return float(out.stdout.strip().splitlines()[-1])
    import numpy as np

    from app.stats.bootstrap import bootstrap_optimism
    from app.stats.cohort import read_cohort
    from app.stats.fit import fit_logistic

    names = ("surface_depression", "ki67_percent", "cga_positive")
    selection = read_cohort(cohort).complete_case([*names, "non_curative_resection"], max_diameter_mm=20)
    x = np.column_stack([selection.columns[name] for name in names])
    y = selection.columns["non_curative_resection"]
    fit = fit_logistic(x=x, y=y, names=names)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        bootstrap_optimism(x=x, y=y, coef=fit.coef_, replicates=1000, seed=1)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="213,1500,20000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    have_r = (
        shutil.which("Rscript") is not None
        and subprocess.run(["Rscript", "-e", "suppressMessages(library(rms))"], capture_output=True).returncode == 0
    )
    work = Path(tempfile.mkdtemp(prefix="rnet-bench-"))
    script = work / "validate.R"
    script.write_text(R_SCRIPT)
    print(
        f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; R/rms {'yes' if have_r else 'not installed'}"
    )
    print(
        f"{'n':>7} {'ours B=10':>10} {'ours B=1000':>12} {'ours added':>11} {'bootstrap':>10} {'1 core':>7} "
        f"{'R added':>9} {'R/train':>8} {'R/boot':>7} {'R/1core':>8}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        cohort = work / f"cohort-{n}.csv"
        subprocess.run(
            [sys.executable, "-m", "app", "simulate", "--out", str(cohort), "--n", str(n), "--seed", "7"],
            check=True,
            capture_output=True,
            cwd=REPO,
        )

        def train(b: int, cohort: Path = cohort, n: int = n) -> list[str]:
            return [sys.executable, "-m", "app", "train", "--data", str(cohort), "--out", str(work / f"m-{n}-{b}.json"),
                    "--bootstrap", str(b), "--force"]  # fmt: skip

        ours_10 = timed(train(10), args.repeats)
        ours_1000 = timed(train(1000), args.repeats)
        added = ours_1000 - ours_10
        boot = bootstrap_alone(cohort, args.repeats)
        one_core = bootstrap_alone(cohort, args.repeats, cpus=1)
        if have_r:
            r_repeats = 1 if n > 5000 else args.repeats
            r_added = r_time(cohort, 1000, script, r_repeats) - r_time(cohort, 10, script, r_repeats)
            ratio, boot_ratio, core_ratio = (
                f"{r_added / added:8.1f}",
                f"{r_added / boot:7.1f}",
                f"{r_added / one_core:8.1f}",
            )
            r_text = f"{r_added:9.2f}"
        else:
            r_text, ratio, boot_ratio, core_ratio = f"{'—':>9}", f"{'—':>8}", f"{'—':>7}", f"{'—':>8}"
        print(
            f"{n:>7} {ours_10:>10.2f} {ours_1000:>12.2f} {added:>11.2f} {boot:>10.2f} {one_core:>7.2f} "
            f"{r_text} {ratio} {boot_ratio} {core_ratio}"
        )
    shutil.rmtree(work, ignore_errors=True)
    print(
        "times in seconds, best of repeats; 'added' = B=1000 minus B=10 (start-up cancels), which for `train` "
        "includes the three pattern submodels' bootstraps (indices only); 'bootstrap' = the main model's "
        "1000 replicates alone (validation indices and calibration curve), like for like with R's "
        "validate + calibrate, on all usable CPUs (at most 2) and pinned to one core ('1 core'; R uses one)"
    )


if __name__ == "__main__":
    main()
