"""Whether LightGBM beats logistic regression on this data, and by how much, in one line.

On data whose signal is mostly monotone the two often rank customers alike; that is a fact
about the data, said plainly rather than hidden. The verdict reads the out-of-time test's
paired bootstrap interval (models/evaluate.py) and, when there is one, the backtest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Versus:
    """LightGBM's ROC AUC minus logistic regression's on the test months (with its 95%
    interval), and on the backtest folds (mean, and in how many LightGBM was ahead)."""

    diff: float
    low: float
    high: float
    folds: int = 0
    folds_ahead: int = 0
    backtest_diff: float = math.nan

    @property
    def outcome(self) -> str:
        """ "beats" (the interval lies above 0), "trails" (below 0) or "level"."""
        if self.low > 0:
            return "beats"
        if self.high < 0:
            return "trails"
        return "level"

    def line(self) -> str:
        """The summary's line, e.g. "LightGBM vs logistic regression on this data: level,
        ROC AUC -0.002 [-0.006, +0.002] on the test months; ahead in 2 of 4 backtest folds
        (mean +0.001)"."""
        words = {
            "beats": "LightGBM beats logistic regression",
            "trails": "logistic regression beats LightGBM",
            "level": "LightGBM and logistic regression are level (the interval holds 0)",
        }[self.outcome]
        text = (
            f"LightGBM vs logistic regression on this data: {words}, ROC AUC "
            f"{self.diff:+.3f} [{self.low:+.3f}, {self.high:+.3f}] on the test months"
        )
        if self.folds:
            text += (
                f"; LightGBM ahead in {self.folds_ahead} of {self.folds} backtest folds "
                f"(mean {self.backtest_diff:+.3f})"
            )
        return text

    def metrics(self) -> dict[str, float]:
        """The numbers behind the line, for MLflow."""
        out = {"diff": self.diff, "diff_low": self.low, "diff_high": self.high}
        if self.folds:
            out |= {"backtest_diff": self.backtest_diff, "backtest_folds_ahead": self.folds_ahead}
        return out


def versus_logistic(gap: dict[str, float], backtest: pd.DataFrame | None = None) -> Versus:
    """The verdict from the test's paired gap (`paired_auc_difference` keys) and the backtest
    table (columns roc_auc and logistic_roc_auc), when it has rows."""
    folds = 0 if backtest is None else len(backtest)
    ahead, mean = 0, math.nan
    if folds:
        diffs = backtest["roc_auc"] - backtest["logistic_roc_auc"]
        ahead, mean = int((diffs > 0).sum()), float(diffs.mean())
    return Versus(
        diff=gap["roc_auc_diff"],
        low=gap["roc_auc_diff_low"],
        high=gap["roc_auc_diff_high"],
        folds=folds,
        folds_ahead=ahead,
        backtest_diff=mean,
    )
