"""What a feature is: its declaration (name, family, window, wording, risk rule, expression),
the settings that shape the feature set, and the resolved spec saved with a model."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

import ibis.expr.types as ir

from features.constraints import Text, TextList, Whole
from features.describe import Risk, is_missing, render_text, since
from features.exports.contract import TIMELINES, ProfileColumns

Kind = Literal["count", "amount", "days", "ratio", "score", "flag", "categorical"]
History = Literal["held", "scale", "whole"]


@dataclass(frozen=True)
class Feature:
    """One feature declaration.

    `aggregate(t)` reduces the family's rows joined to their cutoff (columns of the event
    table plus `cutoff`) to one value per (customer, cutoff); a decomposable aggregate is a
    structured object that is also callable so (features/rollup.py: `ActiveDays`), which the
    builder may instead read from a rollup shared by many cutoffs; `derive(r)` computes a value
    from other columns of the same row instead, the ones named in `inputs` (features or the
    customer row's columns), so the builder adds it once they exist. `fill` is the value for
    a customer with
    no rows at all (0 where zero is the truth, None where the value is unknown).
    `describe` is formatted with `value`, `typical` (the training median) and the row's other
    feature values (features/describe.py); `describe_missing` is the sentence for a customer
    without a value (None: a missing value is never a reason). `risk` says when a value is a
    risk for one customer; by default it follows `higher_is_riskier` against the typical
    value, and a feature with neither is never a reason. `rows`, when given, keeps only the
    rows an aggregate needs, so the engine can filter before grouping (aggregates sharing the
    same `rows` callable are computed together).
    The window is [cutoff - window_days, cutoff - window_after). `history` says how a window
    reaching before the first exported day is read (features/coverage.py): "scale" (a total,
    scaled to the window), "whole" (missing unless held whole), "held" (as it is).
    `per_tenure`: the value is a rate over the customer's tenure when that is shorter than
    the window, so it compares with other customers' at any age.
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
    inputs: tuple[str, ...] = ()
    window_after: int = 0
    history: History = "held"
    per_tenure: bool = False

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
        words = {"since": since(self.window_days, (row or {}).get("tenure_days")), "note": ""}
        if is_missing(value):
            if self.describe_missing is None:
                return None
            values = {**(row or {}), **words, "typical": typical}
            return render_text(self.describe_missing, values, currency)
        values = {**(row or {}), **words, "value": value, "typical": typical}
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
    `tables` are the event tables the exports had (a family over a table not among them is
    left out); by default every event table of the contract."""

    settings: FeatureSettings = field(default_factory=FeatureSettings)
    event_types: tuple[str, ...] = ()
    profile: ProfileColumns = field(default_factory=ProfileColumns)
    tables: tuple[str, ...] = field(default_factory=lambda: tuple(TIMELINES))

    def has(self, table: str) -> bool:
        """Whether the exports had this table."""
        return table in self.tables

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the spec."""
        return {
            "settings": plain(asdict(self.settings)),
            "event_types": list(self.event_types),
            "profile": plain(asdict(self.profile)),
            "tables": list(self.tables),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        """Rebuild a spec saved with `to_dict` (specs saved before a setting existed get its
        default; those saved with a flag per optional table, their tables)."""
        tables = raw.get("tables")
        if tables is None:  # saved as has_surveys / has_support / has_engagement
            optional = ("engagement", "support", "surveys")
            tables = [t for t in TIMELINES if t not in optional or raw.get(f"has_{t}", True)]
        return cls(
            settings=from_fields(FeatureSettings, raw["settings"]),
            event_types=tuple(raw["event_types"]),
            profile=from_fields(ProfileColumns, raw["profile"]),
            tables=tuple(tables),
        )


def plain(values: dict[str, Any]) -> dict[str, Any]:
    """A dataclass's fields as JSON-ready values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def from_fields(cls: type, raw: dict[str, Any]) -> Any:
    """A frozen dataclass from its `plain` form: every field read by name, a missing one
    left at its default, lists back to tuples where the field holds a tuple."""
    values = {}
    for f in fields(cls):
        if f.name in raw:
            value = raw[f.name]
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def column_safe(value: str) -> str:
    """Turn a data value (e.g. an event type) into a safe part of a column name."""
    return re.sub(r"[^0-9a-z]+", "_", value.lower()).strip("_") or "blank"
