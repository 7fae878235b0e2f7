"""One writer per date: the date folder's lock, and the repair, under it, of what a killed run
left (a retired list put back, staging and half-kept copies removed)."""

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
from pipeline.outputs.faults import ListLocked, faults_named
from pipeline.outputs.swap import REPLACED, fsync_dir

log = logging.getLogger(__name__)



def partition_dir(output_dir: Path, as_of: pd.Timestamp) -> Path:
    """The folder of one date's list, e.g. outputs/at_risk/as_of=2026-11-01."""
    return output_dir / f"as_of={as_of:%Y-%m-%d}"


_held = threading.local()
"""The date locks this thread holds (a write inside `date_lock` does not take it again)."""


def _lock_path(output_dir: Path, name: str) -> Path:
    return output_dir / f".{name}.lock"


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
        with faults_named(output_dir):
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
def date_lock_if_free(output_dir: Path, as_of: pd.Timestamp) -> Iterator[bool]:
    """Hold the date's lock if no run does, without waiting; yields whether it is held (a run
    holding it is writing or logging that date's list right now)."""
    with _lock_if_free(_lock_path(output_dir, partition_dir(output_dir, as_of).name)) as free:
        yield free


@contextmanager
def holding_date_lock(output_dir: Path, as_of: pd.Timestamp) -> Iterator[None]:
    """The date's lock: the caller's if this thread holds it already, else taken here."""
    path = _lock_path(output_dir, partition_dir(output_dir, as_of).name)
    if os.path.abspath(path) in _held_locks():
        yield
    else:
        with date_lock(output_dir, as_of):
            yield


# What a killed run can leave behind: `.staging-as_of=2026-11-01-1a2b3c4d` and its `.retired-`.
LEFTOVER = re.compile(r"\.(?P<kind>staging|retired)-(?P<date>as_of=\d{4}-\d{2}-\d{2})-\w+")


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
        fsync_dir(output_dir)
        log.warning("%s: put back the list a killed run had moved out", final)
    for path in retired + [p for k, p in leftovers if k != "retired"]:
        shutil.rmtree(path)
        log.info("%s: removed, left by a killed run", path)


def repair(output_dir: Path, as_of: pd.Timestamp) -> None:
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
