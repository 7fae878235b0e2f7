"""Numbers exported as text: decimal marks, thousands separators, and what is refused.

Exports from different locales write ten and eight tenths as "10.8" or "10,8". Dropping the
comma, as a lenient reader does, turns "10,8" into 108 without a word. Each table's text
numbers are read with one decimal mark, set in the config or read from the values themselves,
and a value the mark cannot read is unparseable rather than bent into some number.
"""

from __future__ import annotations

from dataclasses import dataclass

# With a decimal point a comma may only group thousands (1,234,567.89); with a decimal comma
# the point may only group thousands (1.234.567,89). Grouping is strict: groups of three after
# a first group of one to three digits not starting with 0, so "0,250" is a fraction, never 250.
# Exponents only without grouping. Words such as nan and inf match neither.
_PLAIN = {".": r"([0-9]+(\.[0-9]*)?|\.[0-9]+)", ",": r"([0-9]+(,[0-9]*)?|,[0-9]+)"}
_GROUPED = {
    ".": r"[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]*)?",
    ",": r"[1-9][0-9]{0,2}(\.[0-9]{3})+(,[0-9]*)?",
}
NUMBER_PATTERNS = {
    mark: rf"[+-]?({_PLAIN[mark]}([eE][+-]?[0-9]+)?|{_GROUPED[mark]})" for mark in (".", ",")
}
# Grouped whole numbers: "1,234" reads 1234 with a decimal point and 1.234 with a decimal
# comma. Several groups ("12,345,678") read only one way, but they come from the same habit of
# grouping whole numbers and show nothing of how this exporter writes a fraction, so they are
# not taken as evidence either: a file with nothing else is refused rather than guessed.
AMBIGUOUS_PATTERN = r"[+-]?[1-9][0-9]{0,2}((,[0-9]{3})+|(\.[0-9]{3})+)"

TRUE_WORDS = ("true", "yes", "y", "t")
FALSE_WORDS = ("false", "no", "n", "f")


def _words(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def _trimmed(raw: str) -> str:
    return f"trim(CAST({raw} AS VARCHAR))"


def text_number_sql(raw: str, mark: str) -> str:
    """SQL reading a text column as DOUBLE with decimal mark `mark` ("." or ","), NULL when the
    text is not a number in that convention; true/yes/... read as 1 and false/no/... as 0."""
    text = _trimmed(raw)
    plain = f"replace({text}, ',', '')" if mark == "." else f"replace({text}, '.', '')"
    if mark == ",":
        plain = f"replace({plain}, ',', '.')"
    return (
        f"CASE WHEN lower({text}) IN ({_words(TRUE_WORDS)}) THEN 1.0 "
        f"WHEN lower({text}) IN ({_words(FALSE_WORDS)}) THEN 0.0 "
        f"WHEN regexp_full_match({text}, '{NUMBER_PATTERNS[mark]}') "
        f"THEN TRY_CAST({plain} AS DOUBLE) END"
    )


@dataclass(frozen=True)
class MarkEvidence:
    """SQL conditions classifying one text value by what it says about the decimal mark."""

    comma: str  # readable only with a decimal comma ("10,8", "1.234,5")
    point: str  # readable only with a decimal point ("10.8", "1,234.5")
    ambiguous: str  # a grouped whole number ("1,234", "1.234", "12,345,678")


def mark_evidence_sql(raw: str) -> MarkEvidence:
    """The three conditions on raw text column `raw` that `choose_mark` counts."""
    text = _trimmed(raw)
    comma = f"regexp_full_match({text}, '{NUMBER_PATTERNS[',']}')"
    point = f"regexp_full_match({text}, '{NUMBER_PATTERNS['.']}')"
    ambiguous = f"regexp_full_match({text}, '{AMBIGUOUS_PATTERN}')"
    return MarkEvidence(
        comma=f"({comma} AND NOT {point} AND NOT {ambiguous})",
        point=f"({point} AND NOT {comma} AND NOT {ambiguous})",
        ambiguous=ambiguous,
    )


def choose_mark(comma: int, point: int, ambiguous: int) -> str | None:
    """The decimal mark a table's values show ("." or ","), or None when they do not say.

    Counts are of values readable only with a comma, only with a point, and grouped whole
    numbers. Both kinds of evidence, or grouped numbers with no evidence, leave it undecided.
    """
    if comma and point:
        return None
    if comma:
        return ","
    if point or not ambiguous:
        return "."
    return None
