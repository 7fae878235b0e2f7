"""Putting a new list in place whole: written to a staging folder and synced, then exchanged with
the date's folder in one atomic call where the system allows (renameat2), else renamed out
and in; the replaced list kept under .replaced when it differs."""

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
from pipeline.outputs.files import ListFiles

log = logging.getLogger(__name__)



REPLACED = ".replaced"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Every file and folder under `folder`, durably on disk."""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(Path(root))


def write_staging(
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


def keep_replaced(output_dir: Path, final: Path, staging: Path) -> Path | None:
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
        fsync_dir(partial)
        target = kept / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S.%fZ}"
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    fsync_dir(kept)
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


def swap_in(staging: Path, final: Path, swap_hook: Callable[[Path], None] | None) -> Path | None:
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
