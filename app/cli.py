"""The command line: `python -m app …` and the installed `rnet` script.

Exit codes: 0 success, 2 user error (bad file, bad arguments) with a
one-paragraph message, 1 anything else.  No traceback reaches the user
unless RNET_DEBUG=1 asks for one.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path

from app.cli_files import check_inputs, check_outputs, check_text_arguments, check_text_tree
from app.errors import UserInputError

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2
DEFAULT_SEED = 20240221
MIN_SIMULATED, MAX_SIMULATED = 20, 1_000_000


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line, exit code 2, like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER, f"{self.prog}: error: {message}\n")


def _predictor_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give predictor names separated by commas")
    return names


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _timestamp(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", text):
        raise argparse.ArgumentTypeError("use UTC like 2026-01-31T12:00:00Z")
    return text


def _reproducible_time(args: argparse.Namespace) -> str | None:
    """--created-at, else SOURCE_DATE_EPOCH (reproducible builds), else now."""
    if args.created_at:
        return args.created_at
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        from datetime import datetime

        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError, OSError):
            raise UserInputError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got '{epoch}'.") from None
    return None


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_simulate(args: argparse.Namespace) -> int:
    from app.model.artifact import write_atomic
    from app.stats.simulate import cohort_csv, simulate_cohort

    if not MIN_SIMULATED <= args.n <= MAX_SIMULATED:
        raise UserInputError(
            f"--n must be from {MIN_SIMULATED} (a cohort that can be fitted) to {MAX_SIMULATED:,} patients "
            "(a larger file only costs memory and disk)."
        )
    check_outputs({"--out": args.out}, inputs={}, force=args.force)
    write_atomic(args.out, cohort_csv(simulate_cohort(n=args.n, seed=args.seed)), force=args.force)
    _say(f"wrote {args.n} synthetic patients to {args.out} (seed {args.seed}); they are not real patients.")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from app.model.artifact import check_model_id, write_artifact
    from app.stats.cohort import OUTCOME, read_cohort
    from app.stats.train import check_predictor_names, train_artifact

    check_text_arguments({"--notes": args.notes, "--model-id": args.model_id})
    check_predictor_names(args.predictors)
    model_id = check_model_id(args.model_id or _model_id_from(args.out))
    check_inputs({"--data": args.data})
    check_outputs({"--out": args.out}, inputs={"--data": args.data}, force=args.force)
    cohort = read_cohort(args.data, required=(*args.predictors, OUTCOME))
    artifact, notices = train_artifact(
        cohort=cohort,
        predictors=args.predictors,
        bootstrap=args.bootstrap,
        seed=args.seed,
        model_id=model_id,
        source=args.source,
        created_at=_reproducible_time(args),
        notes=args.notes,
        shrinkage=args.shrinkage,
        applicable=dict(args.applicable),
    )
    for notice in notices:
        _say(notice if notice.startswith("warning: ") else f"note: {notice}")
    stamped = write_artifact(args.out, artifact, force=args.force)
    _print_summary(stamped)
    _say(f"wrote {args.out} (sha256 {stamped['sha256'][:16]}…)")
    return EXIT_OK


def _applicable_range(text: str) -> tuple[str, tuple[float, float]]:
    """NAME=LOW:HIGH, e.g. ki67_percent=0:20."""
    name, _, bounds = text.partition("=")
    low, _, high = bounds.partition(":")
    try:
        values = (float(low), float(high))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=LOW:HIGH (for example ki67_percent=0:20)") from None
    if not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' names no predictor (for example ki67_percent=0:20)")
    return name.strip(), values


def _model_id_from(path: str) -> str:
    stem = re.sub(r"[^a-z0-9._-]+", "-", Path(path).stem.lower()).strip("-._")
    return stem[:64] or "model"


def _print_summary(artifact: dict) -> None:
    perf = artifact["performance"]
    print(f"model {artifact['model_id']} ({artifact['provenance']['source']})")
    print(f"{'term':<22}{'beta':>10}{'SE':>9}{'OR':>9}{'95% CI':>20}{'p':>9}")
    for row in artifact["coefficient_table"]:
        ci = f"{row['or_ci95'][0]:.2f}–{row['or_ci95'][1]:.2f}"
        print(
            f"{row['name']:<22}{row['beta']:>10.4f}{row['se']:>9.4f}{row['odds_ratio']:>9.3f}{ci:>20}{row['p']:>9.4f}"
        )
    if perf.get("auc") is not None:
        lo, hi = perf["auc_ci95"]
        print(f"n = {perf['n']}, events = {perf['events']}; AUC {perf['auc']:.3f} (DeLong 95% CI {lo:.3f}–{hi:.3f})")
    if perf.get("auc_optimism_corrected") is not None:
        print(
            f"bootstrap (B = {perf['bootstrap_replicates']}): optimism-corrected AUC {perf['auc_optimism_corrected']:.3f}, "
            f"calibration slope {perf['calibration_slope_optimism_corrected']:.3f}, "
            f"Brier {perf['brier_optimism_corrected']:.4f}"
        )


def cmd_from_coefficients(args: argparse.Namespace) -> int:
    from app.model.artifact import write_artifact
    from app.stats.published import artifact_from_spec, read_spec

    check_inputs({"the spec": args.spec})
    check_outputs({"--out": args.out}, inputs={"the spec": args.spec}, force=args.force)
    spec = read_spec(args.spec)
    check_text_tree(spec, f"the spec '{args.spec}'")
    try:
        artifact, notices = artifact_from_spec(spec, created_at=_reproducible_time(args))
    except UserInputError as exc:
        # The spec's list of predictors is checked by the code that checks train's --predictors option.
        text = str(exc)
        if text.startswith("--predictors: "):
            raise UserInputError("the spec's 'predictors': " + text.removeprefix("--predictors: ")) from None
        raise
    for notice in notices:
        _say(notice if notice.startswith("warning: ") else f"note: {notice}")
    stamped = write_artifact(args.out, artifact, force=args.force)
    _say(f"wrote {args.out} (source 'published', sha256 {stamped['sha256'][:16]}…)")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    import json

    from app.model.artifact import load_artifact, write_artifact, write_atomic
    from app.stats.cohort import read_cohort
    from app.stats.validate import recorded_validation, validate_artifact
    from app.web.reports import render_validation_report, verdict_text

    inputs = {"--artifact": args.artifact, "--data": args.data}
    check_text_arguments({"--cohort-name": args.cohort_name})
    if bool(args.record) != bool(args.cohort_name):
        raise UserInputError("--record and --cohort-name go together: name the cohort the record will show.")
    check_inputs(inputs)
    check_outputs({"--out": args.out, "--json": args.json, "--record": args.record}, inputs=inputs, force=args.force)
    artifact = load_artifact(args.artifact)
    cohort = read_cohort(args.data)
    result = validate_artifact(artifact=artifact, cohort=cohort)
    recorded = None
    if args.record:
        recorded = recorded_validation(
            json.loads(Path(args.artifact).read_text(encoding="utf-8")),
            artifact=artifact, cohort=cohort, cohort_name=args.cohort_name, figures=result["figures"],
        )  # fmt: skip
    for verdict in result["verdicts"]:
        verdict["text"] = verdict_text(verdict, "en")
    for notice in cohort.notices():
        _say(notice if notice.startswith("warning: ") else f"note: {notice}")
    figures = result["figures"]
    print(
        f"model {artifact.model_id} on {cohort.source_name}: n = {figures['n']}, events = {figures['events']} "
        f"({result['cohort']['selection']})"
    )
    for verdict in result["verdicts"]:
        print(f"- {verdict['text']}")
    if args.json:
        write_atomic(
            args.json,
            (json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode(),
            force=args.force,
        )
        _say(f"wrote {args.json}")
    if args.out:
        write_atomic(args.out, render_validation_report(result, lang=args.lang).encode("utf-8"), force=args.force)
        _say(f"wrote {args.out}")
    if recorded is not None:
        stamped = write_artifact(args.record, recorded, force=args.force)
        _say(f"wrote {args.record}: {artifact.model_id} recording this validation (sha256 {stamped['sha256'][:16]}…)")
    return EXIT_OK


def cmd_recalibrate(args: argparse.Namespace) -> int:
    from app.model.artifact import check_model_id, load_artifact, write_artifact
    from app.stats.cohort import read_cohort
    from app.stats.recalibrate import recalibrated_artifact

    check_text_arguments({"--model-id": args.model_id})
    model_id = check_model_id(args.model_id or _model_id_from(args.out))
    inputs = {"--artifact": args.artifact, "--data": args.data}
    check_inputs(inputs)
    check_outputs({"--out": args.out}, inputs=inputs, force=args.force)
    parent = load_artifact(args.artifact)
    cohort = read_cohort(args.data)
    artifact, notices = recalibrated_artifact(
        artifact=parent, cohort=cohort, method=args.method, model_id=model_id, created_at=_reproducible_time(args)
    )
    for notice in cohort.notices() + notices:
        _say(notice if notice.startswith("warning: ") else f"note: {notice}")
    stamped = write_artifact(args.out, artifact, force=args.force)
    _print_summary(stamped)
    _say(
        f"wrote {args.out}: {stamped['provenance']['update_method']} update of {parent.model_id} "
        f"(sha256 {stamped['sha256'][:16]}…)"
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the cohort report.  Every check is made, and every output computed, before anything is
    written: a refusal (exit 2) leaves no file behind.  A model the data cannot support (separation, too
    few events, collinearity) is not a refusal: the tables are written, the model sections say why, and a
    warning goes to stderr."""
    import csv
    import io
    import json

    from app.model.artifact import write_atomic
    from app.stats.cohort import read_cohort
    from app.stats.report import CSV_TABLE_NAMES, cohort_report, csv_tables, looks_synthetic, model_failure_sentence
    from app.stats.train import check_predictor_names
    from app.web.reports import render_cohort_report

    check_predictor_names(args.predictors)
    targets = [Path(t) for t in (args.out, args.json) if t]
    tables = [Path(args.csv_dir) / name for name in CSV_TABLE_NAMES] if args.csv_dir else []
    if args.csv_dir and not Path(args.csv_dir).is_dir():
        raise UserInputError(f"--csv-dir '{args.csv_dir}' is not an existing folder; create it first.")
    check_inputs({"--data": args.data})
    table_options = {f"--csv-dir table '{path.name}'": str(path) for path in tables}
    check_outputs(
        {"--out": args.out, "--json": args.json, **table_options},
        inputs={"--data": args.data},
        force=args.force,
        replaceable=frozenset(table_options),  # the tables in --csv-dir are replaced, as before
    )
    if len({t.resolve() for t in targets + tables}) < len(targets + tables):
        raise UserInputError("--out, --json and the CSV tables must be different files; give different names.")
    for target in targets + tables:
        if target.is_dir():
            raise UserInputError(f"'{target}' is a folder; give a file name to write to.")
    for target in targets:  # the CSV tables in --csv-dir are replaced, as before
        if target.exists() and not args.force:
            raise UserInputError(f"'{target}' already exists; choose another name or add --force to replace it.")
        if not target.parent.is_dir():
            raise UserInputError(f"the folder '{target.parent}' for '{target.name}' does not exist; create it first.")
    cohort = read_cohort(args.data)
    data = cohort_report(
        cohort=cohort, predictors=args.predictors, bootstrap=args.bootstrap, seed=args.seed,
        synthetic=args.synthetic or looks_synthetic(cohort),
    )  # fmt: skip
    outputs: list[tuple[Path, bytes]] = []
    if args.json:
        outputs.append(
            (Path(args.json), (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode())
        )
    if args.csv_dir:
        for name, rows in csv_tables(data).items():
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            outputs.append((Path(args.csv_dir) / name, buffer.getvalue().encode("utf-8")))
    outputs.append((Path(args.out), render_cohort_report(data, lang=args.lang).encode("utf-8")))
    for notice in cohort.notices() + data["model"]["notices"]:
        _say(notice if notice.startswith("warning: ") else f"note: {notice}")
    for path, content in outputs:
        write_atomic(path, content, force=args.force or path in tables)
    if data["artifact"] is None:
        _say(f"warning: {model_failure_sentence(data['model'])} Table 1 and the outcomes were written.")
    if args.json:
        _say(f"wrote {args.json}")
    if args.csv_dir:
        _say(f"wrote the tables as CSV in {args.csv_dir}")
    flow = data["flow"]
    print(f"{flow['analysed']} patients: <10 mm {flow['small']}, 10–20 mm {flow['large']}; wrote {args.out}")
    return EXIT_OK


def _write_json_output(path: str, data: dict, *, force: bool) -> None:
    import json

    from app.model.artifact import write_atomic

    write_atomic(path, (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode(), force=force)
    _say(f"wrote {path}")


def _check_json_target(path: str | None, force: bool) -> None:
    if path and Path(path).exists() and not force:
        raise UserInputError(f"--json '{path}' already exists; choose another name or add --force to replace it.")


def cmd_samplesize_development(args: argparse.Namespace) -> int:
    from app.stats.samplesize import cox_snell_r2_from_c_statistic, development_sample_size
    from app.stats.samplesize_report import development_data, development_text

    _check_json_target(args.json, args.force)
    if args.parameters < 1:
        raise UserInputError(f"--parameters must be 1 or more predictor parameters (got {args.parameters}).")
    if not 0.0 < args.prevalence < 1.0:
        raise UserInputError(f"--prevalence must lie strictly between 0 and 1 (got {args.prevalence:g}).")
    for option, value in (("--delta", args.delta), ("--margin", args.margin)):
        if value <= 0:
            raise UserInputError(f"{option} must be positive (got {value:g}).")
    if not 0.0 < args.shrinkage < 1.0:
        raise UserInputError(f"--shrinkage must lie strictly between 0 and 1 (got {args.shrinkage:g}).")
    if args.c_statistic is not None:
        if not 0.5 < args.c_statistic < 1.0:
            raise UserInputError(f"--c-statistic must lie strictly between 0.5 and 1 (got {args.c_statistic:g}).")
        r2 = cox_snell_r2_from_c_statistic(c_statistic=args.c_statistic, prevalence=args.prevalence)
    else:
        r2 = args.r2cs
    try:
        result = development_sample_size(
            parameters=args.parameters, prevalence=args.prevalence, r2_cs=r2,
            shrinkage=args.shrinkage, delta=args.delta, margin=args.margin,
        )  # fmt: skip
    except UserInputError as exc:
        option = "--c-statistic" if args.c_statistic is not None else "--r2cs"
        raise UserInputError(f"{option}: {exc}") from None
    data = development_data(result, delta=args.delta, margin=args.margin, c_statistic=args.c_statistic)
    print(development_text(data))
    if args.json:
        _write_json_output(args.json, data, force=args.force)
    return EXIT_OK


def cmd_samplesize_validation(args: argparse.Namespace) -> int:
    from app.stats.samplesize_report import validation_data, validation_text
    from app.stats.samplesize_validation import inputs_from_artifact, normal_lp_distribution, validation_sample_size

    _check_json_target(args.json, args.force)
    sources: dict[str, str] = {}
    prevalence, c_statistic, lp = args.prevalence, args.c_statistic, None
    if args.lp_normal is not None:
        mean, sd = args.lp_normal
        if sd <= 0:
            raise UserInputError(f"--lp-normal: the standard deviation must be positive (got {sd:g}).")
        lp = normal_lp_distribution(mean=mean, sd=sd, description="normal, as given by --lp-normal")
    if args.artifact:
        from app.model.artifact import load_artifact

        try:
            artifact = load_artifact(args.artifact)
        except UserInputError as exc:
            raise UserInputError(f"--artifact: {exc}") from None
        found = inputs_from_artifact(artifact)
        if prevalence is None and found.prevalence is not None:
            prevalence, sources["prevalence"] = found.prevalence, "the artifact's development prevalence"
        if c_statistic is None and found.c_statistic is not None:
            c_statistic, sources["c_statistic"] = found.c_statistic, found.c_statistic_source
        if lp is None:
            lp = found.lp
    sources.setdefault("prevalence", "given by --prevalence")
    sources.setdefault("c_statistic", "given by --c-statistic")
    missing = [
        option
        for option, value in (("--prevalence", prevalence), ("--c-statistic", c_statistic), ("--lp-normal", lp))
        if value is None
    ]
    if missing:
        where = f"the artifact '{args.artifact}' does not record them" if args.artifact else "no --artifact was given"
        raise UserInputError(
            f"the validation criteria need {', '.join(missing)}: {where}. Give --artifact A.json of a model trained "
            "by `rnet train`, or these options (--lp-normal MEAN SD is the linear predictor's anticipated mean and "
            "standard deviation in the validation population)."
        )
    assert prevalence is not None and c_statistic is not None and lp is not None
    checks = (
        ("--prevalence", 0.0 < prevalence < 1.0, "lie strictly between 0 and 1"),
        ("--c-statistic", 0.5 < c_statistic < 1.0, "lie strictly between 0.5 and 1"),
        ("--oe-ci-width", args.oe_ci_width > 0, "be positive"),
        ("--slope-ci-width", args.slope_ci_width > 0, "be positive"),
        ("--c-ci-width", args.c_ci_width > 0, "be positive"),
        ("--nb-ci-width", args.nb_ci_width > 0, "be positive"),
    )
    values = {"--prevalence": prevalence, "--c-statistic": c_statistic, "--oe-ci-width": args.oe_ci_width,
              "--slope-ci-width": args.slope_ci_width, "--c-ci-width": args.c_ci_width,
              "--nb-ci-width": args.nb_ci_width}  # fmt: skip
    for option, ok, rule in checks:
        if not ok:
            raise UserInputError(f"{option} must {rule} (got {values[option]:g}).")
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise UserInputError(f"--threshold must lie strictly between 0 and 1 (got {args.threshold:g}).")
    result = validation_sample_size(
        prevalence=prevalence, c_statistic=c_statistic, lp=lp, oe_ci_width=args.oe_ci_width,
        slope_ci_width=args.slope_ci_width, c_ci_width=args.c_ci_width, threshold=args.threshold,
        sensitivity=args.sensitivity, specificity=args.specificity, nb_ci_width=args.nb_ci_width,
    )  # fmt: skip
    data = validation_data(result, sources=sources)
    print(validation_text(data))
    if args.json:
        _write_json_output(args.json, data, force=args.force)
    return EXIT_OK


def _finite(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def _add_samplesize_commands(commands: argparse._SubParsersAction) -> None:
    samplesize = commands.add_parser(
        "samplesize", help="minimum sample size to develop (Riley 2020) or externally validate (Riley 2021) a model"
    )
    kinds = samplesize.add_subparsers(dest="kind", metavar="KIND", parser_class=_Parser)
    kinds.required = True

    development = kinds.add_parser("development", help="Riley et al.'s criteria 1-3 for developing a model")
    development.add_argument("--parameters", type=int, required=True, help="candidate predictor parameters P")
    development.add_argument("--prevalence", type=_finite, required=True, help="anticipated outcome proportion")
    r2 = development.add_mutually_exclusive_group(required=True)
    r2.add_argument("--r2cs", type=_finite, help="anticipated Cox-Snell R² of the new model")
    r2.add_argument("--c-statistic", type=_finite, help="an existing model's C-statistic; R²_CS approximated from it")
    development.add_argument("--shrinkage", type=_finite, default=0.9, help="target expected shrinkage (0.9)")
    development.add_argument("--delta", type=_finite, default=0.05, help="acceptable optimism in Nagelkerke R² (0.05)")
    development.add_argument("--margin", type=_finite, default=0.05, help="margin of error of the overall risk (0.05)")
    development.add_argument("--json", default=None, help="also write the result as JSON to this file")
    development.add_argument("--force", action="store_true", help="replace an existing --json file")
    development.set_defaults(handler=cmd_samplesize_development)

    validation = kinds.add_parser("validation", help="Riley et al.'s criteria for externally validating a model")
    validation.add_argument(
        "--artifact", default=None, help="model artifact: its prevalence, C-statistic and linear-predictor distribution"
    )
    validation.add_argument("--prevalence", type=_finite, default=None, help="anticipated outcome proportion")
    validation.add_argument("--c-statistic", type=_finite, default=None, help="anticipated C-statistic")
    validation.add_argument(
        "--lp-normal", type=_finite, nargs=2, metavar=("MEAN", "SD"), default=None,
        help="anticipated linear predictor: normal with this mean and SD (instead of the artifact's cohort)",
    )  # fmt: skip
    validation.add_argument("--oe-ci-width", type=_finite, default=0.2, help="target CI width of O/E (0.2)")
    validation.add_argument("--slope-ci-width", type=_finite, default=0.2, help="of the calibration slope (0.2)")
    validation.add_argument("--c-ci-width", type=_finite, default=0.1, help="of the C-statistic (0.1)")
    validation.add_argument("--threshold", type=_finite, default=None, help="risk threshold for net benefit")
    validation.add_argument("--sensitivity", type=_finite, default=None, help="at the threshold (else implied)")
    validation.add_argument("--specificity", type=_finite, default=None, help="at the threshold (else implied)")
    validation.add_argument("--nb-ci-width", type=_finite, default=0.2, help="of standardized net benefit (0.2)")
    validation.add_argument("--json", default=None, help="also write the result as JSON to this file")
    validation.add_argument("--force", action="store_true", help="replace an existing --json file")
    validation.set_defaults(handler=cmd_samplesize_validation)


def cmd_serve(args: argparse.Namespace) -> int:
    from app.web.server import serve

    return serve(host=args.host, port=args.port, artifact=args.artifact)


def _published_doc() -> str:
    from app.stats import published

    return published.__doc__ or ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnet",
        description="Risk of non-curative endoscopic resection of rectal NETs ≤20 mm: calculator and statistics.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    serve = commands.add_parser("serve", help="start the web calculator")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1, or RNET_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000, or RNET_PORT)")
    serve.add_argument("--artifact", default=None, help="model artifact JSON (default: the shipped demonstration)")
    serve.set_defaults(handler=cmd_serve)

    train = commands.add_parser("train", help="fit and internally validate a model from a cohort CSV")
    train.add_argument("--data", required=True, help="cohort CSV (see the data dictionary)")
    train.add_argument("--out", required=True, help="where to write the artifact JSON")
    train.add_argument(
        "--predictors",
        type=_predictor_list,
        default=("surface_depression", "ki67_percent", "cga_positive"),
        help="comma-separated predictor columns (default surface_depression,ki67_percent,cga_positive)",
    )
    train.add_argument("--bootstrap", type=_positive_int, default=1000, help="bootstrap replicates (default 1000)")
    train.add_argument(
        "--seed", type=_positive_int, default=DEFAULT_SEED, help=f"bootstrap seed (default {DEFAULT_SEED})"
    )
    train.add_argument("--model-id", default=None, help="id shown on pages and in URLs (default: from --out)")
    train.add_argument(
        "--source",
        choices=("fitted", "synthetic-demo"),
        default="fitted",
        help="'fitted' for real patients, 'synthetic-demo' for simulated ones",
    )
    train.add_argument("--notes", default="", help="free-text provenance notes")
    train.add_argument(
        "--shrinkage",
        choices=("none", "bootstrap"),
        default="none",
        help="bootstrap: multiply the coefficients by the optimism-corrected calibration slope and re-estimate "
        "the intercept (Steyerberg 2019, ch. 13); needs --bootstrap > 0 (default none)",
    )
    train.add_argument(
        "--applicable",
        type=_applicable_range,
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH",
        help="range of a continuous predictor where the model applies (the population it is for), e.g. "
        "ki67_percent=0:20 for G1/G2 tumours; outside it the calculator gives no risk (repeatable)",
    )
    train.add_argument("--created-at", type=_timestamp, default=None, help="fixed creation time (reproducible builds)")
    train.add_argument("--force", action="store_true", help="replace an existing --out file")
    train.set_defaults(handler=cmd_train)

    validate = commands.add_parser("validate", help="external validation of an artifact on another cohort")
    validate.add_argument("--artifact", required=True, help="model artifact JSON (verified before use)")
    validate.add_argument("--data", required=True, help="the local cohort CSV")
    validate.add_argument("--out", default=None, help="self-contained HTML report")
    validate.add_argument("--json", default=None, help="all figures, curves and verdicts as JSON")
    validate.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    validate.add_argument(
        "--record", default=None, help="also write a copy of the artifact that records this external validation"
    )
    validate.add_argument("--cohort-name", default=None, help="the validation cohort's name, as pages will show it")
    validate.add_argument("--force", action="store_true", help="replace existing output files")
    validate.set_defaults(handler=cmd_validate)

    recalibrate = commands.add_parser("recalibrate", help="update an artifact for a new hospital's cohort")
    recalibrate.add_argument("--artifact", required=True, help="the model to update (verified before use)")
    recalibrate.add_argument("--data", required=True, help="the local cohort CSV")
    recalibrate.add_argument("--out", required=True, help="where to write the updated artifact")
    recalibrate.add_argument(
        "--method",
        choices=("intercept", "logistic", "refit", "auto"),
        default="auto",
        help="intercept, logistic (intercept and slope), refit, or auto (closed testing; default)",
    )
    recalibrate.add_argument("--model-id", default=None, help="id of the new model (default: from --out)")
    recalibrate.add_argument("--created-at", type=_timestamp, default=None)
    recalibrate.add_argument("--force", action="store_true")
    recalibrate.set_defaults(handler=cmd_recalibrate)

    report = commands.add_parser("report", help="the study's cohort comparison and model figures as one HTML file")
    report.add_argument("--data", required=True, help="cohort CSV")
    report.add_argument("--out", required=True, help="self-contained HTML report")
    report.add_argument("--json", default=None, help="all tables and figures as JSON")
    report.add_argument("--csv-dir", default=None, help="folder for the tables as CSV")
    report.add_argument(
        "--predictors", type=_predictor_list, default=("surface_depression", "ki67_percent", "cga_positive"),
        help="the multivariable model's predictors (default: the three-factor model)",
    )  # fmt: skip
    report.add_argument("--bootstrap", type=_positive_int, default=1000)
    report.add_argument("--seed", type=_positive_int, default=DEFAULT_SEED)
    report.add_argument(
        "--synthetic", action="store_true", help="label the data as synthetic (automatic for rnet simulate files)"
    )
    report.add_argument("--force", action="store_true")
    report.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    report.set_defaults(handler=cmd_report)

    simulate = commands.add_parser("simulate", help="write a synthetic demonstration cohort")
    simulate.add_argument("--out", required=True)
    simulate.add_argument("--n", type=_positive_int, default=213, help="patients (default 213, as the study)")
    simulate.add_argument("--seed", type=_positive_int, default=DEFAULT_SEED)
    simulate.add_argument("--force", action="store_true")
    simulate.set_defaults(handler=cmd_simulate)

    published = commands.add_parser(
        "from-coefficients",
        help="make a 'published' artifact from coefficients and their covariance or SEs",
        description=_published_doc(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    published.add_argument(
        "spec", help="JSON spec with model_id, predictors, coefficients, covariance or standard_errors, reference"
    )
    published.add_argument("--out", required=True)
    published.add_argument("--created-at", type=_timestamp, default=None)
    published.add_argument("--force", action="store_true")
    published.set_defaults(handler=cmd_from_coefficients)
    _add_samplesize_commands(commands)
    return parser


def _options_of(parser: argparse.ArgumentParser, command: str) -> set[str]:
    """The options the command being run accepts (with those of its own subcommands, e.g. `samplesize validation`)."""

    def all_options(sub: argparse.ArgumentParser) -> set[str]:
        options = set(sub._option_string_actions)
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                for nested in action.choices.values():
                    options |= all_options(nested)
        return options

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return all_options(action.choices[command])
    return set()


# Advice shared with `train` (e.g. "Leave one out with --predictors.") that a command without that option
# must not give; what such a command can do instead.
INSTEAD = {"--predictors": "Choose a --method that does not re-estimate the coefficients (intercept or logistic)."}


def _only_own_options(message: str, options: set[str]) -> str:
    """Drop the sentences of `message` that name an option this command does not have."""
    sentences = re.split(r"(?<=[.;:])\s+(?=[A-Z])", message)
    foreign = {o for o in re.findall(r"--[a-z][a-z-]*", message) if o not in options}
    if not foreign or not options:
        return message
    kept = [s for s in sentences if not any(o in s for o in foreign)]
    advice = [
        INSTEAD[o]
        for o in sorted(foreign)
        if o in INSTEAD and set(re.findall(r"--[a-z][a-z-]*", INSTEAD[o])) <= options
    ]
    return " ".join(kept + advice) if kept else message


def single_threaded_blas() -> None:
    """One BLAS thread unless the user chose otherwise; effective only before numpy loads (it has not here).

    The statistics multiply small matrices (a handful of coefficients by a few hundred covariate
    patterns): OpenBLAS's own threads gain nothing there and contend with the bootstrap's two
    threads, which cost a third more time on two cores.
    """
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; turn every failure into a message and an exit code."""
    single_threaded_blas()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UserInputError as exc:
        _say(f"error: {_only_own_options(str(exc), _options_of(parser, args.command))}")
        return EXIT_USER
    except UnicodeError as exc:
        if "surrogates not allowed" not in str(exc):
            raise
        _say(
            "error: an input holds text that is not valid (an escape such as \\ud800 that stands for no letter, "
            "or bytes that are not UTF-8); nothing was written. Correct that text in the input file."
        )
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("RNET_DEBUG") == "1":
            raise
        _say(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug; run again with RNET_DEBUG=1 for details and report it."
        )
        return EXIT_INTERNAL
