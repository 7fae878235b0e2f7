"""One training experiment on a time split: the LightGBM model, both baselines, the truth
where known, out-of-time evaluation, and an expanding-window backtest."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from models.baselines import (
    fit_health_calibration,
    fit_logistic,
    health_risk,
    predict_logistic,
)
from models.evaluate import evaluate_scores, paired_auc_differences
from models.labels import LABEL  # noqa: F401 (the label column, read here by the steps)
from models.matrix import FeatureLayout
from models.split import TimeSplit
from models.subsample import (
    WEIGHT,
    Subsample,
    subsample_negatives,
    subsampled_params,
    thinned_to,
)
from models.trainer import OnProgress, TrainedModel, train_churn_model
from models.tuning import search_params
from models.verdict import Versus, versus_logistic

log = logging.getLogger(__name__)
TRUTH = "true_probability"
BACKTEST_MAX_ROWS = 50_000
"""A backtest fold's LightGBM fits at most about this many training rows (every churner
kept, retained rows thinned and weighted back, as models/subsample.py does for the memory
budget): the folds measure how quality holds over time, and a fold's test month alone moves
its ROC AUC by more than the thinning does. On the 100k synthetic set a weighted subsample
at rate 0.3 scored test ROC AUC 0.6291 against 0.6284 for all 554,871 rows (paired
differences at most 0.0014 over 3 seeds; bench/results/subsample.json); the three refitted
folds scored 0.536/0.539/0.561 at 50,000 rows against 0.534/0.535/0.563 at 200,000, and
the training stage took 33 s instead of 41 s at 100,000."""


@dataclass
class ExperimentResult:
    """The fitted model and everything measured about it out of time."""

    model: TrainedModel
    scores: dict[str, dict[str, float]]
    test: pd.DataFrame  # test rows: keys, label, one probability column per model
    backtest: pd.DataFrame
    contributions: pd.DataFrame
    gaps: dict[str, dict[str, float]]
    """Per other scorer: the model's ROC AUC minus its own, with a paired bootstrap interval."""
    sample: Subsample | None = None
    """How the training rows were thinned to fit the memory budget (models/subsample.py)."""

    def versus_logistic(self) -> Versus:
        """Whether LightGBM beats logistic regression here, on the test and the backtest."""
        return versus_logistic(self.gaps["logistic_regression"], self.backtest)


def _rows(frame: pd.DataFrame, cutoffs) -> pd.DataFrame:
    return frame[frame["cutoff"].isin(list(cutoffs))]


def _training_rows(
    frame: pd.DataFrame, cutoffs, rate: float, seed: int, sample: Subsample | None
) -> tuple[pd.DataFrame, np.ndarray, Subsample | None]:
    """The rows of `cutoffs` LightGBM fits, their weights and how they were thinned: those
    the stream kept (positive WEIGHT, taken from the frame in one copy), else the rows
    subsampled at `rate` here."""
    months = frame["cutoff"].isin(list(cutoffs)).to_numpy()
    if WEIGHT not in frame.columns:
        return subsample_negatives(frame[months], LABEL, rate, seed=seed)
    kept = frame[months & (frame[WEIGHT].to_numpy() > 0)]
    return kept, kept[WEIGHT].to_numpy(), sample


@dataclass(frozen=True)
class _FitRows:
    """The training rows one fit learns from, their weights, how the stream thinned them
    (None: here, or not at all) and the overall rate their retained rows were kept at."""

    rows: pd.DataFrame
    weight: np.ndarray
    sample: Subsample | None
    rate: float


