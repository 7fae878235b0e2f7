"""Whether LightGBM beats logistic regression, in one line."""

from __future__ import annotations

import pandas as pd

from models.verdict import versus_logistic

BACKTEST = pd.DataFrame({"roc_auc": [0.76, 0.75, 0.74, 0.71], "logistic_roc_auc": [0.75] * 4})


def gap(diff: float, low: float, high: float) -> dict[str, float]:
    return {"roc_auc_diff": diff, "roc_auc_diff_low": low, "roc_auc_diff_high": high}


def test_an_interval_holding_zero_is_level_and_says_so():
    versus = versus_logistic(gap(-0.002, -0.006, 0.002), BACKTEST)
    assert versus.outcome == "level"
    assert versus.line() == (
        "LightGBM vs logistic regression on this data: LightGBM and logistic regression are "
        "level (the interval holds 0), ROC AUC -0.002 [-0.006, +0.002] on the test months; "
        "LightGBM ahead in 1 of 4 backtest folds (mean -0.010)"
    )
    assert versus.metrics()["backtest_folds_ahead"] == 1


def test_an_interval_above_or_below_zero_names_the_winner():
    assert versus_logistic(gap(0.01, 0.004, 0.016)).outcome == "beats"
    trails = versus_logistic(gap(-0.01, -0.016, -0.004))
    assert trails.outcome == "trails"
    assert "logistic regression beats LightGBM" in trails.line()
    assert "backtest" not in trails.line() and "backtest_diff" not in trails.metrics()
