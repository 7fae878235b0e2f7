"""Contributions by split-direction pattern equal LightGBM's own pred_contrib and raw scores."""

from __future__ import annotations

import logging

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models import contributions as module
from models.calibration import Calibrator
from models.contributions import PatternExplainer
from models.matrix import FeatureLayout
from models.trainer import TrainedModel


def _data(seed: int, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "usage": np.where(rng.random(n) < 0.15, np.nan, rng.gamma(2.0, 3.0, n)),
            "tickets": rng.poisson(0.7, n).astype(float),  # many zeros
            "trend": rng.normal(0, 1, n),
            "plan": pd.Categorical(
                rng.choice(["basic", "pro", "team", None], n), categories=["basic", "pro", "team"]
            ),
        }
    )
    logit = (
        -1.0
        + 0.3 * frame["tickets"]
        - 0.2 * frame["usage"].fillna(0)
        + 0.5 * (frame["plan"] == "basic")
        - frame["trend"]
    )
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


def _booster(params: dict, seed: int = 0, rounds: int = 40) -> tuple[lgb.Booster, pd.DataFrame]:
    frame, y = _data(seed)
    base = {"objective": "binary", "verbosity": -1, "num_leaves": 7, "min_child_samples": 20}
    booster = lgb.train({**base, **params}, lgb.Dataset(frame, y), num_boost_round=rounds)
    return booster, _data(seed + 100)[0]  # score other rows than the training ones


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    out = frame.copy()
    out["plan"] = out["plan"].cat.codes.astype(float).replace(-1, np.nan)
    return out.to_numpy(dtype=float)


@pytest.mark.parametrize(
    "params",
    [
        {},  # NaN as missing
        {"zero_as_missing": True},  # zero and NaN as missing
        {"use_missing": False},  # missing read as zero
        {"num_leaves": 11, "max_cat_to_onehot": 1},  # bigger trees, many-vs-many categoricals
        {"extra_trees": True},  # split points drawn at random (the product's default)
    ],
)
@pytest.mark.parametrize("chunk_rows", [None, 700])  # one chunk; several and a short last one
def test_contributions_and_raw_scores_equal_lightgbms(params, chunk_rows, monkeypatch):
    if chunk_rows is not None:
        monkeypatch.setattr(module, "CHUNK_ROWS", chunk_rows)
    booster, frame = _booster(params)
    matrix = _numeric(frame)
    raw, contributions = PatternExplainer(booster).explain(matrix)
    expected = booster.predict(matrix, pred_contrib=True)
    assert np.allclose(contributions, expected, rtol=0, atol=1e-12)
    assert np.array_equal(raw, booster.predict(matrix, raw_score=True))


def test_best_iteration_limits_the_trees():
    booster, frame = _booster({}, rounds=60)
    matrix = _numeric(frame)
    raw, contributions = PatternExplainer(booster, num_iteration=25).explain(matrix)
    assert np.allclose(
        contributions, booster.predict(matrix, num_iteration=25, pred_contrib=True), atol=1e-12
    )
    assert np.array_equal(raw, booster.predict(matrix, num_iteration=25, raw_score=True))


def test_large_trees_and_disagreements_fall_back_to_pred_contrib(monkeypatch, caplog):
    booster, frame = _booster({"num_leaves": 31, "min_child_samples": 5})
    matrix = _numeric(frame)
    assert not PatternExplainer(booster).usable  # more splits than patterns pay off for
    raw, contributions = PatternExplainer(booster).explain(matrix)
    assert np.allclose(contributions, booster.predict(matrix, pred_contrib=True), atol=1e-12)
    assert np.array_equal(raw, booster.predict(matrix, raw_score=True))

    small, frame = _booster({})
    matrix = _numeric(frame)
    explainer = PatternExplainer(small)
    _, first, _, thresholds, _ = explainer.numeric[0]
    thresholds[0] += 1.0  # a decision LightGBM does not make
    with caplog.at_level(logging.WARNING, logger=module.__name__):
        _, contributions = explainer.explain(matrix)
    assert "disagree" in caplog.text
    assert np.allclose(contributions, small.predict(matrix, pred_contrib=True), atol=1e-12)


def test_trained_model_scores_equal_its_probabilities_and_contributions():
    frame, y = _data(1)
    layout = FeatureLayout.from_frame(frame, list(frame.columns), ["plan"])
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "num_leaves": 7},
        lgb.Dataset(layout.matrix(frame), y),
        num_boost_round=30,
    )
    calibrator = Calibrator("sigmoid").fit(booster.predict(layout.matrix(frame)), y)
    model = TrainedModel(booster, calibrator, layout, {}, best_iteration=20)
    scoring = _data(7)[0]
    scoring["plan"] = scoring["plan"].astype(object).where(scoring["plan"].notna(), "unseen")
    probability, contributions = model.scores(scoring)
    assert np.allclose(probability, model.predict_proba(scoring), rtol=0, atol=1e-15)
    assert np.allclose(contributions, model.contributions(scoring).to_numpy(), rtol=0, atol=1e-12)
