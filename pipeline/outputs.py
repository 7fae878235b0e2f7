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
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from features.errors import Fault, Problem, Refusal

log = logging.getLogger(__name__)

REPLACED = ".replaced"
DATE_FOLDER = re.compile(r"as_of=(\d{4}-\d{2}-\d{2})")
PREVIOUS_COLUMNS = ("customer_id", "risk_tier", "churn_probability")
# What a killed run can leave behind: `.staging-as_of=2026-11-01-1a2b3c4d` and its `.retired-`.
LEFTOVER = re.compile(r"\.(?P<kind>staging|retired)-(?P<date>as_of=\d{4}-\d{2}-\d{2})-\w+")


class ListLocked(Refusal):
    """Another scorer holds the lock for this date."""


_NOT_WRITABLE = "fix the folder's permissions or set [scoring].output_dir to a writable folder"
_REMEDIES = {
    errno.ENOSPC: "the disk is full; free space or set [scoring].output_dir to another disk",
    errno.EDQUOT: "the disk quota is used up; free space or set [scoring].output_dir elsewhere",
    errno.EACCES: _NOT_WRITABLE,
    errno.EPERM: _NOT_WRITABLE,
    errno.EROFS: "the file system is read-only; set [scoring].output_dir to a writable folder",
}


def _file_in_the_way(path: Path) -> Path | None:
    """The file standing where `path` or one of its parent folders should be, if any."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _fault(output_dir: Path, error: OSError) -> Fault:
    """An OS error while writing a list as one line: which path, what went wrong, what to do."""
    in_the_way = _file_in_the_way(Path(error.filename or output_dir))
    if error.errno in (errno.EEXIST, errno.ENOTDIR) and in_the_way is not None:
        return Fault(
            [
                Problem(
                    str(in_the_way),
                    "is a file where a folder is needed; move it away or set "
                    "[scoring].output_dir to a folder, then re-run",
                )
            ]
        )
    reason = os.strerror(error.errno) if error.errno else str(error)
    remedy = _REMEDIES.get(error.errno, "check the disk and the folder")
    return Fault(
        [
            Problem(
                str(output_dir),
                f"could not write the at-risk list ({reason}); {remedy}, then re-run",
            )
        ]
    )


@contextmanager
def _faults_named(output_dir: Path) -> Iterator[None]:
    """Turn OS errors in the block into a `Fault` about `output_dir`."""
    try:
        yield
    except OSError as error:
        raise _fault(output_dir, error) from error


def partition_dir(output_dir: Path, as_of: pd.Timestamp) -> Path:
    """The folder of one date's list, e.g. outputs/at_risk/as_of=2026-11-01."""
    return output_dir / f"as_of={as_of:%Y-%m-%d}"


def _lock_path(output_dir: Path, name: str) -> Path:
    return output_dir / f".{name}.lock"


# Lock files this thread holds through `date_lock`, so that `write_list` called inside it (as
# the scorer does) does not try to take the same lock a second time and refuse itself.
_held = threading.local()


def _held_locks() -> set[str]:
    if not hasattr(_held, "paths"):
        _held.paths = set()
    return _held.paths


@contextmanager
def _lock_if_free(path: Path) -> Iterator[bool]:
    """Hold the lock on `path` if no one else does, without waiting; yields whether it does."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def date_lock(output_dir: Path, as_of: pd.Timestamp) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock for one date; refuse if another scorer has it, and
    raise `Fault` if the folder cannot be made or written."""
    path = _lock_path(output_dir, partition_dir(output_dir, as_of).name)
    with ExitStack() as stack:
        with _faults_named(output_dir):
            output_dir.mkdir(parents=True, exist_ok=True)
            locked = stack.enter_context(_lock_if_free(path))
        if not locked:
            raise ListLocked(
                [
                    Problem(
                        str(path),
                        "another scorer is writing this date's list; try again when it finishes",
                    )
                ]
            )
        key = os.path.abspath(path)
        _held_locks().add(key)
        try:
            yield
        finally:
            _held_locks().discard(key)


