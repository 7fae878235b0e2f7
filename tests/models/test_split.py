"""Time splits: out-of-time test, no later cutoff leaking into training."""

from __future__ import annotations

import pandas as pd
import pytest

from models.split import backtest_splits, monthly_cutoffs, split_cutoffs

START, END = pd.Timestamp("2024-11-01"), pd.Timestamp("2026-11-01")


def test_monthly_cutoffs_end_at_the_latest_gradable_month():
    cutoffs = monthly_cutoffs(START, END, label_days=30, count=16)
    assert cutoffs[-1] == pd.Timestamp("2026-10-01")
    assert len(cutoffs) == 16 and cutoffs == sorted(cutoffs)
    assert all(c.day == 1 for c in cutoffs)
    longer = monthly_cutoffs(START, END, label_days=45, count=3)
    assert longer[-1] == pd.Timestamp("2026-09-01")  # 10-01 + 45 days runs past the end


def test_warm_up_keeps_cutoffs_away_from_the_start_of_history():
    cutoffs = monthly_cutoffs(START, END, label_days=30, count=60)
    assert cutoffs[0] >= START + pd.Timedelta(days=90)


def test_split_is_by_time_and_purged():
    cutoffs = monthly_cutoffs(START, END, 30, 12)
    split = split_cutoffs(cutoffs, test=1, valid=2, label_days=30)
    assert split.test == (pd.Timestamp("2026-10-01"),)
    assert split.valid == (pd.Timestamp("2026-08-01"), pd.Timestamp("2026-09-01"))
    assert max(split.train) < min(split.valid) < min(split.test)
    for c in split.train:
        assert c + pd.Timedelta(days=30) <= min(split.valid)


def test_long_horizons_purge_training_cutoffs_whose_labels_reach_validation():
    cutoffs = monthly_cutoffs(START, END, 60, 12)
    split = split_cutoffs(cutoffs, test=1, valid=1, label_days=60)
    assert all(c + pd.Timedelta(days=60) <= split.valid[0] for c in split.train)
    assert all(c + pd.Timedelta(days=60) <= split.test[0] for c in split.valid)
    assert len(split.train) < len(cutoffs) - 2  # the month just before validation was dropped


def test_too_little_history_is_a_clear_error():
    with pytest.raises(ValueError, match="gradable cutoffs"):
        split_cutoffs(monthly_cutoffs(START, END, 30, 2), 1, 2, 30)


def test_backtest_windows_expand_and_test_each_later_cutoff():
    cutoffs = monthly_cutoffs(START, END, 30, 10)
    splits = backtest_splits(cutoffs, folds=3, label_days=30)
    assert [s.test[0] for s in splits] == cutoffs[-3:]
    sizes = [len(s.train) for s in splits]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    for s in splits:
        assert max(s.train + s.valid) < s.test[0]
