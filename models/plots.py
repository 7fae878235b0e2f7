"""Evaluation figures for a training run: ranking, calibration, importance and backtest.

Each function builds a standalone `Figure` drawn by the Agg canvas, never through pyplot, so
nightly jobs can make many figures headless without pyplot's global registry holding on to
them. Callers save or log the figure; nothing here shows, saves or closes anything.
The ranking figures (ROC, precision-recall, gains, lift) take any score where higher means
riskier; the calibration figure needs probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import precision_recall_curve, roc_curve

from models.evaluate import (
    calibration_table,
    checked_scores,
    expected_calibration_error,
    labels_by_rank,
    ranking_scores,
)
from models.figures import REFERENCE_STYLE, agg_figure


def single_axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    """A one-axes figure with its title and axis labels set."""
    figure = agg_figure()
    axes = figure.add_subplot()
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return figure, axes


def roc_figure(y_true: ArrayLike, curves: Mapping[str, ArrayLike]) -> Figure:
    """ROC curves of several scores on one axes, AUC in each label, against the random diagonal.

    Lets the model be judged next to its baselines on the same out-of-time rows."""
    figure, axes = single_axes("ROC curve", "false positive rate", "true positive rate")
    for name, score in curves.items():
        labels, scores = checked_scores(y_true, score)
        false_positive, true_positive, _ = roc_curve(labels, scores)
        auc = ranking_scores(labels, scores)["roc_auc"]
        axes.plot(false_positive, true_positive, label=f"{name} (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], label="random (AUC 0.500)", **REFERENCE_STYLE)
    axes.legend(loc="lower right")
    return figure


def pr_figure(y_true: ArrayLike, curves: Mapping[str, ArrayLike]) -> Figure:
    """Precision-recall curves, average precision in each label, base rate as a dashed line.

    With few churners this shows more than ROC: how clean the top of the list is."""
    figure, axes = single_axes("Precision-recall curve", "recall", "precision")
    base_rate = float(np.mean(np.asarray(y_true, dtype=float)))
    for name, score in curves.items():
        labels, scores = checked_scores(y_true, score)
        precision, recall, _ = precision_recall_curve(labels, scores)
        average_precision = ranking_scores(labels, scores)["pr_auc"]
        axes.plot(
            recall, precision, drawstyle="steps-post", label=f"{name} (AP {average_precision:.3f})"
        )
    axes.axhline(base_rate, label=f"base rate ({base_rate:.3f})", **REFERENCE_STYLE)
    axes.set(xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="upper right")
    return figure


def cumulative_capture(ranked: NDArray) -> tuple[NDArray, NDArray]:
    """Share of customers contacted and share of churners captured, from 0 to everyone.

    Raises when there are no churners, since the share captured is then undefined."""
    churners = ranked.sum()
    if churners == 0:
        raise ValueError("cumulative gains need at least one churner")
    contacted = np.arange(ranked.size + 1) / ranked.size
    captured = np.concatenate([[0], np.cumsum(ranked)]) / churners
    return contacted, captured


def gains_figure(y_true: ArrayLike, curves: Mapping[str, ArrayLike]) -> Figure:
    """Cumulative gains: share of churners captured against share of customers contacted.

    Answers "if we call the top x%, how many churners do we reach" for each score."""
    figure, axes = single_axes(
        "Cumulative gains", "share of customers contacted", "share of churners captured"
    )
    for name, score in curves.items():
        contacted, captured = cumulative_capture(labels_by_rank(y_true, score))
        axes.plot(contacted, captured, label=name)
    axes.plot([0, 1], [0, 1], label="random", **REFERENCE_STYLE)
    axes.set(xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="lower right")
    return figure


def lift_by_quantile(ranked: NDArray, bins: int) -> NDArray:
    """Churn rate in each of `bins` near-equal groups, highest risk first, over the base rate."""
    if not 1 <= bins <= ranked.size:
        raise ValueError(f"bins must be between 1 and the {ranked.size} rows, got {bins}")
    base_rate = ranked.mean()
    if base_rate == 0:
        raise ValueError("lift needs at least one churner")
    return np.array([group.mean() for group in np.array_split(ranked, bins)]) / base_rate


def quantile_name(bins: int) -> str:
    """What one of `bins` equal groups is called on an axis label."""
    return {10: "decile", 20: "ventile", 100: "percentile"}.get(bins, f"1/{bins} group")


def lift_figure(y_true: ArrayLike, curves: Mapping[str, ArrayLike], bins: int = 10) -> Figure:
    """Lift in each decile (or other equal group) of predicted risk, random at 1.

    Shows how fast the churn rate falls off down the list, not just at the very top."""
    figure, axes = single_axes(
        "Lift by predicted risk",
        f"{quantile_name(bins)} of predicted risk (1 = highest)",
        "lift over base rate",
    )
    positions = np.arange(1, bins + 1)
    for name, score in curves.items():
        lift = lift_by_quantile(labels_by_rank(y_true, score), bins)
        axes.plot(positions, lift, marker="o", label=name)
    axes.axhline(1.0, label="random", **REFERENCE_STYLE)
    axes.set_xticks(positions)
    axes.legend(loc="upper right")
    return figure


def calibration_figure(
    y_true: ArrayLike, curves: Mapping[str, ArrayLike], bins: int = 10
) -> Figure:
    """Reliability diagram: observed churn rate against mean predicted probability per bin,
    the first curve's points labelled with how many customers each bin holds.

    Points off the diagonal mean the probabilities cannot be read as churn chances; a point
    backed by a handful of customers is noise. Unlike the ranking figures, every curve here
    must be a probability in [0, 1]. The axes end a little above the largest point, since
    churn probabilities rarely come near 1."""
    figure, axes = single_axes("Calibration", "mean predicted probability", "observed churn rate")
    largest, counted = 0.0, next(iter(curves), "")
    for index, (name, probability) in enumerate(curves.items()):
        table = calibration_table(y_true, probability, bins)
        ece = expected_calibration_error(y_true, probability, bins)
        axes.plot(
            table["mean_predicted"],
            table["observed_rate"],
            marker="o",
            label=f"{name} (ECE {ece:.3f})",
        )
        largest = max(largest, table["mean_predicted"].max(), table["observed_rate"].max())
        if index == 0:
            _label_counts(axes, table)
    top = min(1.0, max(0.1, 1.15 * largest))
    axes.plot([0, top], [0, top], label="perfectly calibrated", **REFERENCE_STYLE)
    axes.set(xlim=(0, top), ylim=(0, top))
    axes.legend(loc="upper left", title=f"numbers: customers per bin ({counted})")
    return figure


def _label_counts(axes: Axes, table: pd.DataFrame) -> None:
    for row in table.itertuples():
        axes.annotate(
            f"{row.rows:,}",
            (row.mean_predicted, row.observed_rate),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
        )


def _named(names, labels: Mapping[str, str] | None) -> list[str]:
    return [str((labels or {}).get(name, name)) for name in names]


def importance_figure(
    importance: pd.Series, top: int = 25, *, labels: Mapping[str, str] | None = None
) -> Figure:
    """Horizontal bars of the `top` features by gain importance, largest at the top, each
    named by `labels` (plain words) where given."""
    largest = importance.sort_values(ascending=False).head(top)
    figure = agg_figure(7.0, max(3.0, 0.3 * len(largest) + 1.2))
    axes = figure.add_subplot()
    # barh draws the first bar lowest, so reverse to put the largest on top.
    positions = np.arange(len(largest))[::-1]
    axes.barh(positions, largest.to_numpy(dtype=float))
    axes.set_yticks(positions, _named(largest.index, labels))
    axes.set(title=f"Top {len(largest)} features by gain", xlabel="gain importance", ylabel="")
    return figure


def strongest_features(contributions: pd.DataFrame, top: int) -> pd.Series:
    """Mean absolute contribution of the `top` features that move predictions most."""
    if contributions.shape[1] == 0:
        raise ValueError("contributions have no feature columns")
    return contributions.abs().mean().sort_values(ascending=False).head(top)


def draw_signed_contributions(
    axes: Axes, values: NDArray, positions: NDArray, seed: int = 0
) -> None:
    """Scatter each customer's contribution per feature, coloured by the way it pushes risk."""
    # Vertical jitter separates customers whose contributions are nearly equal.
    jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, size=values.shape)
    heights = positions[np.newaxis, :] + jitter
    groups = (
        (values > 0, "tab:red", "raises churn risk"),
        (values < 0, "tab:blue", "lowers churn risk"),
        (values == 0, "grey", "no effect"),
    )
    for mask, colour, label in groups:
        if mask.any():
            axes.scatter(values[mask], heights[mask], s=4, alpha=0.4, color=colour, label=label)
    axes.axvline(0.0, color="black", linewidth=0.8)


