"""Read a company's exports, check them against the contract, and write typed Parquet copies.

Every check reports one `Problem` naming the file, column, count and a few example rows.
Fatal problems stop the run; tolerable ones (a few rows for unknown customers, a few duplicate
rows, events before signup) are counted and reported, then left out of the typed copy or kept
as the check says, never dropped or kept silently.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from features.errors import ExportError, Problem
from features.exports.appends import check_appended, write_extended
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
from features.exports.growth import (
    EarlierCopy,
    appended,
    earlier_copy,
    export_state,
    extendable_tables,
    mapping_key,
    state_digest,
)
from features.exports.links import check_customers
from features.exports.locations import is_uri, join_location
from features.exports.runners import CheckRunner, UnreadableExport, as_runner
from features.exports.sql import (
    connect,
    local_export,
)
from features.exports.verdict import ValidationReport


@dataclass(frozen=True)
class GrowthPlan:
    """What a run on local exports knows before checking them: each export's location and
    state, and the newest earlier copy checked under the same mapping (features/exports/
    growth.py), whose clean tables need only their appended rows checked."""

    states: dict[str, tuple[Path, dict]]
    earlier: EarlierCopy | None
    cache_dir: Path
    mapping: str
    as_of: dt.date | None

    @property
    def record(self) -> dict:
        """What the copy records so that a later run can compare its exports with these."""
        return {
            "mapping": self.mapping,
            "as_of": None if self.as_of is None else str(self.as_of),
            "states": {name: state for name, (_, state) in self.states.items()},
        }


def growth_plan(
    source: ExportSource, as_of: dt.date | None, cache_dir: Path | str
) -> GrowthPlan | None:
    """The states of local exports, read once (they also make the cache key), and the
    earlier copy to compare them with; None when an export is not a local file yet (the
    checks then name what is wrong) or the folder is a URI."""
    if is_uri(source.directory) or is_uri(str(cache_dir)):
        return None
    earlier = earlier_copy(cache_dir, source, as_of)
    states = {}
    try:
        for name in TABLES:
            location = local_export(source.directory, name, source.tables.get(name))
            if location is not None:
                before = earlier.states.get(name) if earlier else None
                states[name] = (Path(location), export_state(Path(location), before))
    except OSError:
        return None
    return GrowthPlan(states, earlier, Path(cache_dir), mapping_key(source), as_of)


def _extended(
    runner: CheckRunner,
    name: str,
    plan: GrowthPlan,
    source: ExportSource,
    limit: dt.datetime | None,
    scratch: Path,
) -> tuple[list[Problem], Any, dict] | None:
    """Table `name` checked as an earlier clean copy plus its appended rows (or unchanged),
    with what writing its copy needs; None when it must be checked whole."""
    earlier = plan.earlier
    if earlier is None or name not in plan.states or name not in extendable_tables(earlier.verdict):
        return None
    path, state = plan.states[name]
    before = earlier.states.get(name)
    recorded = earlier.verdict["tables"][name]
    if before is None or recorded.get("file") != path.name:
        return None
    unchanged = state.get("sha256", state.get("parts")) == before.get("sha256", before.get("parts"))
    grown = None if unchanged else appended(path, state, before, int(recorded["rows"]))
    if not unchanged and grown is None:
        return None
    parts = intact_copy(earlier.folder, [name], warn=False)
    if parts is None:
        return None
    found = check_appended(runner, name, grown, (parts[name], recorded), source, limit, scratch)
    if found is None:
        return None
    return *found, {"before": str(parts[name]), "part": grown is not None}


def check_exports(
    con: CheckRunner | duckdb.DuckDBPyConnection,
    source: ExportSource,
    as_of: dt.date | None,
    plan: GrowthPlan | None = None,
) -> ValidationReport:
    """Check every export against the contract and leave a typed view `<table>` per table.

    `con` runs the checks: a DuckDB connection (or features/exports/runners.py's DuckDBRunner), or a
    SparkRunner reading the exports where they are (URIs too). `as_of` is the data's as-of
    date: timestamps after the end of that day are an error. Optional tables that are absent
    or hold no rows are left out of `report.tables`. With a `plan` (`growth_plan`, DuckDB),
    an export an earlier run found clean is checked only in the rows appended since
    (features/exports/appends.py), and the exports' states are recorded for the next run.
    """
    runner = as_runner(con)
    scratch = None
    if plan is not None and runner.engine == "duckdb":
        try:
            plan.cache_dir.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix="appended.tmp-", dir=plan.cache_dir))
        except OSError:  # an unwritable cache: everything is checked, and writing says why
            return _check_all(runner, source, as_of, plan, None)
        try:
            return _check_all(runner, source, as_of, plan, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return _check_all(runner, source, as_of, None, None)


def _check_all(
    runner: CheckRunner,
    source: ExportSource,
    as_of: dt.date | None,
    plan: GrowthPlan | None,
    scratch: Path | None,
) -> ValidationReport:
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
        extended = None
        if plan is not None and scratch is not None and name != "customers":
            extended = _extended(runner, name, plan, source, limit, scratch)
        if extended is not None:
            problems, summary, report.appended[name] = extended
        else:
            problems, summary = check_table(runner, name, location, source, limit)
        report.problems.extend(problems)
        if summary is not None:
            report.tables[name] = summary
    if plan is not None:
        report.growth = plan.record
    if report.fatal:
        return report
    check_customers(runner, report, source)
    return report


def _write_part(runner: CheckRunner, report: ValidationReport) -> Any:
    """A writer of one checked table's typed Parquet (orphan rows left out) for the cache."""

    def write(name: str, path: Path) -> None:
        grown = report.appended.get(name)
        extend = grown and not report.tables[name].orphans
        if extend and write_extended(runner, name, Path(grown["before"]), path, grown["part"]):
            return
        query = f"SELECT * FROM typed_{name}"
        if report.tables[name].orphans:
            query += " t SEMI JOIN typed_customers c ON t.customer_id = c.customer_id"
        runner.write_parquet(query, str(path))

    return write


def content_key(
    source: ExportSource,
    as_of: dt.date | None,
    runner: CheckRunner,
    plan: GrowthPlan | None = None,
) -> str | None:
    """The exports' fingerprint (content, mapping, as-of date), or None when an export cannot
    be read yet: the checks then name what is wrong. With a `plan`, from the states it read."""
    digests = None
    if plan is not None:
        digests = {name: state_digest(path, state) for name, (path, state) in plan.states.items()}
    try:
        return export_fingerprint(source, as_of, runner, digests)
    except (UnreadableExport, OSError):
        return None


def replayed(
    cache_dir: Path | str, key: str | None, runner: CheckRunner | None = None
) -> tuple[dict[str, Any], ValidationReport] | None:
    """The typed copy and recorded verdict of exports whose content (and mapping and as-of
    date) an earlier run checked, when that copy is intact: unchanged content is not checked
    again, its warnings are replayed, marked as recorded. None when there is no such copy.
    A Spark `runner` looks through Spark's file system (the cache may be a URI)."""
    if key is None:
        return None
    if runner is not None and runner.engine == "spark":
        from features.engines.spark.cache import recorded_verdict_at

        found = recorded_verdict_at(runner, join_location(str(cache_dir), key))
    else:
        found = recorded_verdict(Path(cache_dir) / key)
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
        verdict = report.record(checked_at)
        return copy or write_copy_at(runner, folder, names, write, summary, verdict)
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
    exports' content is unchanged and the copy intact (features/exports/cache.py): unchanged
    content is not even checked again, the verdict recorded with its copy is replayed.

    `runner` runs the checks and writes the copies (features/exports/runners.py; DuckDB on the
    driver when not given); a Spark runner keeps them through Spark's file system, so `cache_dir`
    may be a URI (features/engines/spark/cache.py), and the copies are then locations as text.
    Raises ExportError when a fatal problem is found.
    """
    runner = runner or as_runner(connect())
    checked_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    plan = growth_plan(source, as_of, cache_dir) if runner.engine == "duckdb" else None
    key = content_key(source, as_of, runner, plan)
    replay = replayed(cache_dir, key, runner)
    if replay is not None:
        runner.close()
        return replay
    report = check_exports(runner, source, as_of, plan)
    try:
        key = key or export_fingerprint(source, as_of, runner)
    except UnreadableExport as exc:  # an export at a URI gone or unreachable since its check
        raise ExportError([Problem(source.directory, f"cannot be read: {exc}")]) from None
    report.raise_if_fatal()
    try:
        return store_checked(runner, report, key, cache_dir, checked_at), report
    finally:
        runner.close()
