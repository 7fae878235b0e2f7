"""Labelled rows streamed to Parquet and thinned as they are read back are the rows held in
memory and thinned at once: the same training matrix, labels and weights."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features.build import resolve_spec
from features.registry import feature_catalogue
from models.experiment import LABEL
from models.matrix import FeatureLayout
from models.subsample import WEIGHT, NegativeDraw, subsample_negatives, weighted_rows
from pipeline.config import load_config
from pipeline.datasets import LabelledStream, data_span, labelled_features, labelled_queries
from pipeline.train.data import time_split, validated_tables
from simulator import simulate_history, write_history

CONFIG = """
[data]
dir = "exports"
as_of = "2025-11-01"

[tables.purchases]
file = "purchases.csv.gz"

[training]
cutoffs = 8
test_cutoffs = 1
valid_cutoffs = 1
backtest_folds = 0
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> dict:
    """A small simulated history: its tables, split, spec, queries and the rows in memory."""
    root = tmp_path_factory.mktemp("stream")
    write_history(simulate_history(400, 12, seed=5, end=dt.date(2025, 11, 1)), root / "exports")
    (root / "churn.toml").write_text(CONFIG)
    config = load_config(root / "churn.toml")
    tables, _ = validated_tables(config, config.as_of)
    start, end = data_span(tables)
    split = time_split(config, start, end)
    spec = resolve_spec(tables, config.features, config.exports.profile)
    kwargs = {"definition": config.churn, "data_end": end}
    catalogue = feature_catalogue(spec)
    categorical = [f.name for f in catalogue if f.kind == "categorical"]
    frame = labelled_features(tables, list(split.all), spec, **kwargs)
    return {
        "root": root,
        "split": split,
        "frame": frame,
        "features": [f.name for f in catalogue],
        "categorical": categorical,
        # two cutoffs a query, so the rows stream in several files
        "queries": [
            q
            for pair in (split.all[i : i + 2] for i in range(0, len(split.all), 2))
            for q in labelled_queries(tables, list(pair), spec, **kwargs)
        ],
    }


@pytest.fixture(scope="module")
def stream(history: dict, tmp_path_factory) -> LabelledStream:
    """The history's queries streamed once to Parquet; the tests only read it back."""
    split = history["split"]
    parts = {p: getattr(split, p) for p in ("train", "valid", "test")}
    folder = tmp_path_factory.mktemp("streamed")
    return LabelledStream(history["queries"], folder, parts, history["categorical"])


def test_streamed_rows_unthinned_are_the_rows_held_in_memory(history, stream):
    assert len(stream.batches) == len(history["queries"]) > 1
    pd.testing.assert_frame_equal(stream.held(NegativeDraw(1.0)), history["frame"])


def test_counts_and_levels_seen_in_passing_are_those_of_the_frame(history, stream):
    frame, split = history["frame"], history["split"]
    for part, counted in stream.counts().items():
        rows = frame[frame["cutoff"].isin(getattr(split, part))]
        assert counted == (len(rows), int(rows[LABEL].sum()), rows["customer_id"].nunique())
    for cutoff in split.all:
        rows = frame[frame["cutoff"] == cutoff]
        assert stream.at(cutoff) == (len(rows), int(rows[LABEL].sum()))
    assert stream.at(pd.Timestamp("1999-01-01")) == (0, 0)
    train = frame[frame["cutoff"].isin(split.train)]
    expected = FeatureLayout.from_frame(train, history["features"], history["categorical"])
    assert stream.levels() == expected.categories
    assert any(len(levels) > 1 for levels in expected.categories.values())


def test_thinning_as_rows_stream_gives_the_training_matrix_of_thinning_at_once(history, stream):
    frame, split = history["frame"], history["split"]
    layout = FeatureLayout.from_frame(
        frame[frame["cutoff"].isin(split.train)], history["features"], history["categorical"]
    )
    numeric = [f for f in layout.features if f not in layout.categories]
    whole = split.train[-1]  # e.g. a backtest fold's validation month: held whole
    held = stream.held(NegativeDraw(0.4, seed=11), whole=[whole], float32=numeric)
    at_once, weight, sample = subsample_negatives(
        frame[frame["cutoff"].isin(split.train)], LABEL, 0.4, seed=11
    )
    streamed, streamed_weight = weighted_rows(held[held["cutoff"].isin(split.train)])

    assert 0 < sample.kept < sample.rows  # the draw left rows out
    np.testing.assert_array_equal(
        layout.numeric(streamed, dtype=np.float32), layout.numeric(at_once, dtype=np.float32)
    )
    np.testing.assert_array_equal(streamed[LABEL].to_numpy(), at_once[LABEL].to_numpy())
    np.testing.assert_array_equal(streamed_weight, weight)
    # rows left out are not held, except those of the whole month (with weight 0)
    train_held = held[held["cutoff"].isin(split.train)]
    assert len(train_held) < int(frame["cutoff"].isin(split.train).sum())
    assert (train_held["cutoff"] == whole).sum() == (frame["cutoff"] == whole).sum()
    assert set(train_held.loc[train_held[WEIGHT] == 0, "cutoff"]) == {whole}
    # validation and test rows are held whole, weight 1, their values as float32
    for part in ("valid", "test"):
        rows = held[held["cutoff"].isin(getattr(split, part))]
        expected = frame[frame["cutoff"].isin(getattr(split, part))]
        assert (rows[WEIGHT] == 1).all()
        assert rows[numeric].dtypes.eq(np.float32).all()
        pd.testing.assert_frame_equal(
            rows[numeric].reset_index(drop=True),
            expected[numeric].astype(np.float32).reset_index(drop=True),
        )
