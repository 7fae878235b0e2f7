"""What the steps print, and the evaluation figures a training run logs."""

from __future__ import annotations

import sys

import pandas as pd

from features.errors import Problem
from models import plots
from models.experiment import LABEL, ExperimentResult


def print_warnings(problems: list[Problem]) -> None:
    """Tolerated problems in the exports, one line each on stderr."""
    for problem in problems:
        print(f"warning: {problem.line()}", file=sys.stderr)


def evaluation_figures(result: ExperimentResult) -> dict[str, object]:
    """Every evaluation plot of a run, by artifact path."""
    y = result.test[LABEL].to_numpy()
    curves = {
        c: result.test[c].to_numpy()
        for c in ("model", "logistic_regression", "health_score", "true_probability")
        if c in result.test.columns
    }
    figures = {
        "plots/roc.png": plots.roc_figure(y, curves),
        "plots/precision_recall.png": plots.pr_figure(y, curves),
        "plots/cumulative_gains.png": plots.gains_figure(y, curves),
        "plots/lift.png": plots.lift_figure(y, curves),
        "plots/calibration.png": plots.calibration_figure(y, curves),
        "plots/feature_importance_gain.png": plots.importance_figure(result.model.importance()),
        "plots/feature_contributions.png": plots.contributions_figure(result.contributions),
    }
    if not result.backtest.empty:
        figures["plots/backtest.png"] = plots.backtest_figure(result.backtest)
    return figures


def print_training_summary(
    comparison: pd.DataFrame,
    outcome: dict,
    seconds: dict[str, float],
    frame,
    split,
    gaps: dict[str, dict[str, float]] | None = None,
    backtest: pd.DataFrame | None = None,
) -> None:
    """The short table `make train` ends with: quality, how sure the gaps to the baselines
    are, stability over time, promotion, timings, where to look."""
    print(
        f"rows: {len(frame):,} customer-months over {len(split.all)} cutoffs "
        f"(train {len(split.train)}, valid {len(split.valid)}, "
        f"test {', '.join(f'{c:%Y-%m-%d}' for c in split.test)})"
    )
    print("out-of-time test:")
    print(comparison.to_string(float_format=lambda v: f"{v:.3f}"))
    if gaps:
        print(
            "model ROC AUC minus, 95% paired bootstrap interval: "
            + "; ".join(
                f"{name} {g['roc_auc_diff']:+.3f} [{g['roc_auc_diff_low']:+.3f}, "
                f"{g['roc_auc_diff_high']:+.3f}]"
                for name, g in gaps.items()
            )
        )
    if backtest is not None and not backtest.empty:
        columns = [c for c in ("roc_auc", "logistic_roc_auc", "truth_roc_auc") if c in backtest]
        names = {"roc_auc": "model", "logistic_roc_auc": "logistic", "truth_roc_auc": "truth"}
        print(
            f"backtest ROC AUC ({' / '.join(names[c] for c in columns)}): "
            + ", ".join(
                f"{row['cutoff']:%Y-%m} " + "/".join(f"{row[c]:.3f}" for c in columns)
                for _, row in backtest.iterrows()
            )
        )
    verdict = "promoted to" if outcome["promoted"] else "NOT promoted to"
    print(
        f"model {outcome['name']} version {outcome['version']} {verdict} "
        f"@{outcome['alias']}: {outcome['reason']}"
    )
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
    print(f"runs: {outcome['store']}  |  browse: make ui, then {outcome['ui']}")
