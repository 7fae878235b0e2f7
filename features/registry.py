"""The registry of feature declarations: name, family, window, description, and expression.

A feature is declared once; the builder, the catalogue (`churn features --list`,
docs/features.md) and the per-customer reasons all read these declarations.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir
import pandas as pd

from features.constraints import Text, TextList, Whole
from features.contract import ProfileColumns
from features.describe import Risk, is_missing, render_text

Kind = Literal["count", "amount", "days", "ratio", "score", "flag", "categorical"]


@dataclass(frozen=True)
class Feature:
    """One feature declaration.

    `aggregate(t)` reduces the family's rows joined to their cutoff (columns of the event
    table plus `cutoff`) to one value per (customer, cutoff); `derive(r)` computes a value
    from other features of the same row instead. `fill` is the value for a customer with
    no rows at all (0 where zero is the truth, None where the value is unknown).
    `describe` is formatted with `value`, `typical` (the training median) and the row's other
    feature values (features/describe.py); `describe_missing` is the sentence for a customer
    without a value (None: a missing value is never a reason). `risk` says when a value is a
    risk for one customer; by default it follows `higher_is_riskier` against the typical
    value, and a feature with neither is never a reason. `rows`, when given, keeps only the
    rows an aggregate needs, so the engine can filter before grouping (aggregates sharing the
    same `rows` callable are computed together).
    """

    name: str
    family: str
    describe: str
    kind: Kind = "count"
    window_days: int | None = None
    aggregate: Callable[[ir.Table], ir.Value] | None = None
    derive: Callable[[ir.Table], ir.Value] | None = None
    fill: float | None = None
    higher_is_riskier: bool | None = None
    rows: Callable[[ir.Table], ir.BooleanValue] | None = None
    risk: Risk | None = None
    describe_missing: str | None = None

    def risk_rule(self) -> Risk | None:
        """When this feature's value is a risk for a customer (None: never a reason)."""
        if self.risk is not None or self.higher_is_riskier is None:
            return self.risk
        return Risk("higher" if self.higher_is_riskier else "lower")

    def text(
        self,
        value: Any,
        row: dict[str, Any] | None = None,
        typical: float | None = None,
        currency: str = "",
    ) -> str | None:
        """The plain-language description of this feature's value for one customer; None
        when it would have to show a value that is missing."""
        if is_missing(value):
            if self.describe_missing is None:
                return None
            return render_text(self.describe_missing, {**(row or {}), "typical": typical}, currency)
        values = {**(row or {}), "value": value, "typical": typical}
        return render_text(self.describe, values, currency)


@dataclass(frozen=True)
class FeatureSettings:
    """Choices that shape the feature set (from the [features] section of the config)."""

    top_event_types: int = 8
    new_customer_days: int = 90
    invoice_kinds: tuple[str, ...] = ("subscription", "invoice", "renewal")
    addon_kinds: tuple[str, ...] = ("addon", "add_on", "add-on")
    value_label: str = "usage value"
    """What the engagement `value` column measures, as reasons say it (e.g. "minutes of use")."""
    currency: str = ""
    """The currency of purchase amounts (e.g. "GBP"), shown with every amount in reasons."""

    CHECKS: ClassVar[dict] = {
        "top_event_types": Whole(0, 100),
        "new_customer_days": Whole(1, 3650),
        "invoice_kinds": TextList(),
        "addon_kinds": TextList(),
        "value_label": Text(non_empty=True),
        "currency": Text(pattern=r"[A-Za-z]{3}|", describe="a 3-letter currency code, e.g. GBP"),
    }


@dataclass(frozen=True)
class FeatureSpec:
    """The resolved feature set: settings plus what was read from the data at training time.

    Saved with the model so scoring builds exactly the columns the model was trained on.
    """

    settings: FeatureSettings = field(default_factory=FeatureSettings)
    event_types: tuple[str, ...] = ()
    profile: ProfileColumns = field(default_factory=ProfileColumns)
    has_surveys: bool = True
    has_support: bool = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the spec."""
        return {
            "settings": {
                "top_event_types": self.settings.top_event_types,
                "new_customer_days": self.settings.new_customer_days,
                "invoice_kinds": list(self.settings.invoice_kinds),
                "addon_kinds": list(self.settings.addon_kinds),
                "value_label": self.settings.value_label,
                "currency": self.settings.currency,
            },
            "event_types": list(self.event_types),
            "profile": {
                "categorical": list(self.profile.categorical),
                "numeric": list(self.profile.numeric),
                "actionable": list(self.profile.actionable),
            },
            "has_surveys": self.has_surveys,
            "has_support": self.has_support,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec saved with `to_dict` (specs saved before a setting existed get its
        default)."""
        s = raw["settings"]
        profile = raw["profile"]
        return cls(
            settings=FeatureSettings(
                s["top_event_types"],
                s["new_customer_days"],
                tuple(s["invoice_kinds"]),
                tuple(s["addon_kinds"]),
                s.get("value_label", FeatureSettings.value_label),
                s.get("currency", FeatureSettings.currency),
            ),
            event_types=tuple(raw["event_types"]),
            profile=ProfileColumns(
                tuple(profile["categorical"]),
                tuple(profile["numeric"]),
                tuple(profile.get("actionable", ())),
            ),
            has_surveys=raw["has_surveys"],
            has_support=raw.get("has_support", True),
        )


def column_safe(value: str) -> str:
    """Turn a data value (e.g. an event type) into a safe part of a column name."""
    return re.sub(r"[^0-9a-z]+", "_", value.lower()).strip("_") or "blank"


# Expression helpers shared by the families: ages are measured back from the cutoff in days.
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
        word = bit_count(when(condition & in_word, bit).bit_or().fill_null(0))
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
