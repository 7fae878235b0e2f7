"""Writing at-risk lists safely: one folder per as-of date, swapped in whole, under a lock.

A crash while writing leaves the previous list for that date untouched; lists of other dates
are never touched; two scorers cannot write the same date at once.

Layout of the output folder:

    as_of=YYYY-MM-DD/                  a date's list: at_risk.parquet, at_risk.csv, manifest.json
                                       (the Spark engine: at_risk.parquet/ a folder partitioned
                                       by risk_tier, contacts.csv, at_risk_top.csv, manifest.json)
    .as_of=YYYY-MM-DD.lock             the date's lock (held by the run writing that date)
    .staging-as_of=YYYY-MM-DD-<id>/    a list being written (just after an exchange, the old one)
    .retired-as_of=YYYY-MM-DD-<id>/    the date's old list between the two renames of the fallback
    .replaced/as_of=YYYY-MM-DD/<time>/ lists that re-runs of the date replaced

Nothing is lost when a date is re-scored: before the new list moves in, the current one is
kept under `.replaced/as_of=YYYY-MM-DD/<UTC time, e.g. 20261102T031500.123456Z>/` if its
at_risk.csv differs from the new one (hard links, so nothing is copied); an identical re-run
keeps nothing extra. Nothing prunes `.replaced`: delete what is no longer wanted.

On Linux the new folder and the date's folder trade places in one atomic call (renameat2 with
RENAME_EXCHANGE), so a reader finds the old list or the new one, never none. Where the system
or file system cannot do that, the old folder is renamed out and the new one in: a run killed
between the two renames leaves the date without its folder. Every write therefore starts,
under the date's lock, by repairing what killed runs left: the newest retired copy goes back
in place if the date's folder is missing; other retired copies, staging folders and half-kept
replaced lists are removed. Leftovers of other dates are repaired the same way when their
lock is free; a date whose lock is held is being written by a live run and is left alone.

The CSV is for people, who open it in a spreadsheet: a text cell that the spreadsheet would
run as a formula (it starts with = + - @, a tab, CR or LF, as OWASP's CSV Injection page lists,
or one of = + - @ comes after leading spaces) is written with a single quote in front, which
spreadsheets read as "this is text". Numbers stay numbers; the Parquet file keeps raw values.

Faults of the environment (the output path is a file, a folder is not writable, the disk is
full or failing) raise `Fault`, one line naming the path and what to do; the date's previous
list stays as it was.

`previous_list` reads the latest list before a date, for "what changed since yesterday".

The rooms: faults.py (what goes wrong, named), lock.py (one writer per date, repairs),
files.py (what the files hold), swap.py (the list put in place whole); this module writes a
list through them and reads the lists back.
"""


from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from features.errors import Fault, Problem
from pipeline.outputs import swap
from pipeline.outputs.faults import ListLocked, faults_named
from pipeline.outputs.files import (
    FrameFiles,
    ListFiles,
    list_column_names,
    read_list_file,
    read_manifest,
    write_csv,
)
from pipeline.outputs.lock import (
    date_lock,
    date_lock_if_free,
    holding_date_lock,
    partition_dir,
    repair,
)
from pipeline.outputs.swap import fsync_dir, keep_replaced, swap_in, write_staging

log = logging.getLogger(__name__)

DATE_FOLDER = re.compile(r"as_of=(\d{4}-\d{2}-\d{2})")


PREVIOUS_COLUMNS = ("customer_id", "risk_tier", "churn_probability")


