"""Ranking, tiers, revenue at risk, reasons and plays on a hand-made population."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from models.explain import top_reasons
from models.plays import suggest_play
from models.ranking import ListSettings, mark_contacts, rank_customers, risk_tier

TEMPLATES = {
    "active_days_30d": "active days in last 30: {value:.0f}, vs {active_days_30_60d:.0f} before",
    "open_tickets": "{value:.0f} support tickets still open",
    "last_nps": "last NPS {value:.0f} ({nps_category})",
    "failed_payments_30d": "{value:.0f} failed payments in the last 30 days",
}


def _population() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "active_days_30d": [2, 20, 15, 1],
            "active_days_30_60d": [14, 20, 15, 3],
            "open_tickets": [0, 2, 0, 0],
            "last_nps": [8, 3, np.nan, 9],
            "nps_category": ["passive", "detractor", None, "promoter"],
            "failed_payments_30d": [0, 0, 1, 0],
            "monthly_revenue": [100.0, 500.0, 50.0, 0.0],
            "is_new_customer": [0, 0, 0, 1],
            "plan": ["pro", "business", "basic", "basic"],
        }
    )
    probability = np.array([0.35, 0.5, 0.12, 0.05])
    contributions = pd.DataFrame(
        {
            "active_days_30d": [0.9, -0.2, 0.1, 0.3],
            "open_tickets": [-0.1, 0.8, 0.0, 0.0],
            "last_nps": [0.0, 0.5, 0.0, -0.2],
            "failed_payments_30d": [0.0, 0.0, 0.7, 0.0],
        }
    )
    return features, probability, contributions


def test_ranked_by_probability_with_tiers_and_horizon_aware_revenue():
    features, p, contrib = _population()
    ranked = rank_customers(
        features,
        p,
        contrib,
        TEMPLATES,
        ["plan"],
        ListSettings(0.3, 0.1, capacity=0, horizon_days=60),
    )
    assert list(ranked["customer_id"]) == ["b", "a", "c", "d"]
    assert list(ranked["rank"]) == [1, 2, 3, 4]
    assert list(ranked["risk_tier"]) == ["high", "high", "medium", "low"]
    assert ranked.set_index("customer_id").loc["b", "revenue_at_risk"] == 0.5 * 500 * 2
    assert list(ranked["plan"]) == ["business", "pro", "basic", "basic"]


def test_reasons_name_what_drives_each_customer_in_words():
    features, p, contrib = _population()
    ranked = rank_customers(features, p, contrib, TEMPLATES, [], ListSettings())
    b = ranked.set_index("customer_id").loc["b"]
    assert b["reason_features"] == ["open_tickets", "last_nps"]  # only risk-raising ones
    assert b["reason_1"] == "2 support tickets still open"
    assert b["reason_2"] == "last NPS 3 (detractor)"
    a = ranked.set_index("customer_id").loc["a"]
    assert a["reason_1"] == "active days in last 30: 2, vs 14 before"


def test_plays_follow_the_reasons_and_segment():
    features, p, contrib = _population()
    plays = rank_customers(features, p, contrib, TEMPLATES, [], ListSettings()).set_index(
        "customer_id"
    )["suggested_play"]
    assert plays["c"] == "billing follow-up"
    assert plays["b"] == "personal call (account manager)"  # top revenue, tickets open
    assert plays["a"] == "re-engagement campaign"
    assert plays["d"] == "onboarding help"
    assert suggest_play({"open_tickets": 1}, ["open_tickets"], False) == "support escalation"


def test_capacity_marks_the_most_revenue_at_risk_first():
    features, p, contrib = _population()
    ranked = rank_customers(features, p, contrib, TEMPLATES, [], ListSettings(capacity=2))
    chosen = ranked[ranked["contact_first"]].sort_values("contact_order")
    assert list(chosen["customer_id"]) == ["b", "a"]
    by_p = mark_contacts(ranked, 1, "probability")
    assert list(by_p.loc[by_p["contact_first"], "customer_id"]) == ["b"]


def test_tiers_at_the_thresholds():
    assert list(risk_tier(np.array([0.3, 0.2999, 0.1, 0.0999]), 0.3, 0.1)) == [
        "high",
        "medium",
        "medium",
        "low",
    ]


def test_reasons_skip_missing_values_gracefully():
    contrib = pd.DataFrame({"last_nps": [0.4]})
    values = pd.DataFrame({"last_nps": [np.nan], "nps_category": [None]})
    [[reason]] = top_reasons(contrib, values, TEMPLATES)
    assert reason["text"] == "last NPS n/a (n/a)"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_ranking_is_a_permutation_sorted_by_probability(probabilities):
    n = len(probabilities)
    features = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(n)], "monthly_revenue": np.linspace(0, 100, n)}
    )
    contrib = pd.DataFrame({"monthly_revenue": np.zeros(n)})
    ranked = rank_customers(
        features, np.array(probabilities), contrib, {}, [], ListSettings(capacity=3)
    )
    assert sorted(ranked["customer_id"]) == sorted(features["customer_id"])
    assert ranked["churn_probability"].is_monotonic_decreasing
    assert ranked["contact_first"].sum() == min(3, n)
