"""The Spark engine: an Ibis PySpark connection on a SparkSession in UTC.

Imported only when `[engine] backend = "spark"` is chosen (pyspark is an optional extra and
takes seconds to load). The feature families, the population rule and the labels are the same
Ibis expressions the DuckDB engine runs; only the connection differs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from features.engines.spark.master import unanswered
from features.errors import Fault, Problem

# Settings every session gets unless the configuration says otherwise. UTC because cutoffs
# and windows are wall-clock midnights and the exports are typed as naive UTC timestamps.
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}
# On `local[N]` the driver and executors are this process's JVM: bind to the loopback (no
# network is needed, and a machine without a resolvable host name still starts), and Python
# workers, if any, run this interpreter. On a cluster the executors' Python is the platform's
# (or spark-submit's --archives environment), never this machine's path. Shuffle partitions
# are left to Spark: adaptive execution coalesces them (features of 1,200 customers x 10
# cutoffs took about 12 s on local[2] with 2, 8 or 200 of them).
LOCAL_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.pyspark.python": sys.executable,
    "spark.pyspark.driver.python": sys.executable,
}


def session_conf(master: str, conf: Mapping[str, str]) -> dict[str, str]:
    """The conf a session is built with: BASE_CONF, LOCAL_CONF on a local master, then the
    configured entries (which win), the time zone always UTC."""
    merged = dict(BASE_CONF)
    if is_local(master):
        merged |= LOCAL_CONF
    merged |= dict(conf)
    merged["spark.sql.session.timeZone"] = "UTC"
    return merged


def is_local(master: str) -> bool:
    """Whether `master` runs Spark inside this process ("local", "local[4]", "local[*]")."""
    return re.fullmatch(r"local(\[[^\]]*\])?", master.strip()) is not None


def launched_by_spark_submit() -> bool:
    """Whether this process is a Python application started by spark-submit (or a platform
    launcher built on it), whose JVM already holds the master and conf it was given.

    Read from the variable spark-submit hands its Python child to reach that JVM: the
    launcher's own convention, like MLFLOW_TRACKING_URI is MLflow's."""
    import os

    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_session(master: str, conf: Mapping[str, str]) -> Any:
    """The SparkSession to compute on, in UTC.

    Reused when one is running in this process (a Databricks job's, a notebook's, a test
    run's): only the settings that can change at run time are applied to it. Otherwise built
    with `conf` (session_conf) at `master`, unless spark-submit (or spark-defaults.conf) gave
    a master: the platform's launcher knows the cluster, so its master wins.

    A standalone master that does not accept a connection, or a session that does not start
    (no Java, a master that gave up), is a `Fault` naming `[engine] master`."""
    from py4j.protocol import Py4JError
    from pyspark import SparkContext
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    settings = session_conf(master, conf)
    active = SparkSession.getActiveSession()
    if active is None and SparkContext._active_spark_context is not None:
        active = SparkSession.builder.getOrCreate()
    if active is not None:
        for key, value in settings.items():
            if active.conf.isModifiable(key):
                active.conf.set(key, value)
        return _local_workers(active)
    builder = SparkSession.builder.appName("churn")
    if not launched_by_spark_submit():
        _refuse_unanswered(master)
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except (PySparkException, Py4JError) as error:
        raise Fault(
            [_master_problem(master, f"Spark did not start ({_java_first_line(error)})")]
        ) from None
    session.sparkContext.setLogLevel("ERROR")  # Spark's own warnings would drown the CLI's lines
    return _local_workers(session)


def _master_problem(master: str, what: str) -> Problem:
    return Problem("[engine] master", f"{master!r}: {what}")


def _refuse_unanswered(master: str) -> None:
    """Refuse at once a standalone master that accepts no connection: Spark would retry for
    a minute and then fail with a stack trace."""
    why = unanswered(master)
    if why:
        raise Fault(
            [
                _master_problem(
                    master,
                    f"no Spark master answers at {why}; check the address and that the "
                    "master is running",
                )
            ]
        )


def _java_first_line(error: Exception) -> str:
    """The first line a user can read: the Java exception's for a Java error (py4j's own
    first line only names the method called), else the error's."""
    java = getattr(error, "java_exception", None)
    text = str(java.toString()) if java is not None else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _local_workers(session: Any) -> Any:
    """On a local master, Python workers (the nightly list's model) run this interpreter:
    pyspark picks their interpreter from PYSPARK_PYTHON when the context starts, else a bare
    `python3` without the project's packages; `spark.pyspark.python` only reaches
    spark-submit's launcher."""
    if is_local(session.sparkContext.master):
        session.sparkContext.pythonExec = sys.executable
    return session


def spark_connection(master: str, conf: Mapping[str, str]) -> Any:
    """An Ibis PySpark connection on `spark_session(master, conf)`."""
    import ibis

    return ibis.pyspark.connect(spark_session(master, conf))


def spark_dataframe(expr: Any) -> Any:
    """The Spark DataFrame an Ibis table expression on the PySpark backend stands for: its
    SQL, planned by Spark and not run, to be extended with DataFrame operations (the nightly
    list applies the model with them) instead of collected."""
    con = expr._find_backend()
    con._run_pre_execute_hooks(expr)  # registers in-memory tables (the cutoffs) and UDFs
    return con._session.sql(con.compile(expr))
