"""Out-of-time quality of churn probabilities: ranking, calibration and top-of-list yield.

The retention team works down a ranked list, so besides AUC the numbers that matter are how
many churners the top few percent hold (lift, capture, precision) and whether a predicted 30%
really means 30% (log loss, Brier, calibration error).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

LOG_LOSS_EPS = 1e-6  # keeps one confidently wrong row from making the log loss infinite
DEFAULT_COMPARISON = ("roc_auc", "pr_auc", "lift_at_10", "capture_at_10", "brier", "ece")
GROUP_METRICS = ("roc_auc", "lift_at_10", "ece", "base_rate", "rows")


def checked_scores(y_true: ArrayLike, score: ArrayLike) -> tuple[NDArray, NDArray]:
    """Labels as 0/1 integers and finite float scores of the same length, for ranking.

    Fails loudly on bad input rather than returning metrics that quietly mean nothing."""
    labels = np.asarray(y_true).ravel()
    scores = np.asarray(score, dtype=float).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"{labels.size} labels but {scores.size} scores")
    if labels.size == 0:
        raise ValueError("no rows to evaluate")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite")
    return labels.astype(int), scores


def checked_inputs(y_true: ArrayLike, probability: ArrayLike) -> tuple[NDArray, NDArray]:
    """Labels as 0/1 integers and probabilities as floats, checked to lie within [0, 1]."""
    labels, scores = checked_scores(y_true, probability)
    if scores.min() < 0 or scores.max() > 1:
        raise ValueError("probabilities must lie within [0, 1]")
    return labels, scores


def labels_by_rank(y_true: ArrayLike, score: ArrayLike) -> NDArray:
    """Labels ordered from the highest score down, ties kept in input order.

    A stable sort makes top-of-list metrics reproducible when scores tie."""
    labels, scores = checked_scores(y_true, score)
    return labels[np.argsort(-scores, kind="stable")]


def top_count(fraction: float, rows: int) -> int:
    """How many rows the top `fraction` of a list of `rows` holds: ceil(fraction * rows)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    # Rounding first stops float noise (0.07 * 100 = 7.000000000000001) adding a row.
    return max(1, math.ceil(round(fraction * rows, 9)))


def percent_key(fraction: float) -> int:
    """The whole percent that names a top fraction in metric keys (0.1 -> 10)."""
    percent = round(fraction * 100)
    # Keys like lift_at_10 would be ambiguous for fractions that are not whole percents.
    if not math.isclose(percent, fraction * 100, abs_tol=1e-9):
        raise ValueError(f"top fractions must be whole percents, got {fraction}")
    return percent


def ranking_scores(labels: NDArray, scores: NDArray) -> dict[str, float]:
    """ROC AUC and average precision, NaN when only one class is present.

    A single-class test window (e.g. a quiet month) should not crash a backtest."""
    if np.unique(labels).size < 2:
        return {"roc_auc": math.nan, "pr_auc": math.nan}
    return {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
    }


def probability_scores(labels: NDArray, scores: NDArray) -> dict[str, float]:
    """Log loss, Brier score and expected calibration error of the probabilities."""
    clipped = np.clip(scores, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return {
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, scores)),
        "ece": expected_calibration_error(labels, scores),
    }


def top_of_list_scores(
    ranked: NDArray, top_fractions: Iterable[float], top_k: int
) -> dict[str, float]:
    """Lift, capture and precision in each top fraction, and precision in the top `top_k`.

    Lift and capture are NaN without churners, since both divide by how many there are."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    rows = ranked.size
    churners = int(ranked.sum())
    base_rate = churners / rows
    out: dict[str, float] = {}
    for fraction in top_fractions:
        pct = percent_key(fraction)
        count = top_count(fraction, rows)
        found = int(ranked[:count].sum())
        precision = found / count
        out[f"lift_at_{pct}"] = precision / base_rate if churners else math.nan
        out[f"capture_at_{pct}"] = found / churners if churners else math.nan
        out[f"precision_at_{pct}"] = precision
    k = min(top_k, rows)
    out["precision_at_k"] = float(ranked[:k].mean())
    return out


def evaluate_scores(
    y_true: ArrayLike,
    probability: ArrayLike,
    top_fractions: Sequence[float] = (0.05, 0.10, 0.20),
    top_k: int = 100,
) -> dict[str, float]:
    """Out-of-time quality of churn probabilities: ranking, calibration and top-of-list yield.

    Keys: roc_auc, pr_auc, log_loss, brier, ece, base_rate, rows, lift_at_{pct},
    capture_at_{pct}, precision_at_{pct} per top fraction, and precision_at_k."""
    labels, scores = checked_inputs(y_true, probability)
    ranked = labels_by_rank(labels, scores)
    return {
        **ranking_scores(labels, scores),
        **probability_scores(labels, scores),
        "base_rate": float(labels.mean()),
        "rows": float(labels.size),
        **top_of_list_scores(ranked, top_fractions, top_k),
    }


def calibration_table(y_true: ArrayLike, probability: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed churn rate in equal-width bins.

    Only non-empty bins appear. Bins follow scikit-learn's calibration_curve: each is
    (low, high], the first also holding 0."""
    labels, scores = checked_inputs(y_true, probability)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Same binning as calibration_curve, which reports rates but not how many rows back them.
    counts = np.bincount(np.searchsorted(edges[1:-1], scores), minlength=bins)
    filled = np.flatnonzero(counts)
    observed, predicted = calibration_curve(labels, scores, n_bins=bins, strategy="uniform")
    return pd.DataFrame(
        {
            "bin_low": edges[filled],
            "bin_high": edges[filled + 1],
            "mean_predicted": predicted,
            "observed_rate": observed,
            "rows": counts[filled],
        }
    )


