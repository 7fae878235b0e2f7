"""History the exports do not hold is unknown, not zero.

Real exports begin long after many customers signed up: a 365-day window at a cutoff 90 days
after the first exported day would count nine unexported months as no orders, and a model
trained on such early cutoffs learns a skew that scoring (a full year later) never shows.
Each event table's first exported day is known (the earliest row's day, or `[tables.<name>]
history_starts` when an export is known to be cut). A window reaching before it is read
over the part the data holds: a total over the window (`history="scale"`) is scaled to the
customer's part of the window, or left missing when the part held is shorter than
MIN_HELD_DAYS; a value that needs the whole window (`history="whole"`, e.g. a trajectory)
is left missing; anything else (`"held"`: a level, a mean, a recency) is read as it is.
The part of a window before the customer signed up is known: there was no activity then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.spec import Feature

MIN_HELD_DAYS = 30
"""The shortest part of a window a total is scaled from: one billing cycle (a monthly
invoice falls in any 30 days), so a monthly payer's scaled count is never 0 or double."""

DAY_SECONDS = 86400


def first_exported_days(
    tables: Mapping[str, ir.Table],
    timelines: Mapping[str, str],
    declared: Mapping[str, dt.date | None] | None = None,
) -> dict[str, pd.Timestamp]:
    """Per event table of `timelines` (table -> its time column) present in `tables`, the
    first day the exports hold: the declared day (`history_starts`), else midnight of the
    earliest row's day. A table without rows is left out."""
    out = {}
    for name, column in timelines.items():
        if name not in tables:
            continue
        given = (declared or {}).get(name)
        if given is not None:
            out[name] = pd.Timestamp(given)
            continue
        first = tables[name][column].min().execute()
        if pd.notna(first):
            out[name] = pd.Timestamp(first).normalize()
    return out


def _days(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    return (later.epoch_seconds() - earlier.epoch_seconds()) / DAY_SECONDS


def may_cross(feature: Feature, start: pd.Timestamp, first_cutoff: dt.datetime) -> bool:
    """Whether the feature's window reaches before `start` at some cutoff from the first."""
    if feature.history == "held" or feature.window_days is None:
        return False
    return pd.Timestamp(first_cutoff) - pd.Timedelta(days=feature.window_days) < start


def held_value(row: ir.Table, feature: Feature, start: pd.Timestamp) -> ir.Value:
    """The feature's value over the part of its window the exports hold (module docstring):
    as it is when the customer's whole part of the window is held; scaled to it, or missing,
    when the window reaches before the first exported day `start`."""
    value = row[feature.name]
    window_start = row.cutoff - ibis.interval(days=feature.window_days)
    window_end = row.cutoff - ibis.interval(days=feature.window_after)
    first = ibis.literal(start.to_pydatetime(), type="timestamp(6)")
    life_start = ibis.greatest(window_start, row.signup_at.cast("timestamp(6)"))
    held_start = ibis.greatest(life_start, first)
    whole = held_start <= life_start
    held_days = _days(window_end, held_start)
    enough = min(MIN_HELD_DAYS, feature.window_days - feature.window_after)
    if feature.history == "whole":
        return ibis.ifelse(whole, value, ibis.null())
    scaled = value.cast("float64") * _days(window_end, life_start) / held_days
    if value.type().is_integer():  # a count stays a whole count: an estimate, rounded
        scaled = scaled.round().cast(value.type())
    return ibis.cases((whole, value), (held_days >= enough, scaled), else_=ibis.null())


def held_values(
    row: ir.Table,
    features: list[Feature],
    starts: Mapping[str, pd.Timestamp],
    tables: Mapping[str, str],
    first_cutoff: dt.datetime,
) -> dict[str, ir.Value]:
    """`held_value` for every feature whose window may reach before its table's first
    exported day (`tables`: family -> its table); the others are left out."""
    out = {}
    for feature in features:
        table = tables.get(feature.family)
        start = starts.get(table) if table else None
        if start is not None and may_cross(feature, start, first_cutoff):
            out[feature.name] = held_value(row, feature, start)
    return out


def first_whole_cutoffs(
    features: list[Feature], starts: Mapping[str, pd.Timestamp], tables: Mapping[str, str]
) -> dict[str, pd.Timestamp]:
    """Per feature with a window over an event table, the first cutoff whose whole window
    the exports hold (`tables`: family -> its table). Training months before it see a
    shorter history than any later list: what "typical" means and the drift reference are
    read from the months after it."""
    out = {}
    for feature in features:
        table = tables.get(feature.family)
        start = starts.get(table) if table else None
        if start is not None and feature.window_days is not None:
            out[feature.name] = start + pd.Timedelta(days=feature.window_days)
    return out
