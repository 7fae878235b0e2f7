"""The `churn` command: validate, simulate, features, train, score, report, ui.

User mistakes (bad exports, bad config, refusals) print one line each on stderr and exit
non-zero; they never show a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

from features.errors import EXIT_BAD_INPUT, EXIT_OK, UserError, disk_full_fault


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _noise(p: argparse.ArgumentParser, default=None) -> None:
    """-v / -q, before or after the command (`churn -q score` or `churn score -q`)."""
    noise = p.add_mutually_exclusive_group()
    kept = {} if default is None else {"default": default}
    noise.add_argument(
        "-v", "--verbose", action="store_true", help="log each step's details", **kept
    )
    noise.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress, only a one-line result (cron)",
        **kept,
    )


def _with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--config", type=Path, default=Path("churn.toml"), help="TOML config")
    p.add_argument("--data", help="export directory (overrides [data].dir)")
    _noise(p, default=argparse.SUPPRESS)  # absent here: the value before the command stands
    return p


def _data_commands(sub) -> None:
    """validate, simulate, features: the commands about exports and the feature set."""
    v = _with_config(sub.add_parser("validate", help="check the exports against the contract"))
    v.add_argument("--as-of", type=_date, help="the data's as-of date (default: today)")
    s = sub.add_parser("simulate", help="write a simulated sample history")
    s.add_argument("--out", type=Path, default=Path("data/sample"))
    s.add_argument("--customers", type=int, default=5000)
    s.add_argument("--months", type=int, default=24)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--end", type=_date, default=dt.date(2026, 11, 1))
    s.add_argument(
        "--team-from",
        type=int,
        metavar="MONTH",
        help="a retention team follows list-like contact sets from this month of the window, "
        "holding back a control group: writes contacts.csv and truth/contacts.csv.gz",
    )
    f = _with_config(sub.add_parser("features", help="list or write the feature catalogue"))
    f.add_argument("--list", action="store_true", help="print every feature")
    f.add_argument("--markdown", type=Path, help="write the catalogue as Markdown to this file")


def _model_commands(sub) -> None:
    """train, score, report, ui: the commands about models and lists."""
    t = _with_config(sub.add_parser("train", help="build features, train, evaluate, register"))
    t.add_argument("--as-of", type=_date, help="treat the data as exported on this date")
    sc = _with_config(sub.add_parser("score", help="write today's ranked at-risk list"))
    sc.add_argument(
        "--as-of", type=_date, help="score as of this date (default: [data] as_of, else today)"
    )
    sc.add_argument(
        "--capacity", type=_count, help="how many customers the team can contact (0: none)"
    )
    r = _with_config(
        sub.add_parser("report", help="write the retention report (one HTML file) and log it")
    )
    r.add_argument(
        "--as-of", type=_date, help="report as of this date (default: [data] as_of, else today)"
    )
    u = _with_config(sub.add_parser("ui", help="start the MLflow UI on 127.0.0.1"))
    u.add_argument("--port", type=int, default=5000)
    _with_config(sub.add_parser("models", help="list the registered versions and the champion"))
    p = _with_config(sub.add_parser("promote", help="make a version the champion (rollback)"))
    p.add_argument("version", help="the version number, as `churn models` lists it")
    p.add_argument("--reason", required=True, help="why, recorded on the version")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churn",
        description=__doc__.splitlines()[0],
        epilog="exit status: 0 done, 2 bad exports or configuration, 3 refused (the result would "
        "be wrong), 4 a fault in the environment; see docs/exit-codes.md",
    )
    _noise(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    _data_commands(sub)
    _model_commands(sub)
    return parser


def _load(args: argparse.Namespace):
    from pipeline.config import load_config

    return load_config(args.config, data_dir=args.data)


def _print_problems(problems) -> None:
    for problem in problems:
        prefix = "error" if problem.fatal else "warning"
        print(f"{prefix}: {problem.shown()}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from pipeline.validate import summary_lines, validate_exports

    config = _load(args)
    as_of = args.as_of or config.as_of or dt.date.today()
    summary = validate_exports(
        config.exports, as_of, config.churn, config.engine, cache_dir=config.cache_dir
    )
    _print_problems(summary.report.problems)
    if summary.report.fatal:
        return EXIT_BAD_INPUT
    print("\n".join(summary_lines(summary)))
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    from simulator import simulate_history, write_history
    from simulator.contacts import ContactPolicy

    team = None if args.team_from is None else ContactPolicy(args.team_from, seed=args.seed)
    tables = simulate_history(args.customers, args.months, args.seed, args.end, contacts=team)
    paths = write_history(tables, args.out)
    for name, path in paths.items():
        print(f"{name:<12} {path}")
    return EXIT_OK


def _features(args: argparse.Namespace) -> int:
    from pipeline.catalogue import catalogue_lines, catalogue_markdown

    config = _load(args)
    if args.markdown:
        args.markdown.write_text(catalogue_markdown(config.exports.profile, config.features))
        print(f"wrote {args.markdown}")
    if args.list or not args.markdown:
        print("\n".join(catalogue_lines(config.exports.profile, config.features)))
    return EXIT_OK


def _progress(args: argparse.Namespace):
    """Stage lines and bars on stderr; redrawn in place on a terminal unless -v logs lines."""
    from pipeline.progress import Progress

    return Progress(
        args.command,
        quiet=args.quiet,
        live=False if args.verbose else None,
        started=args.started,
    )


def _train(args: argparse.Namespace) -> int:
    config = _load(args)  # checked before the heavy imports: a config error answers at once
    from pipeline.train import run_training

    return run_training(config, as_of=args.as_of, progress=_progress(args))


def _score(args: argparse.Namespace) -> int:
    config = _load(args)
    from pipeline.score import run_scoring

    return run_scoring(config, as_of=args.as_of, capacity=args.capacity, progress=_progress(args))


def _report(args: argparse.Namespace) -> int:
    config = _load(args)
    from pipeline.report import run_report

    return run_report(config, as_of=args.as_of, progress=_progress(args))


def _ui(args: argparse.Namespace) -> int:
    from pipeline.tracking import serve_ui

    return serve_ui(_load(args).tracking, port=args.port)


def _models(args: argparse.Namespace) -> int:
    from pipeline.champion import version_lines

    print("\n".join(version_lines(_load(args))))
    return 0


def _promote(args: argparse.Namespace) -> int:
    from pipeline.champion import promote

    print(promote(_load(args), args.version.lstrip("v"), args.reason))
    return 0


COMMANDS = {
    "validate": _validate,
    "simulate": _simulate,
    "features": _features,
    "train": _train,
    "score": _score,
    "report": _report,
    "ui": _ui,
    "models": _models,
    "promote": _promote,
}


def main(argv: list[str] | None = None) -> int:
    """Run one `churn` subcommand and return its exit code."""
    started = time.time()
    args = _parser().parse_args(argv)
    args.started = started
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        _print_problems(exc.problems)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a full disk wherever no step named it more closely (DuckDB,
        # Arrow and Spark raise their own types, saying so in words); anything else is a bug
        where = getattr(exc, "filename", None) or "a file this step writes"
        full = disk_full_fault(str(where), exc, _FULL_REMEDY)
        if full is None:
            raise
        _print_problems(full.problems)
        return full.exit_code


_FULL_REMEDY = (
    "free space or set the folder to another disk ([data] cache_dir, [scoring] output_dir, "
    "[report] output_dir, [tracking] store_dir)"
)
