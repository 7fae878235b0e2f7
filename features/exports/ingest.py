"""Read a company's exports, check them against the contract, and write typed Parquet copies.

Every check reports one `Problem` naming the file, column, count and a few example rows.
Fatal problems stop the run; tolerable ones (a few rows for unknown customers, a few duplicate
rows, events before signup) are counted and reported, then left out of the typed copy or kept
as the check says, never dropped or kept silently.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from features.errors import ExportError, Problem
from features.exports.cache import (
    export_fingerprint,
    intact_copy,
    recorded_verdict,
    write_copy,
)
from features.exports.checks import check_table
from features.exports.contract import (
    TABLES,
    ExportSource,
)
from features.exports.links import check_customers
from features.exports.locations import is_uri, join_location
from features.exports.runners import CheckRunner, UnreadableExport, as_runner
from features.exports.sql import (
    connect,
)
from features.exports.verdict import ValidationReport


def check_exports(
    con: CheckRunner | duckdb.DuckDBPyConnection, source: ExportSource, as_of: dt.date | None
) -> ValidationReport:
    """Check every export against the contract and leave a typed view `<table>` per table.

    `con` runs the checks: a DuckDB connection (or features/exports/runners.py's DuckDBRunner), or a
    SparkRunner reading the exports where they are (URIs too). `as_of` is the data's as-of
    date: timestamps after the end of that day are an error. Optional tables that are absent
    or hold no rows are left out of `report.tables`.
    """
    runner = as_runner(con)
    report = ValidationReport()
    directory = source.directory if is_uri(source.directory) else str(Path(source.directory))
    try:
        found = runner.is_dir(directory)
    except UnreadableExport as exc:
        raise ExportError([Problem(directory, f"cannot be read: {exc}")]) from None
    if not found:
        raise ExportError([Problem(directory, "export directory not found")])
    limit = None
    if as_of is not None:
        limit = dt.datetime.combine(as_of, dt.time()) + dt.timedelta(days=1)
    for name, spec in TABLES.items():
        table_source = source.tables.get(name)
        try:
            location = runner.locate(directory, name, table_source)
        except UnreadableExport as exc:  # a URI whose store Spark cannot reach
            file = table_source.file if table_source and table_source.file else name
            report.problems.append(
                Problem(join_location(directory, file), f"cannot be read: {exc}")
            )
            continue
        if location is None:
            if spec.required or (table_source is not None and table_source.file):
                wanted = (
                    table_source.file
                    if table_source and table_source.file
                    else (f"{name}.parquet or {name}.csv")
                )
                report.problems.append(Problem(join_location(directory, wanted), "file not found"))
            continue
        problems, summary = check_table(runner, name, location, source, limit)
        report.problems.extend(problems)
        if summary is not None:
            report.tables[name] = summary
    if report.fatal:
        return report
    check_customers(runner, report, source)
    return report


def _write_part(runner: CheckRunner, report: ValidationReport) -> Any:
    """A writer of one checked table's typed Parquet (orphan rows left out) for the cache."""

    def write(name: str, path: Path) -> None:
        query = f"SELECT * FROM typed_{name}"
        if report.tables[name].orphans:
            query += " t SEMI JOIN typed_customers c ON t.customer_id = c.customer_id"
        runner.write_parquet(query, str(path))

    return write


def content_key(source: ExportSource, as_of: dt.date | None, runner: CheckRunner) -> str | None:
    """The exports' fingerprint (content, mapping, as-of date), or None when an export cannot
    be read yet: the checks then name what is wrong."""
    try:
        return export_fingerprint(source, as_of, runner)
    except (UnreadableExport, OSError):
        return None


def replayed(
    cache_dir: Path | str, key: str | None
) -> tuple[dict[str, Path], ValidationReport] | None:
    """The typed copy and recorded verdict of exports whose content (and mapping and as-of
    date) an earlier run checked, when that copy is intact: unchanged content is not checked
    again, its warnings are replayed, marked as recorded. None when there is no such copy."""
    found = None if key is None else recorded_verdict(Path(cache_dir) / key)
    if found is None:
        return None
    paths, verdict = found
    try:
        return paths, ValidationReport.replayed(verdict)
    except (KeyError, TypeError, ValueError, AttributeError):  # a verdict edited by hand
        return None  # or damaged: the checks run again and record it anew


def store_checked(
    runner: CheckRunner,
    report: ValidationReport,
    key: str,
    cache_dir: Path | str,
    checked_at: dt.datetime,
) -> dict[str, Any]:
    """The typed copy of exports that passed their checks (`report`, nothing fatal), written
    under `key` with the checks' verdict, or the intact copy already there."""
    names = list(report.tables)
    summary = {
        n: {"file": s.file, "rows": s.rows, "orphans": s.orphans, "duplicates": s.duplicates}
        for n, s in report.tables.items()
    }
    write = _write_part(runner, report)
    if runner.engine == "spark":  # through Spark's file system: a URI or a shared path
        from features.engines.spark.cache import intact_copy_at, write_copy_at

        folder = join_location(str(cache_dir), key)
        copy = intact_copy_at(runner, folder, names)
        return copy or write_copy_at(runner, folder, names, write, summary)
    out_dir = Path(cache_dir) / key
    copy = intact_copy(out_dir, names)
    return copy or write_copy(out_dir, names, write, summary, report.record(checked_at))


def ingest_exports(
    source: ExportSource,
    cache_dir: Path | str,
    as_of: dt.date | None,
    runner: CheckRunner | None = None,
) -> tuple[dict[str, Any], ValidationReport]:
    """Validate the exports and return typed Parquet copies, reusing an earlier copy while the
    exports' content is unchanged and the copy intact (features/exports/cache.py); on DuckDB,
    unchanged content is not even checked again: the verdict recorded with its copy is replayed.

    `runner` runs the checks and writes the copies (features/exports/runners.py; DuckDB on the
    driver when not given); a Spark runner keeps them through Spark's file system, so `cache_dir`
    may be a URI (features/engines/spark/cache.py), and the copies are then locations as text.
    Raises ExportError when a fatal problem is found.
    """
    runner = runner or as_runner(connect())
    checked_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    key = content_key(source, as_of, runner) if runner.engine == "duckdb" else None
    replay = replayed(cache_dir, key)
    if replay is not None:
        runner.close()
        return replay
    report = check_exports(runner, source, as_of)
    try:
        key = key or export_fingerprint(source, as_of, runner)
    except UnreadableExport as exc:  # an export at a URI gone or unreachable since its check
        raise ExportError([Problem(source.directory, f"cannot be read: {exc}")]) from None
    report.raise_if_fatal()
    try:
        return store_checked(runner, report, key, cache_dir, checked_at), report
    finally:
        runner.close()
