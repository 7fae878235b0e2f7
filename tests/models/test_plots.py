"""Evaluation figures: what each draws, that it renders, and that none stays registered."""

from __future__ import annotations

import gc
import io
import weakref

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.evaluate import calibration_table, metrics_by_group
from models.plots import (
    backtest_figure,
    calibration_figure,
    contributions_figure,
    gains_figure,
    importance_figure,
    lift_figure,
    pr_figure,
    roc_figure,
    score_distribution_figure,
)

ROWS = 2_000


@pytest.fixture(scope="module")
def scored():
    """Labels drawn from a known probability, with a model, a baseline and the truth as curves."""
    rng = np.random.default_rng(11)
    truth = rng.beta(1.5, 6, size=ROWS)
    labels = rng.binomial(1, truth)
    model = np.clip(truth + rng.normal(0, 0.05, size=ROWS), 0, 1)
    baseline = np.clip(truth + rng.normal(0, 0.2, size=ROWS), 0, 1)
    curves = {"model": model, "logistic baseline": baseline, "true probability": truth}
    return labels, curves


@pytest.fixture(scope="module")
def contributions():
    rng = np.random.default_rng(5)
    scale = np.linspace(3.0, 0.1, 30)  # feature f00 moves predictions most, f29 least
    values = rng.normal(0, 1, size=(500, 30)) * scale
    frame = pd.DataFrame(values, columns=[f"f{i:02d}" for i in range(30)])
    # Shuffle the columns so the figure has to find the strongest itself.
    return frame[list(rng.permutation(frame.columns))]


@pytest.fixture(scope="module")
def backtest_table():
    rng = np.random.default_rng(9)
    cutoffs = pd.date_range("2024-01-01", periods=4, freq="MS")
    parts = []
    for cutoff in cutoffs:
        probability = rng.uniform(size=300)
        labels = rng.binomial(1, probability)
        parts.append(pd.DataFrame({"cutoff": cutoff, "churned": labels, "p": probability}))
    return metrics_by_group(pd.concat(parts, ignore_index=True), "cutoff", "churned", "p")


def legend_texts(axes) -> list[str]:
    return [text.get_text() for text in axes.get_legend().get_texts()]


def labels_top_down(axes) -> list[str]:
    """Y tick labels from the highest tick to the lowest."""
    ticks = zip(axes.get_yticks(), [t.get_text() for t in axes.get_yticklabels()], strict=True)
    return [label for _, label in sorted(ticks, reverse=True)]


def assert_labelled(axes) -> None:
    assert axes.get_title()
    assert axes.get_xlabel()


def test_roc_figure_draws_each_curve_and_the_diagonal(scored):
    labels, curves = scored
    figure = roc_figure(labels, curves)
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    assert_labelled(axes)
    assert axes.get_ylabel()
    assert len(axes.get_lines()) == 4
    texts = legend_texts(axes)
    assert len(texts) == 4
    for text, name in zip(texts[:3], curves, strict=True):
        assert text.startswith(name)
        assert "AUC" in text
    assert texts[3].startswith("random")
    # The true probability must out-rank the noisy baseline.
    auc = {
        name: float(text.split("AUC ")[1].rstrip(")"))
        for name, text in zip(curves, texts[:3], strict=True)
    }
    assert auc["true probability"] > auc["logistic baseline"]


def test_pr_figure_marks_the_base_rate(scored):
    labels, curves = scored
    figure = pr_figure(labels, curves)
    (axes,) = figure.axes
    assert_labelled(axes)
    lines = axes.get_lines()
    assert len(lines) == 4
    base = lines[-1]
    assert base.get_linestyle() == "--"
    np.testing.assert_allclose(base.get_ydata(), labels.mean())
    texts = legend_texts(axes)
    assert len(texts) == 4
    assert all("AP" in text for text in texts[:3])
    assert texts[3].startswith("base rate")


