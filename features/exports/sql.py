"""SQL for reading exports: locating a table's file, the reader for its format, and the
expressions that type raw columns (timestamps in any configured format, numbers with a decimal
mark, categorical text with value maps). Pure text builders in DuckDB's dialect; DuckDB runs
them, or Spark once features/engines/spark/sql.py has translated them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from features.exports.contract import TableSource
from features.exports.dialect import CsvDialect
from features.exports.numbers import text_number_sql

EPOCH_FORMATS = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1}


def connect() -> duckdb.DuckDBPyConnection:
    """Open an in-process DuckDB connection in UTC, without DuckDB's own progress bar."""
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.sql("SET enable_progress_bar = false")  # the command draws its own; none in cron logs
    return con


def locate_export(directory: Path, name: str, source: TableSource | None) -> Path | None:
    """Find the file holding contract table `name`: the configured one, else name.{parquet,csv}."""
    if source is not None and source.file:
        path = directory / source.file
        return path if path.exists() else None
    for suffix in (".parquet", ".csv", ".csv.gz"):
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def local_export(directory: str, name: str, source: TableSource | None) -> str | None:
    """`locate_export` in a local folder given as text, the location as text: how the DuckDB
    checks and the cache key find an export."""
    path = locate_export(Path(directory), name, source)
    return None if path is None else str(path)


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parquet_reader_sql(path: Path) -> str:
    """DuckDB's reader of a Parquet export: a file, or a folder of parts, also in partition
    subfolders (year=2025/part-0.parquet, as Spark and Hive write them; the partition column
    is read as one more column)."""
    if path.is_dir():
        target = sql_literal(str(path / "**" / "*.parquet"))
        return f"read_parquet({target}, hive_partitioning = true)"
    return f"read_parquet({sql_literal(str(path))})"


def csv_reader_sql(path: Path, dialect: CsvDialect, names: list[str]) -> str:
    """DuckDB's reader of a CSV export in `dialect`, every column as text under the header's
    `names`: nothing is sniffed, and every row is parsed strictly (a row that does not fit
    stops the read, naming its line)."""
    if not names:  # an empty file: no columns, no rows
        return "(SELECT NULL::VARCHAR AS column0 WHERE false)"
    columns = ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names)
    options = (
        f"header = true, auto_detect = false, columns = {{{columns}}}, "
        f"delim = {sql_literal(dialect.delimiter)}, quote = {sql_literal(dialect.quote)}, "
        f"escape = {sql_literal(dialect.escape if dialect.quote else '')}, comment = '', "
        "strict_mode = true"
    )
    return f"read_csv({sql_literal(str(path))}, {options})"


def timestamp_sql(raw: str, raw_type: str, fmt: str) -> str:
    """SQL turning a raw column into a naive UTC TIMESTAMP, NULL where it cannot be parsed."""
    if fmt in EPOCH_FORMATS:
        number = f"TRY_CAST({raw} AS DOUBLE)"
        return f"make_timestamp(CAST({number} * {EPOCH_FORMATS[fmt]} AS BIGINT))"
    if "%" in fmt:
        return f"try_strptime(CAST({raw} AS VARCHAR), {sql_literal(fmt)})"
    upper = raw_type.upper()
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return f"CAST({raw} AS TIMESTAMP)"
    number = f"TRY_CAST({raw} AS DOUBLE)"
    # Epoch numbers: magnitude tells seconds from milliseconds; below 1e8 is ambiguous
    # (e.g. 20240115) and left unparsed so the user is told to set the format.
    epoch = (
        f"CASE WHEN abs({number}) >= 1e11 THEN make_timestamp(CAST({number} * 1000 AS BIGINT)) "
        f"WHEN abs({number}) >= 1e8 THEN make_timestamp(CAST({number} * 1000000 AS BIGINT)) END"
    )
    if upper in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "UBIGINT", "DECIMAL"):
        return epoch
    text = f"trim(CAST({raw} AS VARCHAR))"
    if fmt == "iso":
        return f"CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return (
        f"CASE WHEN regexp_full_match({text}, '-?[0-9]+(\\.[0-9]+)?') THEN {epoch} "
        f"ELSE CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP) END"
    )


NUMERIC_TYPES = (
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "DOUBLE",
    "FLOAT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
    "BOOLEAN",
)


def is_text(raw_type: str) -> bool:
    return raw_type.upper() == "VARCHAR"


def number_sql(raw: str, raw_type: str, mark: str) -> str:
    """SQL typing a number column: native numbers as they are, text read with decimal `mark`."""
    upper = raw_type.upper()
    if upper in NUMERIC_TYPES or upper.startswith("DECIMAL"):
        return f"CAST({raw} AS DOUBLE)"  # already typed (Parquet): no text round trip
    return text_number_sql(raw, mark)


def text_sql(raw: str, value_map: dict[str, str], raw_type: str = "VARCHAR") -> str:
    value = raw if is_text(raw_type) else f"CAST({raw} AS VARCHAR)"
    text = f"NULLIF(lower(trim({value})), '')"
    if not value_map:
        return text
    cases = " ".join(
        f"WHEN {sql_literal(k.strip().lower())} THEN {sql_literal(v)}" for k, v in value_map.items()
    )
    return f"CASE {text} {cases} ELSE {text} END"


def is_blank_sql(raw: str, raw_type: str = "VARCHAR") -> str:
    if not is_text(raw_type):
        return f"({raw} IS NULL)"  # only text can be blank
    return f"({raw} IS NULL OR trim({raw}) = '')"
