"""What each setting accepts: small typed constraints, so a configuration is checked on load and
every mistake names the key, the value given and what is allowed, before any work starts.

A settings dataclass lists its constraints in a `CHECKS` class variable (key -> constraint), in
the spirit of scikit-learn's `_parameter_constraints`; the configuration loader applies them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class Invalid(ValueError):
    """A value a constraint does not accept; the message says what is allowed."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when `value` looks like a typo of one of `allowed`, else ''."""
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Whole:
    """A whole number within [low, high] (either end open when None)."""

    low: int | None = None
    high: int | None = None

    def __call__(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(f"must be a whole number{self._range()}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise Invalid(f"must be a whole number{self._range()}")
        return value

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            return f" from {self.low} to {self.high}"
        if self.low is not None:
            return f" >= {self.low}"
        return f" <= {self.high}" if self.high is not None else ""


@dataclass(frozen=True)
class Number:
    """A number within bounds; `open_low` / `open_high` exclude the bound itself."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def __call__(self, value: Any) -> float:
        if not _is_number(value) or value != value:
            raise Invalid(f"must be a number{self._range()}")
        low_bad = self.low is not None and (
            value < self.low or (self.open_low and value == self.low)
        )
        high_bad = self.high is not None and (
            value > self.high or (self.open_high and value == self.high)
        )
        if low_bad or high_bad:
            raise Invalid(f"must be a number{self._range()}")
        return float(value)

    def _range(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.open_low else "[", ")" if self.open_high else "]"
            return f" in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f" {'>' if self.open_low else '>='} {self.low:g}"
        if self.high is not None:
            return f" {'<' if self.open_high else '<='} {self.high:g}"
        return ""


@dataclass(frozen=True)
class OneOf:
    """One of a few allowed texts."""

    values: tuple[str, ...]

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            hint = did_you_mean(value, self.values) if isinstance(value, str) else ""
            raise Invalid(f"allowed: {', '.join(repr(v) for v in self.values)}{hint}")
        return value


@dataclass(frozen=True)
class Text:
    """A text; `pattern` (a regular expression it must match in full) and `describe` say what
    shape it must have."""

    non_empty: bool = False
    pattern: str | None = None
    describe: str = ""

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"must be text{self._what()}")
        if self.non_empty and not value.strip():
            raise Invalid(f"must not be empty{self._what()}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise Invalid(f"must be {self.describe or 'text matching ' + self.pattern}")
        return value

    def _what(self) -> str:
        return f" ({self.describe})" if self.describe else ""


@dataclass(frozen=True)
class TextList:
    """A list of texts, each one of `allowed` when given."""

    allowed: tuple[str, ...] | None = None
    non_empty: bool = False

    def __call__(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid('must be a list of texts, e.g. ["a", "b"]')
        if self.non_empty and not value:
            raise Invalid("must name at least one")
        if self.allowed is not None:
            bad = [v for v in value if v not in self.allowed]
            if bad:
                hint = did_you_mean(bad[0], self.allowed)
                raise Invalid(f"{bad[0]!r} is not one of {list(self.allowed)}{hint}")
        return tuple(value)


@dataclass(frozen=True)
class Scalar:
    """A text, number or true/false, given back as text (how Spark and JDBC settings are
    passed): booleans as "true"/"false", whole numbers without a decimal point."""

    def __call__(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, str | int | float):
            return str(value)
        raise Invalid("must be a text, a number or true/false")


@dataclass(frozen=True)
class Optional:
    """Either nothing (the key left out) or what `inner` accepts."""

    inner: Any

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.inner(value)


@dataclass(frozen=True)
class Flag:
    """true or false (not 0/1 or "yes": TOML has booleans)."""

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid("must be true or false")
        return value


@dataclass(frozen=True)
class IsoDate:
    """A calendar date, as a TOML date or a "YYYY-MM-DD" text."""

    def __call__(self, value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            raise Invalid("must be a date (YYYY-MM-DD), not a date and time")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise Invalid("must be a date (YYYY-MM-DD)")


@dataclass(frozen=True)
class Mapping:
    """A table of key = value: keys among `keys` (when given), each value accepted by `value`."""

    value: Any
    keys: tuple[str, ...] | None = None
    describe: str = "a table of name = value"

    def __call__(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"must be {self.describe}")
        if self.keys is not None:
            bad = [k for k in value if k not in self.keys]
            if bad:
                hint = did_you_mean(bad[0], self.keys)
                raise Invalid(f"{bad[0]!r} is not one of {list(self.keys)}{hint}")
        checked = {}
        for key, item in value.items():
            try:
                checked[key] = self.value(item)
            except Invalid as error:
                raise Invalid(f"{key} = {item!r}: {error}") from None
        return checked


def check_settings(cls: type, raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """`raw` checked against `cls.CHECKS`: the accepted values (normalised, e.g. lists as
    tuples, whole numbers for float fields as floats) and a (key, problem) pair per mistake,
    unknown keys included (with a suggestion)."""
    return check_values(getattr(cls, "CHECKS", {}), raw)


def check_values(
    checks: dict[str, Any], raw: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """`raw` checked against `checks` (key -> constraint), as `check_settings` does."""
    values, problems = {}, []
    for key, value in raw.items():
        if key not in checks:
            problems.append((key, f"unknown key{did_you_mean(key, checks)}; known: "
                             f"{', '.join(sorted(checks))}"))  # fmt: skip
            continue
        try:
            values[key] = checks[key](value)
        except Invalid as error:
            problems.append((key, f"= {value!r}: {error}"))
    return values, problems
