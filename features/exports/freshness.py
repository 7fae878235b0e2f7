"""How fresh each event table is as of a date: its last event before the date and the longest
gap between event days it usually has, so a table whose export stopped is told from one that
is merely quiet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.exports.contract import TIMELINES

EVENT_COLUMNS = TIMELINES  # every event table, by its main time column
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


def table_freshness(tables: dict[str, ir.Table], as_of: dt.datetime) -> list[TableFreshness]:
    """Freshness of every event table present, as of `as_of` (events strictly before it)."""
    out = []
    for name, column in EVENT_COLUMNS.items():
        if name not in tables:
            continue
        t = tables[name]
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
        out.append(TableFreshness(name, first, last, gap))
    return out
