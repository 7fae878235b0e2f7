"""The evaluation plots a training run keeps: scorers and features named in plain words."""

from __future__ import annotations

from features.describe import plain_name
from models import plots
from models.experiment import LABEL, ExperimentResult
from pipeline.tracking.descriptions import SCORER_NAMES


def evaluation_figures(
    result: ExperimentResult, *, value_label: str = "value"
) -> dict[str, object]:
    """Every evaluation plot of a run, by artifact path: scorers in plain words in the
    legends, features by their plain names (`value_label` says what engagement value is)."""
    y = result.test[LABEL].to_numpy()
    curves = {
        SCORER_NAMES[c]: result.test[c].to_numpy()
        for c in ("model", "logistic_regression", "health_score", "true_probability")
        if c in result.test.columns
    }
    names = {f: plain_name(f, value_label) for f in result.model.layout.features}
    figures = {
        "plots/roc.png": plots.roc_figure(y, curves),
        "plots/precision_recall.png": plots.pr_figure(y, curves),
        "plots/cumulative_gains.png": plots.gains_figure(y, curves),
        "plots/lift.png": plots.lift_figure(y, curves),
        "plots/calibration.png": plots.calibration_figure(y, curves),
        "plots/feature_importance_gain.png": plots.importance_figure(
            result.model.importance(), labels=names
        ),
        "plots/feature_contributions.png": plots.contributions_figure(
            result.contributions, labels=names
        ),
    }
    if not result.backtest.empty:
        figures["plots/backtest.png"] = plots.backtest_figure(result.backtest)
    return figures
