"""The typed cache on the Spark engine: the same fingerprint-named folder and manifest as
features/exports/cache.py, written by Spark and kept through Spark's file system instead of the
driver's, so that it may be a URI (s3a://, abfss://, dbfs:/...) or any path the cluster
shares (a bare path is one on Spark's default file system, fs.defaultFS).

A copy is written into a temporary folder beside its place and renamed into it; a copy is
reused only when its manifest is there and every part still holds the files (names and
sizes) recorded at writing. The checks' verdict is kept in the manifest, so exports whose
content is unchanged are not checked again: their warnings are replayed, as on DuckDB. On an
object store the rename is a copy, not atomic; the manifest is written last, so a half-copied
folder has none and is written again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from features.engines.spark.checks import SparkRunner
from features.errors import Fault, disk_full_fault
from features.exports.cache import MANIFEST
from features.exports.locations import join_location
from features.exports.runners import UnreadableExport

log = logging.getLogger(__name__)


def part_locations(folder: str, names: list[str]) -> dict[str, str]:
    """Where each table's typed copy lives in a cache folder at a URI."""
    return {name: join_location(folder, f"{name}.parquet") for name in names}


def _files(runner: SparkRunner, location: str) -> list[list[Any]]:
    return [[name, size] for name, size, _ in runner.listing(location)]


def intact_copy_at(
    runner: SparkRunner, folder: str, names: list[str], *, warn: bool = True
) -> dict[str, str] | None:
    """The copy's parts when its manifest records them as they are now; else None, and, unless
    `warn` is off, a damaged copy is said and removed (it is rebuilt)."""
    text = runner.read_text(join_location(folder, MANIFEST))
    if text is None:
        return None
    parts = part_locations(folder, names)
    try:
        recorded = json.loads(text)["parts"]
        damaged = [n for n, p in parts.items() if _files(runner, p) != recorded[n]["files"]]
    except (ValueError, KeyError, TypeError, UnreadableExport) as error:
        damaged = [f"{MANIFEST} or a part ({type(error).__name__})"]
    if damaged and warn:
        log.warning("the typed copy in %s is incomplete (%s); rebuilding it", folder, damaged)
        runner.remove(folder)
    return None if damaged else parts


def recorded_verdict_at(runner: SparkRunner, folder: str) -> tuple[dict[str, str], dict] | None:
    """The intact typed copy at `folder` and the checks' verdict recorded with it, or None
    when there is none, it holds no verdict, or a part is not as recorded (the checks then run
    and rebuild it, saying so)."""
    text = runner.read_text(join_location(folder, MANIFEST))
    try:
        verdict = json.loads(text)["verdict"]
        names = list(verdict["tables"])
    except (ValueError, KeyError, TypeError):
        return None
    parts = intact_copy_at(runner, folder, names, warn=False)
    return None if parts is None else (parts, verdict)


def write_copy_at(
    runner: SparkRunner,
    folder: str,
    names: list[str],
    write_part: Callable[[str, str], None],
    summary: dict[str, Any],
    verdict: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write the typed copy of `names` with Spark, its manifest (with the checks' `verdict`)
    last, and publish it at `folder`; an unwritable cache is a Fault naming it."""
    tmp = f"{folder.rstrip('/')}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        for name, location in part_locations(tmp, names).items():
            write_part(name, location)
        files = {n: {"files": _files(runner, p)} for n, p in part_locations(tmp, names).items()}
        manifest = {"tables": summary, "parts": files, "verdict": verdict}
        runner.write_text(join_location(tmp, MANIFEST), json.dumps(manifest))
        if not runner.rename(tmp, folder):  # another run published first: its copy stands
            runner.remove(tmp)
    except (OSError, UnreadableExport) as error:
        full = disk_full_fault(folder, error, "free space or set [data] cache_dir elsewhere")
        if full is not None:
            raise full from None
        raise Fault(
            f"cannot write the typed cache at {folder}: {error}; set [data] cache_dir to a "
            "location Spark can write",
            where=folder,
        ) from None
    return part_locations(folder, names)
