"""The rule-based health score a customer-success team would use: risk points from recency,
engagement trend, open tickets and failed payments. A baseline for the model (models/
baselines.py) and an early warning in the report (models/signals.py); plain pandas, so the
report reads it without the baselines' scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd

HEALTH_SIGNALS = (
    "days_since_last_event",
    "activity_trend_30d",
    "open_tickets",
    "failed_payments_90d",
    "days_since_last_purchase",
)
"""The features the health score reads (a test checks each is in the feature catalogue)."""
PURCHASE_RECENCY_DAYS = 90  # without product usage, an order 90 days ago is as bad as it gets


HEALTH_WEIGHTS = {"recency": 0.35, "trend": 0.25, "open_tickets": 0.2, "failed_payments": 0.2}
"""Each rule's share of the 100 risk points."""
HEALTH_TOPICS = {
    "recency": "usage",
    "trend": "usage",
    "open_tickets": "open tickets",
    "failed_payments": "payment problems",
}
"""What each rule's points are about, in the reasons' topics (recency is the last paid
order's, "spend", when the exports have no engagement events)."""


def health_points(frame: pd.DataFrame) -> pd.DataFrame:
    """A customer-success style rule, rule by rule: the risk points (columns HEALTH_WEIGHTS,
    summing to 0-100) from recency, engagement trend, open tickets and failed payments. A
    signal the exports do not have (e.g. no support table) counts as healthy; without
    engagement events, recency is the last paid order's, on a 90-day scale."""

    def column(name: str, missing: float, healthy: float) -> pd.Series:
        if name not in frame.columns:
            return pd.Series(healthy, index=frame.index, dtype=float)
        return frame[name].astype(float).fillna(missing)

    last_event, trend_30d, open_tickets, failed_90d, last_purchase = HEALTH_SIGNALS
    if last_event in frame.columns:
        recency = column(last_event, 90, 0).clip(0, 30) / 30
    else:
        days = PURCHASE_RECENCY_DAYS
        recency = column(last_purchase, days, 0).clip(0, days) / days
    shares = {
        "recency": recency,
        "trend": 1 - column(trend_30d, 0.5, 1.5).clip(0, 1.5) / 1.5,
        "open_tickets": column(open_tickets, 0, 0).clip(0, 2) / 2,
        "failed_payments": column(failed_90d, 0, 0).clip(0, 1),
    }
    return pd.DataFrame({k: 100 * HEALTH_WEIGHTS[k] * v for k, v in shares.items()})


def health_risk(frame: pd.DataFrame) -> np.ndarray:
    """The health score's risk points (0-100) per row: `health_points` summed. Health
    score = 100 - risk."""
    return health_points(frame).sum(axis=1).to_numpy()
