"""The labelled rows a training learns from: the exports checked and typed, the monthly cutoffs
split by time, features and labels for every cutoff streamed to disk and read back within the
memory budget, refused with the numbers when too few churners remain."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import resolve_spec
from features.coverage import first_whole_cutoffs
from features.engines import check_runner, connect, open_tables
from features.errors import Problem, Refusal
from features.exports.ingest import ingest_exports
from features.exports.locations import is_uri
from features.registry import families, feature_catalogue
from features.spec import FeatureSpec
from models.experiment import LABEL
from models.matrix import FeatureLayout
from models.split import (
    WARMUP_DAYS,
    TimeSplit,
    backtest_splits,
    monthly_cutoffs,
    split_cutoffs,
)
from models.subsample import (
    WEIGHT,
    NegativeDraw,
    Subsample,
)
from models.tuning import selection_splits
from pipeline.config import Config, TrainingSettings
from pipeline.console import log_tables
from pipeline.datasets import (
    LabelledStream,
    attach_truth,
    data_span,
    exported_history,
    labelled_queries,
)
from pipeline.tracking import descriptions
from pipeline.train.memory import retained_rate

log = logging.getLogger(__name__)

SEARCH_FOLDS = 3  # a parameter search judges each set on at least this many backtest folds

MIN_TRAIN_CHURNERS = 20  # fewer: LightGBM's leaves (150 rows each) cannot tell churners apart


MIN_EVAL_CHURNERS = 5  # fewer: calibration and the test's ROC AUC are noise


def time_split(config: Config, data_start: pd.Timestamp, data_end: pd.Timestamp) -> TimeSplit:
    """The monthly cutoffs of the history split by time; refuses, with the numbers, a history
    too short for the configured test and validation cutoffs."""
    label_days = config.churn.lead_days + config.churn.horizon_days
    training = config.training
    cutoffs = monthly_cutoffs(
        data_start, data_end, label_days, training.cutoffs, training.spacing_months
    )
    try:
        return split_cutoffs(cutoffs, training.test_cutoffs, training.valid_cutoffs, label_days)
    except ValueError as error:
        raise Refusal(
            [
                Problem(
                    config.exports.directory,
                    f"the history ({data_start:%Y-%m-%d} to {data_end:%Y-%m-%d}) gives "
                    f"{len(cutoffs)} gradable monthly cutoffs after a {WARMUP_DAYS}-day warm-up "
                    f"with a {label_days}-day label window: {error}; export a longer history, "
                    "or lower [training] test_cutoffs / valid_cutoffs",
                )
            ]
        ) from None


def check_trainable(config: Config, counts: dict[str, tuple[int, int, int]]) -> None:
    """Refuse before training, with the numbers, data a model cannot learn from or be judged
    on: no churner at all, or too few in the training, validation or test cutoffs. `counts`:
    per part, its rows, churners and customers."""
    needed = {"train": MIN_TRAIN_CHURNERS, "valid": MIN_EVAL_CHURNERS, "test": MIN_EVAL_CHURNERS}
    short = [part for part, (_, churners, _) in counts.items() if churners < needed[part]]
    if not short:
        return
    found = "; ".join(
        f"{part}: {churners:,} churners (need {needed[part]}) among {rows:,} rows of "
        f"{customers:,} customers"
        for part, (rows, churners, customers) in counts.items()
    )
    definition = config.churn
    reason = (
        "no churner at all in the history"
        if sum(c for _, c, _ in counts.values()) == 0
        else "too few churners to train and judge a model"
    )
    raise Refusal(
        [
            Problem(
                config.exports.directory,
                f"{reason} under [churn] kind = {definition.kind!r}, horizon_days = "
                f"{definition.horizon_days} ({found}); export more customers or a longer "
                "history, or check the churn definition and the cancellation dates",
            )
        ]
    )


@dataclass(frozen=True)
class TrainingData:
    """The labelled feature rows of the history and how they were cut."""

    spec: FeatureSpec
    frame: pd.DataFrame
    split: TimeSplit
    layout: FeatureLayout
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    sample: Subsample | None = None
    """How the retained training rows were thinned as they streamed in (None: all held)."""
    history: dict[str, pd.Timestamp] | None = None
    """Each event table's first exported day (features/coverage.py)."""

    def whole_from(self) -> dict[str, pd.Timestamp]:
        """Per feature, the first cutoff whose whole window the exports hold."""
        tables = {f.name: f.table for f in families(self.spec) if f.table}
        catalogue = feature_catalogue(self.spec)
        return first_whole_cutoffs(catalogue, self.history or {}, tables)

    def rows(self, part: str, at_most: int | None = None) -> pd.DataFrame:
        """The rows of the train, valid or test cutoffs; a seeded random `at_most` of them
        (in their order) when there are more."""
        at = np.flatnonzero(self.frame["cutoff"].isin(getattr(self.split, part)).to_numpy())
        if at_most is not None and len(at) > at_most:
            at = np.sort(np.random.default_rng(0).choice(at, at_most, replace=False))
        return self.frame.iloc[at]

    def count(self, part: str) -> int:
        """How many rows the train, valid or test cutoffs have, before any was thinned."""
        if part == "train" and self.sample is not None:
            return self.sample.rows
        return len(self.rows(part))


