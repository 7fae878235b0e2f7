"""`churn train`: exports -> point-in-time features -> labels -> LightGBM -> MLflow registry.

The run in five steps (each module of this package is one): check and type the exports and
build the labelled rows (data.py, within the memory budget of memory.py), fit and evaluate
out of time, record the run and the model in MLflow (record.py, with the metadata of
metadata.py and the plots of figures.py), print the summary (summary.py)."""

from __future__ import annotations

import datetime as dt

from models.evaluate import compare_models
from models.experiment import ExperimentResult, refit_on_latest, run_experiment
from models.split import backtest_splits
from models.trainer import OnProgress
from models.tuning import selection_splits
from pipeline.config import Config
from pipeline.console import print_warnings
from pipeline.datasets import today
from pipeline.progress import Progress
from pipeline.timing import Timer
from pipeline.train import btyd
from pipeline.train.data import (
    SEARCH_FOLDS,
    TrainingData,
    training_data,
    training_negative_rate,
    validated_tables,
)
from pipeline.train.record import Refit, settle_earlier_trainings, track_training
from pipeline.train.summary import print_training_summary


def run_training(
    config: Config, as_of: dt.date | None = None, *, progress: Progress | None = None
) -> int:
    """Train, evaluate and register a model on the configured exports, having settled what
    killed trainings left in the store (after the data is judged trainable: a refused
    training touches no store); prints a summary."""
    timer = Timer(progress)
    with timer("validate", "checking and typing the exports"):
        tables, warnings = validated_tables(config, as_of or config.as_of or today())
    print_warnings(warnings)
    with timer("features", "point-in-time features and labels for every monthly cutoff"):
        data = training_data(config, tables)
    with timer("training", _training_words(config)):
        result = fit_and_evaluate(config, data, progress=timer.progress.update)
    if btyd.applies(config.churn, tables):
        with timer("btyd", "the buy-till-you-die baseline (BG/NBD) on the test months"):
            result = btyd.with_btyd(result, tables, config.churn, seed=config.training.seed)
    refit = None
    if config.training.refit:
        with timer("refit", "the evaluated model refit on every labelled month"):
            refit = refit_model(config, data, result, progress=timer.progress.update)
    print_warnings(settle_earlier_trainings(config))
    with timer("logging", "MLflow run, plots and the registered model"):
        outcome = track_training(config, data, result, started=timer.started, refit=refit)
    print_training_summary(
        comparison=compare_models(result.scores),
        outcome=outcome,
        seconds=timer.seconds,
        rows=sum(data.count(part) for part in ("train", "valid", "test")),
        split=data.split,
        gaps=result.gaps,
        backtest=result.backtest,
        versus=result.versus_logistic(),
        also=[line for line in (btyd.btyd_line(result),) if line],
        sample=result.sample,
        brief=timer.progress.quiet,
    )
    return 0


def _training_words(config: Config) -> str:
    folds = config.training.backtest_folds
    search = config.training.search_seconds
    return (
        "LightGBM, calibration and the baselines"
        + (f", {folds} backtest folds" if folds else "")
        + (f", a {search:g} s parameter search" if search else "")
    )


def refit_model(
    config: Config,
    data: TrainingData,
    result: ExperimentResult,
    *,
    progress: OnProgress | None = None,
) -> Refit:
    """The evaluated model's settings and procedure refit on every labelled month: fitted on
    all but the latest `valid_cutoffs` months, stopped and calibrated on those."""
    model, split = refit_on_latest(
        data.frame,
        data.split,
        data.layout,
        result.model,
        seed=config.training.seed,
        calibration=config.training.calibration,
        progress=progress,
        negative_rate=training_negative_rate(config.training, data),
        sample=result.sample,
    )
    return Refit(model, split)


def fit_and_evaluate(
    config: Config, data: TrainingData, *, progress: OnProgress | None = None
) -> ExperimentResult:
    """LightGBM and the baselines on the split, evaluated out of time, with the backtest;
    the retained training rows subsampled when the matrix would exceed the memory budget;
    `progress` hears of boosting rounds, search time and folds."""
    label_days = config.churn.lead_days + config.churn.horizon_days
    folds = config.training.backtest_folds
    return run_experiment(
        data.frame,
        data.split,
        data.layout,
        seed=config.training.seed,
        search_seconds=config.training.search_seconds,
        backtest=backtest_splits(list(data.split.all), folds, label_days),
        selection=selection_splits(data.split, label_days, max(folds, SEARCH_FOLDS)),
        calibration=config.training.calibration,
        progress=progress,
        negative_rate=training_negative_rate(config.training, data),
        sample=data.sample,
    )
