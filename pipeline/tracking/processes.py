"""Which process owns a run: its host, process id and the process's own start, recorded as tags
when the run starts, so that a later run can tell a run whose process is gone (killed, or the
machine rebooted) from one still at work. No MLflow call here: the tags and the judgement."""

from __future__ import annotations

import os
import socket
from pathlib import Path

HOST_TAG = "churn.host"
PID_TAG = "churn.pid"
PROCESS_TAG = "churn.process"
"""`<boot id>/<pid namespace>/<start in clock ticks since boot>`: one process on one machine
for as long as the machine runs (a process id alone is reused)."""


def _boot_and_namespace() -> tuple[str, str] | None:
    """The kernel's boot id and this process's pid namespace (Linux /proc), else None."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return boot, namespace


def _started_ticks(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (None: no such process here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields after the last ')'
    # begin with field 3, so the start time (field 22) is the 20th of them
    return stat.rsplit(")", 1)[1].split()[19]


def _process_token(pid: int) -> str | None:
    where = _boot_and_namespace()
    started = _started_ticks(pid)
    if where is None or started is None:
        return None
    return f"{where[0]}/{where[1]}/{started}"


def owner_tags() -> dict[str, str]:
    """The tags that name this process as a run's owner: host, process id, process token
    (empty where the system has no /proc: such runs are judged by their process id alone)."""
    pid = os.getpid()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(pid),
        PROCESS_TAG: _process_token(pid) or "",
    }


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def owner_gone(tags: dict[str, str]) -> bool:
    """Whether the process that started a run is known to be gone: the run is from this host,
    and the machine rebooted since, or no process has its id, or the process that has it
    started at another time (the id was reused). False when that cannot be known from here:
    runs of other hosts, of another pid namespace (another container) or without these tags."""
    if tags.get(HOST_TAG) != socket.gethostname():
        return False
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return False
    recorded = tags.get(PROCESS_TAG, "").split("/")
    here = _boot_and_namespace()
    if len(recorded) == 3 and here is not None:
        boot, namespace, started = recorded
        if boot != here[0]:
            return True  # the machine rebooted since the run started
        if namespace != here[1]:
            return False  # another container's process ids are not ours to check
        now = _started_ticks(pid)
        if now is not None:
            return now != started
    return not _exists(pid)  # /proc hides it (another user's, hidepid): its id alone tells
