"""How an export relates to the one an earlier run checked: the same bytes, or the same bytes
with rows appended (a CSV that grew at its end, a folder of Parquet parts with new parts), so
that only the appended part needs its checks.

Each typed copy records every export's state (features/exports/cache.py): a file's size and
digest, or a folder's parts and their digests. A later run finds the newest copy checked under
the same mapping and an as-of date no later than its own, and compares: a CSV grew when its
first bytes are exactly the recorded file (ending at a line break) and more follow; a folder
grew when every recorded part is there, unchanged, and new parts were added. Anything else (a
rewritten row, a removed part, a compressed CSV, a single Parquet file) is not an append, and
the whole export is checked as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from features.exports.cache import (
    MANIFEST,
    TYPED_FORMAT,
    folder_digests,
    named_digest,
    parts_digest,
)
from features.exports.contract import TABLES, ExportSource

CHUNK = 1 << 22


@dataclass(frozen=True)
class EarlierCopy:
    """The newest typed copy checked under the same mapping: its folder, its recorded verdict
    (features/exports/verdict.py's `ValidationReport.record`) and each export's state."""

    folder: Path
    verdict: dict
    states: dict[str, dict]


@dataclass(frozen=True)
class Appended:
    """The rows an export gained since an earlier copy checked it: the bytes after `offset` of
    a CSV, or new Parquet `parts` of a folder; `rows_before` rows were checked already."""

    location: Path
    rows_before: int
    offset: int | None = None
    parts: tuple[Path, ...] = ()


def mapping_key(source: ExportSource) -> str:
    """What must be equal for an earlier copy's checks to stand for today's: the contract
    version and the exports' mapping (folder, files, columns, formats, tolerances)."""
    return hashlib.sha256(f"{TYPED_FORMAT}|{source!r}".encode()).hexdigest()[:16]


def file_state(path: Path, prefix: int | None = None) -> dict:
    """A file's size and sha256; given `prefix` (a size smaller than the file), also the sha256
    of its first `prefix` bytes and whether they end at a line break, from the same read."""
    digest, head, read = hashlib.sha256(), None, 0
    ends_line = False
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if prefix is not None and head is None and read + len(chunk) >= prefix:
                cut = prefix - read
                digest.update(chunk[:cut])
                head = digest.copy().hexdigest()
                ends_line = cut > 0 and chunk[cut - 1 : cut] == b"\n"
                digest.update(chunk[cut:])
            else:
                digest.update(chunk)
            read += len(chunk)
    state: dict = {"size": read, "sha256": digest.hexdigest()}
    if head is not None and prefix is not None and 0 < prefix < read:
        state["prefix"] = {"size": prefix, "sha256": head, "ends_line": ends_line}
    return state


def export_state(path: Path, earlier: dict | None = None) -> dict:
    """The state of one local export, compared cheaply against `earlier` (that export's
    recorded state) in the same read: for a file, the digest of the bytes it had then; for a
    folder, its parts and their sha256."""
    if path.is_dir():
        return {"parts": folder_digests(path)}
    prefix = earlier.get("size") if earlier and "size" in earlier else None
    return file_state(path, prefix)


def state_digest(path: Path, state: dict) -> str:
    """The content digest a state stands for: features/exports/cache.py's `content_digest`
    of the same export, without reading it again."""
    if "parts" in state:
        return parts_digest(state["parts"])
    return named_digest(path.name, state["sha256"])


def appended(path: Path, state: dict, earlier: dict | None, rows_before: int) -> Appended | None:
    """The part of export `path` appended since its `earlier` state, or None when the export
    did not grow by appends alone (unchanged, rewritten, shrunk, or a kind that cannot)."""
    if earlier is None or rows_before <= 0:
        return None
    if "parts" in state:
        before = earlier.get("parts")
        if not before or any(state["parts"].get(p) != sha for p, sha in before.items()):
            return None
        new = tuple(path / p for p in sorted(state["parts"]) if p not in before)
        parquet = all(p.suffix == ".parquet" for p in new)
        return Appended(path, rows_before, parts=new) if new and parquet else None
    prefix = state.get("prefix")
    if path.suffix != ".csv" or prefix is None:
        return None
    grown = prefix["sha256"] == earlier.get("sha256") and prefix["size"] == earlier.get("size")
    if not grown or not prefix["ends_line"]:
        return None
    return Appended(path, rows_before, offset=prefix["size"])


def earlier_copy(
    cache_dir: Path | str, source: ExportSource, as_of: dt.date | None
) -> EarlierCopy | None:
    """The newest typed copy in `cache_dir` checked under the same mapping as `source`, as of
    a date no later than `as_of` (a check as of a later date may have allowed rows that are
    in the future today), or None."""
    wanted, best = mapping_key(source), None
    for manifest in Path(cache_dir).glob(f"*/{MANIFEST}"):
        if ".tmp-" in manifest.parent.name:
            continue
        try:
            verdict = json.loads(manifest.read_text())["verdict"]
            growth = verdict["growth"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not isinstance(growth, dict) or growth.get("mapping") != wanted:
            continue
        recorded = growth.get("as_of")
        if (as_of is None) != (recorded is None) or (recorded or "") > str(as_of or ""):
            continue
        when = str(verdict.get("checked_at", ""))
        if best is None or when > best[0]:
            best = (when, manifest.parent, verdict, growth.get("states") or {})
    if best is None:
        return None
    return EarlierCopy(best[1], best[2], best[3])


def extendable_tables(verdict: dict) -> set[str]:
    """Event tables whose earlier check can be extended by appended rows: it recorded its
    findings, found no outlier and no decimal mark to argue about, and left out no row for an
    unknown customer (today's customer table may know them). The others are checked whole."""
    tables = verdict.get("tables", {})
    return {
        name
        for name, t in tables.items()
        if name in TABLES
        and name != "customers"
        and isinstance(t.get("findings"), dict)
        and t["findings"].get("plain")
        and not t.get("orphans")
    }
