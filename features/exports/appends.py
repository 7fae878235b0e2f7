"""Check only what was appended to an export an earlier run checked, and extend its typed copy
instead of writing it again.

The appended rows get every row check (rules, decimal mark, time of day, duplicates among
themselves), numbered on from the rows before them, and their findings are added to those the
earlier check recorded (features/exports/checks.py, `Prior`): counts, the first example rows,
duplicate figures, shares of all rows. The checks that look across rows run over the old and
new rows together: duplicates of an old row (any new row sharing a timestamp with an old one
sends the whole export through the full check, which names both lines), outliers against the
column's 99th percentile over all rows, and, in features/exports/links.py, unknown customers
and events before signup against today's customer table.

What cannot be added up exactly sends the export through the full check instead: an outlier,
a decimal mark the values argue about, a fatal finding, columns other than before, rows for
unknown customers left out earlier (today's customer table may know them). So the verdict and
typed copy are always those of a full check of the grown export.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import shutil
from pathlib import Path

from features.errors import Problem
from features.exports.cache import typed_files
from features.exports.checks import NotMergeable, Prior, checked_rows, outlier_count
from features.exports.contract import TABLES, ExportSource
from features.exports.dialect import read_header
from features.exports.growth import Appended
from features.exports.rules import main_timestamp
from features.exports.runners import CheckRunner, UnreadableExport
from features.exports.sql import quote_name, sql_literal
from features.exports.verdict import TableCheck, TableSummary, recorded_problem

MAX_PARTS = 32  # a typed copy made of more appended parts is written again as one file


def typed_reader_sql(path: Path) -> str:
    """DuckDB's reader of one table's typed copy: a Parquet file, or a folder of parts."""
    return f"read_parquet({sql_literal(typed_files(path))})"


def _tail_csv(app: Appended, source: ExportSource, name: str, scratch: Path) -> Path:
    """A CSV holding the export's header and its appended bytes only."""
    dialect, names = read_header(app.location, source.tables.get(name))
    tail = scratch / f"{name}.appended.csv"
    with tail.open("w", newline="", encoding="utf-8") as out:
        options = {"delimiter": dialect.delimiter, "lineterminator": "\n"}
        if dialect.quote:
            options["quotechar"] = dialect.quote
        else:
            options["quoting"] = csv.QUOTE_NONE
            options["escapechar"] = "\\"
        csv.writer(out, **options).writerow(names)
    with app.location.open("rb") as src, tail.open("ab") as out:
        src.seek(app.offset or 0)
        shutil.copyfileobj(src, out, 1 << 22)
    return tail


def _open_appended(
    runner: CheckRunner, name: str, app: Appended, source: ExportSource, scratch: Path
) -> TableCheck:
    """The check of the appended rows alone, named and numbered as rows of the whole export."""
    table_source = source.tables.get(name)
    label = app.location.name
    if app.offset is not None:
        tail = _tail_csv(app, source, name, scratch)
        return TableCheck(
            runner, name, str(tail), table_source, label=label, offset=app.rows_before
        )
    parts = ", ".join(sql_literal(str(p)) for p in app.parts)
    reader = f"read_parquet([{parts}], hive_partitioning = true)"
    return TableCheck(
        runner, name, str(app.location), table_source, label=label, offset=app.rows_before,
        reader=reader,
    )  # fmt: skip


def _repeats_old_time(runner: CheckRunner, name: str) -> bool:
    """Whether an appended row shares its timestamp with a row checked before: it may repeat
    it, which only the whole export's duplicate check can say with both lines."""
    stamp = quote_name(main_timestamp(name))
    return bool(
        runner.rows(
            f"SELECT count(*) FROM part_{name} WHERE {stamp} IN (SELECT {stamp} FROM "
            f"before_{name} WHERE {stamp} >= (SELECT min({stamp}) FROM part_{name}))"
        )[0][0]
    )


