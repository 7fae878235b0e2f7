"""Writing at-risk lists safely: one folder per as-of date, swapped in whole, under a lock.

A crash while writing leaves the previous list for that date untouched; lists of other dates
are never touched; two scorers cannot write the same date at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import ExportError, Problem


class ListLocked(ExportError):
    """Another scorer holds the lock for this date."""

    exit_code = 3


def partition_dir(output_dir: Path, as_of: pd.Timestamp) -> Path:
    """The folder of one date's list, e.g. outputs/at_risk/as_of=2026-11-01."""
    return output_dir / f"as_of={as_of:%Y-%m-%d}"


@contextmanager
def date_lock(output_dir: Path, as_of: pd.Timestamp) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock for one date; refuse if another scorer has it."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f".as_of={as_of:%Y-%m-%d}.lock"
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ListLocked(
                [
                    Problem(
                        str(path),
                        "another scorer is writing this date's list; try again when it finishes",
                    )
                ]
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_list(
    output_dir: Path,
    as_of: pd.Timestamp,
    ranked: pd.DataFrame,
    manifest: dict[str, Any],
    write_hook: Callable[[Path], None] | None = None,
) -> Path:
    """Write list (Parquet and CSV) and manifest into a fresh folder, then swap it in place of
    the date's folder. `write_hook` runs after the files are written (tests use it to fail
    mid-write). Returns the date's folder."""
    final = partition_dir(output_dir, as_of)
    staging = output_dir / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        ranked.to_parquet(staging / "at_risk.parquet", index=False)
        csv = ranked.copy()
        for column in csv.columns:
            if csv[column].map(lambda v: isinstance(v, list)).any():
                csv[column] = csv[column].map(lambda v: json.dumps(list(v)))
        csv.to_csv(staging / "at_risk.csv", index=False)
        if write_hook is not None:
            write_hook(staging)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        for name in ("at_risk.parquet", "at_risk.csv", "manifest.json"):
            with open(staging / name, "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = None
    if final.exists():
        retired = output_dir / f".retired-{final.name}-{uuid.uuid4().hex[:8]}"
        os.rename(final, retired)
    os.rename(staging, final)
    _fsync_dir(output_dir)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    return final
