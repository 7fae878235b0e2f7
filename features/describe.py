"""Feature values in plain words, and when a value is a risk for one customer.

A feature's description is a template filled with the customer's value, the other values of
the same row and the training median (`{typical}`). Two format specs are added to Python's:
`{value:n:paid order}` gives "1 paid order" / "3 paid orders" (or `n:company|companies` for an
irregular plural), and `{value:money}` gives the amount with the configured currency. A
template that reads a missing value renders as None: the reader never sees "n/a".
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

TYPICAL = "typical"
"""Benchmark name: the feature's median over the training rows (or today's population)."""
TYPICAL_MARGIN = 0.2
"""A value is a risk against the typical one only when beyond it by more than this share of it
(a customer 10% below the median is an ordinary customer, not a reason to call)."""
MIN_DROP = 0.3
"""A fall is a decline worth naming only when it takes at least this share of the earlier
level (a customer at 90% of last month is within a month's ordinary variation)."""
ENOUGH_BEFORE = 2.0
"""A decline needs activity to decline from: the earlier level at least 1 / ENOUGH_BEFORE of
the typical customer's (a light user going from 2 to 1 events is noise, not a decline)."""
TYPICAL_TAIL = 0.2
"""A value is a risk against the typical customer only when at most this share of training
customers are as low (or as high): the lowest or highest fifth, the quintile RFM scoring
gives its worst score. Ties count: "1 ticket in 90 days" is no reason where a third of
customers had one, and no such reason can be a fact most customers share."""
QUANTILE_STEPS = 100
"""The training distribution a model keeps per feature: its 0th to 100th percentiles."""

CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹"}


@dataclass(frozen=True)
class Given:
    """A further condition on another column of the same row for a value to be a risk: the
    column (times `scale`) is `at_least` / `above` / `below` `than` (a number, TYPICAL for
    that column's typical value, or another column); `missing` says whether a missing value
    of the column meets it (e.g. "orders late" holds for a customer with no usual interval)."""

    column: str
    when: Literal["at_least", "above", "below"]
    than: float | str = TYPICAL
    scale: float = 1.0
    missing: bool = False


@dataclass(frozen=True)
class Risk:
    """When one customer's value of a feature is a risk, so a reason can only name a risk.

    `when` "higher" or "lower": the value (times `scale`) is beyond `than` that way, where
    `than` is a number, another feature of the same row (usage 60-90 days ago is a risk when
    above the last 30 days': a decline) or TYPICAL (beyond the training median by more than
    TYPICAL_MARGIN of it, and in the lowest or highest TYPICAL_TAIL of training customers); "in":
    the value is one of `values` (e.g. NPS category "detractor"); "any": whatever value the
    model finds risky. `drop`: against another feature, the fall must be at least this share
    of the earlier value (a 5% dip is noise, not a decline). `given`: conditions on other
    columns that must hold too. `lived`: the customer must have been a customer for the whole
    window (None: so for shortfalls and declines, which a young customer's short history
    would fake, and not for problems such as tickets or failed payments).
    """

    when: Literal["higher", "lower", "in", "any"]
    than: float | str = TYPICAL
    scale: float = 1.0
    values: tuple[str, ...] = ()
    drop: float = 0.0
    given: tuple[Given, ...] = ()
    lived: bool | None = None

    def needs_whole_window(self, kind: str) -> bool:
        """Whether the customer must have lived the feature's whole window (`lived`, else a
        shortfall of a volume, or a comparison with another window)."""
        if self.lived is not None:
            return self.lived
        compared = isinstance(self.than, str) and self.than != TYPICAL
        shortfall = self.when == "lower" and kind in ("count", "amount", "ratio")
        return compared or shortfall


def enough_before(column: str) -> Given:
    """The condition that `column` (an earlier level) was at least 1 / ENOUGH_BEFORE of the
    typical customer's: there was activity to decline from."""
    return Given(column, "at_least", TYPICAL, scale=ENOUGH_BEFORE)


def steep_decline(column: str, at_least: float) -> Risk:
    """The risk of a fitted decline (`column`, a fall per period): at least `at_least`, and
    among the steepest TYPICAL_TAIL of training customers' (weekly use wobbles: a slight
    fitted fall is what a third of staying customers show), over a window the customer
    lived whole."""
    return Risk("higher", than=TYPICAL, given=(Given(column, "above", at_least),), lived=True)


class _MissingValue(Exception):
    """A template read a value that is missing."""


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT: a value the customer does not have."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are the only values unequal to themselves
    except (TypeError, ValueError):
        return False


def money(value: float, currency: str = "") -> str:
    """An amount with two decimals and the currency ("£1,234.50", "1,234.50 CHF")."""
    amount = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    code = currency.strip().upper()
    if code in CURRENCY_SYMBOLS:
        return f"{sign}{CURRENCY_SYMBOLS[code]}{amount}"
    return f"{sign}{amount} {code}" if code else f"{sign}{amount}"


def _plural(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def count(value: float, noun: str) -> str:
    """A whole count with its noun agreeing in number: "1 paid order", "3 paid orders"."""
    singular, _, plural = noun.partition("|")
    whole = round(float(value))
    return f"{whole:,} {singular if whole == 1 else (plural or _plural(singular))}"


SETTLED_DIGITS = 12
"""Significant digits a value keeps before it is worded: sums of the same numbers in another
order (DuckDB's and Spark's, or one batch and another) differ in the last bits, and a value
at a rounding edge (24.499999999999996 against 24.500000000000004) must read the same."""


def settled(value: Any) -> Any:
    """A finite float cut to SETTLED_DIGITS significant digits; anything else as it is."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SETTLED_DIGITS}g}")
    return value


class _Formatter(string.Formatter):
    def __init__(self, currency: str):
        super().__init__()
        self.currency = currency

    def get_field(self, field_name: str, args, kwargs):
        value, key = super().get_field(field_name, args, kwargs)
        if is_missing(value):
            raise _MissingValue(field_name)
        if isinstance(value, np.generic):
            value = value.item()
        return value, key

    def format_field(self, value: Any, format_spec: str) -> str:
        value = settled(value)
        if isinstance(value, float) and math.isinf(value):  # "£inf", "inf days": no reading
            raise _MissingValue("infinite")
        if format_spec == "money":
            return money(float(value), self.currency)
        if format_spec.startswith("n:"):
            return count(float(value), format_spec[2:])
        return super().format_field(value, format_spec)


def since(window_days: int | None, tenure: Any) -> str:
    """The span a rate over the customer's tenure was read over, in words: "over the last
    365 days", or "since signing up 48 days ago" for a customer younger than the window."""
    if window_days is None:
        return ""
    if not is_missing(tenure) and float(tenure) < window_days:
        return f"since signing up {round(float(tenure)):,} days ago"
    return f"over the last {window_days} days"


_NOT_FILLED = (_MissingValue, ValueError, TypeError, KeyError, IndexError, AttributeError)


@functools.lru_cache(maxsize=1024)
def _parsed(template: str) -> tuple[tuple[str, str | None, str], ...] | None:
    """A template's literal text, field names and format specs, parsed once; None when it uses
    what only string.Formatter's own filling handles (a conversion, a nested spec, a position,
    attribute or index access) or does not parse."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return None
    for _, field, spec, conversion in parts:
        if field is not None and (conversion or not field.isidentifier() or "{" in (spec or "")):
            return None
    return tuple((literal, field, spec or "") for literal, field, spec, _ in parts)


@functools.lru_cache(maxsize=16)
def _formatter(currency: str) -> _Formatter:
    return _Formatter(currency)


def render_text(template: str, values: Mapping[str, Any], currency: str = "") -> str | None:
    """`template` filled from `values` (by name: `value`, `typical`, other features); None
    when it reads a missing value or cannot be filled, so no reader sees 'n/a' or a code.

    A list words every customer's reasons, so a plain template (named fields, format specs) is
    parsed once and filled field by field, as string.Formatter fills it, at about half its
    cost; any other goes through string.Formatter itself."""
    formatter, parts = _formatter(currency), _parsed(template)
    try:
        if parts is None:
            return formatter.vformat(template, (), values)
        pieces = []
        for literal, field, spec in parts:
            pieces.append(literal)
            if field is not None:
                value, _ = formatter.get_field(field, (), values)
                pieces.append(formatter.format_field(value, spec))
        return "".join(pieces)
    except _NOT_FILLED:
        return None


def template_fields(template: str) -> list[str]:
    """The names a template reads (`{active_days_30_60d:.0f}` -> that name), in order."""
    try:
        parsed = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return []
    names = [f.split(".", 1)[0].split("[", 1)[0] for f in parsed]
    return list(dict.fromkeys(names))


_WINDOW = re.compile(r"_(?:(?P<after>\d+)_)?(?P<days>\d+)d$")
_WORDS = {"nps": "NPS", "addon": "add-on", "mean": "average", "max": "maximum", "min": "minimum"}


def plain_name(feature: str, value_label: str = "value") -> str:
    """A feature's name in plain words for chart labels: `active_days_30_60d` -> "active
    days, 30-60 days ago", `value_30d` -> "minutes of use, last 30 days" (the configured
    `value_label`), `last_nps` -> "last NPS"."""
    match = _WINDOW.search(feature)
    stem = feature[: match.start()] if match else feature
    words = [_WORDS.get(w, w) for w in stem.split("_") if w and w != "is"]
    text = value_label if words == ["value"] else " ".join(words)
    if not match:
        return text
    days, after = match["days"], match["after"]
    return f"{text}, {after}-{days} days ago" if after else f"{text}, last {days} days"
