"""What the steps print, and the evaluation figures a training run logs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features.describe import count, plain_name
from features.errors import Problem
from features.ingest import ValidationReport
from models.labels import LABEL
from pipeline.descriptions import SCORER_NAMES

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the train step imports this module; the rest pull in scikit-learn
    from models.experiment import ExperimentResult
    from models.subsample import Subsample
    from models.verdict import Versus
    from pipeline.train import TrainingOutcome


def log_tables(validation: ValidationReport) -> None:
    """With -v: what each export holds (rows, time span, rows for unknown customers)."""
    for name, table in validation.tables.items():
        span = f"{table.first:%Y-%m-%d} to {table.last:%Y-%m-%d}" if table.first else "no dates"
        log.info(
            "%s (%s): %s rows, %s, %s orphans",
            name,
            table.file,
            f"{table.rows:,}",
            span,
            table.orphans,
        )


def print_warnings(problems: list[Problem]) -> None:
    """Tolerated problems in the exports, one line each on stderr."""
    for problem in problems:
        print(f"warning: {problem.line()}", file=sys.stderr)


def evaluation_figures(
    result: ExperimentResult, *, value_label: str = "value"
) -> dict[str, object]:
    """Every evaluation plot of a run, by artifact path: scorers in plain words in the
    legends, features by their plain names (`value_label` says what engagement value is)."""
    # Imported here: the score and report steps print through this module, and the plots
    # import scikit-learn (0.7 s of the report's start on the 2-core machine).
    from models import plots

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
    print(promotion)
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
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


def _contact_line(contact: dict) -> str:
    line = (
        f"contact first: {contact['contacts']:,} of {contact['above_floor']:,} customers at "
        f"or above p={contact['floor']:.2f} (capacity {contact['capacity']:,}), covering "
        f"{contact['share_of_revenue_at_risk']:.0%} of revenue at risk"
    )
    if contact["high_tier_outside"]:
        return line + (
            f"; {contact['high_tier_outside']:,} of {contact['high_tier']:,} high-risk "
            "customers are outside it: the capacity is below the high tier"
        )
    if contact["high_tier"]:
        return line + f"; all {contact['high_tier']:,} high-risk customers are in it"
    return line


def _top_lines(ranked: pd.DataFrame, n: int = 10) -> list[str]:
    lines = [f"top {n}:"]
    for row in ranked.head(n).itertuples():
        lines.append(
            f"  {row.rank:>3}. {row.customer_id:<10} p={row.churn_probability:.2f} "
            f"{row.risk_tier:<6} at risk {row.revenue_at_risk:>10,.2f}  {row.suggested_play}"
        )
        reasons = "; ".join(r for r in (row.reason_1, row.reason_2, row.reason_3) if r)
        lines.append(f"       {reasons or '(no single risk stands out)'}")
    return lines


def scoring_summary_lines(ranked: pd.DataFrame, manifest: dict, folder: Path) -> list[str]:
    """What `churn score` prints: the list in numbers, who to call, what changed, the top 10
    (`ranked` may hold only the top of the list), the files written."""
    tiers, model = manifest["tiers"], manifest["model"]
    lines = [
        f"at-risk list as of {manifest['as_of']} (data through {manifest['latest_event']}, "
        f"{count(manifest['freshness_days'], 'day')} before), model {model['name']} "
        f"v{model['version']}",
        f"customers {manifest['customers']:,}: high {tiers['high']:,}, "
        f"medium {tiers['medium']:,}, low {tiers['low']:,}; revenue at risk "
        f"{manifest['revenue_at_risk']:,.2f} {manifest.get('currency') or ''}".rstrip(),
    ]
    if manifest["contact"]["capacity"]:
        lines.append(_contact_line(manifest["contact"]))
    lines.append("plays: " + ", ".join(f"{k} {v:,}" for k, v in manifest["plays"].items()))
    changes = manifest["changes"]
    if changes.get("previous_as_of"):
        lines.append(
            f"since the list of {changes['previous_as_of']}: {changes['newly_high']:,} customers "
            f"newly high risk, {changes['left_high']:,} left high risk "
            f"({changes['left_high_not_listed']:,} of them no longer on the list)"
        )
    if manifest["drifted_features"]:
        lines.append(
            f"drift: {len(manifest['drifted_features'])} features beyond the PSI threshold: "
            + ", ".join(list(manifest["drifted_features"])[:5])
        )
    lines += _top_lines(ranked)
    written = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json")
    lines.append(f"written: {folder}/" + ", ".join([*written, "manifest.json"]))
    return lines


def print_scoring_summary(
    ranked: pd.DataFrame,
    manifest: dict,
    folder: Path,
    *,
    seconds: dict[str, float],
    brief: bool = False,
) -> None:
    """The summary `churn score` ends with, and the time per stage; `brief` (cron): one line."""
    if brief:
        tiers = manifest["tiers"]
        print(
            f"list as of {manifest['as_of']}: {manifest['customers']:,} customers (high "
            f"{tiers['high']:,}, medium {tiers['medium']:,}) written to {folder}"
        )
        return
    print("\n".join(scoring_summary_lines(ranked, manifest, folder)))
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