def validated_tables(config: Config, export_date: dt.date) -> tuple[dict, list[Problem]]:
    """The exports checked and typed (cached), opened as tables on the configured engine, and
    the tolerated problems to show."""
    runner = check_runner(config.engine)
    paths, validation = ingest_exports(config.exports, config.cache_dir, export_date, runner)
    log_tables(validation)
    return open_tables(paths, connect(config.engine)), validation.warnings


def training_data(config: Config, tables: dict) -> TrainingData:
    """Features and labels for every gradable cutoff of the history, checked trainable.

    The rows stream batch by batch to Parquet in a temporary folder of the cache, counted as
    they pass; they are read back as float32 (the model's precision) with the retained
    training rows thinned to fit the memory budget before they are held (none on small
    data)."""
    data_start, data_end = data_span(tables)
    split = time_split(config, data_start, data_end)
    spec = resolve_spec(tables, config.features, config.exports.profile)
    catalogue = feature_catalogue(spec)
    history = exported_history(tables, config.exports)
    categorical = [f.name for f in catalogue if f.kind == "categorical"]
    queries = labelled_queries(
        tables,
        list(split.all),
        spec,
        definition=config.churn,
        data_end=data_end,
        history=history,
    )
    parts = {part: getattr(split, part) for part in ("train", "valid", "test")}
    # The driver reads the rows back with its own file API: with the typed cache at a URI
    # (Spark), they stream to the driver's temporary folder instead.
    local = None if is_uri(str(config.cache_dir)) else Path(config.cache_dir)
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="labelled-", dir=local) as folder:
        stream = LabelledStream(queries, Path(folder), parts, categorical)
        counts = stream.counts()
        check_trainable(config, counts)
        layout = FeatureLayout(tuple(f.name for f in catalogue), stream.levels())
        rows, churners, _ = counts["train"]
        whole = _evaluated_cutoffs(config, split)
        rate = retained_rate(
            config.training, *_thinnable(stream, split, whole), len(layout.features)
        )
        numeric = [f for f in layout.features if f not in layout.categories]
        frame = stream.held(
            NegativeDraw(rate, seed=config.training.seed), whole=whole, float32=numeric
        )
    frame = attach_truth(frame, config.training.truth_file)
    sample = None
    if rate < 1.0:
        kept = int((frame.loc[frame["cutoff"].isin(split.train), WEIGHT] > 0).sum())
        sample = Subsample(rate, rows, kept, churners)
    data = TrainingData(spec, frame, split, layout, data_start, data_end, sample, history)
    _log_parts(data)
    return data


def _thinnable(
    stream: LabelledStream, split: TimeSplit, whole: list[pd.Timestamp]
) -> tuple[int, int, int]:
    """Rows and churners of the training months that may be thinned, and the rows held
    whatever the rate (every month some model validates or tests on)."""
    thin = [stream.at(c) for c in split.train if c not in whole]
    held = sum(stream.at(c)[0] for c in whole)
    return sum(n for n, _ in thin), sum(k for _, k in thin), held


def _log_parts(data: TrainingData) -> None:
    for part in ("train", "valid", "test"):
        rows = data.rows(part)
        log.info("%s: %s rows, %s churners", part, f"{len(rows):,}", f"{int(rows[LABEL].sum()):,}")
    dates = descriptions.dates(data.split.all)
    log.info("%d features over cutoffs %s", len(data.layout.features), dates)


def _evaluated_cutoffs(config: Config, split: TimeSplit) -> list[pd.Timestamp]:
    """The cutoffs whose rows some model is validated or tested on (the split's, the backtest
    folds', the parameter search's): they are held whole, never thinned."""
    label_days = config.churn.lead_days + config.churn.horizon_days
    folds = config.training.backtest_folds
    splits = [split, *backtest_splits(list(split.all), folds, label_days)]
    if config.training.search_seconds > 0:
        splits += selection_splits(split, label_days, max(folds, SEARCH_FOLDS))
    return sorted({c for s in splits for c in (*s.valid, *s.test)})


def training_negative_rate(settings: TrainingSettings, data: TrainingData) -> float:
    """The share of retained training rows to keep: the rate they were thinned at as they
    streamed in, else as `retained_rate` decides for the training rows held."""
    if data.sample is not None:
        return data.sample.rate
    train = data.rows("train")
    churners = int(train[LABEL].sum())
    return retained_rate(settings, len(train), churners, 0, len(data.layout.features))
