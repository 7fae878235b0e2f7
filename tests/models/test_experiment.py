"""The experiment's backtest: a fold whose split is the model's own reuses the model and the
logistic baseline, and scores exactly as a re-fit would."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.experiment import run_backtest, run_experiment
from models.matrix import FeatureLayout
from models.split import backtest_splits, split_cutoffs

LAYOUT = FeatureLayout(("signal", "noise", "plan"), {"plan": ("basic", "pro")})
LABEL_DAYS = 30


def _months(customers: int, months: int, seed: int) -> pd.DataFrame:
    """Customer-months whose churn follows `signal` and the plan, never `noise`."""
    rng = np.random.default_rng(seed)
    frames = []
    for month in range(months):
        signal, noise = rng.normal(size=customers), rng.normal(size=customers)
        plan = np.where(rng.random(customers) < 0.3, "pro", "basic")
        log_odds = -2.5 + 1.2 * signal - 0.6 * (plan == "pro")
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i}" for i in range(customers)],
                    "cutoff": pd.Timestamp("2025-01-01") + pd.DateOffset(months=month),
                    "signal": signal,
                    "noise": noise,
                    "plan": plan,
                    "churned": (rng.random(customers) < 1 / (1 + np.exp(-log_odds))).astype("int8"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _months(3_000, 6, seed=5)


def test_the_fold_on_the_models_own_split_is_not_refitted_and_scores_as_a_refit(frame):
    cutoffs = sorted(frame["cutoff"].unique())
    split = split_cutoffs(cutoffs, 1, 1, LABEL_DAYS)
    folds = backtest_splits(cutoffs, 2, LABEL_DAYS)
    assert folds[-1] == split and folds[0] != split

    heard: list[str] = []
    result = run_experiment(
        frame, split, LAYOUT, backtest=folds, progress=lambda what, done, total: heard.append(what)
    )
    # After the last fold starts, nothing is boosted: the model's own fit is reused.
    last_fold = max(i for i, what in enumerate(heard) if what == "backtest fold")
    assert "boosting round" in heard[:last_fold]
    assert "boosting round" not in heard[last_fold:]

    refitted = run_backtest(frame, folds, LAYOUT, seed=7, params=result.model.params)
    pd.testing.assert_frame_equal(result.backtest, refitted)
    assert result.backtest["roc_auc"].gt(0.6).all()