@dataclass(frozen=True)
class _LightGbmFit:
    """How the model and each backtest fold fit LightGBM: the same settings, thinning and
    weights, on different rows (the logistic baseline beside it learns from the same)."""

    layout: FeatureLayout
    seed: int
    calibration: str
    params: dict | None
    negative_rate: float
    progress: OnProgress | None
    max_rows: int | None = None
    """Fit at most about this many rows, thinning retained ones further (None: no cap)."""

    def rows(self, frame: pd.DataFrame, cutoffs, sample: Subsample | None = None) -> _FitRows:
        """The rows of `cutoffs` to fit, thinned as `_training_rows` says and to `max_rows`."""
        kept, weight, sample = _training_rows(frame, cutoffs, self.negative_rate, self.seed, sample)
        rate = self.negative_rate
        if self.max_rows is not None:
            kept, weight, share = thinned_to(kept, weight, LABEL, self.max_rows, seed=self.seed)
            rate *= share
        return _FitRows(kept, weight, sample, rate)

    def __call__(
        self, rows: _FitRows, valid: pd.DataFrame, search: list[dict] | None = None
    ) -> TrainedModel:
        """The calibrated model fitted on `rows`, early stopped and calibrated on `valid`."""
        return train_churn_model(
            rows.rows,
            valid,
            self.layout,
            LABEL,
            self.seed,
            self.calibration,
            subsampled_params(self.params, rows.rate),
            progress=self.progress,
            search=search,
            weight=rows.weight,
        )


def run_experiment(
    frame: pd.DataFrame,
    split: TimeSplit,
    layout: FeatureLayout,
    *,
    seed: int = 7,
    search_seconds: float = 0.0,
    backtest: list[TimeSplit] | None = None,
    selection: list[TimeSplit] | None = None,
    calibration: str = "sigmoid",
    progress: OnProgress | None = None,
    negative_rate: float = 1.0,
    sample: Subsample | None = None,
) -> ExperimentResult:
    """Train on the split's train cutoffs, validate/calibrate on its valid cutoffs, and score
    the model and baselines on its test cutoffs. With `search_seconds`, the LightGBM settings
    are first chosen by their backtest on the `selection` folds (which end before the test).
    `progress` hears of boosting rounds, search time and backtest folds. Below 1,
    `negative_rate` keeps that share of the retained training rows (weighted back, every
    churner kept) for LightGBM and the backtest folds; validation and test rows stay whole.
    A frame whose training rows were already thinned as they streamed in carries their
    weights (WEIGHT) and `sample`, the summary of that draw: it is not thinned again."""
    valid, test = _rows(frame, split.valid), _rows(frame, split.test)
    params, tried = None, []
    if search_seconds > 0 and selection:
        params, tried = search_params(
            frame, selection, layout, seconds=search_seconds, seed=seed, progress=progress
        )
    fit = _LightGbmFit(layout, seed, calibration, params, negative_rate, progress)
    fitting = fit.rows(frame, split.train, sample)
    model = fit(fitting, valid, search=tried)
    logistic = fit_logistic(fitting.rows, layout, LABEL, fitting.weight)
    sample = fitting.sample
    del fitting
    out, contributions = _test_scores(test, model, logistic, fit_health_calibration(valid, LABEL))
    scores, gaps = _compared(out, seed)
    return ExperimentResult(
        model=model,
        scores=scores,
        test=out,
        backtest=run_backtest(
            frame,
            backtest or [],
            layout,
            seed=seed,
            params=model.params,
            calibration=calibration,
            progress=progress,
            negative_rate=negative_rate,
            fitted={split: (model, logistic)},
        ),
        contributions=pd.DataFrame(contributions, columns=list(layout.features), index=test.index),
        gaps=gaps,
        sample=sample,
    )


def refit_split(split: TimeSplit) -> TimeSplit:
    """The evaluated split shifted to end at the latest labelled month: every month but the
    latest `len(split.valid)` to fit on, those latest to stop and calibrate on, none held out."""
    months = list(split.all)
    latest = len(split.valid)
    return TimeSplit(tuple(months[:-latest]), tuple(months[-latest:]), ())


def refit_on_latest(
    frame: pd.DataFrame,
    split: TimeSplit,
    layout: FeatureLayout,
    evaluated: TrainedModel,
    *,
    seed: int = 7,
    calibration: str = "sigmoid",
    progress: OnProgress | None = None,
    negative_rate: float = 1.0,
    sample: Subsample | None = None,
) -> tuple[TrainedModel, TimeSplit]:
    """The model a list should use: the evaluated model's settings and procedure refit on
    every labelled month (`refit_split`), so it has seen last month and is calibrated on the
    latest months rather than on months the test held out. Returns it and its split. Its
    quality is its evaluated twin's: it has no months left to test on."""
    shifted = refit_split(split)
    fit = _LightGbmFit(layout, seed, calibration, evaluated.params, negative_rate, progress)
    fitting = fit.rows(frame, shifted.train, sample)
    return fit(fitting, _rows(frame, shifted.valid)), shifted


