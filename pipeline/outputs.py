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
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from features.errors import Problem, Refusal


class ListLocked(Refusal):
    """Another scorer holds the lock for this date."""


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


def _lists_as_json(table: pa.Table) -> pa.Table:
    """List columns (e.g. reason_features) as JSON text, which a CSV cell can hold."""
    for i, column in enumerate(table.schema):
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            texts: dict[tuple, str] = {}  # few distinct lists: encode each once
            encoded = []
            for value in table.column(i).to_pylist():
                key = None if value is None else tuple(value)
                if key is not None and key not in texts:
                    texts[key] = json.dumps(value)
                encoded.append(None if key is None else texts[key])
            table = table.set_column(i, column.name, pa.array(encoded, type=pa.string()))
    return table


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
        table = pa.Table.from_pandas(ranked, preserve_index=False)
        pq.write_table(table, staging / "at_risk.parquet")
        pa_csv.write_csv(_lists_as_json(table), staging / "at_risk.csv")
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


def previous_list(
    output_dir: Path, as_of: pd.Timestamp
) -> tuple[pd.Timestamp, pd.DataFrame] | None:
    """The most recent list dated before `as_of`: its date and its customer_id, risk_tier and
    churn_probability columns; None when there is none."""
    dates = []
    for folder in output_dir.glob("as_of=*"):
        try:
            dates.append((pd.Timestamp(folder.name.removeprefix("as_of=")), folder))
        except ValueError:
            continue
    for date, folder in sorted((d for d in dates if d[0] < as_of), reverse=True):
        try:
            frame = pd.read_parquet(
                folder / "at_risk.parquet",
                columns=["customer_id", "risk_tier", "churn_probability"],
            )
        except (OSError, ValueError, KeyError):
            continue
        return date, frame
    return None
