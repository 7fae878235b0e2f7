"""Negative subsampling keeps every churner, the expected share of retained rows, and the
probabilities calibrated once the kept retained rows are weighted back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.matrix import FeatureLayout
from models.subsample import (
    MIN_RATE,
    matrix_bytes,
    negative_rate,
    subsample_negatives,
    subsampled_params,
)
from models.trainer import DEFAULT_PARAMS, fit_booster, train_churn_model

LAYOUT = FeatureLayout(("signal", "noise", "plan"), {"plan": ("basic", "pro")})
FAST = {**DEFAULT_PARAMS, "learning_rate": 0.1, "num_leaves": 5, "min_child_samples": 100}


def _customers(n: int, seed: int) -> pd.DataFrame:
    """Churn about 5 % a month, following `signal` and the plan, never `noise`."""
    rng = np.random.default_rng(seed)
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    plan = np.where(rng.random(n) < 0.3, "pro", "basic")
    log_odds = -3.3 + 1.2 * signal - 0.6 * (plan == "pro")
    churned = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype("int8")
    return pd.DataFrame({"signal": signal, "noise": noise, "plan": plan, "churned": churned})


@pytest.fixture(scope="module")
def parts() -> dict[str, pd.DataFrame]:
    return {
        "train": _customers(60_000, 1),
        "valid": _customers(20_000, 2),
        "test": _customers(40_000, 3),
    }


def test_every_churner_and_the_expected_share_of_retained_rows_are_kept(parts):
    train = parts["train"]
    rows, weights, sample = subsample_negatives(train, "churned", 0.3, seed=11)
    churners, retained = train[train["churned"] == 1], train[train["churned"] == 0]
    assert rows.index.isin(churners.index).sum() == len(churners)
    kept_retained = rows.index.isin(retained.index).sum()
    # Each retained row is kept with probability 0.3: a share within 4 standard deviations.
    assert abs(kept_retained / len(retained) - 0.3) < 4 * np.sqrt(0.3 * 0.7 / len(retained))
    assert (sample.rows, sample.kept, sample.churners) == (len(train), len(rows), len(churners))
    # Weighted, the retained rows count as many as before: the class balance is the full one.
    assert np.allclose(weights[rows["churned"].to_numpy() == 1], 1.0)
    assert weights[rows["churned"].to_numpy() == 0].sum() == pytest.approx(len(retained), rel=0.02)


def test_rate_one_keeps_every_row_unweighted(parts):
    rows, weights, sample = subsample_negatives(parts["valid"], "churned", 1.0)
    assert rows is parts["valid"] and (weights == 1).all() and not sample.applied
    assert "all 20,000" in sample.line()


def test_a_rate_outside_zero_to_one_is_a_programming_error(parts):
    with pytest.raises(ValueError, match="rate must be in"):
        subsample_negatives(parts["valid"], "churned", 0.0)


def test_the_rate_fills_the_budget_only_when_the_matrix_would_exceed_it():
    features = 200
    gb = 1024**3
    rows = 10_000_000  # 8e9 bytes (7.45 GB) of float32 at 200 features
    assert matrix_bytes(rows, features) == 8_000_000_000
    assert negative_rate(rows, 300_000, features, memory_gb=10) == 1.0
    rate = negative_rate(rows, 300_000, features, memory_gb=2)
    expected_rows = 300_000 + rate * (rows - 300_000)
    assert matrix_bytes(round(expected_rows), features) == pytest.approx(2 * gb, rel=1e-6)
    # Rows held whole (validation and test months) take their share of the budget first.
    held = 1_000_000
    with_held = negative_rate(rows, 300_000, features, memory_gb=2, held=held)
    expected_rows = held + 300_000 + with_held * (rows - 300_000)
    assert with_held < rate
    assert matrix_bytes(round(expected_rows), features) == pytest.approx(2 * gb, rel=1e-6)
    # A budget below the churners alone: the floor, not an empty model.
    assert negative_rate(rows, 3_000_000, features, memory_gb=0.1) == MIN_RATE


def _mean_probability(parts, rate: float, weighted: bool) -> float:
    rows, weights, _ = subsample_negatives(parts["train"], "churned", rate, seed=5)
    booster = fit_booster(rows, parts["valid"], LAYOUT, FAST, weight=weights if weighted else None)
    test = parts["test"]
    return float(booster.predict(LAYOUT.matrix(test), num_iteration=booster.best_iteration).mean())


def test_weighting_the_kept_retained_rows_keeps_probabilities_calibrated(parts):
    observed = parts["test"]["churned"].mean()
    weighted = _mean_probability(parts, 0.2, weighted=True)
    unweighted = _mean_probability(parts, 0.2, weighted=False)
    # The booster alone, before any calibration: weighted, its mean probability on an
    # untouched split is the churn rate; unweighted, it sees churners five times too often.
    assert abs(weighted - observed) < 0.005, (weighted, observed)
    assert unweighted > 2 * observed, (unweighted, observed)


def test_a_subsampled_model_calibrated_on_whole_validation_rows_matches_the_churn_rate(parts):
    rows, weights, _ = subsample_negatives(parts["train"], "churned", 0.2, seed=5)
    model = train_churn_model(rows, parts["valid"], LAYOUT, params=FAST, weight=weights)
    full = train_churn_model(parts["train"], parts["valid"], LAYOUT, params=FAST)
    test = parts["test"]
    p, p_full = model.predict_proba(test), full.predict_proba(test)
    assert abs(p.mean() - test["churned"].mean()) < 0.005
    assert np.corrcoef(p, p_full)[0, 1] > 0.97  # the same customers rank high


def test_the_float32_matrix_is_read_without_a_copy_and_frames_predict_alike(parts):
    test = parts["test"].head(2_000)
    matrix = LAYOUT.numeric(test, dtype=np.float32)
    assert matrix.dtype == np.float32 and matrix.flags["F_CONTIGUOUS"]
    assert np.allclose(matrix, LAYOUT.numeric(test), equal_nan=True)
    booster = fit_booster(parts["train"], parts["valid"], LAYOUT, FAST)
    # Fitted on codes, the booster still maps a frame's plan names to the training levels.
    assert booster.pandas_categorical == [["basic", "pro"]]
    assert np.allclose(booster.predict(LAYOUT.matrix(test)), booster.predict(matrix))


def test_a_subsample_trains_without_bagging_and_the_whole_data_as_configured():
    assert subsampled_params(FAST, 1.0) is FAST and subsampled_params(None, 1.0) is None
    thinned = subsampled_params(None, 0.3)
    assert thinned["bagging_fraction"] == 1.0 and thinned["bagging_freq"] == 0
    assert {k: v for k, v in thinned.items() if not k.startswith("bagging")} == {
        k: v for k, v in DEFAULT_PARAMS.items() if not k.startswith("bagging")
    }


def test_thinning_to_a_row_cap_keeps_churners_and_the_weighted_balance(parts):
    from models.subsample import thinned_to

    train = parts["train"]
    weight = np.full(len(train), 2.0)  # as if already thinned once at rate 0.5
    rows, weights, share = thinned_to(train, weight, "churned", 20_000, seed=3)
    churned = rows["churned"].to_numpy() == 1
    assert churned.sum() == train["churned"].sum()  # every churner kept, weight unchanged
    assert np.allclose(weights[churned], 2.0)
    assert 0 < share < 1 and abs(len(rows) - 20_000) < 600
    assert np.allclose(weights[~churned], 2.0 / share)
    retained = (train["churned"] == 0).sum()
    assert weights[~churned].sum() == pytest.approx(2.0 * retained, rel=0.02)
    same, same_weights, all_kept = thinned_to(train, weight, "churned", len(train))
    assert same is train and same_weights is weight and all_kept == 1.0
