"""The contract's row-level rules as named records: what each value must be (from its column's
declaration in features/exports/contract.py) and the rules across columns of a table (dates
in order, known values), declared here as data beside the contract rather than as branches per
table.

Each rule is SQL over an export's raw view; features/exports/ingest.py counts the rows it
matches and shows a few.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from features.exports.contract import PURCHASE_STATUSES, TABLES, ColumnSpec
from features.exports.sql import is_blank_sql, sql_literal


@dataclass(frozen=True)
class Column:
    """A contract column as found in one export: the raw source column (None when an optional
    column is absent) and the SQL of its typed value."""

    spec: ColumnSpec
    raw: str | None  # quoted source column, None when the optional column is absent
    source_name: str
    parsed: str  # SQL expression of the typed value
    raw_type: str = "VARCHAR"  # the engine's type of the source column


@dataclass(frozen=True)
class Rule:
    """A row-level check: rows matching `condition` are counted and a few shown."""

    column: str
    condition: str  # SQL on the raw view
    message: str
    shown: str  # SQL of the value shown in examples
    fatal: bool = True
    when_all: str | None = None  # a fatal message instead, when every row matches


@dataclass(frozen=True)
class InOrder:
    """`later` may not come before `earlier` in the same row."""

    table: str
    later: str
    earlier: str
    message: str


@dataclass(frozen=True)
class KnownValues:
    """A text column holds one of `allowed`; blanks are counted (not fatal) unless every row is
    blank, which `all_blank` refuses."""

    table: str
    column: str
    allowed: tuple[str, ...]
    blank: str
    all_blank: str


@dataclass(frozen=True)
class NegativeAllowed:
    """A nonnegative column may be negative in rows whose `when_column` is `when_value`."""

    table: str
    column: str
    when_column: str
    when_value: str


IN_ORDER = (
    InOrder("customers", "churned_at", "signup_at", "cancellation before signup"),
    InOrder("support", "resolved_at", "opened_at", "resolved before opened"),
)
# Features count a purchase as paid only when it says so: a blank status is not paid. A few are
# kept and counted (a pending invoice may well be exported blank); a column blank throughout
# would silently zero every paid amount, so it is refused.
KNOWN_VALUES = (
    KnownValues(
        "purchases",
        "status",
        PURCHASE_STATUSES,
        blank="empty status values, counted as not paid",
        all_blank="every status is empty, so no purchase would count as paid; fill the column "
        "or leave it out of the export (without it every purchase counts as paid)",
    ),
)
NEGATIVE_ALLOWED = (NegativeAllowed("purchases", "amount", "status", "refunded"),)


def main_timestamp(table: str) -> str:
    """The table's main time column (its span, staleness and duplicate keys)."""
    return TABLES[table].timeline


def _shown(col: Column) -> str:
    return f"CAST({col.raw} AS VARCHAR)"


def _negative_rule(table: str, col: Column, by_name: dict[str, Column]) -> Rule:
    """Negative values refused, except where the contract allows them (a refund's amount)."""
    allowed = ""
    for exempt in NEGATIVE_ALLOWED:
        when = by_name.get(exempt.when_column)
        if (exempt.table, exempt.column) == (table, col.spec.name) and when and when.raw:
            allowed += f" AND coalesce({when.parsed}, '') <> {sql_literal(exempt.when_value)}"
    condition = f"({col.parsed}) < 0{allowed}"
    return Rule(col.source_name, condition, "negative values not allowed", _shown(col))


def column_rules(
    table: str, col: Column, by_name: dict[str, Column], as_of: dt.datetime | None
) -> list[Rule]:
    """The checks on one column's values: parseable, present, in range, not in the future."""
    spec, raw, parsed, name, shown = col.spec, col.raw, col.parsed, col.source_name, _shown(col)
    rules = []
    if spec.kind in ("timestamp", "number"):
        what = "timestamps" if spec.kind == "timestamp" else "numbers"
        hint = ""
        if spec.kind == "timestamp":
            hint = " (set its format in the config: iso, epoch_s, epoch_ms or a strptime pattern)"
        condition = f"NOT {is_blank_sql(raw, col.raw_type)} AND ({parsed}) IS NULL"
        rules.append(Rule(name, condition, f"unparseable {what}{hint}", shown))
    if spec.kind == "number":
        # Parquet doubles can hold NaN and infinity, and text such as 1e999 reads as
        # infinity: sums and means over them are no longer numbers.
        message = "values that are not finite (NaN or infinity)"
        rules.append(Rule(name, f"NOT isfinite({parsed})", message, shown))
    if spec.not_null:
        rules.append(Rule(name, is_blank_sql(raw, col.raw_type), "empty values", shown))
    if spec.nonnegative:
        rules.append(_negative_rule(table, col, by_name))
    if spec.value_range is not None:
        lo, hi = spec.value_range
        condition = f"({parsed}) < {lo} OR ({parsed}) > {hi}"
        rules.append(Rule(name, condition, f"values outside {lo:g}-{hi:g}", shown))
    if spec.kind == "timestamp" and as_of is not None:
        condition = f"({parsed}) > TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S}'"
        day = as_of - dt.timedelta(days=1)
        rules.append(
            Rule(name, condition, f"timestamps after the data's as-of date {day:%Y-%m-%d}", shown)
        )
    return rules


def table_rules(table: str, by_name: dict[str, Column]) -> list[Rule]:
    """The declared checks across columns of one table (IN_ORDER, KNOWN_VALUES) whose columns
    the export holds."""
    rules = []
    for order in (o for o in IN_ORDER if o.table == table):
        later, earlier = by_name[order.later], by_name[order.earlier]
        if later.raw is not None and earlier.raw is not None:
            condition = f"({later.parsed}) < ({earlier.parsed})"
            rules.append(Rule(later.source_name, condition, order.message, _shown(later)))
    for known in (k for k in KNOWN_VALUES if k.table == table):
        col = by_name[known.column]
        if col.raw is None:
            continue
        listed = ", ".join(sql_literal(v) for v in known.allowed)
        value = f"({col.parsed})"
        message = (
            f"unknown {known.column} values (expected {', '.join(known.allowed)}; map others "
            f"under [tables.{table}.value_maps.{known.column}] in the config)"
        )
        condition = f"{value} IS NOT NULL AND {value} NOT IN ({listed})"
        rules.append(Rule(col.source_name, condition, message, _shown(col)))
        rules.append(
            Rule(
                col.source_name,
                f"{value} IS NULL",
                known.blank,
                _shown(col),
                fatal=False,
                when_all=known.all_blank,
            )  # fmt: skip
        )
    return rules


def value_rules(table: str, columns: list[Column], as_of: dt.datetime | None) -> list[Rule]:
    """Every row-level rule of one export."""
    by_name = {c.spec.name: c for c in columns}
    rules = []
    for col in columns:
        if col.raw is not None:
            rules += column_rules(table, col, by_name, as_of)
    return rules + table_rules(table, by_name)