def contributions_figure(
    contributions: pd.DataFrame,
    top: int = 20,
    max_points: int = 2000,
    *,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Which features move churn risk most, and which way: mean |contribution| bars beside a
    strip of each customer's signed contribution (rows = customers, columns = features,
    values = log-odds contributions without the bias column); features named by `labels`."""
    strongest = strongest_features(contributions, top)
    features = list(strongest.index)
    sample = contributions[features]
    if len(sample) > max_points:
        # A fixed sample keeps the strip readable and the figure reproducible.
        sample = sample.sample(max_points, random_state=0)
    figure = agg_figure(11.0, max(3.5, 0.35 * len(features) + 1.5))
    bars, strip = figure.subplots(1, 2, sharey=True, width_ratios=(1, 2))
    positions = np.arange(len(features))[::-1].astype(float)
    bars.barh(positions, strongest.to_numpy(dtype=float))
    bars.set_yticks(positions, _named(features, labels))
    bars.set(title="Mean |contribution|", xlabel="mean |log-odds contribution|")
    draw_signed_contributions(strip, sample.to_numpy(dtype=float), positions)
    strip.set(title="Per customer", xlabel="log-odds contribution")
    strip.legend(loc="lower right", markerscale=3)
    figure.suptitle(f"Top {len(features)} features by contribution to churn risk")
    return figure


def backtest_figure(table: pd.DataFrame, group: str | None = None) -> Figure:
    """ROC AUC and top-10% lift across test cutoffs, on twin axes, from metrics_by_group.

    The x column is `group`, by default the table's first column (the grouping column)."""
    group = group if group is not None else str(table.columns[0])
    figure, axes = single_axes("Backtest across test cutoffs", group, "ROC AUC")
    x = table[group].to_numpy()
    (auc_line,) = axes.plot(x, table["roc_auc"], marker="o", color="tab:blue", label="ROC AUC")
    handles = [auc_line]
    # Baseline and best-achievable AUC per cutoff, when the backtest measured them.
    for column, label, style in (
        ("logistic_roc_auc", "logistic regression AUC", ":"),
        ("truth_roc_auc", "true probability AUC", "--"),
    ):
        if column in table.columns:
            (line,) = axes.plot(x, table[column], linestyle=style, color="tab:gray", label=label)
            handles.append(line)
    lift_axes = axes.twinx()
    (lift_line,) = lift_axes.plot(
        x, table["lift_at_10"], marker="s", color="tab:orange", label="lift in top 10%"
    )
    lift_axes.set_ylabel("lift in top 10%")
    axes.legend(handles=[*handles, lift_line], loc="lower left")
    if pd.api.types.is_datetime64_any_dtype(table[group]):
        # Full dates overlap when several monthly cutoffs sit side by side.
        axes.tick_params(axis="x", labelrotation=30)
    return figure


