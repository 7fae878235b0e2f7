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


def test_the_logistic_baseline_past_its_row_cap_keeps_churners_and_stays_calibrated(monkeypatch):
    import numpy as np

    from models import baselines
    from models.matrix import FeatureLayout

    rng = np.random.default_rng(2)
    n = 40_000
    signal = rng.normal(size=n)
    churned = (rng.random(n) < 1 / (1 + np.exp(-(-3.0 + signal)))).astype(int)
    frame = pd.DataFrame({"signal": signal, "churned": churned})
    layout = FeatureLayout(("signal",), {})
    monkeypatch.setattr(baselines, "MAX_LOGISTIC_ROWS", 5_000)

    model = baselines.fit_logistic(frame, layout)
    p = baselines.predict_logistic(model, frame, layout)
    # thinned to the cap with every churner kept, weighted back: the churn rate, not inflated
    assert churned.sum() > 1_500  # a third of the capped rows are churners, not 5 %
    assert abs(p.mean() - churned.mean()) < 0.01
    assert np.corrcoef(p, signal)[0, 1] > 0.9
