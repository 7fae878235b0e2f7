"""A benchmark's child process run with a time limit, measured by its own resource usage."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChildRun:
    """How a child process ended: exit code, whether the limit stopped it, wall seconds and
    its peak RSS in MB (the child's own, not the benchmark's)."""

    returncode: int
    timed_out: bool
    wall: float
    peak_rss_mb: float


def run_limited(command: list[str], timeout: float, poll: float = 0.1, **popen: Any) -> ChildRun:
    """Run `command` (Popen keywords in `popen`: cwd, env, stdout, stderr), killing it once it
    runs past `timeout` seconds."""
    began = time.perf_counter()
    process = subprocess.Popen(command, **popen)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if not timed_out and time.perf_counter() - began > timeout:
            process.kill()
            timed_out = True
        time.sleep(poll)
    return ChildRun(
        returncode=os.waitstatus_to_exitcode(status),
        timed_out=timed_out,
        wall=time.perf_counter() - began,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports kilobytes
    )
