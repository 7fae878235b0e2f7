"""Faults of the output folder named for what they are (a file in the way, a folder not writable,
a full or failing disk), one line each with what to do, and the refusal of a date another
scorer is writing."""

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

from features.errors import Fault, Problem, Refusal, disk_full_code



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
    code = disk_full_code(error) or error.errno
    reason = os.strerror(code) if code else " ".join(str(error).split())
    remedy = _REMEDIES.get(code, "check the disk and the folder")
    return Fault(
        [
            Problem(
                str(output_dir),
                f"could not write the at-risk list ({reason}); {remedy}, then re-run",
            )
        ]
    )


@contextmanager
def faults_named(output_dir: Path) -> Iterator[None]:
    """Turn OS errors in the block into a `Fault` about `output_dir`."""
    try:
        yield
    except OSError as error:
        raise _fault(output_dir, error) from error