def write_list(
    output_dir: Path,
    as_of: pd.Timestamp,
    ranked: pd.DataFrame | ListFiles,
    *,
    manifest: dict[str, Any],
    write_hook: Callable[[Path], None] | None = None,
    swap_hook: Callable[[Path], None] | None = None,
) -> Path:
    """Write list (Parquet and CSV: a frame's, or what `ranked.write` writes) and manifest
    into a fresh folder, then swap it in place of
    the date's folder, under the date's lock (taken here unless the caller holds it), after
    repairing what killed runs left. `write_hook` runs after the files are written and
    `swap_hook` between the two renames of the fallback swap (tests use them to fail there).
    Returns the date's folder. Raises `Fault` (exit 4) when the environment fails, with the
    date's previous list left as it was, and `ListLocked` when another run has the date."""
    final = partition_dir(output_dir, as_of)
    with holding_date_lock(output_dir, as_of), faults_named(output_dir):
        if final.exists() and not final.is_dir():
            raise Fault(
                [Problem(str(final), "is a file, not a list folder; move it away, then re-run")]
            )
        repair(output_dir, as_of)
        staging = final.with_name(f".staging-{final.name}-{uuid.uuid4().hex[:8]}")
        files = FrameFiles(ranked) if isinstance(ranked, pd.DataFrame) else ranked
        write_staging(staging, files, manifest, write_hook=write_hook)
        try:
            keep_replaced(output_dir, final, staging)
            retired = swap_in(staging, final, swap_hook)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fsync_dir(output_dir)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    return final


def _dated_lists(output_dir: Path) -> list[tuple[pd.Timestamp, Path]]:
    """The date folders (`as_of=YYYY-MM-DD`) in `output_dir`, newest first; hidden, staging
    and replaced folders and names that are not real dates are not lists."""
    try:
        entries = list(output_dir.iterdir()) if output_dir.is_dir() else []
    except OSError as error:  # an unreadable folder means no previous list, not a failed run
        log.warning("%s: cannot list the folder (%s)", output_dir, os.strerror(error.errno or 0))
        return []
    found = []
    for path in entries:
        match = DATE_FOLDER.fullmatch(path.name)
        if match and path.is_dir():
            try:
                found.append((pd.Timestamp(match[1]), path))
            except ValueError:  # e.g. as_of=2026-13-45
                continue
    return sorted(found, reverse=True)


def previous_list(
    output_dir: Path, as_of: pd.Timestamp
) -> tuple[pd.Timestamp, pd.DataFrame] | None:
    """The latest list dated strictly before `as_of`, as (its date, its customer_id, risk_tier
    and churn_probability), for "what changed since"; None when there is none. A list that
    cannot be read is logged and skipped for the next older one."""
    day = pd.Timestamp(as_of.date())
    for when, folder in _dated_lists(output_dir):
        if when >= day:
            continue
        try:
            return when, read_list_file(folder, list(PREVIOUS_COLUMNS))
        except (OSError, ValueError, KeyError, pa.ArrowException) as error:
            reason = " ".join(str(error).split())  # one log line, whatever the reader said
            log.warning("%s: cannot read the list (%s); trying an older one", folder, reason)
    return None


def recent_arms(output_dir: Path, as_of: pd.Timestamp, days: int) -> dict[str, str]:
    """The arm (contact or control) each customer had on the lists dated less than `days`
    before `as_of` (the newest list's, where several had them): within a list's horizon a
    customer keeps their arm. Lists written before arms existed, or unreadable, give none."""
    day = pd.Timestamp(as_of.date())
    kept: dict[str, str] = {}
    for when, folder in reversed(_dated_lists(output_dir)):
        if not (day - pd.Timedelta(days=days) < when < day):
            continue
        try:
            listed = read_list_file(folder, ["customer_id", "contact_arm"])
        except (OSError, ValueError, KeyError, pa.ArrowException):
            continue  # no arms yet (or unreadable: previous_list logs it)
        armed = listed[listed["contact_arm"].notna()]
        kept.update(zip(armed["customer_id"].astype(str), armed["contact_arm"], strict=True))
    return kept


def dated_lists(output_dir: Path) -> list[tuple[pd.Timestamp, Path]]:
    """Every date's list folder in `output_dir`, newest first (the report reads them all)."""
    return _dated_lists(output_dir)


__all__ = [
    "swap",
    "ListLocked",
    "dated_lists",
    "date_lock",
    "date_lock_if_free",
    "holding_date_lock",
    "list_column_names",
    "partition_dir",
    "previous_list",
    "recent_arms",
    "read_list_file",
    "read_manifest",
    "write_csv",
    "write_list",
]
