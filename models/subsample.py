"""Negative subsampling: training in bounded memory when the customer-months outgrow it.

Churners are rare (a few percent a month), so nearly all of the training matrix is retained
customer-months. When the matrix (rows x features x 4 bytes, float32) would exceed the memory
budget, every churner is kept and each retained row is kept with probability `rate`; the kept
retained rows weigh 1 / rate in LightGBM, so the weighted class balance, and therefore the
booster's probabilities, are those of the full data. Validation (early stopping and
calibration) and the out-of-time test are never subsampled.

The draw can be taken batch by batch as rows stream in (`NegativeDraw`), so retained rows
left out are never held; the kept rows then carry their weights in the WEIGHT column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

BYTES_PER_VALUE = 4  # the training matrix is float32 (models/matrix.py, FeatureLayout.numeric)
WEIGHT = "sample_weight"
"""The column of training rows thinned as they streamed in: 1 for churners, 1 / rate for kept
retained rows, 0 for retained rows left out of the draw but held for another use (a backtest
fold's validation or test month)."""
MIN_RATE = 0.01
"""Below this the retained rows are too few to learn from (a 1 % sample of a million
customer-months still holds 10,000 of them); the budget is then exceeded rather than the
model ruined."""


def matrix_bytes(rows: int, features: int) -> int:
    """The size of a float32 training matrix of `rows` x `features`."""
    return rows * features * BYTES_PER_VALUE


def negative_rate(
    rows: int, churners: int, features: int, memory_gb: float, *, held: int = 0
) -> float:
    """The share of retained rows to keep so the rows held fit `memory_gb` as float32: 1.0
    when they fit whole, else the rate whose expected rows (`held` rows that are kept whole
    whatever the rate, all churners, rate x retained) fill the budget, never below MIN_RATE."""
    budget_rows = memory_gb * 1024**3 / (features * BYTES_PER_VALUE) - held
    retained = rows - churners
    if rows <= budget_rows or retained <= 0:
        return 1.0
    return float(min(1.0, max(MIN_RATE, (budget_rows - churners) / retained)))


@dataclass(frozen=True)
class Subsample:
    """How the training rows were thinned: the rate for retained rows, rows before and
    after, and the churners (all kept)."""

    rate: float
    rows: int
    kept: int
    churners: int

    @property
    def applied(self) -> bool:
        """Whether any retained row was left out."""
        return self.rate < 1.0

    def line(self) -> str:
        """One line for the training summary."""
        if not self.applied:
            return f"training rows: all {self.rows:,} (the matrix fits the memory budget)"
        return (
            f"training rows: {self.kept:,} of {self.rows:,} kept (every one of "
            f"{self.churners:,} churners, retained customer-months at rate {self.rate:.3g}, "
            f"weighted {1 / self.rate:.3g}) to fit the memory budget"
        )


def subsampled_params(params: dict[str, Any] | None, rate: float) -> dict[str, Any] | None:
    """LightGBM settings for rows subsampled at `rate`: `params` (the defaults when None)
    without bagging below 1, unchanged otherwise. The subsample is already a random draw of
    the retained rows; bagging on top drops a fifth of the churners every round. On the 100k
    synthetic set at rate 0.3 (bench/results/subsample.json), bagging cost 0.004-0.005 test
    ROC AUC over 3 seeds; without it the subsample matched the full data with bagging."""
    if rate >= 1.0:
        return params
    # Imported here: the trainer imports LightGBM and scikit-learn, and the scoring and report
    # steps import this module (through pipeline/datasets.py) for its weights alone.
    from models.trainer import DEFAULT_PARAMS

    return {**(params or DEFAULT_PARAMS), "bagging_fraction": 1.0, "bagging_freq": 0}


class NegativeDraw:
    """Keep-or-leave decisions for retained rows, taken batch by batch in row order: the
    decisions for batches of n1, n2, ... rows are those for their n1 + n2 + ... rows at once
    (one generator, one uniform number per row), so thinning rows as they stream in keeps
    exactly the rows `subsample_negatives` keeps of them all."""

    def __init__(self, rate: float, *, seed: int = 7) -> None:
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], not {rate}")
        self.rate = rate
        self._random = np.random.default_rng(seed)

    def keep(self, churned: np.ndarray) -> np.ndarray:
        """For the next rows (True where the row is a churner): which to keep."""
        churned = np.asarray(churned, dtype=bool)
        if self.rate >= 1.0:
            return np.ones(len(churned), dtype=bool)
        return churned | (self._random.random(len(churned)) < self.rate)

    def weights(self, churned: np.ndarray) -> np.ndarray:
        """The weights of kept rows: 1 for churners, 1 / rate for retained rows."""
        return np.where(np.asarray(churned, dtype=bool), 1.0, 1.0 / self.rate)


def weighted_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of a frame thinned as it streamed in (positive WEIGHT) and their weights."""
    weight = frame[WEIGHT].to_numpy()
    kept = frame[weight > 0]
    return kept, kept[WEIGHT].to_numpy()


def thinned_to(
    rows: pd.DataFrame, weight: np.ndarray, label: str, max_rows: int, *, seed: int = 7
) -> tuple[pd.DataFrame, np.ndarray, float]:
    """At most about `max_rows` of `rows`: every churner and a random share of the retained
    rows, whose weights grow by 1 / share so the weighted class balance is unchanged; returns
    the rows, their weights and the share (1.0: all rows, as given)."""
    churned = rows[label].to_numpy() == 1
    retained = len(rows) - int(churned.sum())
    if len(rows) <= max_rows or retained <= 0:
        return rows, weight, 1.0
    share = float(min(1.0, max(MIN_RATE, (max_rows - (len(rows) - retained)) / retained)))
    draw = NegativeDraw(share, seed=seed)
    keep = draw.keep(churned)
    return rows[keep], weight[keep] * draw.weights(churned[keep]), share


def subsample_negatives(
    frame: pd.DataFrame, label: str, rate: float, *, seed: int = 7
) -> tuple[pd.DataFrame, np.ndarray, Subsample]:
    """Every row with `label` 1 and each other row with probability `rate`: the kept rows
    (in their order), their sample weights (1 for churners, 1 / rate for retained rows) and a
    summary. `rate` 1.0 keeps everything with weight 1."""
    draw = NegativeDraw(rate, seed=seed)
    churned = frame[label].to_numpy() == 1
    keep = draw.keep(churned)
    weights = draw.weights(churned[keep])
    rows = frame if keep.all() else frame[keep]
    summary = Subsample(rate, len(frame), int(keep.sum()), int(churned.sum()))
    return rows, weights, summary
