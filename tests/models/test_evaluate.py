"""Evaluation metrics against cases worked out by hand, plus a few statistical sanity checks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from models.evaluate import (
    DEFAULT_COMPARISON,
    calibration_table,
    compare_models,
    evaluate_scores,
    expected_calibration_error,
    labels_by_rank,
    metrics_by_group,
    paired_auc_difference,
    top_count,
)

# Ten customers; ranked by probability the labels read 1 0 1 0 0 1 0 0 0 0 (3 churners).
# Stored out of order so the ranking step has work to do.
TEN_PROBABILITY = np.array([0.3, 0.9, 0.5, 0.05, 0.7, 0.1, 0.8, 0.4, 0.6, 0.2])
TEN_LABELS = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0])


def test_ranks_labels_by_probability_descending():
    assert labels_by_rank(TEN_LABELS, TEN_PROBABILITY).tolist() == [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]


def test_ranks_raw_scores_but_evaluates_only_probabilities():
    points = 100 * TEN_PROBABILITY
    assert labels_by_rank(TEN_LABELS, points).tolist() == [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluate_scores(TEN_LABELS, points)


def test_lift_capture_precision_at_10_and_20_percent_by_hand():
    result = evaluate_scores(TEN_LABELS, TEN_PROBABILITY)
    assert result["rows"] == 10
    assert result["base_rate"] == pytest.approx(0.3)
    # Top 10% is one row (a churner): precision 1, lift 1 / 0.3, one of three churners found.
    assert result["precision_at_10"] == pytest.approx(1.0)
    assert result["lift_at_10"] == pytest.approx(1 / 0.3)
    assert result["capture_at_10"] == pytest.approx(1 / 3)
    # Top 20% is two rows (1, 0).
    assert result["precision_at_20"] == pytest.approx(0.5)
    assert result["lift_at_20"] == pytest.approx(0.5 / 0.3)
    assert result["capture_at_20"] == pytest.approx(1 / 3)
    # Top 5% is ceil(0.5) = 1 row, the same churner.
    assert result["precision_at_5"] == pytest.approx(1.0)
    assert result["capture_at_5"] == pytest.approx(1 / 3)


def test_precision_at_k_uses_the_top_k_and_caps_k_at_the_row_count():
    assert evaluate_scores(TEN_LABELS, TEN_PROBABILITY, top_k=3)["precision_at_k"] == (
        pytest.approx(2 / 3)
    )
    assert evaluate_scores(TEN_LABELS, TEN_PROBABILITY, top_k=4)["precision_at_k"] == (
        pytest.approx(0.5)
    )
    # k = min(100, 10): the whole list, so precision is the base rate.
    assert evaluate_scores(TEN_LABELS, TEN_PROBABILITY)["precision_at_k"] == pytest.approx(0.3)


def test_keys_are_exactly_the_documented_ones():
    result = evaluate_scores(TEN_LABELS, TEN_PROBABILITY)
    expected = {"roc_auc", "pr_auc", "log_loss", "brier", "ece", "base_rate", "rows"}
    expected |= {f"{m}_at_{p}" for m in ("lift", "capture", "precision") for p in (5, 10, 20)}
    expected |= {"precision_at_k"}
    assert set(result) == expected
    assert all(isinstance(value, float) for value in result.values())


def test_custom_fractions_name_keys_by_whole_percent():
    result = evaluate_scores(TEN_LABELS, TEN_PROBABILITY, top_fractions=(0.3, 0.5))
    assert result["precision_at_30"] == pytest.approx(2 / 3)
    assert result["capture_at_50"] == pytest.approx(2 / 3)
    assert "lift_at_10" not in result
    with pytest.raises(ValueError, match="whole percents"):
        evaluate_scores(TEN_LABELS, TEN_PROBABILITY, top_fractions=(0.025,))


def test_top_count_is_ceiling_without_float_noise():
    assert top_count(0.1, 15) == 2  # ceil(1.5)
    assert top_count(0.05, 10) == 1  # ceil(0.5)
    assert top_count(0.2, 10) == 2
    assert top_count(0.07, 100) == 7  # 0.07 * 100 is 7.000000000000001 in floating point
    assert top_count(1.0, 10) == 10
    with pytest.raises(ValueError):
        top_count(0.0, 10)


def test_top_fraction_count_rounds_up():
    # 15 rows: the top 10% is ceil(1.5) = 2 rows, a churner then a non-churner.
    probability = np.linspace(0.95, 0.25, 15)
    labels = np.zeros(15, dtype=int)
    labels[[0, 5, 9]] = 1
    result = evaluate_scores(labels, probability)
    assert result["precision_at_10"] == pytest.approx(0.5)
    assert result["capture_at_10"] == pytest.approx(1 / 3)


def test_tied_probabilities_keep_input_order():
    probability = np.full(10, 0.5)
    first_churns = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    second_churns = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    assert evaluate_scores(first_churns, probability)["precision_at_10"] == 1.0
    assert evaluate_scores(second_churns, probability)["precision_at_10"] == 0.0
    assert evaluate_scores(second_churns, probability)["precision_at_20"] == 0.5
    # The same inputs always give the same answer.
    assert evaluate_scores(second_churns, probability) == evaluate_scores(
        second_churns, probability
    )


def test_perfect_ranking():
    # 100 customers, the 20 churners all scored above every non-churner.
    probability = np.linspace(0.99, 0.01, 100)
    labels = np.r_[np.ones(20, dtype=int), np.zeros(80, dtype=int)]
    result = evaluate_scores(labels, probability)
    assert result["roc_auc"] == 1.0
    assert result["pr_auc"] == pytest.approx(1.0)
    assert result["capture_at_20"] == 1.0
    assert result["capture_at_10"] == pytest.approx(0.5)
    assert result["lift_at_20"] == pytest.approx(5.0)
    assert result["precision_at_20"] == 1.0


def test_random_scores_rank_no_better_than_chance():
    rng = np.random.default_rng(20240630)
    labels = rng.binomial(1, 0.2, size=20_000)
    result = evaluate_scores(labels, rng.uniform(size=20_000))
    assert result["roc_auc"] == pytest.approx(0.5, abs=0.02)
    assert result["lift_at_10"] == pytest.approx(1.0, abs=0.15)
    assert result["capture_at_20"] == pytest.approx(0.2, abs=0.03)
    assert result["base_rate"] == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_nan_ranking_metrics_without_raising(label):
    labels = np.full(50, label)
    probability = np.linspace(0.05, 0.95, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate_scores(labels, probability)
    assert math.isnan(result["roc_auc"])
    assert math.isnan(result["pr_auc"])
    assert math.isfinite(result["log_loss"])
    assert math.isfinite(result["brier"])
    assert result["base_rate"] == float(label)
    assert result["precision_at_10"] == float(label)
    if label == 0:
        # Lift and capture divide by the number of churners.
        assert math.isnan(result["lift_at_10"])
        assert math.isnan(result["capture_at_10"])
    else:
        assert result["lift_at_10"] == 1.0
        assert result["capture_at_10"] == pytest.approx(0.1)


# Six customers in three occupied bins:
#   [0.1, 0.2): p 0.15, 0.15; labels 0, 1 -> observed 0.5, gap 0.35
#   [0.3, 0.4): p 0.35; label 0          -> observed 0.0, gap 0.35
#   [0.8, 0.9): p 0.85 x3; labels 1 1 0  -> observed 2/3, gap 0.85 - 2/3
# ECE = (2 * 0.35 + 1 * 0.35 + 3 * (0.85 - 2/3)) / 6 = 1.6 / 6
SIX_PROBABILITY = np.array([0.15, 0.15, 0.85, 0.85, 0.85, 0.35])
SIX_LABELS = np.array([0, 1, 1, 1, 0, 0])


def test_calibration_table_by_hand():
    table = calibration_table(SIX_LABELS, SIX_PROBABILITY)
    assert list(table.columns) == ["bin_low", "bin_high", "mean_predicted", "observed_rate", "rows"]
    np.testing.assert_allclose(table["bin_low"], [0.1, 0.3, 0.8])
    np.testing.assert_allclose(table["bin_high"], [0.2, 0.4, 0.9])
    np.testing.assert_allclose(table["mean_predicted"], [0.15, 0.35, 0.85])
    np.testing.assert_allclose(table["observed_rate"], [0.5, 0.0, 2 / 3])
    assert table["rows"].tolist() == [2, 1, 3]


def test_ece_by_hand():
    assert expected_calibration_error(SIX_LABELS, SIX_PROBABILITY) == pytest.approx(1.6 / 6)
    assert evaluate_scores(SIX_LABELS, SIX_PROBABILITY)["ece"] == pytest.approx(1.6 / 6)


def test_ece_is_zero_when_each_bin_matches_its_rate():
    probability = np.array([0.25] * 4 + [0.75] * 4)
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(labels, probability) == pytest.approx(0.0)


def test_brier_and_log_loss_by_hand():
    result = evaluate_scores(SIX_LABELS, SIX_PROBABILITY)
    brier = np.mean((SIX_PROBABILITY - SIX_LABELS) ** 2)
    assert result["brier"] == pytest.approx(brier)
    assert result["brier"] == pytest.approx(1.635 / 6)
    log_loss = -np.mean(
        SIX_LABELS * np.log(SIX_PROBABILITY) + (1 - SIX_LABELS) * np.log(1 - SIX_PROBABILITY)
    )
    assert result["log_loss"] == pytest.approx(log_loss)


def test_log_loss_is_clipped_but_brier_is_not():
    result = evaluate_scores(np.array([1, 0]), np.array([0.0, 0.0]))
    expected = -(math.log(1e-6) + math.log(1 - 1e-6)) / 2
    assert result["log_loss"] == pytest.approx(expected)
    assert result["brier"] == pytest.approx(0.5)


def test_calibration_table_matches_sklearn_and_counts_every_row():
    rng = np.random.default_rng(7)
    probability = rng.beta(2, 5, size=3_000)
    labels = rng.binomial(1, probability)
    for bins in (10, 7):
        table = calibration_table(labels, probability, bins=bins)
        observed, predicted = calibration_curve(labels, probability, n_bins=bins)
        assert table["rows"].sum() == 3_000
        assert (table["rows"] > 0).all()
        np.testing.assert_allclose(table["observed_rate"], observed)
        np.testing.assert_allclose(table["mean_predicted"], predicted)
        assert (
            (table["mean_predicted"] >= table["bin_low"])
            & (table["mean_predicted"] <= table["bin_high"])
        ).all()


def test_calibration_bins_hold_their_upper_edge_and_zero():
    table = calibration_table(np.array([0, 1, 0, 1]), np.array([0.0, 0.1, 0.95, 1.0]))
    assert table["bin_low"].tolist() == pytest.approx([0.0, 0.9])
    assert table["rows"].tolist() == [2, 2]


@pytest.mark.parametrize(
    ("labels", "probability"),
    [
        ([0, 1, 1], [0.2, 0.5]),
        ([0, 1], [0.2, 1.5]),
        ([0, 1], [0.2, float("nan")]),
        ([0, 2], [0.2, 0.5]),
        ([], []),
    ],
)
def test_bad_inputs_raise(labels, probability):
    with pytest.raises(ValueError):
        evaluate_scores(labels, probability)


def test_accepts_pandas_and_boolean_labels():
    labels = pd.Series(TEN_LABELS.astype(bool))
    result = evaluate_scores(labels, pd.Series(TEN_PROBABILITY))
    assert result == evaluate_scores(TEN_LABELS, TEN_PROBABILITY)


def test_compare_models_shape_and_columns():
    scores = {
        "lightgbm": evaluate_scores(TEN_LABELS, TEN_PROBABILITY),
        "logistic": evaluate_scores(SIX_LABELS, SIX_PROBABILITY),
        "health score": {"roc_auc": 0.61},
    }
    table = compare_models(scores)
    assert table.shape == (3, 6)
    assert list(table.columns) == list(DEFAULT_COMPARISON)
    assert list(table.index) == ["lightgbm", "logistic", "health score"]
    assert table.loc["logistic", "ece"] == pytest.approx(1.6 / 6)
    assert table.loc["health score", "roc_auc"] == 0.61
    assert table.loc["health score"].drop("roc_auc").isna().all()

    narrow = compare_models(scores, metrics=("roc_auc", "rows"))
    assert narrow.shape == (3, 2)
    assert narrow.loc["lightgbm", "rows"] == 10


def test_metrics_by_group_evaluates_each_cutoff_in_order():
    rng = np.random.default_rng(3)
    cutoffs = pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"])
    parts = []
    for i, cutoff in enumerate(cutoffs):
        probability = rng.uniform(size=200)
        # The last cutoff has no churners at all.
        labels = rng.binomial(1, probability) if i < 2 else np.zeros(200, dtype=int)
        parts.append(pd.DataFrame({"cutoff": cutoff, "churned": labels, "p": probability}))
    frame = pd.concat(parts, ignore_index=True)

    table = metrics_by_group(frame, "cutoff", "churned", "p")

    assert list(table.columns) == ["cutoff", "roc_auc", "lift_at_10", "ece", "base_rate", "rows"]
    assert list(table["cutoff"]) == sorted(cutoffs)
    assert table["rows"].tolist() == [200, 200, 200]
    first = frame[frame["cutoff"] == cutoffs[1]]
    expected = evaluate_scores(first["churned"], first["p"])
    assert table.loc[0, "roc_auc"] == pytest.approx(expected["roc_auc"])
    assert table.loc[0, "lift_at_10"] == pytest.approx(expected["lift_at_10"])
    assert table.loc[0, "ece"] == pytest.approx(expected["ece"])
    no_churn = table[table["cutoff"] == cutoffs[2]].iloc[0]
    assert math.isnan(no_churn["roc_auc"])
    assert no_churn["base_rate"] == 0.0


def test_paired_auc_difference_point_estimate_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    y = rng.binomial(1, 0.2, 2_000)
    a = np.round(y * 0.6 + rng.uniform(size=2_000), 1)  # rounded: many ties
    b = rng.uniform(size=2_000)
    gap = paired_auc_difference(y, a, b, rounds=200)
    expected = roc_auc_score(y, a) - roc_auc_score(y, b)
    assert gap["roc_auc_diff"] == pytest.approx(expected, abs=1e-12)
    assert gap["roc_auc_diff_low"] < expected < gap["roc_auc_diff_high"]


def test_paired_auc_difference_separates_a_real_gain_from_noise():
    rng = np.random.default_rng(4)
    y = rng.binomial(1, 0.1, 5_000)
    signal = y + rng.normal(0, 1.0, 5_000)
    better = paired_auc_difference(y, signal, signal + rng.normal(0, 2.0, 5_000), rounds=300)
    assert better["roc_auc_diff_low"] > 0 and better["share_better"] > 0.99
    same = paired_auc_difference(y, signal, signal + rng.normal(0, 0.01, 5_000), rounds=300)
    assert same["roc_auc_diff_low"] < 0 < same["roc_auc_diff_high"]
    identical = paired_auc_difference(y, signal, signal, rounds=50)
    assert identical["roc_auc_diff"] == identical["roc_auc_diff_low"] == 0.0
    assert identical["share_better"] == 0.0


def test_the_bootstrap_by_row_counts_equals_ranking_each_resample():
    """The paired interval weights rows by how often a resample draws them; that must give
    the AUC of the resampled rows themselves, ties included."""
    from models.evaluate import _WeightedAuc, paired_auc_difference

    rng = np.random.default_rng(3)
    labels = (rng.random(3000) < 0.1).astype(int)
    a = np.round(rng.random(3000) + 0.3 * labels, 2)  # many ties
    b = rng.random(3000) + 0.1 * labels
    diffs = []
    draws = np.random.default_rng(0)
    for _ in range(50):
        rows = draws.integers(0, len(labels), len(labels))
        counts = np.bincount(rows, minlength=len(labels))
        expected = roc_auc_score(labels[rows], a[rows])
        assert _WeightedAuc(labels, a)(counts) == pytest.approx(expected, abs=1e-12)
        untied = roc_auc_score(labels[rows], b[rows])  # every score distinct: the other path
        assert _WeightedAuc(labels, b)(counts) == pytest.approx(untied, abs=1e-12)
        diffs.append(expected - untied)
    result = paired_auc_difference(labels, a, b, rounds=50, seed=0)
    low, high = np.quantile(diffs, [0.025, 0.975])
    assert result["roc_auc_diff_low"] == pytest.approx(low, abs=1e-12)
    assert result["roc_auc_diff_high"] == pytest.approx(high, abs=1e-12)


def test_gaps_against_several_scorers_at_once_are_each_pair_alone():
    from models.evaluate import paired_auc_differences

    rng = np.random.default_rng(4)
    y = (rng.random(3_000) < 0.1).astype(int)
    model = y + rng.normal(0, 1.0, 3_000)
    others = {"weak": y + rng.normal(0, 3.0, 3_000), "noise": rng.normal(size=3_000)}
    together = paired_auc_differences(y, model, others, rounds=200, seed=9)
    for name, scores in others.items():
        assert together[name] == paired_auc_difference(y, model, scores, rounds=200, seed=9)
    assert together["noise"]["roc_auc_diff_low"] > together["weak"]["roc_auc_diff_low"] > 0
