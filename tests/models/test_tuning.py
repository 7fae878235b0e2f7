"""LightGBM's settings are chosen by the backtest, on folds that end before the test."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from models.matrix import FeatureLayout
from models.split import split_cutoffs
from models.trainer import DEFAULT_PARAMS, SEARCH_SPACE
from models.tuning import backtest_quality, mean_auc, search_params, selection_splits

CUTOFFS = list(pd.date_range("2024-01-01", periods=12, freq="MS"))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """600 customers a month; churn follows `signal`, never `noise`."""
    rng = np.random.default_rng(0)
    parts = []
    for cutoff in CUTOFFS:
        signal, noise = rng.normal(size=600), rng.normal(size=600)
        churned = (rng.random(600) < 1 / (1 + np.exp(2.5 - 1.5 * signal))).astype("int8")
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i}" for i in range(600)],
                    "cutoff": cutoff,
                    "signal": signal,
                    "noise": noise,
                    "churned": churned,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


LAYOUT = FeatureLayout(("signal", "noise"), {})
FAST = {**DEFAULT_PARAMS, "learning_rate": 0.3, "num_leaves": 3, "min_child_samples": 50}


@pytest.mark.parametrize("label_days", [30, 90])
def test_selection_folds_end_before_the_test_and_never_read_it(label_days):
    split = split_cutoffs(CUTOFFS, 2, 1, label_days)
    folds = selection_splits(split, label_days, 3)
    assert folds
    first_test = split.test[0]
    for fold in folds:
        assert all(c + pd.Timedelta(days=label_days) <= first_test for c in fold.all)
        assert not set(fold.all) & set(split.test)


def test_backtest_quality_scores_every_fold_and_tells_signal_from_noise(frame):
    folds = selection_splits(split_cutoffs(CUTOFFS, 2, 1, 30), 30, 3)
    scores = backtest_quality(frame, folds, LAYOUT, FAST)
    assert [s.cutoff for s in scores] == [f.test[0] for f in folds]
    assert mean_auc(scores) > 0.75
    blind = backtest_quality(frame, folds, FeatureLayout(("noise",), {}), FAST)
    assert mean_auc(blind) < 0.6


def test_the_search_keeps_the_set_with_the_best_backtest_within_its_time(frame):
    folds = selection_splits(split_cutoffs(CUTOFFS, 2, 1, 30), 30, 2)
    ticks = itertools.count()
    chosen, trials = search_params(
        frame, folds, LAYOUT, seconds=3, base=FAST, clock=lambda: float(next(ticks))
    )
    assert len(trials) == 3  # the start, then two random sets before the clock ran out
    best = max(trials, key=lambda t: t["backtest_roc_auc"])
    assert {k: chosen[k] for k in SEARCH_SPACE} == {k: best[k] for k in SEARCH_SPACE}
    assert {k: trials[0][k] for k in SEARCH_SPACE} == {k: FAST[k] for k in SEARCH_SPACE}


def test_no_search_time_keeps_the_defaults(frame):
    folds = selection_splits(split_cutoffs(CUTOFFS, 2, 1, 30), 30, 2)
    chosen, trials = search_params(frame, folds, LAYOUT, seconds=0, base=FAST)
    assert chosen == FAST and len(trials) == 1
