"""Open typed tables on an execution engine. DuckDB in-process is the default engine.

Feature logic is written as Ibis expressions, so any Ibis backend that reads Parquet
(e.g. PySpark for data that outgrows one machine) can run the same definitions.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir


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


def open_tables(paths: dict[str, Path], con=None) -> dict[str, ir.Table]:
    """Ibis tables over typed Parquet files, read lazily by the engine (not into pandas)."""
    con = con or duckdb_connection()
    return {
        name: con.read_parquet(str(path), table_name=f"t_{name}") for name, path in paths.items()
    }
