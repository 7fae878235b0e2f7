"""`churn report`: the retention report a manager reads, one self-contained HTML file.

Four parts, each a few charts with a two-line reading: retention (CRR per month and quarter,
logo churn, revenue retention, cohorts, churn by segment), early warnings (activity before
churn, support, NPS, health score), today's list (who and how much is at risk, plays, what
changed) and whether the earlier lists came true. Written to
`[report] output_dir/as_of=DATE/report.html` and attached to that list's scoring run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.describe import count
from features.engines import check_runner, open_tables
from features.errors import Fault, Problem, UserError, disk_full_fault
from features.exports.ingest import ingest_exports
from features.exports.verdict import ValidationReport
from features.spec import FeatureSpec
from pipeline.config import Config
from pipeline.console import log_tables, print_warnings
from pipeline.datasets import data_span, exported_history, scoring_features, today
from pipeline.progress import Progress
from pipeline.report import early_warnings as warnings_
from pipeline.report import graded as graded_
from pipeline.report import lists as lists_
from pipeline.report import saves as saves_
from pipeline.report import sections as sections
from pipeline.report.data import History, Lists, at_risk_lists, customer_history
from pipeline.report.html import Part, Section, page
from pipeline.timing import Timer
from pipeline.tracking import descriptions

log = logging.getLogger(__name__)
REPORT_FILE = "report.html"


def run_report(
    config: Config, as_of: dt.date | None = None, *, progress: Progress | None = None
) -> int:
    """Build the report as of a date (`as_of`, else the export date, else today) from the
    exports and the lists written up to it; prints where it went."""
    timer = Timer(progress)
    when = pd.Timestamp(as_of or config.as_of or today())
    with ThreadPoolExecutor(max_workers=1) as pool:
        # DuckDB checks the exports outside the GIL and imports nothing while it does, so
        # the check runs on a second thread while this one reads the lists, draws today's
        # list and opens the MLflow store (on the sample about 2.5 s of the check's 3.5 s).
        # Spark's check starts a session first: it runs on its own.
        duckdb = config.engine.backend == "duckdb"
        checked = pool.submit(_check_exports, config) if duckdb else None
        with timer("lists", "the lists so far, today's in charts, the MLflow store"):
            lists = at_risk_lists(Path(config.scoring.output_dir), when)
            today_ = _today(config, lists)
            store_error = _open_store(config, lists)
        with timer("validate", "checking and typing the exports"):
            tables = _tables(*(checked.result() if checked else _check_exports(config)))
    with timer("history", "customers, populations and labels month by month"):
        history = _history(config, tables, when, lists)
        graded = _graded(config, tables, history, lists)
    with timer("sections", "retention, early warnings and the lists, in charts"):
        html = page(
            f"Retention report as of {when:%Y-%m-%d}",
            _facts(config, history, lists),
            report_parts(config, tables, history, lists=lists, today=today_, graded=graded),
            footer=f"Written by `churn report` on {dt.date.today():%Y-%m-%d}.",
        )
    with timer("write", "one self-contained HTML file"):
        path = write_report(Path(config.report.output_dir), when, html)
    with timer("mlflow", "attached to the list's scoring run"):
        run_id = _attach(config, lists, path, store_error)
        _log_saves(config, graded.saves)
    _print_result(path, run_id, quiet=timer.progress.quiet)
    if not timer.progress.quiet:
        print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in timer.seconds.items()))
    return 0


def _check_exports(config: Config) -> tuple[dict, ValidationReport]:
    runner = check_runner(config.engine)
    return ingest_exports(config.exports, config.cache_dir, config.as_of or today(), runner)


def _tables(paths: dict, validation: ValidationReport) -> dict:
    log_tables(validation)
    print_warnings(validation.warnings)
    return open_tables(paths)


def _history(config: Config, tables: dict, when: pd.Timestamp, lists: Lists) -> History:
    start, end = data_span(tables)
    history = customer_history(
        tables, (start, min(end, when)), definition=config.churn, profile=config.exports.profile
    )
    log.info(
        "%d whole months, %s labelled customer-months, %d lists up to %s",
        len(history.months),
        f"{len(history.rows):,}",
        len(lists.folders),
        f"{when:%Y-%m-%d}",
    )
    return history


@dataclass(frozen=True)
class Graded:
    """The earlier lists whose horizon has passed (date -> (list, outcomes)), those still
    waiting, and their contact sets against their control groups."""

    lists: dict
    waiting: list
    saves: saves_.Saves


def _graded(config: Config, tables: dict, history: History, lists: Lists) -> Graded:
    graded, waiting = graded_.graded_lists(
        lists, tables, definition=config.churn, data_end=history.data_end
    )
    saves = saves_.graded_contact_sets(
        graded,
        saves_.contact_log(tables),
        definition=config.churn,
        plays=config.plays,
    )
    return Graded(graded, waiting, saves)


def report_parts(
    config: Config,
    tables: dict,
    history: History,
    *,
    lists: Lists,
    today: list[Section],
    graded: Graded,
) -> list[Part]:
    """The report's four parts, in reading order (`today`: today's list's sections)."""
    return [
        Part(
            "Retention",
            "How many customers stay, and who leaves.",
            _retention(config, tables, history),
        ),
        Part(
            "Early warnings",
            "What churners do before they leave, on this customer base's own data.",
            _warnings(config, tables, history, lists=lists),
        ),
        Part("Today's list", _list_intro(lists), today),
        Part(
            "Did the lists come true",
            "Each earlier list against what happened once its horizon had passed, and what "
            "the calls bought against the control group.",
            _came_true(config, graded),
        ),
    ]


