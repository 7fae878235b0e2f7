"""The registry of feature declarations: name, family, window, description, and expression.

A feature is declared once; the builder, the catalogue (`churn features --list`,
docs/features.md) and the per-customer reasons all read these declarations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np

from features.contract import ProfileColumns

Kind = Literal["count", "amount", "days", "ratio", "score", "flag", "categorical"]


@dataclass(frozen=True)
class Feature:
    """One feature declaration.

    `aggregate(t)` reduces the family's rows joined to their cutoff (columns of the event
    table plus `cutoff`) to one value per (customer, cutoff); `derive(r)` computes a value
    from other features of the same row instead. `fill` is the value for a customer with
    no rows at all (0 where zero is the truth, None where the value is unknown).
    `describe` is formatted with `value` and the row's other feature values.
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

    def text(self, value: Any, row: dict[str, Any] | None = None) -> str:
        """The plain-language description of this feature's value for one customer."""
        return render_description(self.describe, self.name, value, row or {})


class _Missing(float):
    """Formats as 'n/a' whatever the format spec, so templates never crash on nulls."""

    def __format__(self, spec: str) -> str:
        return "n/a"


def _blank(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _Missing("nan")
    if isinstance(value, np.generic):
        return value.item()
    return value


def render_description(template: str, name: str, value: Any, row: dict[str, Any]) -> str:
    """Fill a description template with one customer's value and row; missing values read
    'n/a', and a template that cannot be filled falls back to 'name = value'."""
    values = {k: _blank(v) for k, v in row.items()}
    try:
        return template.format(value=_blank(value), **values)
    except (ValueError, TypeError, KeyError, IndexError):
        return f"{name} = {value}"


@dataclass(frozen=True)
class FeatureSettings:
    """Choices that shape the feature set (from the [features] section of the config)."""

    top_event_types: int = 8
    new_customer_days: int = 90
    invoice_kinds: tuple[str, ...] = ("subscription", "invoice", "renewal")
    addon_kinds: tuple[str, ...] = ("addon", "add_on", "add-on")


@dataclass(frozen=True)
class FeatureSpec:
    """The resolved feature set: settings plus what was read from the data at training time.

    Saved with the model so scoring builds exactly the columns the model was trained on.
    """

    settings: FeatureSettings = field(default_factory=FeatureSettings)
    event_types: tuple[str, ...] = ()
    profile: ProfileColumns = field(default_factory=ProfileColumns)
    has_surveys: bool = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the spec."""
        return {
            "settings": {
                "top_event_types": self.settings.top_event_types,
                "new_customer_days": self.settings.new_customer_days,
                "invoice_kinds": list(self.settings.invoice_kinds),
                "addon_kinds": list(self.settings.addon_kinds),
            },
            "event_types": list(self.event_types),
            "profile": {
                "categorical": list(self.profile.categorical),
                "numeric": list(self.profile.numeric),
            },
            "has_surveys": self.has_surveys,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec saved with `to_dict`."""
        s = raw["settings"]
        return cls(
            settings=FeatureSettings(
                s["top_event_types"],
                s["new_customer_days"],
                tuple(s["invoice_kinds"]),
                tuple(s["addon_kinds"]),
            ),
            event_types=tuple(raw["event_types"]),
            profile=ProfileColumns(
                tuple(raw["profile"]["categorical"]), tuple(raw["profile"]["numeric"])
            ),
            has_surveys=raw["has_surveys"],
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
    return condition.cast("int32").sum()


def ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator, null when the denominator is 0 or null."""
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator, ibis.null())


def join_lookback(rows: ir.Table, cutoffs: ir.Table, column: str, days: int) -> ir.Table:
    """Rows joined to every cutoff with `column` in [cutoff - days, cutoff), never after it."""
    return rows.join(
        cutoffs,
        [rows[column] < cutoffs.cutoff, rows[column] >= cutoffs.cutoff - ibis.interval(days=days)],
    )