@contextmanager
def _holding_date_lock(output_dir: Path, as_of: pd.Timestamp) -> Iterator[None]:
    """The date's lock: the caller's if this thread holds it already, else taken here."""
    path = _lock_path(output_dir, partition_dir(output_dir, as_of).name)
    if os.path.abspath(path) in _held_locks():
        yield
    else:
        with date_lock(output_dir, as_of):
            yield


def _leftovers(output_dir: Path) -> dict[str, list[tuple[str, Path]]]:
    """Staging, retired and half-kept replaced folders in `output_dir`, by date folder name."""
    found: dict[str, list[tuple[str, Path]]] = {}
    for path in output_dir.iterdir():
        match = LEFTOVER.fullmatch(path.name)
        if match and path.is_dir():
            found.setdefault(match["date"], []).append((match["kind"], path))
    for path in output_dir.glob(f"{REPLACED}/as_of=*/.partial-*"):
        found.setdefault(path.parent.name, []).append(("partial", path))
    return found


def _repair_date(output_dir: Path, name: str, leftovers: list[tuple[str, Path]]) -> None:
    """Undo what killed runs left for one date; the caller holds that date's lock, so every
    staging folder belongs to a dead run."""
    final = output_dir / name
    # A retired folder's mtime is when its list was written: the newest is the latest list.
    retired = sorted((p for k, p in leftovers if k == "retired"), key=lambda p: p.stat().st_mtime)
    if retired and not final.exists():
        os.rename(retired.pop(), final)
        _fsync_dir(output_dir)
        log.warning("%s: put back the list a killed run had moved out", final)
    for path in retired + [p for k, p in leftovers if k != "retired"]:
        shutil.rmtree(path)
        log.info("%s: removed, left by a killed run", path)


def _repair(output_dir: Path, as_of: pd.Timestamp) -> None:
    """Repair this date's leftovers (its lock is held), and those of other dates whose lock is
    free; a date whose lock is taken is being written right now and is left alone."""
    own = partition_dir(output_dir, as_of).name
    found = _leftovers(output_dir)
    _repair_date(output_dir, own, found.pop(own, []))
    for name, leftovers in sorted(found.items()):
        try:
            with _lock_if_free(_lock_path(output_dir, name)) as locked:
                if locked:
                    _repair_date(output_dir, name, leftovers)
                else:
                    log.info("%s: another run is writing it; repair waits", output_dir / name)
        except OSError as error:  # another date's trouble must not stop this date's list
            log.warning("%s: could not repair (%s)", output_dir / name, error)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# A text cell a spreadsheet would run as a formula (OWASP, CSV Injection): it starts with
# = + - @, tab, CR or LF. Also NUL (OWASP ASVS 1.2.10), the full-width ＝ ＋ － ＠ that some
# East Asian locales read as formula signs, and the signs after leading spaces (ASCII or
# Unicode), which some spreadsheets and import options strip before looking.
FORMULA_START = r"^(?:[\t\r\n\x00]|[\s\v\p{Z}]*[=+\-@\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}])"


def _escape_formulas(table: pa.Table) -> pa.Table:
    """Every text cell that a spreadsheet would run as a formula, with a single quote in
    front (OWASP's remedy; the CSV writer already quotes text and doubles inner quotes, which
    keeps separators and quotes inside a cell). Vectorised: about 50 ms per text column of a
    1M-row list."""
    for i, field in enumerate(table.schema):
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        column = table.column(i).cast(kind)
        risky = pc.match_substring_regex(column, FORMULA_START)
        if pc.any(risky).as_py():
            quoted = pc.utf8_replace_slice(column, start=0, stop=0, replacement="'")
            table = table.set_column(i, field.name, pc.if_else(risky, quoted, column))
    return table


def _json_in_python(column: pa.ChunkedArray) -> pa.Array:
    """JSON text of each list, by json.dumps once per distinct list (any element values)."""
    texts: dict[tuple, str] = {}
    encoded = []
    for value in column.to_pylist():
        key = None if value is None else tuple(value)
        if key is not None and key not in texts:
            texts[key] = json.dumps(value)
        encoded.append(None if key is None else texts[key])
    return pa.array(encoded, type=pa.string())


