"""The export contract: which tables and columns the pipeline expects, and how to find them.

A company maps its own file and column names onto these contract names in `churn.toml`;
everything downstream sees only the contract names and types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "timestamp", "number", "text"]


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column: its type, whether it must exist, and value rules."""

    name: str
    kind: ColumnKind
    required: bool = True
    nonnegative: bool = False
    value_range: tuple[float, float] | None = None
    not_null: bool = False
    outliers: bool = False  # warn about values far beyond the column's own distribution
    absent: str | None = None  # the value every row takes when the export leaves the column out


@dataclass(frozen=True)
class TableSpec:
    """One contract table: its columns and whether the export must be present."""

    name: str
    columns: tuple[ColumnSpec, ...]
    required: bool = True
    timeline: str = "timestamp"  # the main time column: spans, staleness, duplicates
    activity: bool = True
    """Whether the rows are the customers' own activity (features, freshness and history
    spans read them); False for a log of what the team did (contacts)."""

    def column(self, name: str) -> ColumnSpec:
        """Return the contract column called `name`."""
        return next(c for c in self.columns if c.name == name)


CUSTOMER_ID = ColumnSpec("customer_id", "id", not_null=True)

TABLES: dict[str, TableSpec] = {
    "customers": TableSpec(
        "customers",
        (
            CUSTOMER_ID,
            ColumnSpec("signup_at", "timestamp", not_null=True),
            ColumnSpec("churned_at", "timestamp", required=False),
        ),
        timeline="signup_at",
    ),
    "engagement": TableSpec(
        "engagement",
        (
            CUSTOMER_ID,
            ColumnSpec("timestamp", "timestamp", not_null=True),
            ColumnSpec("event_type", "text", not_null=True),
            ColumnSpec("value", "number", required=False, nonnegative=True, outliers=True),
        ),
        required=False,
    ),
    "support": TableSpec(
        "support",
        (
            CUSTOMER_ID,
            ColumnSpec("opened_at", "timestamp", not_null=True),
            ColumnSpec("resolved_at", "timestamp", required=False),
            ColumnSpec("priority", "text", required=False),
            ColumnSpec("channel", "text", required=False),
            ColumnSpec("satisfaction", "number", required=False),
        ),
        required=False,
        timeline="opened_at",
    ),
    "purchases": TableSpec(
        "purchases",
        (
            CUSTOMER_ID,
            ColumnSpec("timestamp", "timestamp", not_null=True),
            ColumnSpec("amount", "number", nonnegative=True, not_null=True, outliers=True),
            ColumnSpec("discount", "number", required=False, nonnegative=True),
            ColumnSpec("status", "text", required=False, absent="paid"),
            ColumnSpec("kind", "text", required=False, absent="purchase"),
        ),
    ),
    "surveys": TableSpec(
        "surveys",
        (
            CUSTOMER_ID,
            ColumnSpec("answered_at", "timestamp", not_null=True),
            ColumnSpec("nps", "number", value_range=(0, 10), not_null=True),
        ),
        required=False,
        timeline="answered_at",
    ),
    "contacts": TableSpec(
        "contacts",
        (
            CUSTOMER_ID,
            ColumnSpec("contacted_at", "timestamp", not_null=True),
            ColumnSpec("play", "text", not_null=True),
            ColumnSpec("channel", "text", required=False),
            ColumnSpec("outcome", "text", required=False),
        ),
        required=False,
        timeline="contacted_at",
        activity=False,
    ),
}


def _is_event(name: str) -> bool:
    return name != "customers" and name in TABLES and TABLES[name].activity


class _Timelines(Mapping[str, str]):
    """Each event table of TABLES (the customers' activity) by its main time column, read
    from TABLES when asked (a table added to the contract is an event table everywhere at
    once); the contact log is not one."""

    def __getitem__(self, name: str) -> str:
        if not _is_event(name):
            raise KeyError(name)
        return TABLES[name].timeline

    def __iter__(self) -> Iterator[str]:
        return (name for name in TABLES if _is_event(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)


TIMELINES: Mapping[str, str] = _Timelines()
"""Each event table's main time column (the one place it is stated: features, freshness,
spans and history read it from here), in contract order."""

PURCHASE_STATUSES = ("paid", "failed", "refunded")
DECIMAL_MARKS = ("auto", ".", ",")
HIGH_PRIORITIES = ("high", "urgent")


@dataclass(frozen=True)
class TableSource:
    """Where one contract table lives in a company's exports and how its columns are named.

    `columns` maps contract names to the export's own names; `timestamp_formats` gives
    "auto", "iso", "epoch_s", "epoch_ms", "epoch_us" or a strptime pattern per column;
    `value_maps` renames categorical values per column (e.g. status "succeeded" -> "paid");
    `delimiter`, `quote` and `escape` are a CSV export's characters (None: the delimiter read
    from the header line, RFC 4180's quoting: `"`, doubled inside a field; `quote` "" means
    fields are never quoted; features/exports/dialect.py);
    `decimal` is the decimal mark of text numbers ("auto" reads it from the values, "." or ",");
    `max_duplicate_share` overrides the export-wide tolerance for duplicate rows (None: use it);
    `history_starts` is the first day the export holds, when it is known to be cut (None: the
    earliest row's day).
    """

    file: str
    columns: dict[str, str] = field(default_factory=dict)
    timestamp_formats: dict[str, str] = field(default_factory=dict)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    delimiter: str | None = None
    quote: str | None = None
    escape: str | None = None
    decimal: str = "auto"
    max_duplicate_share: float | None = None
    history_starts: dt.date | None = None

    def source_column(self, contract_name: str) -> str:
        """Return the export's name for a contract column."""
        return self.columns.get(contract_name, contract_name)


@dataclass(frozen=True)
class ProfileColumns:
    """Customer-table columns used as features: categoricals and numbers (booleans count as 0/1).

    `actionable` names those the team can act on (e.g. plan): only they may appear as a
    customer's reason; the others (country, channel) inform the model but are not reasons."""

    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    actionable: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.categorical + self.numeric


@dataclass(frozen=True)
class ExportSource:
    """A directory of exports plus the mapping of each table onto the contract."""

    directory: str
    tables: dict[str, TableSource]
    profile: ProfileColumns = ProfileColumns()
    max_orphan_share: float = 0.01
    max_duplicate_share: float = 0.01

    def duplicate_share(self, table: str) -> float:
        """The share of duplicate rows tolerated in `table`: its own setting, else the default."""
        own = self.tables.get(table)
        if own is not None and own.max_duplicate_share is not None:
            return own.max_duplicate_share
        return self.max_duplicate_share
