"""`[engine] master`: the shapes Spark accepts, checked when the configuration is read, and
whether a standalone master answers, asked before a session is built on it.

Pure Python (no pyspark): the configuration is checked before pyspark is loaded. Spark itself
gives up on a standalone master that does not answer only after its registration retries
(68 s measured here, 3 tries 20 s apart) and then fails with a Java stack trace.
"""

from __future__ import annotations

import re
import socket

from features.constraints import Invalid

MASTER_SHAPES = (
    "local, local[N], local[*], local[N,F], local-cluster[N,C,M], spark://host:port (or "
    "spark://host1:port1,host2:port2), yarn, k8s://https://host:port"
)
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)"  # a name, an IPv4 or a bracketed IPv6
# Spark's own patterns (SparkContext.createTaskScheduler, SparkMasterRegex), whole-matched.
_SHAPES = (
    r"local",
    r"local\[\s*(?:[0-9]+|\*)\s*(?:,\s*[0-9]+\s*)?\]",
    r"local-cluster\[\s*[0-9]+\s*,\s*[0-9]+\s*,\s*[0-9]+\s*\]",
    rf"spark://{_HOST}:[0-9]+(?:,{_HOST}:[0-9]+)*",
    r"yarn",
    r"k8s://\S+",
)
CONNECT_SECONDS = 3.0
"""How long a standalone master has to accept a connection: a master that is up accepts one
in milliseconds, even across a data centre."""


class SparkMaster:
    """A constraint (features/constraints.py): a master URL of a shape Spark accepts."""

    def __call__(self, value: object) -> str:
        if not isinstance(value, str) or not any(re.fullmatch(s, value) for s in _SHAPES):
            raise Invalid(f"not a Spark master; allowed: {MASTER_SHAPES}")
        if re.fullmatch(r"local\[\s*0+\s*(,.*)?\]", value):
            raise Invalid("a local master needs at least 1 thread, e.g. local[2] or local[*]")
        if any(not 0 < port < 65536 for _, port in standalone_addresses(value)):
            raise Invalid("a port is a number from 1 to 65535, e.g. spark://host:7077")
        return value


def standalone_addresses(master: str) -> list[tuple[str, int]]:
    """The (host, port) of each master in a `spark://` URL (several with standby masters);
    none for other masters, whose addresses live in the cluster's own configuration (YARN's
    resource manager, a Kubernetes context reached through proxies) or in this process."""
    if not master.startswith("spark://"):
        return []
    addresses = []
    for part in master.removeprefix("spark://").split(","):
        host, _, port = part.rpartition(":")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def _why(error: OSError, seconds: float) -> str:
    if isinstance(error, socket.gaierror):
        return "unknown host"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer within {seconds:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return error.strerror or type(error).__name__


def unanswered(master: str, seconds: float = CONNECT_SECONDS) -> str | None:
    """Why no standalone master in `master` accepts a connection ("127.0.0.1:7999
    (connection refused)"), or None when one does or the master is not a standalone one."""
    failures = []
    for host, port in standalone_addresses(master):
        try:
            with socket.create_connection((host, port), timeout=seconds):
                return None
        except OSError as error:
            failures.append(f"{host}:{port} ({_why(error, seconds)})")
    return "; ".join(failures) or None
