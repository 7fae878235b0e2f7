"""Duplicate counting: the same exact counts whether or not the file is in time order."""

from __future__ import annotations

import duckdb
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.exports.duplicates import Duplicates, find_duplicates

COLUMNS = ['"customer_id"', '"ts"', '"event_type"', '"value"']
KEY = ['"customer_id"', '"ts"', '"event_type"']


def _find(frame: pd.DataFrame, key: list[str] | None = None) -> Duplicates:
    con = duckdb.connect()
    con.register("events", frame)
    con.sql("CREATE VIEW raw AS SELECT * FROM events")
    return find_duplicates(con, "raw", COLUMNS, '"ts"', key)


def _expected(frame: pd.DataFrame) -> tuple[int, int, int]:
    """Exact duplicates, rows with a twin, and extra variants of an event key, by pandas."""
    distinct = frame.drop_duplicates()
    keys = distinct.drop_duplicates(subset=["customer_id", "ts", "event_type"])
    return (
        len(frame) - len(distinct),
        int(frame.duplicated(keep=False).sum()),
        len(distinct) - len(keys),
    )


rows = st.tuples(
    st.sampled_from(["c1", "c2", "c3"]),
    st.integers(0, 6),  # few timestamps, so rows collide often
    st.sampled_from(["login", "export"]),
    st.sampled_from([1.0, 2.0, None]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, min_size=1, max_size=40), st.booleans())
def test_counts_match_a_brute_force_count_in_any_order(values, in_time_order):
    frame = pd.DataFrame(values, columns=["customer_id", "ts", "event_type", "value"])
    frame["ts"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["ts"], unit="h")
    if in_time_order:
        frame = frame.sort_values("ts", kind="stable")
    found = _find(frame.reset_index(drop=True), KEY)
    assert (found.extra, found.repeated_rows, found.event_extra) == _expected(frame)


def test_rows_sharing_a_timestamp_need_not_be_neighbours_in_time_order():
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c1", "c3"],
            "ts": pd.to_datetime(["2024-01-01 10:00"] * 3 + ["2024-01-01 11:00"]),
            "event_type": ["login"] * 4,
            "value": [1.0, 2.0, 1.0, 3.0],
        }
    )
    found = _find(frame)
    assert (found.extra, found.repeated_rows, found.pairs) == (1, 2, ((1, 3),))


def test_a_file_in_time_order_without_repeated_timestamps_has_no_duplicates():
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2"],
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "event_type": ["login"] * 3,
            "value": [1.0, 1.0, 1.0],
        }
    )
    assert _find(frame, KEY) == Duplicates()


def test_event_pairs_name_rows_that_share_a_key_but_not_a_value():
    frame = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1"],
            "ts": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-02"]),
            "event_type": ["login"] * 3,
            "value": [1.0, 5.0, 2.0],
        }
    )
    found = _find(frame, KEY)
    assert (found.extra, found.event_extra, found.event_pairs) == (0, 1, ((1, 3),))
