"""What a list's files hold: Parquet with the raw values, CSV for people with every cell a
spreadsheet would run as a formula written as text, lists of reasons as JSON text."""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from features.errors import Fault, Problem, Refusal



# A text cell a spreadsheet would run as a formula (OWASP, CSV Injection): it starts with
# = + - @, tab, CR or LF. Also NUL (OWASP ASVS 1.2.10), the full-width ＝ ＋ － ＠ that some
# East Asian locales read as formula signs, and the signs after leading spaces (ASCII or
# Unicode), which some spreadsheets and import options strip before looking.
FORMULA_START = r"^(?:[\t\r\n\x00]|[\s\v\p{Z}]*[=+\-@\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}])"


EXACT_COLUMNS = ("customer_id", "suggested_play")
"""Text columns written exactly as they are, formula signs included: the team copies them
into the contact log the pipeline reads back (docs/contacts.md), where an id "+4915..." with
a quote in front would be another customer and a play another play. They come from the
company's own systems and configuration, not from free text."""


def _escape_formulas(table: pa.Table) -> pa.Table:
    """Every text cell that a spreadsheet would run as a formula, with a single quote in
    front (OWASP's remedy; the CSV writer already quotes text and doubles inner quotes, which
    keeps separators and quotes inside a cell), but in EXACT_COLUMNS. Vectorised: about 50 ms
    per text column of a 1M-row list."""
    for i, field in enumerate(table.schema):
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if field.name in EXACT_COLUMNS:
            continue
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        column = table.column(i).cast(kind)
        risky = pc.match_substring_regex(column, FORMULA_START)
        if pc.any(risky).as_py():
            quoted = pc.utf8_replace_slice(column, start=0, stop=0, replacement="'")
            table = table.set_column(i, field.name, pc.if_else(risky, quoted, column))
    return table


def _json_in_python(column: pa.ChunkedArray) -> pa.Array:
    """JSON text of each list, by json.dumps once per distinct list (any element values)."""
    texts: dict[tuple, str] = {}
    encoded = []
    for value in column.to_pylist():
        key = None if value is None else tuple(value)
        if key is not None and key not in texts:
            texts[key] = json.dumps(value)
        encoded.append(None if key is None else texts[key])
    return pa.array(encoded, type=pa.string())


def _json_of_text_lists(chunk: pa.Array) -> pa.Array | None:
    """JSON text of each list of strings, as json.dumps lays it out ('["a", "b"]', '[]'), null
    for a null list, built with pyarrow.compute (1M rows: 0.15 s; json.dumps once per distinct
    list took 1.3 s). Non-ASCII text is written as it is: the same JSON as json.dumps's \\u
    escapes. None when an element is null or holds a control character; json.dumps does those.
    """
    text = chunk.type.value_type
    if len(chunk) == 0:
        return pa.array([], type=text)
    start, end = chunk.offsets[0].as_py(), chunk.offsets[-1].as_py()
    values = chunk.values.slice(start, end - start)  # this chunk's elements only
    if values.null_count:
        return None
    distinct = pc.dictionary_encode(values)  # few distinct names: escape and quote those
    names = distinct.dictionary
    if pc.any(pc.match_substring_regex(names, r"[\x00-\x1f]")).as_py():
        return None

    def join(*parts):
        return pc.binary_join_element_wise(*parts, pa.scalar("", text))

    escaped = pc.replace_substring(pc.replace_substring(names, "\\", "\\\\"), '"', '\\"')
    quoted = join(pa.scalar('"', text), escaped, pa.scalar('"', text)).take(distinct.indices)
    offsets = pc.subtract(chunk.offsets, pa.scalar(start, chunk.offsets.type))
    lists = type(chunk).from_arrays(offsets, quoted, mask=chunk.is_null())
    return join(
        pa.scalar("[", text), pc.binary_join(lists, pa.scalar(", ", text)), pa.scalar("]", text)
    )


def _lists_as_json(table: pa.Table) -> pa.Table:
    """List columns (e.g. reason_features) as JSON text, which a CSV cell can hold."""
    for i, field in enumerate(table.schema):
        if not (pa.types.is_list(field.type) or pa.types.is_large_list(field.type)):
            continue
        column, item = table.column(i), field.type.value_type
        encoded = None
        if pa.types.is_string(item) or pa.types.is_large_string(item):
            chunks = [_json_of_text_lists(chunk) for chunk in column.chunks]
            if all(chunk is not None for chunk in chunks):
                encoded = pa.chunked_array(chunks, type=item)
        if encoded is None:
            encoded = _json_in_python(column)
        table = table.set_column(i, field.name, encoded)
    return table


class ListFiles(Protocol):
    """Whatever writes a list's data files into a folder (the manifest is written after)."""

    def write(self, folder: Path) -> None: ...


@dataclass(frozen=True)
class FrameFiles:
    """A list held in memory: at_risk.parquet and at_risk.csv, the same rows."""

    ranked: pd.DataFrame

    def write(self, folder: Path) -> None:
        table = pa.Table.from_pandas(self.ranked, preserve_index=False)
        pq.write_table(table, folder / "at_risk.parquet")
        write_csv(table, folder / "at_risk.csv")


def write_csv(table: pa.Table, path: Path) -> None:
    """Rows as CSV for spreadsheets: formulas defused, list columns as JSON text."""
    pa_csv.write_csv(_lists_as_json(_escape_formulas(table)), path)


def list_column_names(folder: Path) -> list[str]:
    """The columns a list's at_risk.parquet holds (lists written by older versions lack the
    newer ones), read from its schema alone."""
    path = folder / "at_risk.parquet"
    if path.is_dir():
        import pyarrow.dataset as ds

        return ds.dataset(path, format="parquet", partitioning="hive").schema.names
    return pq.read_schema(path).names


def read_list_file(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A list's rows from its at_risk.parquet, in rank order: one file (DuckDB engine) or a
    folder partitioned by risk_tier (Spark engine), whose tier comes back as plain text."""
    path = folder / "at_risk.parquet"
    if not path.is_dir():
        return pd.read_parquet(path, columns=columns)
    wanted = None if columns is None else list(dict.fromkeys([*columns, "rank"]))
    frame = pd.read_parquet(path, columns=wanted)
    if "risk_tier" in frame.columns:
        frame["risk_tier"] = frame["risk_tier"].astype(str)
    frame = frame.sort_values("rank", kind="stable").reset_index(drop=True)
    if columns is not None:
        frame = frame[columns]
    elif "risk_tier" in frame.columns:  # partitioning moved the tier last: put it back
        frame.insert(3, "risk_tier", frame.pop("risk_tier"))
    return frame


def read_manifest(folder: Path) -> dict:
    """A list's manifest.json (OSError or ValueError when it cannot be read)."""
    return json.loads((folder / "manifest.json").read_text())