def test_gains_figure_runs_from_nothing_to_everyone(scored):
    labels, curves = scored
    figure = gains_figure(labels, curves)
    (axes,) = figure.axes
    assert_labelled(axes)
    lines = axes.get_lines()
    assert len(lines) == 4
    assert len(legend_texts(axes)) == 4
    for line in lines[:3]:
        x, y = line.get_xdata(), line.get_ydata()
        assert (x[0], y[0]) == (0, 0)
        assert (x[-1], y[-1]) == pytest.approx((1, 1))
        assert len(x) == ROWS + 1
        assert np.all(np.diff(y) >= 0)
    # A useful score captures more than its share of churners in the top 10%.
    model_line = lines[0]
    assert model_line.get_ydata()[ROWS // 10] > 0.2


def test_lift_figure_has_a_point_per_decile(scored):
    labels, curves = scored
    figure = lift_figure(labels, curves)
    (axes,) = figure.axes
    assert_labelled(axes)
    assert "decile" in axes.get_xlabel()
    lines = axes.get_lines()
    assert len(lines) == 4
    assert len(legend_texts(axes)) == 4
    for line in lines[:3]:
        lift = line.get_ydata()
        assert len(lift) == 10
        # Equal-sized deciles: their lifts average to exactly 1.
        assert np.mean(lift) == pytest.approx(1.0)
        assert lift[0] > lift[-1]
    np.testing.assert_allclose(lines[3].get_ydata(), 1.0)


def test_lift_figure_by_percentile(scored):
    labels, curves = scored
    figure = lift_figure(labels, {"model": curves["model"]}, bins=100)
    axes = figure.axes[0]
    assert "percentile" in axes.get_xlabel()
    assert len(axes.get_lines()[0].get_ydata()) == 100


def test_calibration_figure_plots_the_calibration_table(scored):
    labels, curves = scored
    figure = calibration_figure(labels, curves)
    (axes,) = figure.axes
    assert_labelled(axes)
    lines = axes.get_lines()
    assert len(lines) == 4
    texts = legend_texts(axes)
    assert len(texts) == 4
    assert all("ECE" in text for text in texts[:3])
    table = calibration_table(labels, curves["model"])
    np.testing.assert_allclose(lines[0].get_xdata(), table["mean_predicted"])
    np.testing.assert_allclose(lines[0].get_ydata(), table["observed_rate"])
    np.testing.assert_allclose(lines[3].get_xdata(), lines[3].get_ydata())


def test_ranking_figures_take_raw_scores_but_calibration_needs_probabilities(scored):
    labels, curves = scored
    # Risk points on a 0-100 scale rank customers exactly as the probability does.
    points = {"health risk points": 100 * curves["true probability"]}
    expected = roc_figure(labels, {"health risk points": curves["true probability"]})
    figure = roc_figure(labels, points)
    assert legend_texts(figure.axes[0])[0] == legend_texts(expected.axes[0])[0]
    for make in (pr_figure, gains_figure, lift_figure):
        assert len(make(labels, points).axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_figure(labels, points)


def test_importance_figure_puts_the_largest_on_top():
    importance = pd.Series(np.arange(1, 41, dtype=float), index=[f"f{i}" for i in range(40)])
    importance = importance.sample(frac=1, random_state=1)
    figure = importance_figure(importance, top=25)
    (axes,) = figure.axes
    assert_labelled(axes)
    bars = axes.patches
    assert len(bars) == 25
    top_bar = max(bars, key=lambda bar: bar.get_y())
    assert top_bar.get_width() == 40.0
    assert min(bar.get_width() for bar in bars) == 16.0
    assert labels_top_down(axes)[:3] == ["f39", "f38", "f37"]


def test_importance_figure_with_fewer_features_than_top():
    figure = importance_figure(pd.Series({"tenure": 3.0, "seats": 1.0}), top=25)
    assert len(figure.axes[0].patches) == 2


def test_contributions_figure_shows_strongest_features_and_direction(contributions):
    figure = contributions_figure(contributions, top=20)
    assert figure.get_suptitle()
    bars, strip = figure.axes
    assert bars.get_title() and bars.get_xlabel() and strip.get_xlabel()
    assert len(bars.patches) == 20
    shown = labels_top_down(bars)
    assert shown[:3] == ["f00", "f01", "f02"]
    assert set(shown) == {f"f{i:02d}" for i in range(20)}
    # Continuous values: every point either raises or lowers risk.
    assert legend_texts(strip) == ["raises churn risk", "lowers churn risk"]
    points = sum(len(collection.get_offsets()) for collection in strip.collections)
    assert points == 500 * 20
    positive = strip.collections[0].get_offsets()[:, 0]
    negative = strip.collections[1].get_offsets()[:, 0]
    assert (positive > 0).all() and (negative < 0).all()


def test_contributions_figure_samples_rows_and_shows_zero_effect():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "tenure": rng.normal(0, 1, size=5_000),
            "seats": rng.normal(0, 0.5, size=5_000),
            "unused": np.zeros(5_000),
        }
    )
    figure = contributions_figure(frame, top=3, max_points=1_000)
    bars, strip = figure.axes
    assert len(bars.patches) == 3
    assert legend_texts(strip) == ["raises churn risk", "lowers churn risk", "no effect"]
    assert sum(len(c.get_offsets()) for c in strip.collections) == 1_000 * 3


