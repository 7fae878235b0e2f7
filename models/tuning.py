"""Choosing LightGBM's settings by the backtest: each candidate is refitted on expanding
windows of cutoffs and judged on the cutoff after each, never on one test month.

`selection_splits` gives the folds (only cutoffs whose label windows end before the
out-of-time test, so choosing never sees the test); `backtest_quality` scores one parameter
set on them; `search_params` tries random sets within a time budget (`search_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from models.matrix import FeatureLayout
from models.split import TimeSplit, backtest_splits
from models.subsample import WEIGHT, weighted_rows
from models.trainer import DEFAULT_PARAMS, SEARCH_SPACE, OnProgress, fit_booster

LABEL = "churned"


@dataclass(frozen=True)
class FoldScore:
    """One parameter set on one fold: the test cutoff, ROC AUC, log loss, rounds, seconds."""

    cutoff: pd.Timestamp
    roc_auc: float
    log_loss: float
    rounds: int
    seconds: float


def selection_splits(split: TimeSplit, label_days: int, folds: int) -> list[TimeSplit]:
    """Expanding-window folds over the cutoffs whose label windows end by the first test
    cutoff: the last `folds` of them are each tested by a fit on the ones before."""
    first_test = split.test[0]
    earlier = [c for c in split.all if c + pd.Timedelta(days=label_days) <= first_test]
    return backtest_splits(earlier, folds, label_days)


def _rows(frame: pd.DataFrame, cutoffs) -> pd.DataFrame:
    return frame[frame["cutoff"].isin(list(cutoffs))]


def backtest_quality(
    frame: pd.DataFrame,
    splits: list[TimeSplit],
    layout: FeatureLayout,
    params: dict[str, Any],
    *,
    seed: int = 7,
) -> list[FoldScore]:
    """Fit `params` on each fold's training cutoffs (early stopping on its validation
    cutoff) and score its test cutoff."""
    scores = []
    for split in splits:
        train, valid, test = (_rows(frame, s) for s in (split.train, split.valid, split.test))
        weight = None
        if WEIGHT in train.columns:  # thinned as the rows streamed in: fit what was kept
            train, weight = weighted_rows(train)
        started = time.perf_counter()
        booster = fit_booster(train, valid, layout, params, seed=seed, weight=weight)
        p = booster.predict(layout.matrix(test), num_iteration=booster.best_iteration)
        y = test[LABEL].to_numpy()
        scores.append(
            FoldScore(
                cutoff=split.test[0],
                roc_auc=float(roc_auc_score(y, p)),
                log_loss=float(log_loss(y, p, labels=[0, 1])),
                rounds=int(booster.best_iteration),
                seconds=time.perf_counter() - started,
            )
        )
    return scores


def mean_auc(scores: list[FoldScore]) -> float:
    """The folds' mean ROC AUC (NaN without folds)."""
    return float(np.mean([s.roc_auc for s in scores])) if scores else float("nan")


def search_params(
    frame: pd.DataFrame,
    splits: list[TimeSplit],
    layout: FeatureLayout,
    *,
    seconds: float,
    seed: int = 7,
    base: dict[str, Any] | None = None,
    progress: OnProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The defaults, then random sets from SEARCH_SPACE while time remains, each judged by
    its mean backtest ROC AUC over `splits`; returns the best set and every trial."""
    base = dict(base or DEFAULT_PARAMS)
    rng = np.random.default_rng(seed)
    started = clock()
    trial, best, trials = base, (-np.inf, base), []
    while True:
        scores = backtest_quality(frame, splits, layout, trial, seed=seed)
        auc = mean_auc(scores)
        trials.append({"backtest_roc_auc": auc, **{k: trial[k] for k in SEARCH_SPACE}})
        if auc > best[0]:
            best = (auc, trial)
        spent = clock() - started
        if progress is not None:
            progress("search seconds", round(min(spent, seconds)), seconds)
        if spent >= seconds or not splits:
            return best[1], trials
        trial = {**base, **{k: v[rng.integers(len(v))] for k, v in SEARCH_SPACE.items()}}