def _json_of_text_lists(chunk: pa.Array) -> pa.Array | None:
    """JSON text of each list of strings, as json.dumps lays it out ('["a", "b"]', '[]'), null
    for a null list, built with pyarrow.compute (1M rows: 0.15 s; json.dumps once per distinct
    list took 1.3 s). Non-ASCII text is written as it is: the same JSON as json.dumps's \\u
    escapes. None when an element is null or holds a control character; json.dumps does those.
    """
    text = chunk.type.value_type
    if len(chunk) == 0:
        return pa.array([], type=text)
    start, end = chunk.offsets[0].as_py(), chunk.offsets[-1].as_py()
    values = chunk.values.slice(start, end - start)  # this chunk's elements only
    if values.null_count:
        return None
    distinct = pc.dictionary_encode(values)  # few distinct names: escape and quote those
    names = distinct.dictionary
    if pc.any(pc.match_substring_regex(names, r"[\x00-\x1f]")).as_py():
        return None

    def join(*parts):
        return pc.binary_join_element_wise(*parts, pa.scalar("", text))

    escaped = pc.replace_substring(pc.replace_substring(names, "\\", "\\\\"), '"', '\\"')
    quoted = join(pa.scalar('"', text), escaped, pa.scalar('"', text)).take(distinct.indices)
    offsets = pc.subtract(chunk.offsets, pa.scalar(start, chunk.offsets.type))
    lists = type(chunk).from_arrays(offsets, quoted, mask=chunk.is_null())
    return join(
        pa.scalar("[", text), pc.binary_join(lists, pa.scalar(", ", text)), pa.scalar("]", text)
    )


def _lists_as_json(table: pa.Table) -> pa.Table:
    """List columns (e.g. reason_features) as JSON text, which a CSV cell can hold."""
    for i, field in enumerate(table.schema):
        if not (pa.types.is_list(field.type) or pa.types.is_large_list(field.type)):
            continue
        column, item = table.column(i), field.type.value_type
        encoded = None
        if pa.types.is_string(item) or pa.types.is_large_string(item):
            chunks = [_json_of_text_lists(chunk) for chunk in column.chunks]
            if all(chunk is not None for chunk in chunks):
                encoded = pa.chunked_array(chunks, type=item)
        if encoded is None:
            encoded = _json_in_python(column)
        table = table.set_column(i, field.name, encoded)
    return table


class ListFiles(Protocol):
    """Whatever writes a list's data files into a folder (the manifest is written after)."""

    def write(self, folder: Path) -> None: ...


@dataclass(frozen=True)
class FrameFiles:
    """A list held in memory: at_risk.parquet and at_risk.csv, the same rows."""

    ranked: pd.DataFrame

    def write(self, folder: Path) -> None:
        table = pa.Table.from_pandas(self.ranked, preserve_index=False)
        pq.write_table(table, folder / "at_risk.parquet")
        write_csv(table, folder / "at_risk.csv")


def write_csv(table: pa.Table, path: Path) -> None:
    """Rows as CSV for spreadsheets: formulas defused, list columns as JSON text."""
    pa_csv.write_csv(_lists_as_json(_escape_formulas(table)), path)