def score_distribution_figure(
    probability: ArrayLike, bins: int = 40, *, tiers: Mapping[str, float] | None = None
) -> Figure:
    """Histogram of tonight's churn probabilities, with a line at each tier threshold and how
    many customers are at or above it: a shifted shape is the first sign of drift.

    The counts are on a log scale and the x axis ends just past the highest score, so the
    few high-risk customers stay visible beside the many low ones."""
    scores = np.asarray(probability, dtype=float)
    figure, axes = single_axes(
        "Churn probability distribution", "churn probability", "customers (log scale)"
    )
    highest = max([float(scores.max()) if scores.size else 0.0, *(tiers or {}).values()])
    right = min(1.0, np.ceil(highest * 1.05 / 0.05) * 0.05)
    axes.hist(scores, bins=bins, range=(0.0, right))
    axes.set_yscale("log")
    axes.set_xlim(0.0, right)
    for index, (tier, threshold) in enumerate(sorted((tiers or {}).items(), key=lambda t: t[1])):
        above = int((scores >= threshold).sum())
        axes.axvline(
            threshold,
            color=("tab:orange", "tab:red")[min(index, 1)],
            linestyle="--",
            label=f"{tier} risk from {threshold:.2f} ({above:,} customers at or above)",
        )
    if tiers:
        axes.legend(loc="upper right")
    return figure
