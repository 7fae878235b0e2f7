"""How a CSV export is read, the same on every engine: its delimiter, quote and escape
characters, and the header's column names.

Quoting is never guessed from a sample of rows (a guess from the first rows misreads a file
whose first quoted field comes later): it is the table's configured `quote` and `escape`, else
RFC 4180's (fields quoted with `"`, a quote inside a quoted field doubled). The delimiter, when
not configured, is read from the header line, which names every column and so must hold the
delimiter between them; a wrong reading cannot pass silently, since every row is then parsed
strictly against the header's fields and the first row that does not fit stops the check with
its line (`malformed_csv`)."""

from __future__ import annotations

import csv
import gzip
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from features.exports.contract import TableSource

RFC4180_QUOTE = '"'
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvDialect:
    """The characters a CSV export is read with; `quote` "" means fields are never quoted."""

    delimiter: str = ","
    quote: str = RFC4180_QUOTE
    escape: str = RFC4180_QUOTE

    def describe(self) -> str:
        """The dialect as a user reads it in an error."""
        if not self.quote:
            return f"delimiter {self.delimiter!r}, no quoting"
        inside = "doubled" if self.escape == self.quote else f"escaped with {self.escape!r}"
        return f"delimiter {self.delimiter!r}, quote {self.quote!r} ({inside} inside a field)"


def header_delimiter(header: str) -> str:
    """The delimiter of a CSV from its header line: the most frequent of , ; tab | (a comma
    when none appears)."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_dialect(source: TableSource | None, header: str) -> CsvDialect:
    """The dialect of one CSV export: what its table's configuration declares, RFC 4180's
    quoting otherwise, the delimiter read from `header` (the first line) when not declared."""
    delimiter = source.delimiter if source is not None and source.delimiter else None
    quote = source.quote if source is not None and source.quote is not None else RFC4180_QUOTE
    escape = source.escape if source is not None and source.escape else quote
    return CsvDialect(delimiter or header_delimiter(header), quote, escape)


def _open_text(path: Path) -> TextIO:
    # utf-8-sig: a byte-order mark is not part of the first column's name. Bytes that are not
    # UTF-8 are replaced here, where text is decoded in blocks beyond the header; the engine
    # names the line that holds them when it reads the rows.
    options = {"encoding": "utf-8-sig", "errors": "replace", "newline": ""}
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", **options)
    return path.open(**options)


def read_header(path: Path, source: TableSource | None) -> tuple[CsvDialect, list[str]]:
    """A local CSV export's dialect and its header's column names ([] for an empty file).
    Raises csv.Error for a header that never ends, OSError when unreadable."""
    with _open_text(path) as lines:
        first = lines.readline()
        dialect = csv_dialect(source, first)
        record = next(csv.reader(itertools.chain([first], lines), **_python_dialect(dialect)), [])
    return dialect, column_names(record)


def _python_dialect(dialect: CsvDialect) -> dict:
    if not dialect.quote:
        return {"delimiter": dialect.delimiter, "quoting": csv.QUOTE_NONE}
    doubled = dialect.escape == dialect.quote
    return {
        "delimiter": dialect.delimiter,
        "quotechar": dialect.quote,
        "doublequote": doubled,
        "escapechar": None if doubled else dialect.escape,
    }


def column_names(record: list[str]) -> list[str]:
    """The header's names, made distinct (one view column each): a blank name is `column<i>`
    (counting from 0), a repeated one gets `_1`, `_2` ..."""
    names: list[str] = []
    for i, name in enumerate(record):
        name = name or f"column{i}"
        unique, n = name, 0
        while unique in names:
            n += 1
            unique = f"{name}_{n}"
        names.append(unique)
    return names


_DUCKDB_LINE = re.compile(r"CSV Error on Line: (\d+)")
_DUCKDB_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_SPARK_RECORD = re.compile(r"Malformed CSV record: (.*?) SQLSTATE", re.S)


def malformed_csv(error: str, dialect: CsvDialect) -> str | None:
    """One line saying where and how a CSV breaks its dialect, from an engine's error (DuckDB
    names the line, Spark the record); None when `error` is not about the file's structure."""
    line = _DUCKDB_LINE.search(error)
    if line is None and "MALFORMED_RECORD_IN_PARSING" not in error:
        return None
    count = _DUCKDB_COUNT.search(error)
    if count is not None:
        what = f"{count.group(2)} fields where the header has {count.group(1)}"
    elif "unterminated quote" in error:
        what = "a quoted field is never closed"
    elif "not utf-8 encoded" in error:
        return f"not UTF-8 text at line {int(line.group(1)):,}" if line else None
    else:
        what = "a row does not fit the header's fields or quoting"
    record = _SPARK_RECORD.search(error)
    if line is not None:
        where = f" at line {int(line.group(1)):,}"
    elif record is not None:  # Spark: no line numbers, the record as read
        text = record.group(1)
        where = f" in the row {text[:60] + ('...' if len(text) > 60 else '')!r}"
    else:
        where = ""
    return (
        f"not a valid CSV{where}: {what} (read with {dialect.describe()}; set the table's "
        "delimiter, quote or escape in the config if the file uses others)"
    )
