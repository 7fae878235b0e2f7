"""Did the lists come true: each earlier at-risk list against what then happened.

A list as of D predicts churn in its horizon; it is graded only once that horizon has passed
in the data (D + lead + horizon <= end of data), with outcomes observed after D alone (the
labels of cutoff D under the configured definition). Per tier, for the contact set and for
the whole list: how many churned against how many the probabilities expected, the precision
(share who churned) and the capture (share of all churners on the list), and a warning when
predicted and actual churn drift apart by more than chance allows.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from models.labels import ChurnDefinition
from models.ranking import TIERS

CONTACT_SET = "contact set"
WHOLE_LIST = "whole list"
GROUPS = (*TIERS, CONTACT_SET, WHOLE_LIST)
DRIFT_Z = 2.58  # beyond chance: outside the 99% interval of the churners the list expected
DRIFT_SHARE = 0.2  # and by more than a fifth of them, so a large list does not flag noise


def gradable(as_of: pd.Timestamp, definition: ChurnDefinition, data_end: pd.Timestamp) -> bool:
    """Whether the list's horizon has passed within the data, so its outcome is known."""
    _, window_end = definition.window(pd.Timestamp(as_of).to_pydatetime())
    return pd.Timestamp(window_end) <= data_end


def horizon_end(as_of: pd.Timestamp, definition: ChurnDefinition) -> dt.datetime:
    """When the list's prediction window closes."""
    return definition.window(pd.Timestamp(as_of).to_pydatetime())[1]


def _grade(part: pd.DataFrame, churners: int) -> dict:
    expected = float(part["churn_probability"].sum())
    churned = int(part["churned"].sum())
    spread = float(np.sqrt((part["churn_probability"] * (1 - part["churn_probability"])).sum()))
    z = (churned - expected) / spread if spread > 0 else 0.0
    apart = abs(z) > DRIFT_Z and abs(churned - expected) > DRIFT_SHARE * max(expected, 1.0)
    return {
        "customers": len(part),
        "expected": expected,
        "churned": churned,
        "predicted_rate": expected / len(part) if len(part) else np.nan,
        "precision": churned / len(part) if len(part) else np.nan,
        "capture": churned / churners if churners else np.nan,
        "z": z,
        "drift": bool(apart),
    }


def grade_list(listed: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per tier, the contact set and the whole list: customers graded, churners
    expected (sum of probabilities) and found, predicted rate, precision, capture, z and
    drift. `listed` has customer_id, churn_probability, risk_tier, contact_first; `outcomes`
    customer_id and churned (0/1) for the customers whose outcome is known (others, e.g.
    those who left during the lead time, are not graded)."""
    graded = listed.merge(outcomes[["customer_id", "churned"]], on="customer_id")
    churners = int(graded["churned"].sum())
    parts = {tier: graded[graded["risk_tier"] == tier] for tier in TIERS}
    parts[CONTACT_SET] = graded[graded["contact_first"].astype(bool)]
    parts[WHOLE_LIST] = graded
    rows = [{"group": name, **_grade(part, churners)} for name, part in parts.items()]
    return pd.DataFrame(rows)


def production_calibration(
    listed: pd.DataFrame, outcomes: pd.DataFrame, bins: int = 10
) -> pd.DataFrame:
    """Predicted against actual churn in equal-size groups of the list by probability (the
    list's calibration in production). Columns: predicted, observed, customers."""
    graded = listed.merge(outcomes[["customer_id", "churned"]], on="customer_id")
    graded = graded.sort_values("churn_probability", kind="stable")
    group = np.arange(len(graded)) * min(bins, max(len(graded), 1)) // max(len(graded), 1)
    table = graded.groupby(group).agg(
        predicted=("churn_probability", "mean"),
        observed=("churned", "mean"),
        customers=("churned", "size"),
    )
    return table.reset_index(drop=True)
