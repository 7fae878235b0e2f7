"""A benchmark child's peak memory: its own, and its whole process tree's."""

from __future__ import annotations

import sys

from bench.child import run_limited

# A child that starts a grandchild holding 200 MB, and is itself small: like the Python
# driver that starts Spark's JVM and waits on it.
GRANDCHILD = "x = bytearray(200 * 2**20); import time; time.sleep(1.5)"
CHILD = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {GRANDCHILD!r}])"


def test_the_tree_peak_counts_a_grandchild_the_child_starts():
    run = run_limited([sys.executable, "-c", CHILD], timeout=60, poll=0.1, tree=True)
    assert run.returncode == 0 and not run.timed_out
    assert run.peak_tree_rss_mb >= 200
    plain = run_limited([sys.executable, "-c", "pass"], timeout=60, poll=0.1, tree=True)
    assert plain.peak_tree_rss_mb < 150