def _retention(config: Config, tables: dict, history: History) -> list:
    if not history.months:
        return [Section("Retention", missing="less than one whole month of data")]
    purchases = tables["purchases"].select("customer_id", "timestamp", "amount", "status")
    profile = config.exports.profile
    columns = sections.segment_columns(history, profile.categorical, profile.numeric)
    return [
        sections.crr_section(history, "crr"),
        sections.churn_and_revenue_section(
            history, purchases.execute(), "logo", definition=config.churn
        ),
        sections.cohort_section(history, "cohort"),
        sections.segments_section(history, columns, "segments"),
    ]


def _warnings(config: Config, tables: dict, history: History, *, lists: Lists) -> list:
    if history.rows.empty:
        return [Section("Early warnings", missing="no labelled month in the data")]
    when = lists.latest[0] if lists.latest else history.data_end
    exported = exported_history(tables, config.exports)
    spec = health_spec(config, tables)
    features = scoring_features(tables, when, spec, definition=config.churn, history=exported)
    tiers = None
    if lists.latest is not None:
        ranked = lists.latest[1]
        tiers = ranked.set_index(ranked["customer_id"].astype(str))["risk_tier"]
    return [
        warnings_.activity_section(
            history, tables.get("engagement"), "activity", definition=config.churn
        ),
        warnings_.support_section(history, tables, "support"),
        warnings_.nps_section(history, tables, "nps"),
        warnings_.health_section(features, tiers, "health"),
    ]


def health_spec(config: Config, tables: dict) -> FeatureSpec:
    """The features the health score reads (models/baselines.py HEALTH_SIGNALS) and the
    families that hold them: no event-type counts, surveys or profile columns, which it does
    not read (on the sample 70 of 110 features, about half the time)."""
    return FeatureSpec(
        settings=config.features,
        # purchases is always exported; surveys are never read by the score
        tables=(*(t for t in ("engagement", "support") if t in tables), "purchases"),
    )


def _list_intro(lists: Lists) -> str:
    if lists.latest is None:
        return "No at-risk list yet."
    return f"The list as of {lists.latest[0]:%Y-%m-%d} (outputs/at_risk)."


