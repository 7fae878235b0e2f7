"""History the exports do not hold is unknown, not zero (features/coverage.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features, to_frame
from features.coverage import MIN_HELD_DAYS, first_exported_days, first_whole_cutoffs
from features.registry import families, feature_catalogue
from tests.features.test_point_in_time import CUTOFF, SPEC, base_history
from tests.tables import open_frames

_counter = itertools.count()
EVENT_TABLES = {"engagement": "timestamp", "support": "opened_at", "purchases": "timestamp",
                "surveys": "answered_at"}  # fmt: skip
TABLE_OF = {f.name: f.table for f in families(SPEC) if f.table}
CATALOGUE = {f.name: f for f in feature_catalogue(SPEC)}


def _history() -> dict[str, pd.DataFrame]:
    """The shared random history, every customer signed up long before its first event."""
    frames = base_history(seed=11)
    frames["customers"] = frames["customers"].assign(signup_at=CUTOFF - pd.Timedelta(days=900))
    return frames


def _cut(frames: dict[str, pd.DataFrame], start: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The exports as if they began at `start`: every event row before it dropped."""
    out = dict(frames)
    for table, column in EVENT_TABLES.items():
        out[table] = frames[table][pd.to_datetime(frames[table][column]) >= start]
    return out


def _features(tmp_path, frames, history) -> pd.DataFrame:
    tables = open_frames(tmp_path / f"h{next(_counter)}", frames)
    got = to_frame(build_features(tables, [CUTOFF], SPEC, history=history))
    return got.set_index("customer_id")


def _same(a: pd.Series, b: pd.Series) -> bool:
    left, right = a.astype(float), b.astype(float)
    return bool(((left - right).abs().le(1e-9) | (left.isna() & right.isna())).all())


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut_days=st.integers(min_value=20, max_value=380))
def test_cutting_the_first_months_changes_only_windows_that_cross_the_new_start(tmp_path, cut_days):
    """The property: with the exports cut to begin `cut_days` before the cutoff, a feature
    whose window lies inside what remains is unchanged; a window crossing the new start is
    missing, or (a total) the count over the part held scaled to the whole window."""
    frames = _history()
    start = (CUTOFF - pd.Timedelta(days=cut_days)).normalize()
    full = _features(tmp_path, frames, None)
    cut = _cut(frames, start)
    starts = {t: start for t in EVENT_TABLES}
    held = _features(tmp_path, cut, starts)
    raw = _features(tmp_path, cut, None)  # the part held, counted as if it were everything
    for name, feature in CATALOGUE.items():
        if feature.aggregate is None or feature.family not in TABLE_OF:
            continue
        crosses = CUTOFF - pd.Timedelta(days=feature.window_days) < start
        if not crosses:
            assert _same(held[name], full[name]), name
        elif feature.history == "whole":
            assert held[name].isna().all(), name
        elif feature.history == "scale":
            window_end = CUTOFF - pd.Timedelta(days=feature.window_after)
            held_days = (window_end - start).days
            length = feature.window_days - feature.window_after
            if held_days < min(MIN_HELD_DAYS, length):
                assert held[name].isna().all(), name
            else:
                factor = length / held_days
                want = raw[name].astype(float) * factor
                if pd.api.types.is_integer_dtype(raw[name]):
                    want = np.floor(want + 0.5)  # SQL rounds halves up (2.5 -> 3), not to even
                assert _same(held[name], want), name


def test_the_part_of_a_window_before_signup_is_known_silence(tmp_path):
    # a customer who signed up after the exports began had no activity before signing up:
    # their counts are whole, never scaled up as if months were missing
    frames = _history()
    start = (CUTOFF - pd.Timedelta(days=120)).normalize()
    young = frames["customers"]["customer_id"].iloc[0]
    signup = CUTOFF - pd.Timedelta(days=60)
    frames["customers"].loc[frames["customers"]["customer_id"] == young, "signup_at"] = signup
    cut = _cut(frames, start)
    for table, column in EVENT_TABLES.items():
        rows = cut[table]
        cut[table] = rows[(rows["customer_id"] != young) | (pd.to_datetime(rows[column]) >= signup)]
    held = _features(tmp_path, cut, {t: start for t in EVENT_TABLES}).loc[young]
    raw = _features(tmp_path, cut, None).loc[young]
    for name in ("orders_365d", "events_90d", "active_days_90d", "revenue_365d"):
        assert _same(pd.Series([held[name]]), pd.Series([raw[name]])), name


def test_a_window_held_for_less_than_a_month_is_missing_not_zero(tmp_path):
    frames = _history()
    start = (CUTOFF - pd.Timedelta(days=20)).normalize()
    held = _features(tmp_path, _cut(frames, start), {t: start for t in EVENT_TABLES})
    assert held["orders_365d"].isna().all()
    assert held["events_90d"].isna().all()
    assert held["active_weeks_12w"].isna().all()
    # a 7-day window lies inside the 20 days held: a true count, zeros included
    assert held["events_7d"].notna().all()


def test_the_first_exported_day_is_declared_or_the_earliest_rows(tmp_path):
    frames = _history()
    tables = open_frames(tmp_path / "t", frames)
    declared = {"purchases": pd.Timestamp("2023-01-01").date()}
    days = first_exported_days(tables, EVENT_TABLES, declared)
    assert days["purchases"] == pd.Timestamp("2023-01-01")
    earliest = pd.to_datetime(frames["engagement"]["timestamp"]).min().normalize()
    assert days["engagement"] == earliest
    assert set(days) == set(EVENT_TABLES)


def test_the_first_cutoff_with_a_whole_window_follows_the_window():
    start = pd.Timestamp("2024-11-01")
    catalogue = list(CATALOGUE.values())
    whole = first_whole_cutoffs(catalogue, {t: start for t in EVENT_TABLES}, TABLE_OF)
    assert whole["orders_365d"] == start + pd.Timedelta(days=365)
    assert whole["events_30d"] == start + pd.Timedelta(days=30)
    assert "tenure_days" not in whole  # the profile reads no event table


@pytest.mark.parametrize("cut_days", [45, 200])
def test_training_and_scoring_read_the_same_window_the_same_way(tmp_path, cut_days):
    # one build for many cutoffs (training) and one per cutoff (scoring) agree row by row
    frames = _history()
    start = (CUTOFF - pd.Timedelta(days=cut_days)).normalize()
    cut = _cut(frames, start)
    tables = open_frames(tmp_path / "c", cut)
    starts = {t: start for t in EVENT_TABLES}
    cutoffs = [CUTOFF - pd.Timedelta(days=30), CUTOFF]
    together = to_frame(build_features(tables, cutoffs, SPEC, history=starts))
    apart = pd.concat(
        [to_frame(build_features(tables, [c], SPEC, history=starts)) for c in cutoffs],
        ignore_index=True,
    )
    for name in ("orders_365d", "revenue_365d", "events_90d", "order_months_12m"):
        assert _same(together[name], apart[name]), name
    assert np.isfinite(together["events_7d"]).all()
