"""The export checks on Spark: `SparkRunner` reads each export where it is with `spark.read`
(local folders, partitioned Parquet, object-store URIs) and runs the checks' DuckDB SQL
translated by features/engines/spark/sql.py. Imported only on the Spark engine (pyspark is loaded
inside its methods, so importing this module does not load it).

Rows have no position on Spark (a file is split across tasks), so `numbered` is False and
the checks name an example row by its values (features/exports/ingest.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from features.engines.spark.sql import to_spark
from features.exports.cache import content_digest
from features.exports.contract import TableSource
from features.exports.dialect import CsvDialect, csv_dialect
from features.exports.locations import is_uri, join_location, local_path
from features.exports.runners import MalformedCsv, UnreadableExport, first_line

CSV_SUFFIXES = (".csv", ".csv.gz")
EXPORT_SUFFIXES = (".parquet", ".csv", ".csv.gz")

# Spark type names (DataType.simpleString) as DuckDB names them, so the builders' type tests
# (is_text, NUMERIC_TYPES, TIMESTAMP/DATE) read a Spark schema as they read DuckDB's.
SPARK_TYPES = {
    "string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "timestamp_ntz": "TIMESTAMP",
    "date": "DATE",
}


def duckdb_type(spark_type: str) -> str:
    """DuckDB's name for a Spark column type (decimal(p,s) -> DECIMAL(p,s); others as
    Spark writes them, upper case, which the builders treat as not text and not numeric)."""
    if spark_type.startswith("decimal"):
        return spark_type.upper()
    return SPARK_TYPES.get(spark_type, spark_type.upper())


class SparkRunner:
    """The checks as Spark SQL on a SparkSession, over the exports where they are."""

    engine = "spark"
    numbered = False

    def __init__(self, session: Any):
        self.spark = session
        self._cached: dict[str, Any] = {}

    def rows(self, sql: str) -> list[tuple]:
        """Run `sql` (DuckDB dialect, translated); its rows."""
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        try:
            return [tuple(row) for row in self.spark.sql(to_spark(sql)).collect()]
        except (PySparkException, Py4JJavaError) as exc:
            if "MALFORMED_RECORD_IN_PARSING" in str(exc):
                raise MalformedCsv(str(exc)) from None
            raise

    def columns(self, view: str) -> dict[str, str]:
        """The view's columns and their types as DuckDB names them."""
        schema = self.spark.table(view).schema
        return {f.name: duckdb_type(f.dataType.simpleString()) for f in schema.fields}

    def create_view(self, name: str, select_sql: str) -> None:
        """A temporary view over the translated SELECT."""
        self.spark.sql(to_spark(select_sql)).createOrReplaceTempView(name)

    def create_table(self, name: str, select_sql: str) -> None:
        """A cached temporary view: computed once, reused by the queries that follow."""
        if name in self._cached:
            self._cached.pop(name).unpersist()
        frame = self.spark.sql(to_spark(select_sql)).cache()
        frame.createOrReplaceTempView(name)
        self._cached[name] = frame

    def read_export(
        self, view: str, location: str, source: TableSource | None
    ) -> CsvDialect | None:
        """`spark.read`: a CSV with its header, every column as text, in the dialect its
        configuration and header line give (features/exports/dialect.py, as on DuckDB);
        Parquet files and folders, partitioned ones too, as they are."""
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        dialect = None
        try:
            if location.endswith(CSV_SUFFIXES):
                dialect = csv_dialect(source, self._header_line(location, source))
                frame = self._csv(location, dialect)
            else:
                frame = self.spark.read.parquet(location)
        except (PySparkException, Py4JJavaError) as exc:
            raise UnreadableExport(first_line(exc)) from None
        frame.createOrReplaceTempView(view)
        return dialect

    def _header_line(self, location: str, source: TableSource | None) -> str:
        """A CSV's first line, read only when the configuration leaves its delimiter out."""
        if source is not None and source.delimiter:
            return ""
        first = self.spark.read.text(location).limit(1).collect()
        return first[0][0] if first else ""

    def _csv(self, location: str, dialect: CsvDialect) -> Any:
        # Spark's default escape is a backslash: RFC 4180 doubles a quote instead, and DuckDB
        # reads the same characters. FAILFAST: a row that does not fit the header stops the
        # query (Spark's default would pad or cut it silently). multiLine: a quoted field may
        # hold a line break (as DuckDB reads it), at the price of one task per CSV file.
        return self.spark.read.csv(
            location,
            header=True,
            inferSchema=False,
            sep=dialect.delimiter,
            quote=dialect.quote,  # "" turns quoting off, as DuckDB's quote = ''
            escape=dialect.escape if dialect.quote else "\\",
            mode="FAILFAST",
            multiLine=True,
        )

    def _fs(self, location: str) -> tuple[Any, Any]:
        """Spark's (Hadoop's) file system for the location's scheme, and the location as its
        path; UnreadableExport when the scheme has no file system here (no connector)."""
        jvm = self.spark.sparkContext._jvm
        try:
            path = jvm.org.apache.hadoop.fs.Path(location)
            return path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), path
        except Exception as exc:  # py4j's Java errors: no connector, a malformed URI
            raise UnreadableExport(first_line(exc)) from None

    def exists(self, location: str) -> bool:
        """Whether anything is at `location`, asked of Spark's file system for its scheme."""
        fs, path = self._fs(location)
        try:
            return bool(fs.exists(path))
        except Exception as exc:  # py4j's Java errors: no access, an unreachable store
            raise UnreadableExport(first_line(exc)) from None

    def locate(self, directory: str, name: str, source: TableSource | None) -> str | None:
        """The configured file, else name.{parquet,csv,csv.gz}, under `directory` (a path
        or URI), looked up through Spark's file system."""
        if source is not None and source.file:
            location = join_location(directory, source.file)
            return location if self.exists(location) else None
        for suffix in EXPORT_SUFFIXES:
            location = join_location(directory, f"{name}{suffix}")
            if self.exists(location):
                return location
        return None

    def is_dir(self, location: str) -> bool:
        """Whether `location` is a folder (a bucket prefix counts as one)."""
        fs, path = self._fs(location)
        try:
            return bool(fs.exists(path) and fs.getFileStatus(path).isDirectory())
        except Exception as exc:  # py4j's Java errors: no access, an unreachable store
            raise UnreadableExport(first_line(exc)) from None

    def digest(self, location: str) -> str:
        """A local export's content digest (as on DuckDB); for a URI, a digest of its files'
        names, sizes and modification times: hashing a bucket's bytes would read every
        export on the driver, which is what running on Spark avoids."""
        if not is_uri(location):
            return content_digest(local_path(location))
        entries = [f"{name}:{size}:{time}" for name, size, time in self.listing(location)]
        return hashlib.sha256("\n".join(entries).encode()).hexdigest()

    def listing(self, location: str) -> list[tuple[str, int, int]]:
        """Every file at or under `location`: (path relative to it, bytes, modified in ms),
        sorted by path."""
        try:
            fs, path = self._fs(location)
            found = fs.listFiles(path, True)
            base, entries = str(fs.getFileStatus(path).getPath()), []
            while found.hasNext():
                status = found.next()
                name = str(status.getPath())[len(base) :]
                entries.append((name, int(status.getLen()), int(status.getModificationTime())))
        except Exception as exc:  # py4j's Java errors: a missing or unreachable location
            raise UnreadableExport(first_line(exc)) from None
        return sorted(entries)

    def write_text(self, location: str, text: str) -> None:
        """Write a small text file (a manifest) through Spark's file system."""
        fs, path = self._fs(location)
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()

    def read_text(self, location: str) -> str | None:
        """A small text file's content, None when there is none."""
        if not self.exists(location):
            return None
        rows = self.spark.read.text(location, wholetext=True).collect()
        return rows[0][0] if rows else ""

    def rename(self, source: str, target: str) -> bool:
        """Rename a folder; False when the target exists (another run published first).
        Atomic on HDFS and local disks, a copy on object stores (docs/spark.md)."""
        fs, path = self._fs(source)
        _, to = self._fs(target)
        if fs.exists(to):
            return False
        return bool(fs.rename(path, to))

    def remove(self, location: str) -> None:
        """Delete a folder and everything under it."""
        fs, path = self._fs(location)
        fs.delete(path, True)

    def write_parquet(self, select_sql: str, location: str) -> None:
        """Spark writes the rows as a folder of zstd Parquet parts; timestamps as naive UTC
        (TIMESTAMP_NTZ), the type DuckDB's typed copies have."""
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException
        from pyspark.sql import functions as F

        frame = self.spark.sql(to_spark(select_sql))
        frame = frame.select(
            *(
                F.col(f.name).cast("timestamp_ntz").alias(f.name)
                if f.dataType.simpleString() == "timestamp"
                else F.col(f.name)
                for f in frame.schema.fields
            )
        )
        try:
            frame.write.option("compression", "zstd").parquet(location)
        except (PySparkException, Py4JJavaError) as exc:
            raise OSError(first_line(exc)) from None

    def close(self) -> None:
        """Release the cached tables."""
        for frame in self._cached.values():
            frame.unpersist()
        self._cached.clear()