def _outliers_across(runner: CheckRunner, name: str) -> bool:
    """Whether any watched column holds a value over OUTLIER_FACTOR times its percentile over
    the old and new rows together."""
    for spec in TABLES[name].columns:
        if not spec.outliers:
            continue
        value = quote_name(spec.name)
        positive = f"{value} > 0 AND isfinite({value})"
        top, n = runner.rows(
            f"SELECT max({value}) FILTER (WHERE {positive}), "
            f"count(*) FILTER (WHERE {positive}) FROM typed_{name}"
        )[0]
        if outlier_count(runner, f"typed_{name}", value, positive, top, n)[0]:
            return True
    return False


def _extend_views(runner: CheckRunner, name: str, with_part: bool) -> None:
    """`typed_<name>` and `links_<name>` over the old rows and, `with_part`, the new ones."""
    stamp = quote_name(main_timestamp(name))
    typed = f"SELECT * FROM before_{name}"
    links = f"SELECT customer_id AS raw_id, {stamp} AS stamp FROM before_{name}"
    if with_part:
        typed += f" UNION ALL BY NAME SELECT * FROM part_{name}"
        links += f" UNION ALL SELECT raw_id, stamp FROM part_links_{name}"
    runner.create_view(f"typed_{name}", typed)
    runner.create_view(f"links_{name}", links)


def check_appended(
    runner: CheckRunner,
    name: str,
    app: Appended | None,
    before: tuple[Path, dict],
    source: ExportSource,
    limit: dt.datetime | None,
    scratch: Path,
) -> tuple[list[Problem], TableSummary] | None:
    """One export an earlier run checked, extended by the rows `app` appended (None: the export
    is unchanged): its problems as a full check would give them, the typed and link views over
    old and new rows, and its summary; None when the whole export must be checked (see the
    module's note).

    `before` is the earlier typed copy of the table and its recorded summary."""
    part, summary = before
    runner.create_view(f"before_{name}", f"SELECT * FROM {typed_reader_sql(part)}")
    prior = Prior(int(summary["rows"]), bool(summary.get("timed")), summary["findings"])
    if app is None:
        _extend_views(runner, name, with_part=False)
        return _recorded_problems(prior), TableSummary(**{
            **summary, "first": None, "last": None, "orphans": 0
        })  # fmt: skip
    try:
        check = _open_appended(runner, name, app, source, scratch)
        if [[n, t] for n, t in check.raw_types.items()] != prior.findings.get("columns"):
            return None
        problems, found = checked_rows(check, source, limit, prior=prior)
    except (UnreadableExport, OSError, csv.Error, NotMergeable):
        return None  # the whole export's check names what is wrong, with its line
    if found is None or not found.findings["plain"] or any(p.fatal for p in problems):
        return None
    if found.timed and not prior.timed:  # earlier rows were judged as dates only
        return None
    runner.create_table(f"part_{name}", f"SELECT * FROM typed_{name}")
    runner.create_table(f"part_links_{name}", f"SELECT * FROM links_{name}")
    if _repeats_old_time(runner, name):
        return None
    _extend_views(runner, name, with_part=True)
    if _outliers_across(runner, name):
        return None
    return problems, found


def _recorded_problems(prior: Prior) -> list[Problem]:
    """The problems an unchanged export's own checks gave (rule hits, repeats), as recorded;
    its links are checked again against today's customer table."""
    return [recorded_problem(p) for p in prior.findings.get("problems", [])]


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link to a part of an earlier copy (no bytes written), or a copy where links
    cannot be made (another file system)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def write_extended(
    runner: CheckRunner, name: str, before: Path, path: Path, with_part: bool
) -> bool:
    """Write an extended table's typed copy at `path` as the earlier copy's parts plus the new
    rows' part; False (nothing written) when that would make more than MAX_PARTS parts, so the
    caller writes it as one file."""
    old = sorted(before.glob("*.parquet")) if before.is_dir() else [before]
    if len(old) + with_part > MAX_PARTS:
        return False
    if not with_part and not before.is_dir():
        _link_or_copy(before, path)
        return True
    path.mkdir()
    try:
        for i, part in enumerate(old):
            _link_or_copy(part, path / f"part-{i:05d}.parquet")
        if with_part:
            runner.write_parquet(
                f"SELECT * FROM part_{name}", str(path / f"part-{len(old):05d}.parquet")
            )
    except OSError:
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
        raise
    return True