def _today(config: Config, lists: Lists) -> list:
    if lists.latest is None:
        return [
            Section(
                "Today's list", missing="no at-risk list on or before this date: run `churn score`"
            )
        ]
    ranked = lists.latest[1]
    profile = config.exports.profile
    by = next((c for c in (*profile.actionable, *profile.categorical) if c in ranked), None)
    return [
        lists_.at_risk_section(ranked, by, "atrisk", currency=config.features.currency),
        lists_.plays_section(ranked, "plays", currency=config.features.currency),
        lists_.changes_section(lists, "changes"),
    ]


def _came_true(config: Config, graded: Graded) -> list:
    return [
        graded_.came_true_section(
            graded.lists, graded.waiting, "cametrue", definition=config.churn
        ),
        graded_.calibration_section(graded.lists, "calibration"),
        saves_.saves_section(graded.saves, "saves", currency=config.features.currency),
    ]


def _facts(config: Config, history: History, lists: Lists) -> list[str]:
    data = Path(config.exports.directory)
    home = Path(config.path).resolve().parent
    shown = data.relative_to(home) if data.is_relative_to(home) else data
    return header_facts(str(shown), history, lists, descriptions.churn_words(config.churn))


def header_facts(data: str, history: History, lists: Lists, churn: str) -> list[str]:
    """The report's header lines: the data (`data`, where it lies), its last day, customers
    and churn definition (`churn`, in words); the latest list and how many there are."""
    last_day = history.data_end - pd.Timedelta(days=1)
    facts = [
        f"Data: {data}, through {last_day:%Y-%m-%d}; "
        f"{count(len(history.customers), 'customer')}; {churn}.",
    ]
    if lists.latest is not None:
        facts.append(
            f"At-risk list as of {lists.latest[0]:%Y-%m-%d}; "
            f"{count(len(lists.folders), 'list')} so far."
        )
    return facts


def write_report(output_dir: Path, when: pd.Timestamp, html: str) -> Path:
    """Write the report under `as_of=DATE/` in one step (a reader never sees half a file)."""
    folder = output_dir / f"as_of={when:%Y-%m-%d}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".report-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(html)
        os.chmod(temporary, 0o644)
        os.replace(temporary, folder / REPORT_FILE)
    except OSError as error:
        full = disk_full_fault(str(folder), error, "free space or set [report] output_dir")
        if full is not None:
            raise full from None
        why = error.strerror or type(error).__name__
        raise Fault(
            [Problem(str(folder), f"cannot write the report ({why}); set [report] output_dir")]
        ) from None
    return folder / REPORT_FILE


def _open_store(config: Config, lists: Lists) -> UserError | None:
    """Open the MLflow store the report is attached to (when there is a list), early, while
    the exports are checked; a store that cannot be used is raised only once the report is
    written (`_attach`), as the report does not need it."""
    if lists.latest is None:
        return None
    # imported here, not with the module: mlflow takes a second to import, hidden this way
    from pipeline import tracking

    try:
        tracking.open_store(config.tracking)
    except UserError as error:
        return error
    return None


def _attach(config: Config, lists: Lists, path: Path, store_error: UserError | None) -> str | None:
    if lists.latest is None:
        return None
    if store_error is not None:
        raise store_error
    from pipeline import tracking  # opened by _open_store

    as_of = f"{lists.latest[0]:%Y-%m-%d}"
    return tracking.attach_to_scoring_run(config.tracking.scoring_experiment, as_of, path)


def _log_saves(config: Config, saves: saves_.Saves) -> None:
    """Each graded list's saves as metrics on the scoring run that wrote it."""
    if saves.graded.empty:
        return
    from pipeline import tracking  # opened by _open_store

    for when, part in saves.graded.groupby("as_of"):
        tracking.log_to_scoring_run(
            config.tracking.scoring_experiment,
            f"{pd.Timestamp(when):%Y-%m-%d}",
            saves_.saves_metrics(part),
        )


def _print_result(path: Path, run_id: str | None, *, quiet: bool) -> None:
    size = path.stat().st_size / 1e6
    print(f"report: {path} ({size:.1f} MB)")
    if not quiet:
        where = f"run {run_id}, report/{REPORT_FILE}" if run_id else "no scoring run for this list"
        print(f"in MLflow: {where}")
