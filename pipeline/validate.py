"""The `churn validate` step: check the exports and summarise what they hold."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from features.build import cutoff_table
from features.engines import EngineSettings, check_runner
from features.engines.spark.checks import SparkRunner
from features.exports.appends import typed_reader_sql
from features.exports.cache import keep_beside, read_beside
from features.exports.contract import ExportSource
from features.exports.ingest import (
    check_exports,
    content_key,
    growth_plan,
    replayed,
    store_checked,
)
from features.exports.verdict import ValidationReport
from models.labels import ChurnDefinition, label_churn
from pipeline.tracking.descriptions import churn_words


@dataclass
class ExportSummary:
    """A validation report plus churn per month under the configured definition."""

    report: ValidationReport
    customers: int
    churn_by_month: list[tuple[dt.date, int, int, float]]
    """(month start, customers who could churn then, of whom churned, rate) per month."""
    definition: ChurnDefinition = ChurnDefinition()


def validate_exports(
    source: ExportSource,
    as_of: dt.date | None,
    definition: ChurnDefinition | None = None,
    engine: EngineSettings | None = None,
    cache_dir: Path | str | None = None,
) -> ExportSummary:
    """Check every export on the configured `engine` (DuckDB when not given); when nothing
    fatal is found, also compute the churn rate of each month under `definition`
    (cancellations, or inactivity in the horizon after the month's start; contractual churn
    by default), with the same labels training uses, on the checks' typed views.

    With `cache_dir` (on DuckDB), the checked exports' typed copy and verdict are kept there,
    as training and scoring keep them, and content an earlier command checked is not checked
    again: the recorded verdict is replayed and the months are counted on the typed copy."""
    definition = definition or ChurnDefinition()
    runner = check_runner(engine or EngineSettings())
    recording = cache_dir is not None and runner.engine == "duckdb"
    checked_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    plan = growth_plan(source, as_of, cache_dir) if recording else None
    key = content_key(source, as_of, runner, plan) if recording else None
    replay = replayed(cache_dir, key)  # None without a key
    if replay is not None:
        paths, report = replay
        for name, path in paths.items():
            runner.create_view(f"typed_{name}", f"SELECT * FROM {typed_reader_sql(path)}")
    else:
        report = check_exports(runner, source, as_of, plan)
        if report.fatal:
            return ExportSummary(report, 0, [], definition)
        if key is not None:  # the next command on this content replays the verdict
            store_checked(runner, report, key, cache_dir, checked_at)
    customers = report.tables["customers"].rows
    if key is None:
        months = churn_by_month(runner, report, definition)
    else:  # unchanged content counted under the same definition is read, not counted again
        out_dir, name = Path(cache_dir) / key, f"churn-by-month-{_digest(definition)}"
        kept = read_beside(out_dir, name)
        months = [(dt.date.fromisoformat(m), n, k, r) for m, n, k, r in kept or []]
        if kept is None:
            months = churn_by_month(runner, report, definition)
            keep_beside(out_dir, name, [(m.isoformat(), n, k, r) for m, n, k, r in months])
    return ExportSummary(report, customers, months, definition)


def _digest(definition: ChurnDefinition) -> str:
    return hashlib.sha256(repr(definition).encode()).hexdigest()[:12]


def _views_backend(runner) -> ibis.BaseBackend:
    """An Ibis backend on the connection or session that holds the checks' typed views."""
    if isinstance(runner, SparkRunner):
        return ibis.pyspark.connect(runner.spark)
    return ibis.duckdb.from_connection(runner.con)


def churn_by_month(runner, report: ValidationReport, definition: ChurnDefinition) -> list:
    """(month start, eligible customers, churned, rate) for every month start whose label
    window lies within the event history (and, for inactivity, after a whole horizon of it,
    so that who was active before the month can be told)."""
    spans = [(t.first, t.last) for name, t in report.tables.items() if name != "customers"]
    spans = [(first, last) for first, last in spans if first is not None]
    if not spans:
        return []
    start = pd.Timestamp(min(f for f, _ in spans)).normalize()
    end = pd.Timestamp(max(last for _, last in spans)).normalize() + pd.Timedelta(days=1)
    if definition.kind == "inactivity":
        start += pd.Timedelta(days=definition.horizon_days)
    label_days = pd.Timedelta(days=definition.lead_days + definition.horizon_days)
    months = pd.date_range(start.to_period("M").to_timestamp(), end - label_days, freq="MS")
    months = [m for m in months if m >= start]
    if not months:
        return []
    backend = _views_backend(runner)
    tables = {name: backend.table(f"typed_{name}") for name in report.tables}
    labels = label_churn(tables, cutoff_table(months), definition, end.to_pydatetime())
    counts = labels.group_by("cutoff").aggregate(n=labels.count(), churned=labels.churned.sum())
    rows = counts.order_by("cutoff").execute()
    return [
        (pd.Timestamp(c).date(), int(n), int(k), k / n)
        for c, n, k in zip(rows["cutoff"], rows["n"], rows["churned"], strict=True)
        if n
    ]


def summary_lines(summary: ExportSummary) -> list[str]:
    """The human-readable summary `churn validate` prints."""
    lines = ["table        file                       rows       from        to"]
    for name, t in summary.report.tables.items():
        first = f"{t.first:%Y-%m-%d}" if t.first else "-"
        last = f"{t.last:%Y-%m-%d}" if t.last else "-"
        lines.append(f"{name:<12} {t.file:<24} {t.rows:>10,}  {first}  {last}")
    lines.append(f"customers: {summary.customers:,}")
    if summary.churn_by_month:
        rates = [r for *_, r in summary.churn_by_month]
        lines.append(
            f"monthly churn ({churn_words(summary.definition)} of each month's start): mean "
            f"{sum(rates) / len(rates):.1%}, min {min(rates):.1%}, max {max(rates):.1%} over "
            f"{len(rates)} months"
        )
        for month, eligible, churned, rate in summary.churn_by_month:
            lines.append(
                f"  {month:%Y-%m}  could churn {eligible:>7,}  churned {churned:>6,}  {rate:6.1%}"
            )
    return lines
