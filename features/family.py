"""The feature-family contract: everything a family of features declares, in one object.

A family reads one contract table (or, for the profile, only the customer row), pairs each row
with the cutoffs it precedes within its lookback, and declares its features. The builder, the
catalogue, the reasons' topics and the docs read these objects; nothing is looked up by name
on a module. Adding a family is one module that defines a `Family` plus one line in
`features/registry.py` (docs/features.md, "Adding a feature family").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir

from features.exports.contract import TIMELINES
from features.expressions import Cutoffs, join_lookback, within
from features.spec import Feature, FeatureSpec


def typical_clause(spec: str) -> str:
    """The clause comparing a value with the typical customer's: "(typical customer: 141)"."""
    return f"(typical customer: {{typical:{spec}}})"


@dataclass(frozen=True)
class Window:
    """The rows in [cutoff - days, cutoff - after): a recent window when `after` is 0, an
    earlier one to compare with otherwise. Stated once, it names its features (`suffix`),
    sets their `window_days` and filters their rows."""

    days: int
    after: int = 0

    @property
    def suffix(self) -> str:
        """ "30d" for the last 30 days, "30_60d" for 30 to 60 days before the cutoff."""
        return f"{self.days}d" if not self.after else f"{self.after}_{self.days}d"

    @property
    def length(self) -> int:
        return self.days - self.after

    @property
    def recent(self) -> Window:
        """The recent window an earlier one is compared with: the last `after` days when the
        gap is shorter than the window, else the last `length` days."""
        return Window(min(self.length, self.after))

    @property
    def scale(self) -> float:
        """What this window's count is multiplied by to compare with `recent`'s (per day)."""
        return self.recent.days / self.length

    @property
    def words(self) -> str:
        """ "in the last 30 days", "60-90 days ago"."""
        return (
            f"in the last {self.days} days"
            if not self.after
            else (f"{self.after}-{self.days} days ago")
        )

    def holds(self, t: ir.Table, column: str) -> ir.BooleanValue:
        """Whether a joined row's `column` falls in this window before its cutoff."""
        return within(t, column, self.days, self.after)


@dataclass(frozen=True)
class Source:
    """The contract table a family aggregates, how far before a cutoff its rows are read,
    and the columns its features read; its time column is the contract's."""

    table: str
    lookback_days: int
    columns: tuple[str, ...] = ()

    @property
    def timestamp(self) -> str:
        """The table's main time column (features/exports/contract.py)."""
        return TIMELINES[self.table]


@dataclass(frozen=True)
class Family:
    """One family of features.

    `declare(spec)` lists its features. `source` is the table it aggregates (None: the
    features derive from the customer row, as the profile's do); `per_row` adds columns
    computed on every joined row.
    `topics` maps feature-name prefixes to what a reason is about (longest prefix wins);
    `default_topic` is the rest's topic (None: each feature is its own). A family is built
    when the exports had its table (`FeatureSpec.tables`).
    `defaults` are field values every feature of the family starts from (`feature()`)."""

    name: str
    declare: Callable[[FeatureSpec], list[Feature]]
    source: Source | None = None
    per_row: Callable[[ir.Table], dict[str, ir.Value]] | None = None
    topics: Mapping[str, str] = field(default_factory=dict)
    default_topic: str | None = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def feature(
        self, name: str, describe: str, *, typical: str | None = None, **fields: Any
    ) -> Feature:
        """A feature of this family, starting from the family's defaults. `typical` is how the
        typical customer's value reads after the sentence (a format spec: ",.0f", "money",
        "n:day"); None: the sentence names no typical customer."""
        if typical is not None:
            describe = f"{describe} {typical_clause(typical)}"
        return Feature(name, self.name, describe, **{**self.defaults, **fields})

    @property
    def table(self) -> str | None:
        """The contract table it reads (None: the customer row only)."""
        return self.source.table if self.source else None

    @property
    def lookback_days(self) -> int:
        return self.source.lookback_days if self.source else 0

    def joined(self, rows: ir.Table, cutoffs: Cutoffs) -> ir.Table:
        """Each row of the family's table paired with every cutoff whose lookback holds it
        (strictly before the cutoff), plus the per-row columns."""
        if self.source is None:
            raise ValueError(f"family {self.name} derives from the customer row: nothing to join")
        ts, days = self.source.timestamp, self.source.lookback_days
        columns = dict.fromkeys(("customer_id", ts, *self.source.columns))
        t = join_lookback(rows.select(*columns), cutoffs, ts, days)
        return t.mutate(**self.per_row(t)) if self.per_row else t

    def topic_of(self, feature: str) -> str:
        """What a reason from this feature is about."""
        for prefix in sorted(self.topics, key=len, reverse=True):
            if feature.startswith(prefix):
                return self.topics[prefix]
        if self.default_topic is None:
            return feature
        return self.default_topic or self.name
