"""Text numbers: each decimal convention reads exactly its own numbers, and evidence is sorted."""

from __future__ import annotations

import math

import duckdb
import pytest

from features.exports.numbers import choose_mark, mark_evidence_sql, text_number_sql


def _number(value: str, mark: str) -> float | None:
    con = duckdb.connect()
    return con.execute(
        f"SELECT {text_number_sql('v', mark)} FROM (SELECT CAST(? AS VARCHAR) AS v)", [value]
    ).fetchone()[0]


@pytest.mark.parametrize(
    ("value", "mark", "expected"),
    [
        ("10,8", ",", 10.8),
        ("10,8", ".", None),  # a lenient reader strips the comma and gets 108
        ("10.8", ".", 10.8),
        ("10.8", ",", None),
        ("1,234,567.89", ".", 1234567.89),
        ("1.234.567,89", ",", 1234567.89),
        ("1,234", ".", 1234.0),
        ("1,234", ",", 1.234),
        ("1,23", ".", None),  # not groups of three: not a thousands separator
        ("12,34,567", ".", None),
        ("0,250", ".", None),  # a group never starts with 0
        ("0,250", ",", 0.25),
        ("-3", ",", -3.0),
        (" 4 ", ".", 4.0),
        ("1e5", ".", 100000.0),
        ("yes", ".", 1.0),
        ("false", ",", 0.0),
        ("nan", ".", None),
        ("inf", ".", None),
        ("-inf", ",", None),
        ("infinity", ".", None),
        ("12,x", ".", None),
    ],
)
def test_each_convention_reads_only_its_own_numbers(value, mark, expected):
    got = _number(value, mark)
    if expected is None:
        assert got is None
    else:
        assert math.isclose(got, expected)


def _evidence(value: str) -> str:
    e = mark_evidence_sql("v")
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {e.comma}, {e.point}, {e.ambiguous} FROM (SELECT CAST(? AS VARCHAR) AS v)",
        [value],
    ).fetchone()
    kinds = [k for k, hit in zip(("comma", "point", "ambiguous"), row, strict=True) if hit]
    assert len(kinds) <= 1, (value, kinds)
    return kinds[0] if kinds else "none"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("10,8", "comma"),
        ("0,25", "comma"),
        ("1.234,5", "comma"),
        ("10.8", "point"),
        ("1,234.5", "point"),
        ("0.250", "point"),
        ("1,234", "ambiguous"),
        ("1.234", "ambiguous"),
        ("12,345,678", "ambiguous"),
        ("12", "none"),
        ("-7", "none"),
        ("nan", "none"),
        ("yes", "none"),
    ],
)
def test_values_are_sorted_into_evidence_for_one_mark_or_ambiguous(value, kind):
    assert _evidence(value) == kind


@pytest.mark.parametrize(
    ("comma", "point", "ambiguous", "mark"),
    [
        (0, 0, 0, "."),  # whole numbers only: both conventions agree
        (3, 0, 0, ","),
        (3, 0, 5, ","),  # grouped numbers then read as 1.234 = 1234
        (0, 2, 5, "."),
        (1, 1, 0, None),  # mixed: never pick one
        (0, 0, 4, None),  # nothing tells: never guess
    ],
)
def test_mark_is_chosen_only_from_evidence(comma, point, ambiguous, mark):
    assert choose_mark(comma, point, ambiguous) == mark
