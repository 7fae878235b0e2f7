"""Ibis expression helpers the families share: windows before a cutoff, conditional counts,
distinct active days as bit masks, ratios, and pairing rows with the cutoffs they precede."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir
import pandas as pd

# Ages are measured back from the cutoff in days.
DAY_SECONDS = 86400


def age_days(t: ir.Table, column: str) -> ir.FloatingValue:
    """Days between an event's timestamp and its cutoff (positive: before the cutoff)."""
    return (t.cutoff.epoch_seconds() - t[column].epoch_seconds()) / DAY_SECONDS


def within(t: ir.Table, column: str, days: int, after_days: int = 0) -> ir.BooleanValue:
    """Rows in the window [cutoff - days, cutoff - after_days)."""
    start = t[column] >= t.cutoff - ibis.interval(days=days)
    if after_days:
        return start & (t[column] < t.cutoff - ibis.interval(days=after_days))
    return start


def count_where(condition: ir.BooleanValue) -> ir.IntegerValue:
    """Number of rows meeting the condition (0 when none)."""
    # COUNT(CASE WHEN ...) runs faster on DuckDB than SUM(CAST(...)) or COUNT(*) FILTER.
    return when(condition, 1).count()


def when(condition: ir.BooleanValue, value: ir.Value | Any) -> ir.Value:
    """`value` where the condition holds, else null: the input of a conditional aggregate."""
    return ibis.ifelse(condition, value, ibis.null())


# Bit masks for counting distinct days: bit k of a word marks "active k days before the
# cutoff", OR-ed over a customer's rows; the number of set bits is the number of active days.
# A word holds 63 days so every mask stays a non-negative BIGINT on every engine.
WORD_BITS = 63
_ONE = ibis.literal(1).cast("int64")


@ibis.udf.scalar.builtin(name="bit_count")
def _engine_bit_count(word: dt_types.int64) -> dt_types.int64:
    """The engine's own BIT_COUNT (DuckDB and Spark SQL both provide it)."""


@ibis.udf.agg.builtin(name="bit_or")
def _engine_bit_or(word: dt_types.int64) -> dt_types.int64:
    """The engine's own BIT_OR aggregate (DuckDB and Spark SQL both provide it)."""


def bit_or(words: ir.IntegerValue) -> ir.IntegerValue:
    """The bitwise OR of a column's non-null values (null when there are none).

    Declared as the engines' BIT_OR rather than Ibis's `.bit_or()`, which Ibis's PySpark
    compiler does not translate although Spark SQL has the function."""
    return _engine_bit_or(words.cast("int64")).cast("int64")


def bit_count(word: ir.IntegerValue) -> ir.IntegerValue:
    """Number of set bits of a non-negative 64-bit integer.

    The engine's BIT_COUNT function, declared through Ibis so it compiles for any backend
    that has it (DuckDB, Spark SQL). A pure-expression popcount (shifts and masks) repeats
    its argument at every step, so on an aggregate it grows the query text exponentially."""
    return _engine_bit_count(word.cast("int64")).cast("int64")


def days_before(t: ir.Table, column: str) -> ir.IntegerValue:
    """Whole calendar days from a row's date to its cutoff's date (0: the cutoff's day)."""
    return t.cutoff.date().delta(t[column].date(), unit="day")


def distinct_days(offset: ir.IntegerValue, condition: ir.BooleanValue, days: int):
    """Number of distinct days among rows meeting the condition, given each row's
    `days_before` offset (at most `days`): COUNT(DISTINCT date) without its cost."""
    total = None
    for low in range(0, days + 1, WORD_BITS):
        in_word = offset < low + WORD_BITS
        if low:
            in_word = in_word & (offset >= low)
        bit = _ONE << (offset - low if low else offset)
        word = bit_count(bit_or(when(condition & in_word, bit)).fill_null(0))
        total = word if total is None else total + word
    return total


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator, null when the denominator is 0 or null."""
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator, ibis.null())


@dataclass(frozen=True)
class Cutoffs:
    """The cutoffs of one build: as literal timestamps (so the engine can skip rows outside
    every window) and as a one-column table `cutoff` to join rows to."""

    stamps: tuple[dt.datetime, ...]
    table: ir.Table

    @classmethod
    def of(cls, cutoffs: Sequence[dt.datetime | dt.date | pd.Timestamp]) -> Cutoffs:
        """Cutoffs from dates or timestamps (midnight when given dates), deduplicated."""
        stamps = pd.to_datetime(pd.Series(list(cutoffs)), utc=False).astype("datetime64[us]")
        stamps = stamps.drop_duplicates().sort_values()
        table = ibis.memtable(pd.DataFrame({"cutoff": stamps}))
        return cls(tuple(s.to_pydatetime() for s in stamps), table)


def join_lookback(rows: ir.Table, cutoffs: Cutoffs, column: str, days: int) -> ir.Table:
    """Rows paired with every cutoff with `column` in [cutoff - days, cutoff), never after it.

    Rows outside all windows are dropped first by literal bounds, which the engine pushes
    into the Parquet scan; a single cutoff becomes a constant column instead of a join.
    """
    first, last = cutoffs.stamps[0], cutoffs.stamps[-1]
    ts = rows[column]
    rows = rows.filter(ts < last, ts >= first - dt.timedelta(days=days))
    if len(cutoffs.stamps) == 1:
        return rows.mutate(cutoff=ibis.literal(last, type="timestamp(6)"))
    table = cutoffs.table
    ts = rows[column]
    return rows.join(table, [ts < table.cutoff, ts >= table.cutoff - ibis.interval(days=days)])


# A rate over a window reads at least this many days of tenure, so a customer who signed up a
# day ago is not credited with thirty days' activity from one day's.
MIN_RATE_DAYS = 7


def days_known(r: ir.Table, days: int) -> ir.FloatingValue:
    """The days of a `days`-long window before the cutoff that the customer was signed up for
    (at least MIN_RATE_DAYS): the denominator of a tenure-scaled rate."""
    tenure = age_days(r, "signup_at")
    return ibis.greatest(ibis.least(tenure, days), MIN_RATE_DAYS).cast("float64")
