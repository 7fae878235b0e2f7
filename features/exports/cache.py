"""The typed cache: checked exports written once as typed Parquet, reused while their content is
unchanged.

A copy lives in a folder named by a fingerprint of the exports' bytes and mapping. Each run
writes into its own temporary folder and publishes it with one rename, so runs sharing a cache
never see each other's half-written files; when two runs race, the first published copy stands.
A copy is reused only when every part is present with the digest recorded at writing; a part
truncated or damaged since (a full disk, a killed copy, a hand edit) is reported as a warning
and the copy is rebuilt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from features.errors import Fault, disk_full_fault
from features.exports.contract import TABLES, ExportSource
from features.exports.locations import file_name
from features.exports.sql import local_export

log = logging.getLogger(__name__)

# Bump when the typed copy of the same exports changes (a new parsing or checking rule), so a
# copy written by an earlier version is not reused. 2: decimal marks, duplicate rows left out;
# 3: each part's digest recorded; 4: the checks' verdict recorded beside the copy; 5: CSV read in
# its declared dialect (RFC 4180 unless configured), never sniffed; 6: each export's state
# recorded (appended rows alone checked next time), a table's copy may be a folder of parts.
TYPED_FORMAT = 6
MANIFEST = "report.json"
STALE_TEMPORARY_SECONDS = 6 * 3600  # a run's temporary folder older than this was abandoned


def file_digest(path: Path) -> str:
    """sha256 of one file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def part_digest(path: Path) -> str:
    """sha256 of a typed part: a file (DuckDB writes one) or a folder of parts (Spark)."""
    return content_digest(path) if path.is_dir() else file_digest(path)


def content_digest(path: Path) -> str:
    """sha256 of an export's bytes; for a directory of Parquet parts, of every file in it and
    in its subfolders (a partitioned export: year=2025/part-0.parquet), named by relative path."""
    if not path.is_dir():
        return named_digest(path.name, file_digest(path))
    return parts_digest(folder_digests(path))


def folder_digests(path: Path) -> dict[str, str]:
    """Each file of a folder export (also in partition subfolders), by relative path, and the
    sha256 of its bytes."""
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return {file.relative_to(path).as_posix(): file_digest(file) for file in files}


def named_digest(name: str, sha256: str) -> str:
    """The content digest of a one-file export from its name and its bytes' sha256."""
    return hashlib.sha256(name.encode() + bytes.fromhex(sha256)).hexdigest()


def parts_digest(parts: dict[str, str]) -> str:
    """The content digest of a folder export from its parts' relative paths and sha256."""
    digest = hashlib.sha256()
    for name, sha256 in sorted(parts.items()):
        digest.update(name.encode() + bytes.fromhex(sha256))
    return digest.hexdigest()