def _test_scores(
    test: pd.DataFrame, model: TrainedModel, logistic, health
) -> tuple[pd.DataFrame, np.ndarray]:
    """The test rows' keys and label with every scorer's probability (the simulator's true
    one where the rows carry it), and the model's contributions."""
    out = test[["customer_id", "cutoff", LABEL]].copy()
    out["model"], contributions = model.scores(test)
    out["logistic_regression"] = predict_logistic(logistic, test, model.layout)
    out["health_score"] = health.predict(health_risk(test))
    if TRUTH in test.columns and test[TRUTH].notna().all():
        out["true_probability"] = test[TRUTH].to_numpy()
    return out, contributions


def _compared(out: pd.DataFrame, seed: int) -> tuple[dict, dict]:
    """Each scorer's out-of-time metrics, and the model's ROC AUC gap to each other scorer
    with its paired bootstrap interval."""
    y = out[LABEL].to_numpy()
    scorers = ("model", "logistic_regression", "health_score", "true_probability")
    names = [c for c in scorers if c in out.columns]
    scores = {name: evaluate_scores(y, out[name].to_numpy()) for name in names}
    others = {name: out[name].to_numpy() for name in names if name != "model"}
    return scores, paired_auc_differences(y, out["model"].to_numpy(), others, seed=seed)


def run_backtest(
    frame: pd.DataFrame,
    splits: list[TimeSplit],
    layout: FeatureLayout,
    *,
    seed: int,
    params: dict | None = None,
    calibration: str = "sigmoid",
    progress: OnProgress | None = None,
    negative_rate: float = 1.0,
    fitted: dict[TimeSplit, tuple[TrainedModel, Pipeline]] | None = None,
) -> pd.DataFrame:
    """Re-fit on expanding windows and score each next cutoff: is quality stable over time?
    Each fold's training rows are subsampled at `negative_rate` as the model's were, and
    further to BACKTEST_MAX_ROWS. A fold
    whose split is in `fitted` (the model's own, when it tests one month with one validating)
    reuses that LightGBM model and logistic baseline: a re-fit would give the same ones."""
    fit = _LightGbmFit(
        layout, seed, calibration, params, negative_rate, progress, max_rows=BACKTEST_MAX_ROWS
    )
    fitted = fitted or {}
    rows = []
    for fold, split in enumerate(splits):
        if progress is not None:
            progress("backtest fold", fold + 1, len(splits))
        test = _rows(frame, split.test)
        if split in fitted:
            model, baseline = fitted[split]
        else:
            fitting = fit.rows(frame, split.train)
            model = fit(fitting, _rows(frame, split.valid))
            baseline = fit_logistic(fitting.rows, layout, LABEL, fitting.weight)
            del fitting
        y = test[LABEL].to_numpy()
        m = evaluate_scores(y, model.predict_proba(test))
        logistic = predict_logistic(baseline, test, layout)
        row = {"cutoff": split.test[0], "train_cutoffs": len(split.train)}
        row |= {k: m[k] for k in ("roc_auc", "pr_auc", "lift_at_10", "ece", "base_rate", "rows")}
        row["logistic_roc_auc"] = evaluate_scores(y, logistic)["roc_auc"]
        if TRUTH in test.columns and test[TRUTH].notna().all():
            row["truth_roc_auc"] = evaluate_scores(y, test[TRUTH].to_numpy())["roc_auc"]
        log.info(
            "backtest fold %d: test %s, ROC AUC %.3f",
            fold,
            f"{split.test[0]:%Y-%m-%d}",
            row["roc_auc"],
        )
        rows.append(row)
    return pd.DataFrame(rows)
