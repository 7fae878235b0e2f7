"""The rule-based health score reads what the exports have."""

from __future__ import annotations

import pandas as pd
import pytest

from models.baselines import health_risk


def test_without_engagement_recency_is_the_last_orders_on_a_ninety_day_scale():
    orders = pd.DataFrame({"days_since_last_purchase": [0.0, 45.0, 90.0, 400.0, None]})
    # recency weighs 35 of 100 risk points; no paid order in the lookback is the worst
    assert health_risk(orders).tolist() == pytest.approx([0.0, 17.5, 35.0, 35.0, 35.0])


def test_engagement_recency_wins_when_both_exist():
    both = pd.DataFrame({"days_since_last_event": [30.0], "days_since_last_purchase": [0.0]})
    # no use for 30 days is the worst recency, whatever was bought today
    assert health_risk(both)[0] == pytest.approx(35.0)