def read_list_file(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A list's rows from its at_risk.parquet, in rank order: one file (DuckDB engine) or a
    folder partitioned by risk_tier (Spark engine), whose tier comes back as plain text."""
    path = folder / "at_risk.parquet"
    if not path.is_dir():
        return pd.read_parquet(path, columns=columns)
    wanted = None if columns is None else list(dict.fromkeys([*columns, "rank"]))
    frame = pd.read_parquet(path, columns=wanted)
    if "risk_tier" in frame.columns:
        frame["risk_tier"] = frame["risk_tier"].astype(str)
    frame = frame.sort_values("rank", kind="stable").reset_index(drop=True)
    if columns is not None:
        frame = frame[columns]
    elif "risk_tier" in frame.columns:  # partitioning moved the tier last: put it back
        frame.insert(3, "risk_tier", frame.pop("risk_tier"))
    return frame


def _fsync_tree(folder: Path) -> None:
    """Every file and folder under `folder`, durably on disk."""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(root))


def _write_staging(
    staging: Path,
    files: ListFiles,
    manifest: dict[str, Any],
    *,
    write_hook: Callable[[Path], None] | None,
) -> None:
    """The list's files, durably on disk in `staging`, the manifest last; on any failure, no
    staging folder."""
    staging.mkdir()
    try:
        files.write(staging)
        if write_hook is not None:
            write_hook(staging)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        _fsync_tree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _same_list(one: Path, other: Path) -> bool:
    """Whether two list folders hold the same at_risk.csv bytes (a folder without one differs).
    A re-scored list almost always differs in size, which is checked first."""
    a, b = one / "at_risk.csv", other / "at_risk.csv"
    if not (a.is_file() and b.is_file()):
        return False
    if os.path.samefile(a, b):
        return True
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as first, open(b, "rb") as second:
        while True:
            chunk = first.read(1 << 20)
            if chunk != second.read(1 << 20):
                return False
            if not chunk:
                return True


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link `source` at `target`, or copy it where the file system has no links. Sharing
    is safe: list files are never changed in place, only replaced whole."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())


def _keep_replaced(output_dir: Path, final: Path, staging: Path) -> Path | None:
    """Keep the date's current list under .replaced/as_of=DATE/<UTC time>/ before `staging`
    replaces it, unless their CSVs are the same or it is kept already (its newest kept copy,
    as after a run killed mid-swap). Returns the kept folder, if one was made."""
    if not final.is_dir() or _same_list(final, staging):
        return None
    kept = output_dir / REPLACED / final.name
    newest = max(kept.glob("[0-9]*"), default=None)  # names sort by time
    if newest is not None and _same_list(final, newest):
        return None
    kept.mkdir(parents=True, exist_ok=True)
    partial = kept / f".partial-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(final, partial, copy_function=_link_or_copy)
        _fsync_dir(partial)
        target = kept / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S.%fZ}"
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _fsync_dir(kept)
    log.info("%s: the list it replaces is kept in %s", final, target)
    return target


@cache
def _renameat2() -> Callable[..., int] | None:
    """glibc's renameat2 (2.28 and later), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function


AT_FDCWD, RENAME_EXCHANGE = -100, 2
# What renameat2 answers when the kernel, a sandbox or the file system cannot exchange.
_NO_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.EOPNOTSUPP}


def _exchange_dirs(a: Path, b: Path) -> bool:
    """Swap two existing folders in one atomic step; False where the system cannot, and then
    nothing has moved."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staging: Path, final: Path, swap_hook: Callable[[Path], None] | None) -> Path | None:
    """Move `staging` to `final`. Returns the folder now holding the previous list, if there
    was one, for the caller to remove: `staging` itself after an exchange, else a retired
    folder. A kill before that removal, or between the two renames of the fallback, is undone
    by the next write's repair."""
    if not final.exists():
        os.rename(staging, final)
        return None
    if _exchange_dirs(staging, final):
        return staging
    retired = final.with_name(f".retired-{final.name}-{uuid.uuid4().hex[:8]}")
    os.rename(final, retired)
    try:
        if swap_hook is not None:
            swap_hook(final)
        os.rename(staging, final)
    except OSError:
        with suppress(OSError):  # put the list back now; if even that fails, repair will
            os.rename(retired, final)
        raise
    return retired


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
    with _holding_date_lock(output_dir, as_of), _faults_named(output_dir):
        if final.exists() and not final.is_dir():
            raise Fault(
                [Problem(str(final), "is a file, not a list folder; move it away, then re-run")]
            )
        _repair(output_dir, as_of)
        staging = final.with_name(f".staging-{final.name}-{uuid.uuid4().hex[:8]}")
        files = FrameFiles(ranked) if isinstance(ranked, pd.DataFrame) else ranked
        _write_staging(staging, files, manifest, write_hook=write_hook)
        try:
            _keep_replaced(output_dir, final, staging)
            retired = _swap_in(staging, final, swap_hook)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(output_dir)
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


def dated_lists(output_dir: Path) -> list[tuple[pd.Timestamp, Path]]:
    """Every date's list folder in `output_dir`, newest first (the report reads them all)."""
    return _dated_lists(output_dir)
