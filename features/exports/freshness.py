"""How fresh each table is as of a date: its last row before the date and the longest gap
between its days it usually has, so an export that stopped is told from one that is merely
quiet. An event table's rows are its events; the customer table's are its signups and
cancellations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.exports.contract import TABLES, TIMELINES

EVENT_COLUMNS = TIMELINES  # every event table, by its main time column
# What the customer table records as it happens: a signup, a cancellation.
CUSTOMER_COLUMNS = (TABLES["customers"].timeline, "churned_at")
USUAL_GAP_DAYS = 365  # the usual gap is measured over this many days before the last event


@dataclass(frozen=True)
class TableFreshness:
    """One event table as of a date: first event ever, last event before the date, and the
    longest gap between consecutive event days in the year before that last event."""

    table: str
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    usual_gap_days: int

    def days_before(self, as_of: pd.Timestamp) -> int | None:
        """Whole days from the last event's day to the as-of date (None: no event before it)."""
        if self.last is None:
            return None
        return (as_of.normalize() - self.last.normalize()).days


def _usual_gap(table: ir.Table, column: str, last: pd.Timestamp) -> int:
    ts = table[column]
    since = last.normalize() - pd.Timedelta(days=USUAL_GAP_DAYS)
    days = (
        table.filter(ts >= since.to_pydatetime(), ts <= last.to_pydatetime())
        .select(day=ts.date())
        .distinct()
    )
    gaps = days.mutate(gap=days.day.delta(days.day.lag().over(order_by=days.day), unit="day"))
    value = gaps.aggregate(longest=gaps.gap.max()).execute()["longest"].iloc[0]
    return 0 if pd.isna(value) else int(value)


def _freshness(name: str, t: ir.Table, column: str, as_of: dt.datetime) -> TableFreshness:
    ts = t[column]
    row = (
        t.aggregate(
            first=ts.min(),
            last=ts.max(where=ts < ibis.literal(as_of, type="timestamp")),
        )
        .execute()
        .iloc[0]
    )
    first = None if pd.isna(row["first"]) else pd.Timestamp(row["first"])
    last = None if pd.isna(row["last"]) else pd.Timestamp(row["last"])
    gap = _usual_gap(t, column, last) if last is not None else 0
    return TableFreshness(name, first, last, gap)


def table_freshness(tables: dict[str, ir.Table], as_of: dt.datetime) -> list[TableFreshness]:
    """Freshness of every event table present, as of `as_of` (events strictly before it)."""
    return [
        _freshness(name, tables[name], column, as_of)
        for name, column in EVENT_COLUMNS.items()
        if name in tables
    ]


def customer_freshness(customers: ir.Table, as_of: dt.datetime) -> TableFreshness:
    """Freshness of the customer table as of `as_of`: its signups and cancellations before it
    taken together, so a business with rare signups but regular cancellations (or the other
    way round) is judged by both."""
    days = ibis.union(
        *(customers.select(at=customers[c].cast("timestamp")) for c in CUSTOMER_COLUMNS),
        distinct=False,
    )
    return _freshness("customers", days.filter(days.at.notnull()), "at", as_of)
