"""Which decimal mark a table s text numbers use, read from the values themselves: a comma
and a point are told apart only where the values show them, and refused when they disagree."""

from __future__ import annotations

from features.errors import Problem
from features.exports.numbers import choose_mark, mark_evidence_sql
from features.exports.sql import (
    quote_name,
)
from features.exports.verdict import EXAMPLES, TableCheck

MARK_KINDS = ("comma", "point", "ambiguous")


def _mark_counts(check: TableCheck, names: list[str]) -> dict[tuple[str, str], int]:
    """How many values of each text number column are evidence of a decimal comma, of a
    decimal point, or grouped whole numbers that say nothing; one pass over the export."""
    conditions = [
        getattr(mark_evidence_sql(quote_name(name)), kind) for name in names for kind in MARK_KINDS
    ]
    row = check.runner.rows(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {c})" for c in conditions)
        + f" FROM raw_{check.name}"
    )[0]
    keys = [(name, kind) for name in names for kind in MARK_KINDS]
    return dict(zip(keys, row, strict=True))


def _mark_examples(
    check: TableCheck, counts: dict[tuple[str, str], int], kind: str, limit: int
) -> tuple[str, ...]:
    """Up to `limit` example values of one kind of evidence, naming the column when several."""
    names = [name for name, k in counts if k == kind and counts[name, k]]
    found: list[str] = []
    for name in names:
        if len(found) < limit:
            condition = getattr(mark_evidence_sql(quote_name(name)), kind)
            rows = check.examples(condition, f"CAST({quote_name(name)} AS VARCHAR)")
            found += [f"{name} {r}" if len(names) > 1 else r for r in rows]
    return tuple(found[:limit])


def _only_column(counts: dict[tuple[str, str], int], kinds: tuple[str, ...]) -> str | None:
    """The one column holding values of these kinds, or None when several do."""
    names = {name for (name, kind), n in counts.items() if kind in kinds and n}
    return names.pop() if len(names) == 1 else None


def decimal_mark(check: TableCheck) -> tuple[str | None, list[Problem]]:
    """The decimal mark for the table's text numbers, with what the values said about it.

    None (with a fatal problem) when "auto" meets values that do not settle it. A decimal comma
    read from the values is reported, since it changes how every number is read.
    """
    configured, names = check.source.decimal, check.text_numbers()
    if configured != "auto" or not names:
        return (configured if configured != "auto" else "."), []
    counts = _mark_counts(check, names)
    comma, point, ambiguous = (sum(counts[name, kind] for name in names) for kind in MARK_KINDS)
    mark = choose_mark(comma, point, ambiguous)
    setting = f'set [tables.{check.name}] decimal = "." or ","'
    if comma and point:
        message = (
            f"mixed decimal conventions: {comma} numbers readable only with a decimal comma "
            f"and {point} only with a decimal point; {setting} (values of the other "
            "convention are then refused as unparseable)"
        )
        shown = _mark_examples(check, counts, "comma", 2) + _mark_examples(
            check, counts, "point", 2
        )
        column = _only_column(counts, ("comma", "point"))
        return mark, [Problem(check.label, message, column, comma + point, shown)]
    if mark is None:
        message = (
            f"{ambiguous} numbers read differently with a decimal point or a decimal comma "
            f"(1,234 is 1234 or 1.234) and no other value tells which; {setting}"
        )
        shown = _mark_examples(check, counts, "ambiguous", EXAMPLES)
        column = _only_column(counts, ("ambiguous",))
        return mark, [Problem(check.label, message, column, ambiguous, shown)]
    if mark == ",":
        message = (
            f"numbers read with a decimal comma ({comma} values can only be read that way); "
            f'set [tables.{check.name}] decimal = "," to say so, or "." if that is wrong'
        )
        shown = _mark_examples(check, counts, "comma", EXAMPLES)
        column = _only_column(counts, ("comma",))
        return mark, [Problem(check.label, message, column, comma, shown, fatal=False)]
    return mark, []