def expected_calibration_error(y_true: ArrayLike, probability: ArrayLike, bins: int = 10) -> float:
    """Row-weighted mean gap between predicted and observed churn rate over equal-width bins."""
    table = calibration_table(y_true, probability, bins)
    gaps = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((gaps * table["rows"]).sum() / table["rows"].sum())


def compare_models(
    scores: Mapping[str, Mapping[str, float]],
    metrics: Sequence[str] = DEFAULT_COMPARISON,
) -> pd.DataFrame:
    """One row per model with the chosen metrics: the short table shown after training.

    A metric a model lacks shows as NaN rather than dropping the model."""
    rows = [[row.get(metric, math.nan) for metric in metrics] for row in scores.values()]
    index = pd.Index(list(scores), name="model")
    return pd.DataFrame(rows, index=index, columns=list(metrics), dtype=float)


def metrics_by_group(frame: pd.DataFrame, group: str, label: str, probability: str) -> pd.DataFrame:
    """evaluate_scores per value of `group` (e.g. each test cutoff of a backtest), in order.

    Columns: the group, roc_auc, lift_at_10, ece, base_rate, rows."""
    records = []
    for value, part in frame.groupby(group, sort=True):
        result = evaluate_scores(part[label].to_numpy(), part[probability].to_numpy())
        records.append({group: value, **{m: result[m] for m in GROUP_METRICS}})
    table = pd.DataFrame.from_records(records, columns=[group, *GROUP_METRICS])
    return table.astype({"rows": int})


def _fast_auc(labels: NDArray, scores: NDArray) -> float:
    """ROC AUC from average ranks (ties count half), without sklearn's input checks."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=float)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    return float(
        (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )


class _WeightedAuc:
    """ROC AUC of fixed scores under row weights (ties count half), for bootstrap resamples
    given as counts per row: the rows are sorted and grouped by score once."""

    def __init__(self, labels: NDArray, scores: NDArray):
        self.order = np.argsort(scores, kind="mergesort")
        ordered = scores[self.order]
        self.starts = np.r_[0, np.flatnonzero(np.diff(ordered)) + 1]
        self.positive = labels[self.order] == 1
        self.positive_at = np.flatnonzero(self.positive)
        self.tied = len(self.starts) < len(ordered)

    def __call__(self, weights: NDArray) -> float:
        w = weights[self.order].astype(float)
        if (
            not self.tied
        ):  # each score its own group: a positive ranks above the negatives before it
            positive = w[self.positive_at]
            total_pos = positive.sum()
            total_neg = w.sum() - total_pos
            if total_pos == 0 or total_neg == 0:
                return math.nan
            w[self.positive_at] = 0.0
            below = np.cumsum(w)[self.positive_at]
            return float((positive * below).sum() / (total_pos * total_neg))
        pos = np.add.reduceat(np.where(self.positive, w, 0.0), self.starts)
        neg = np.add.reduceat(np.where(self.positive, 0.0, w), self.starts)
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos == 0 or total_neg == 0:
            return math.nan
        below = np.cumsum(neg) - neg  # negative weight strictly below each score group
        return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def paired_auc_difference(
    y_true: ArrayLike,
    challenger: ArrayLike,
    reference: ArrayLike,
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """ROC AUC of `challenger` minus that of `reference` on the same rows, with a paired
    bootstrap confidence interval: is a gap on one test period more than sampling noise?

    Keys: roc_auc_diff, roc_auc_diff_low, roc_auc_diff_high, share_better (the share of
    bootstrap samples in which the challenger ranks better)."""
    gaps = paired_auc_differences(y_true, challenger, {"reference": reference}, rounds, level, seed)
    return gaps["reference"]


def paired_auc_differences(
    y_true: ArrayLike,
    challenger: ArrayLike,
    references: dict[str, ArrayLike],
    rounds: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """`paired_auc_difference` of `challenger` against each of `references` on the same
    resamples (those one comparison alone draws), the challenger's AUC computed once per
    resample for all of them."""
    labels, a = checked_scores(y_true, challenger)
    others = {name: checked_scores(y_true, b)[1] for name, b in references.items()}
    rng = np.random.default_rng(seed)
    auc_a = _WeightedAuc(labels, a)
    auc_of = {name: _WeightedAuc(labels, b) for name, b in others.items()}
    diffs = {name: np.empty(rounds) for name in others}
    for i in range(rounds):
        # a resample as counts per row: the same AUC as ranking the resampled rows, without
        # sorting them again (the rows' order by score is fixed)
        counts = np.bincount(rng.integers(0, len(labels), len(labels)), minlength=len(labels))
        challenger_auc = auc_a(counts)
        for name, auc_b in auc_of.items():
            diffs[name][i] = challenger_auc - auc_b(counts)
    tail = (1.0 - level) / 2.0
    out = {}
    for name, b in others.items():
        kept = diffs[name][np.isfinite(diffs[name])]
        low, high = np.quantile(kept, [tail, 1.0 - tail]) if len(kept) else (math.nan, math.nan)
        out[name] = {
            "roc_auc_diff": _fast_auc(labels, a) - _fast_auc(labels, b),
            "roc_auc_diff_low": float(low),
            "roc_auc_diff_high": float(high),
            "share_better": float((kept > 0).mean()) if len(kept) else math.nan,
        }
    return out
