"""Where the export checks run: the small interface they call (`CheckRunner`), and the
DuckDB runner (in-process, on the driver; the default engine).

The checks are one set of SQL builders in DuckDB's dialect (features/exports/ingest.py and the
modules it calls). `DuckDBRunner` runs them as they are; features/engines/spark/checks.py's
`SparkRunner` reads the exports with `spark.read` (any path Spark reads: local folders,
partitioned Parquet, object-store URIs) and runs each query through features/engines/spark/sql.py.

One difference the checks must say honestly: DuckDB scans a file in order, so a row has a
line number; Spark splits files across tasks and has no row order, so a Spark runner names a
row by its values (the customer id) instead (`numbered`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

import duckdb

from features.exports.cache import content_digest
from features.exports.contract import TableSource
from features.exports.dialect import CsvDialect, read_header
from features.exports.sql import csv_reader_sql, local_export, parquet_reader_sql, sql_literal


class UnreadableExport(Exception):
    """An export the engine cannot open; the message is the engine's first line."""


class MalformedCsv(UnreadableExport):
    """A CSV export whose rows break its dialect (an unclosed quote, a row with more or fewer
    fields than the header), met when a query reads it; the message is the engine's."""


class CheckRunner(Protocol):
    """What the export checks need from an engine."""

    engine: str
    """Which engine runs the checks ("duckdb", "spark")."""
    numbered: bool
    """Whether rows have a position in their file (examples say "line 5")."""

    def rows(self, sql: str) -> list[tuple]:
        """Run a DuckDB-dialect query; its rows as tuples."""

    def columns(self, view: str) -> dict[str, str]:
        """A view's columns and their types, named as DuckDB names them (VARCHAR, DOUBLE)."""

    def create_view(self, name: str, select_sql: str) -> None:
        """Create or replace view `name` over a DuckDB-dialect SELECT."""

    def create_table(self, name: str, select_sql: str) -> None:
        """Create or replace a temporary table (computed once) from a SELECT."""

    def read_export(
        self, view: str, location: str, source: TableSource | None
    ) -> CsvDialect | None:
        """Create view `view` over one export's raw rows; the dialect it is read with when it
        is a CSV (features/exports/dialect.py), else None. Raises UnreadableExport when the
        engine cannot open it; a query reading a CSV that breaks its dialect raises
        MalformedCsv."""

    def locate(self, directory: str, name: str, source: TableSource | None) -> str | None:
        """The location of contract table `name`'s export, None when it is not there."""

    def is_dir(self, location: str) -> bool:
        """Whether `location` is a folder."""

    def digest(self, location: str) -> str:
        """A key that changes when the export at `location` changes."""

    def write_parquet(self, select_sql: str, location: str) -> None:
        """Write a SELECT's rows as Parquet to `location` (OSError when it cannot)."""

    def close(self) -> None:
        """Release what the checks held (Spark's cached tables); the views stay usable."""


class DuckDBRunner:
    """The checks on an in-process DuckDB connection: local files, read on the driver."""

    engine = "duckdb"
    numbered = True

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def rows(self, sql: str) -> list[tuple]:
        """Run `sql`; its rows."""
        try:
            return self.con.sql(sql).fetchall()
        except duckdb.InvalidInputException as exc:
            if "CSV Error on Line" in str(exc):
                raise MalformedCsv(str(exc)) from None
            raise

    def columns(self, view: str) -> dict[str, str]:
        """The view's columns and DuckDB types."""
        return {row[0]: row[1] for row in self.con.sql(f"DESCRIBE {view}").fetchall()}

    def create_view(self, name: str, select_sql: str) -> None:
        """CREATE OR REPLACE VIEW."""
        self.con.sql(f"CREATE OR REPLACE VIEW {name} AS {select_sql}")

    def create_table(self, name: str, select_sql: str) -> None:
        """CREATE OR REPLACE TEMP TABLE."""
        self.con.sql(f"CREATE OR REPLACE TEMP TABLE {name} AS {select_sql}")

    def read_export(
        self, view: str, location: str, source: TableSource | None
    ) -> CsvDialect | None:
        """A view over DuckDB's reader of the file (features/exports/sql.py): a CSV in the
        dialect its configuration and header line give, or Parquet."""
        path, dialect = Path(location), None
        if path.is_dir() or path.suffix == ".parquet":
            reader = parquet_reader_sql(path)
        else:
            try:
                dialect, names = read_header(path, source)
            except (OSError, csv.Error) as exc:
                raise UnreadableExport(f"its header cannot be read ({exc})") from None
            reader = csv_reader_sql(path, dialect, names)
        try:
            self.create_view(view, f"SELECT * FROM {reader}")
            self.columns(view)  # DuckDB opens the file here: an unreadable one fails now
        except duckdb.Error as exc:
            raise UnreadableExport(str(exc).strip().splitlines()[0]) from None
        return dialect

    def locate(self, directory: str, name: str, source: TableSource | None) -> str | None:
        """The configured file, else name.{parquet,csv,csv.gz}, in a local folder."""
        return local_export(directory, name, source)

    def is_dir(self, location: str) -> bool:
        """Whether the local path is a folder."""
        return Path(location).is_dir()

    def digest(self, location: str) -> str:
        """sha256 of the export's bytes (features/exports/cache.py, content_digest)."""
        return content_digest(Path(location))

    def write_parquet(self, select_sql: str, location: str) -> None:
        """COPY ... TO, zstd-compressed."""
        try:
            self.con.sql(
                f"COPY ({select_sql}) TO {sql_literal(location)} (FORMAT parquet, COMPRESSION zstd)"
            )
        except duckdb.IOException as error:
            raise OSError(str(error).splitlines()[0]) from None

    def close(self) -> None:
        """Nothing to release: DuckDB's temporary tables go with the connection."""


def as_runner(con: CheckRunner | duckdb.DuckDBPyConnection) -> CheckRunner:
    """A runner for `con`: a DuckDB connection is wrapped, a runner is returned as it is."""
    if isinstance(con, duckdb.DuckDBPyConnection):
        return DuckDBRunner(con)
    return con


def first_line(exc: Exception) -> str:
    """An engine error's first line (the one a user reads), or its type when it is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