def test_backtest_figure_has_both_metrics_on_twin_axes(backtest_table):
    figure = backtest_figure(backtest_table)
    auc_axes, lift_axes = figure.axes
    assert_labelled(auc_axes)
    assert auc_axes.get_xlabel() == "cutoff"
    assert auc_axes.get_ylabel() and lift_axes.get_ylabel()
    assert len(auc_axes.get_lines()) == 1 and len(lift_axes.get_lines()) == 1
    np.testing.assert_allclose(auc_axes.get_lines()[0].get_ydata(), backtest_table["roc_auc"])
    np.testing.assert_allclose(lift_axes.get_lines()[0].get_ydata(), backtest_table["lift_at_10"])
    assert len(legend_texts(auc_axes)) == 2


def all_figures(labels, curves, contributions, backtest_table) -> list[Figure]:
    return [
        roc_figure(labels, curves),
        pr_figure(labels, curves),
        gains_figure(labels, curves),
        lift_figure(labels, curves),
        calibration_figure(labels, curves),
        importance_figure(contributions.abs().mean()),
        contributions_figure(contributions),
        backtest_figure(backtest_table),
    ]


def test_every_figure_renders_on_agg(scored, contributions, backtest_table):
    labels, curves = scored
    for figure in all_figures(labels, curves, contributions, backtest_table):
        assert isinstance(figure.canvas, FigureCanvasAgg)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        assert buffer.getvalue().startswith(b"\x89PNG")


def test_figures_stay_out_of_pyplot_and_are_freed(scored, contributions, backtest_table):
    labels, curves = scored
    before = plt.get_fignums()
    references = []
    for _ in range(50 // 8 + 1):
        for figure in all_figures(labels, curves, contributions, backtest_table):
            references.append(weakref.ref(figure))
        del figure
    assert len(references) >= 50
    assert plt.get_fignums() == before
    gc.collect()
    assert all(reference() is None for reference in references)


def test_backtest_figure_draws_baseline_and_truth_when_measured(backtest_table):
    table = backtest_table.assign(
        logistic_roc_auc=backtest_table["roc_auc"] - 0.01,
        truth_roc_auc=backtest_table["roc_auc"] + 0.05,
    )
    auc_axes, _ = backtest_figure(table).axes
    lines = auc_axes.get_lines()
    assert len(lines) == 3
    np.testing.assert_allclose(lines[1].get_ydata(), table["logistic_roc_auc"])
    np.testing.assert_allclose(lines[2].get_ydata(), table["truth_roc_auc"])
    assert len(legend_texts(auc_axes)) == 4


def test_calibration_figure_labels_the_first_curves_bins_with_their_counts(scored):
    labels, curves = scored
    axes = calibration_figure(labels, curves).axes[0]
    table = calibration_table(labels, curves["model"])
    assert [t.get_text() for t in axes.texts] == [f"{n:,}" for n in table["rows"]]
    assert sum(int(t.get_text().replace(",", "")) for t in axes.texts) == ROWS


def test_calibration_axes_end_just_past_the_largest_point():
    labels = np.array([0, 0, 1, 0, 0, 0, 0, 0, 1, 0])
    probability = np.array([0.02, 0.04, 0.18, 0.05, 0.03, 0.12, 0.08, 0.02, 0.15, 0.01])
    axes = calibration_figure(labels, {"model": probability}).axes[0]
    top = axes.get_xlim()[1]
    observed = calibration_table(labels, probability)["observed_rate"].max()
    assert observed < top < 1.0 and axes.get_ylim()[1] == top


def test_importance_and_contributions_use_the_plain_names_given(contributions):
    names = {f"f{i:02d}": f"feature number {i}" for i in range(30)}
    importance = importance_figure(contributions.abs().mean(), top=3, labels=names)
    assert labels_top_down(importance.axes[0]) == [f"feature number {i}" for i in range(3)]
    bars, _ = contributions_figure(contributions, top=2, labels=names).axes
    assert labels_top_down(bars) == ["feature number 0", "feature number 1"]


def test_score_distribution_draws_tier_lines_with_counts_on_a_log_scale():
    probability = np.r_[np.full(900, 0.02), np.full(80, 0.15), np.full(20, 0.42)]
    axes = score_distribution_figure(probability, tiers={"high": 0.3, "medium": 0.1}).axes[0]
    assert axes.get_yscale() == "log"
    assert 0.42 < axes.get_xlim()[1] <= 0.5
    assert legend_texts(axes) == [
        "medium risk from 0.10 (100 customers at or above)",
        "high risk from 0.30 (20 customers at or above)",
    ]
    heights = [p.get_height() for p in axes.patches]
    assert sum(heights) == 1000
