"""The buy-till-you-die baseline beside the model, for churn defined by silence in purchases
(models/btyd.py): BG/NBD's probability of no order in the horizon, scored on the same test
rows, with the model's ROC AUC gap to it and a verdict in the summary."""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from models.btyd import quiet_probability
from models.evaluate import evaluate_scores, paired_auc_differences
from models.experiment import LABEL, ExperimentResult
from models.labels import ChurnDefinition

BTYD = "buy_till_you_die"


def applies(definition: ChurnDefinition, tables: dict[str, ir.Table]) -> bool:
    """Whether churn is silence in purchases, which BG/NBD predicts."""
    return (
        definition.kind == "inactivity"
        and "purchases" in definition.inactivity_sources
        and "purchases" in tables
    )


def paid_orders(purchases: ir.Table) -> pd.DataFrame:
    """Every paid order's customer and time."""
    paid = purchases.filter(purchases.status == "paid")
    frame = paid.select("customer_id", "timestamp").execute()
    return frame.assign(customer_id=frame["customer_id"].astype(str))


def with_btyd(
    result: ExperimentResult, tables: dict, definition: ChurnDefinition, *, seed: int
) -> ExperimentResult:
    """The result with BG/NBD scored on its test rows beside the other scorers, and the
    model's paired ROC AUC gap to it; unchanged when churn is not silence in purchases."""
    if not applies(definition, tables):
        return result
    test = result.test
    days = definition.lead_days + definition.horizon_days
    score = quiet_probability(paid_orders(tables["purchases"]), test, days)
    test = test.assign(**{BTYD: score})
    y = test[LABEL].to_numpy()
    result.test = test
    result.scores[BTYD] = evaluate_scores(y, score)
    result.gaps |= paired_auc_differences(y, test["model"].to_numpy(), {BTYD: score}, seed=seed)
    return result


def btyd_line(result: ExperimentResult) -> str | None:
    """The verdict against BG/NBD in one line, as the logistic one is said (None: not run)."""
    gap = result.gaps.get(BTYD)
    if gap is None:
        return None
    d, low, high = gap["roc_auc_diff"], gap["roc_auc_diff_low"], gap["roc_auc_diff_high"]
    if low > 0:
        words = "LightGBM beats the buy-till-you-die baseline (BG/NBD P(no order))"
    elif high < 0:
        words = "LightGBM does NOT beat the buy-till-you-die baseline (BG/NBD): it is worse"
    else:
        words = "LightGBM and the buy-till-you-die baseline (BG/NBD) are within noise"
    return f"{words}: ROC AUC {d:+.3f} [{low:+.3f}, {high:+.3f}] on the test months"
