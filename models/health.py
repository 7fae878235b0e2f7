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


def health_risk(frame: pd.DataFrame) -> np.ndarray:
    """A customer-success style rule: risk points (0-100) from recency, engagement trend,
    open tickets and failed payments. Health score = 100 - risk. A signal the exports do not
    have (e.g. no support table) counts as healthy; without engagement events, recency is
    the last paid order's, on a 90-day scale."""

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
    trend = 1 - column(trend_30d, 0.5, 1.5).clip(0, 1.5) / 1.5
    tickets = column(open_tickets, 0, 0).clip(0, 2) / 2
    failed = column(failed_90d, 0, 0).clip(0, 1)
    return (100 * (0.35 * recency + 0.25 * trend + 0.2 * tickets + 0.2 * failed)).to_numpy()
