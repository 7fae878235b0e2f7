"""Duplicate rows in an export: counted from row hashes in one grouped pass, then verified.

The common case, no duplicates, costs one GROUP BY over a 64-bit hash per row. Only when some
hash repeats are the rows behind it grouped again on their actual values, so a hash collision
can never be counted, reported or dropped as a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

PAIRS = 3  # example pairs shown


@dataclass(frozen=True)
class Duplicates:
    """Repeated rows of one export.

    `extra`: rows identical in every column to an earlier row (the copies beyond the first);
    `repeated_rows`: rows that have at least one identical twin, first copies included;
    `event_extra`: rows repeating another row's event key but differing elsewhere (beyond the
    first variant of each key); `pairs`, `event_pairs`: 1-based positions of example pairs.
    """

    extra: int = 0
    repeated_rows: int = 0
    event_extra: int = 0
    pairs: tuple[tuple[int, int], ...] = ()
    event_pairs: tuple[tuple[int, int], ...] = ()


def _hash(columns: list[str]) -> str:
    return f"hash({', '.join(columns)})"


def find_duplicates(
    con: duckdb.DuckDBPyConnection,
    view: str,
    columns: list[str],
    key: list[str] | None = None,
) -> Duplicates:
    """Count exact duplicate rows of `view` over quoted `columns`, and, given a `key` (a subset
    of the columns naming one event), rows that repeat a key with different other values."""
    grouped = key or columns
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE __repeated AS SELECT {_hash(grouped)} AS h "
        f"FROM {view} GROUP BY 1 HAVING count(*) > 1"
    )
    if not con.sql("SELECT count(*) FROM __repeated").fetchall()[0][0]:
        return Duplicates()
    # The few rows whose hash repeats, grouped on their actual values.
    listed = ", ".join(columns)
    con.sql(
        f"CREATE OR REPLACE TEMP TABLE __variants AS SELECT {listed}, count(*) AS n FROM {view} "
        f"WHERE {_hash(grouped)} IN (SELECT h FROM __repeated) GROUP BY ALL"
    )
    extra, repeated = con.sql(
        "SELECT coalesce(sum(n - 1), 0), coalesce(sum(n) FILTER (WHERE n > 1), 0) FROM __variants"
    ).fetchall()[0]
    event_extra = 0
    if key:
        event_extra = con.sql(
            f"SELECT coalesce(sum(k - 1), 0) FROM (SELECT count(*) AS k FROM __variants "
            f"GROUP BY {', '.join(key)} HAVING k > 1)"
        ).fetchall()[0][0]
    return Duplicates(
        extra=int(extra),
        repeated_rows=int(repeated),
        event_extra=int(event_extra),
        pairs=_pairs(con, view, grouped, columns, columns) if extra else (),
        event_pairs=_pairs(con, view, grouped, key, columns) if key and event_extra else (),
    )


def _pairs(
    con: duckdb.DuckDBPyConnection,
    view: str,
    grouped: list[str],
    same: list[str],
    columns: list[str],
) -> tuple[tuple[int, int], ...]:
    """Positions (1-based, in file order) of the first two rows of a few groups of rows equal
    on `same`; when `same` is fewer than all `columns`, only groups that differ elsewhere."""
    having = "count(*) > 1" if same == columns else f"count(DISTINCT {_hash(columns)}) > 1"
    rows = con.sql(
        f"SELECT list(__row ORDER BY __row)[1:2] AS pair FROM "
        f"(SELECT row_number() OVER () AS __row, * FROM {view}) "
        f"WHERE {_hash(grouped)} IN (SELECT h FROM __repeated) "
        f"GROUP BY {', '.join(same)} HAVING {having} ORDER BY pair LIMIT {PAIRS}"
    ).fetchall()
    return tuple((int(pair[0]), int(pair[1])) for (pair,) in rows)
