"""Open typed tables on an execution engine. DuckDB in-process is the default engine.

Feature logic is written as Ibis expressions, so any Ibis backend that reads Parquet runs the
same definitions: `[engine] backend = "spark"` runs them on a Spark cluster (or `local[N]`)
through Ibis's PySpark backend (features/engines/spark/session.py, imported only when chosen, so the
default engine never loads pyspark).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import ibis
import ibis.expr.types as ir

from features.constraints import Mapping, OneOf, Scalar
from features.engines.spark.conf import conf_problems
from features.engines.spark.master import SparkMaster

BACKENDS = ("duckdb", "spark")
SPARK_INSTALL = "pip install '.[spark]'"
"""How to add pyspark: the project's optional `spark` extra (ibis's PySpark backend too)."""


@dataclass(frozen=True)
class EngineSettings:
    """Which engine computes features and labels ([engine] in the configuration).

    duckdb: in-process, the default. spark: a SparkSession at `master` (e.g. "local[2]",
    "yarn", "k8s://...", or whatever spark-submit was given) with `conf` entries added to it;
    the session time zone is always UTC.
    """

    backend: str = "duckdb"
    master: str = "local[2]"
    conf: dict[str, str] = field(default_factory=dict)
    """Spark configuration entries, e.g. {"spark.sql.shuffle.partitions" = "64"}."""

    CHECKS: ClassVar[dict] = {
        "backend": OneOf(BACKENDS),
        "master": SparkMaster(),
        "conf": Mapping(
            Scalar(), describe='a table of Spark settings, e.g. {"spark.executor.memory" = "4g"}'
        ),
    }

    def cross_check(self) -> list[str]:
        """The Spark engine needs pyspark, an optional extra, and Spark settings of the
        shapes Spark reads: said on load, not mid-run."""
        if self.backend == "spark" and not spark_installed():
            return [
                f"backend = 'spark' needs pyspark, which is not installed: {SPARK_INSTALL} "
                "(the project's spark extra)"
            ]
        return conf_problems(self.conf)


def spark_installed() -> bool:
    """Whether pyspark can be imported, found without importing it (it is slow to load)."""
    import importlib.util

    return importlib.util.find_spec("pyspark") is not None


def duckdb_connection(threads: int | None = None, memory_limit: str | None = None):
    """An in-process DuckDB Ibis connection in UTC."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    con.raw_sql("SET enable_progress_bar = false")  # the command draws its own progress
    if threads:
        con.raw_sql(f"SET threads = {int(threads)}")
    if memory_limit:
        con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    return con


def connect(settings: EngineSettings) -> Any:
    """An Ibis connection on the configured engine: DuckDB in-process, or PySpark on a
    SparkSession built from `master` and `conf` (reused when one is already running)."""
    if settings.backend == "spark":
        from features.engines.spark.session import spark_connection

        return spark_connection(settings.master, settings.conf)
    return duckdb_connection()


def check_runner(settings: EngineSettings) -> Any:
    """What checks and types the exports (features/exports/runners.py): DuckDB on the driver, or, on
    the Spark engine, Spark over the exports where they are, on the session features use."""
    from features.exports.runners import DuckDBRunner
    from features.exports.sql import connect as duckdb_checks

    if settings.backend == "spark":
        from features.engines.spark.checks import SparkRunner
        from features.engines.spark.session import spark_session

        return SparkRunner(spark_session(settings.master, settings.conf))
    return DuckDBRunner(duckdb_checks())


def open_tables(paths: dict[str, Path], con=None) -> dict[str, ir.Table]:
    """Ibis tables over typed Parquet files, read lazily by the engine (not into pandas).

    `con` is the engine's connection (DuckDB when not given). On Spark, the paths must be
    readable by every executor: a shared file system or an object store (s3://, abfss://,
    gs://, dbfs:/), passed through untouched. A typed copy Spark wrote is a folder of parts,
    which DuckDB reads by its parts' pattern."""
    from features.exports.cache import typed_files  # imports DuckDB: not on reading a config

    con = con or duckdb_connection()
    duckdb = con.name == "duckdb"
    return {
        name: con.read_parquet(typed_files(path) if duckdb else str(path), table_name=f"t_{name}")
        for name, path in paths.items()
    }