def export_fingerprint(
    source: ExportSource,
    as_of: dt.date | None,
    runner: Any = None,
    digests: dict[str, str] | None = None,
) -> str:
    """A key that changes when any export's content or its mapping changes.

    Content, not size and modification time: an export rewritten in place with the same size
    and time (a copy keeping times, a clock reset) must not be served from the old copy.
    Hashing cost, measured on the 1M-customer synthetic exports (563 MB of Parquet): 0.4 s
    with sha256 (1.4 GB/s here; blake2b 0.7 s), against about 20 s to check and copy them.
    `runner` (features/exports/runners.py) locates and digests the exports where they are (a Spark
    runner: URIs too); local files, located here, when not given. `digests`: content digests
    already read (features/exports/growth.py's states), by table.
    """
    parts = [f"typed format {TYPED_FORMAT}", repr(source), str(as_of)]
    if runner is not None and runner.engine != "duckdb":  # a copy in the engine's own layout
        parts.append(f"typed by {runner.engine}")
    locate = local_export if runner is None else runner.locate
    digest = (lambda location: content_digest(Path(location))) if runner is None else runner.digest
    for name in TABLES:
        location = locate(source.directory, name, source.tables.get(name))
        if location is not None:
            known = (digests or {}).get(name)
            parts.append(f"{name}:{file_name(location)}:{known or digest(location)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def typed_files(path: Path | str) -> str:
    """What DuckDB reads for one table's typed copy: the Parquet file, or every part of a
    copy written as a folder (Spark's, or an export extended by appended rows)."""
    return str(Path(path) / "*.parquet") if Path(path).is_dir() else str(path)


def part_paths(out_dir: Path, names: list[str]) -> dict[str, Path]:
    """Where each table's typed copy lives in a cache folder."""
    return {name: out_dir / f"{name}.parquet" for name in names}


def intact_copy(out_dir: Path, names: list[str], *, warn: bool = True) -> dict[str, Path] | None:
    """The typed copy's paths when the folder holds every part with its recorded digest; None
    when there is no copy, or (with a warning unless `warn` is off) when a part is missing or
    damaged."""
    manifest = out_dir / MANIFEST
    if not out_dir.exists():
        return None
    paths = part_paths(out_dir, names)
    try:
        recorded = json.loads(manifest.read_text())["parts"]
        damaged = [n for n, p in paths.items() if part_digest(p) != recorded[n]["sha256"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        damaged = [f"{MANIFEST} or a part ({type(error).__name__})"]
    if damaged and warn:
        log.warning(
            "the cached typed copy in %s is incomplete or damaged (%s); rebuilding it",
            out_dir,
            ", ".join(damaged),
        )
    if damaged:
        return None
    return paths


def recorded_verdict(out_dir: Path) -> tuple[dict[str, Path], dict] | None:
    """The intact typed copy in `out_dir` and the checks' verdict recorded with it, or None
    when there is no copy, it holds no verdict, or a part is missing or damaged."""
    try:
        verdict = json.loads((out_dir / MANIFEST).read_text())["verdict"]
        names = list(verdict["tables"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    paths = intact_copy(out_dir, names, warn=False)  # the rebuild that follows says so
    return None if paths is None else (paths, verdict)


def read_beside(out_dir: Path, name: str) -> Any:
    """A JSON value a command kept beside a typed copy (`keep_beside`), or None."""
    try:
        return json.loads((out_dir / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None


def keep_beside(out_dir: Path, name: str, value: Any) -> None:
    """Keep a JSON value computed from a typed copy beside it, written atomically, so a later
    command on the same content reads it instead of computing it again; a cache folder that
    cannot take it is left as it is (the value is computed again next time)."""
    target = out_dir / f"{name}.json"
    temporary = target.with_name(f"{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        temporary.write_text(json.dumps(value))
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _sweep(cache_dir: Path) -> None:
    """Remove temporary folders that runs killed long ago left behind."""
    now = time.time()
    for folder in cache_dir.glob("*.tmp-*"):
        try:
            if now - folder.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _publish(tmp: Path, out_dir: Path, names: list[str]) -> dict[str, Path]:
    """Rename the finished temporary folder into place. If another run published first, its
    intact copy stands and ours is dropped; a damaged one is moved aside and replaced."""
    try:
        os.rename(tmp, out_dir)
        return part_paths(out_dir, names)
    except OSError:
        if not out_dir.exists():
            raise
    if intact_copy(out_dir, names) is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        return part_paths(out_dir, names)
    aside = out_dir.with_name(f"{out_dir.name}.tmp-broken-{uuid.uuid4().hex[:8]}")
    with contextlib.suppress(FileNotFoundError):  # another run moved it aside already
        os.rename(out_dir, aside)
    os.rename(tmp, out_dir)
    shutil.rmtree(aside, ignore_errors=True)
    return part_paths(out_dir, names)


def write_copy(
    out_dir: Path,
    names: list[str],
    write_part: Any,
    summary: dict[str, Any],
    verdict: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the typed copy of tables `names` (`write_part(name, path)` writes one table's
    Parquet) with a manifest of `summary`, each part's digest and the checks' `verdict`, and
    publish it; returns the parts' paths. An unwritable cache folder is a Fault naming it."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _sweep(out_dir.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f"{out_dir.name}.tmp-", dir=out_dir.parent))
        try:
            for name, path in part_paths(tmp, names).items():
                write_part(name, path)
            parts = {n: {"sha256": part_digest(p)} for n, p in part_paths(tmp, names).items()}
            manifest = {"tables": summary, "parts": parts, "verdict": verdict}
            (tmp / MANIFEST).write_text(json.dumps(manifest))
            return _publish(tmp, out_dir, names)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as error:
        full = disk_full_fault(
            str(out_dir.parent), error, "free space or set [data] cache_dir to another disk"
        )
        if full is not None:
            raise full from None
        reason = error.strerror or " ".join(str(error).split()) or type(error).__name__
        raise Fault(
            f"cannot write the typed cache in {out_dir.parent}: {reason}; set [data] cache_dir "
            "to a writable folder",
            where=str(out_dir.parent),
        ) from None
