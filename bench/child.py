"""A benchmark's child process run with a time limit, measured by its own resource usage."""

from __future__ import annotations

import os
import subprocess
import sys
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
    peak_tree_rss_mb: float = 0.0


def spark_env() -> dict[str, str]:
    """The environment of a child that may start Spark on `local[N]`: bound to the loopback,
    its Python workers on this interpreter."""
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}


def tree_rss_mb(root: int) -> float:
    """The resident memory of process `root` and all its descendants together (a Spark
    driver's JVM is a child of the Python process), read from /proc; 0 where there is none."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while being read
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = set(), {root}
    while frontier:
        tree |= frontier
        frontier = {p for p, parent in parents.items() if parent in frontier} - tree
    return sum(rss.get(p, 0) for p in tree) / 2**20


def run_limited(
    command: list[str], timeout: float, poll: float = 0.1, *, tree: bool = False, **popen: Any
) -> ChildRun:
    """Run `command` (Popen keywords in `popen`: cwd, env, stdout, stderr), killing it once it
    runs past `timeout` seconds. With `tree`, the peak of the process tree's summed resident
    memory is sampled at every poll too (the child's own peak misses a JVM it starts)."""
    began = time.perf_counter()
    process = subprocess.Popen(command, **popen)
    timed_out, tree_peak = False, 0.0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if tree:
            tree_peak = max(tree_peak, tree_rss_mb(process.pid))
        if not timed_out and time.perf_counter() - began > timeout:
            process.kill()
            timed_out = True
        time.sleep(poll)
    return ChildRun(
        returncode=os.waitstatus_to_exitcode(status),
        timed_out=timed_out,
        wall=time.perf_counter() - began,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports kilobytes
        peak_tree_rss_mb=round(tree_peak, 1),
    )
