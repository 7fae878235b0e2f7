"""The training summary in the terminal: rows, the out-of-time comparison, the gaps with their
intervals, the backtest, the promotion; and the evaluation plots the run keeps."""

from __future__ import annotations

from typing import Any

import pandas as pd

from models.subsample import Subsample
from models.verdict import Versus
from pipeline.tracking.descriptions import SCORER_NAMES
from pipeline.train.record import TrainingOutcome


def _rows_line(rows: int, split: Any) -> str:
    return (
        f"rows: {rows:,} customer-months over {len(split.all)} cutoffs "
        f"(train {len(split.train)}, valid {len(split.valid)}, "
        f"test {', '.join(f'{c:%Y-%m-%d}' for c in split.test)})"
    )


def print_training_summary(
    *,
    comparison: pd.DataFrame,
    outcome: TrainingOutcome,
    seconds: dict[str, float],
    rows: int,
    split,
    gaps: dict[str, dict[str, float]] | None = None,
    backtest: pd.DataFrame | None = None,
    versus: Versus | None = None,
    sample: Subsample | None = None,
    brief: bool = False,
    also: list[str] | None = None,
) -> None:
    """The short table `make train` ends with: quality, how sure the gaps to the baselines
    are, stability over time, promotion, timings, where to look. `brief` (cron): only the
    promotion line."""
    verdict = "promoted to" if outcome.promoted else "NOT promoted to"
    promotion = (
        f"model {outcome.name} version {outcome.version} {verdict} "
        f"@{outcome.alias}: {outcome.reason}"
    )
    if brief:
        print(promotion)
        return
    print(_rows_line(rows, split))
    if sample is not None:
        print(sample.line())
    print("out-of-time test:")
    print("\n".join(comparison_lines(comparison)))
    if gaps:
        print(_gaps_line(gaps))
    if backtest is not None and not backtest.empty:
        print(_backtest_line(backtest))
    if versus is not None:
        print(versus.line())
    for line in also or []:
        print(line)
    if outcome.tiers:
        print(outcome.tiers)
    print(promotion)
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
    if outcome.on_server:
        print(f"runs: {outcome.ui}")
    else:
        print(f"runs: {outcome.store}  |  browse: make ui, then {outcome.ui}")


METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "lift_at_10": "lift top 10%",
    "capture_at_10": "capture top 10%",
    "brier": "Brier",
    "ece": "ECE",
}


def comparison_lines(comparison: pd.DataFrame) -> list[str]:
    """The out-of-time comparison as text: one row per scorer in plain words, one header."""
    table = comparison.rename(index=SCORER_NAMES, columns=METRIC_NAMES)
    table.index.name = None
    return table.to_string(float_format=lambda v: f"{v:.3f}").splitlines()


def _gaps_line(gaps: dict[str, dict[str, float]]) -> str:
    return "model ROC AUC minus, 95% paired bootstrap interval: " + "; ".join(
        f"{SCORER_NAMES.get(name, name)} {g['roc_auc_diff']:+.3f} [{g['roc_auc_diff_low']:+.3f}, "
        f"{g['roc_auc_diff_high']:+.3f}]"
        for name, g in gaps.items()
    )


def _backtest_line(backtest: pd.DataFrame) -> str:
    columns = [c for c in ("roc_auc", "logistic_roc_auc", "truth_roc_auc") if c in backtest]
    names = {"roc_auc": "model", "logistic_roc_auc": "logistic", "truth_roc_auc": "truth"}
    return f"backtest ROC AUC ({' / '.join(names[c] for c in columns)}): " + ", ".join(
        f"{row['cutoff']:%Y-%m} " + "/".join(f"{row[c]:.3f}" for c in columns)
        for _, row in backtest.iterrows()
    )
