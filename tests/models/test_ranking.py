"""Ranking, tiers, revenue at risk, reasons, plays, the contact set and the changes since the
previous list, on a hand-made population."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.describe import Risk
from models.plays import PlaySettings
from models.ranking import (
    COLUMNS,
    ListSettings,
    compare_with_previous,
    contact_summary,
    mark_contacts,
    rank_customers,
    risk_tier,
    tier_changes,
)
from models.reason_rules import ReasonRule, ReasonSettings

RULES = {
    "active_days_30d": ReasonRule(
        "active on {value:n:day} of the last 30 (typical customer: {typical:,.0f})",
        Risk("lower"),
        typical=15.0,
    ),
    "open_tickets": ReasonRule("{value:n:support ticket} still open", Risk("higher", than=0)),
    "last_nps": ReasonRule("gave an NPS of {value:.0f} (a detractor)", Risk("lower", than=7)),
    "failed_payments_30d": ReasonRule(
        "{value:n:failed payment} in the last 30 days", Risk("higher", than=0)
    ),
}
TOPICS = {
    "active_days_30d": "usage",
    "open_tickets": "open tickets",
    "last_nps": "nps",
    "failed_payments_30d": "payment problems",
}
REASONS = ReasonSettings(RULES, TOPICS)
PLAYS = PlaySettings()


def _population() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "active_days_30d": [2, 20, 15, 1, 3],
            "open_tickets": [0, 2, 0, 0, 0],
            "last_nps": [8, 3, np.nan, 9, 9],
            "failed_payments_30d": [0, 0, 1, 0, 0],
            "monthly_revenue": [100.0, 500.0, 50.0, 0.0, 900.0],
            "plan": ["pro", "business", "basic", "basic", "pro"],
            "seats": [3.0, 12.0, 1.0, 1.0, 40.0],
        }
    )
    probability = np.array([0.35, 0.5, 0.12, 0.05, 0.11])
    contributions = pd.DataFrame(
        {
            "active_days_30d": [0.9, -0.2, 0.1, 0.3, 0.4],
            "open_tickets": [-0.1, 0.8, 0.0, 0.0, 0.0],
            "last_nps": [0.0, 0.5, 0.0, 0.2, 0.0],
            "failed_payments_30d": [0.0, 0.0, 0.7, 0.0, 0.0],
        }
    )
    return features, probability, contributions


def _rank(settings: ListSettings | None = None, profile=("plan", "seats")) -> pd.DataFrame:
    features, p, contrib = _population()
    return rank_customers(
        features,
        p,
        contrib,
        reasons=REASONS,
        plays=PLAYS,
        settings=settings or ListSettings(),
        profile_columns=list(profile),
    )


def test_ranked_by_probability_with_tiers_horizon_aware_revenue_and_profile_columns():
    ranked = _rank(ListSettings(horizon_days=60))
    assert list(ranked["customer_id"]) == ["b", "a", "c", "e", "d"]
    assert list(ranked["rank"]) == [1, 2, 3, 4, 5]
    assert list(ranked["risk_tier"]) == ["high", "high", "medium", "medium", "low"]
    assert ranked.set_index("customer_id").loc["b", "revenue_at_risk"] == 0.5 * 500 * 2
    assert list(ranked["plan"]) == ["business", "pro", "basic", "pro", "basic"]
    assert list(ranked["seats"]) == [12.0, 3.0, 1.0, 40.0, 1.0]  # numeric profile columns too
    added_later = {"previous_tier", "previous_probability", "new_in_tier", "contact_arm"}
    assert set(COLUMNS) - added_later <= set(ranked)


def test_reasons_name_only_risks_in_words():
    ranked = _rank().set_index("customer_id")
    assert ranked.loc["b", "reason_features"] == ["open_tickets", "last_nps"]
    assert ranked.loc["b", "reason_1"] == "2 support tickets still open"
    assert ranked.loc["b", "reason_2"] == "gave an NPS of 3 (a detractor)"
    assert ranked.loc["a", "reason_1"] == "active on 2 days of the last 30 (typical customer: 15)"
    assert ranked.loc["c", "reason_1"] == "1 failed payment in the last 30 days"
    # d's NPS 9 pushes its score up in this model, but a promoter's NPS is no reason to call
    assert ranked.loc["d", "reason_features"] == ["active_days_30d"]


def test_plays_follow_the_most_urgent_reason_and_the_low_tier_gets_no_action():
    plays = _rank().set_index("customer_id")["suggested_play"]
    assert plays["c"] == "billing follow-up"
    assert plays["b"] == "support escalation"  # open tickets come before the NPS follow-up
    assert plays["a"] == "re-engagement campaign"
    assert plays["d"] == "no action"  # low tier, whatever its reasons


def test_contact_set_takes_the_high_tier_first_then_revenue_at_risk_above_the_floor():
    ranked = _rank(ListSettings(capacity=3))
    chosen = ranked[ranked["contact_first"]].sort_values("contact_order")
    # b and a are high risk; then among the medium tier e has the most revenue at risk
    assert list(chosen["customer_id"]) == ["b", "a", "e"]
    summary = contact_summary(ranked, ListSettings(capacity=3))
    assert summary["high_tier_outside"] == 0 and summary["contacts"] == 3
    by_p = mark_contacts(ranked, ListSettings(capacity=3, capacity_rank_by="probability"))
    assert list(by_p.loc[by_p["contact_first"]].sort_values("contact_order")["customer_id"]) == [
        "b",
        "a",
        "c",
    ]


def test_contact_set_never_reaches_below_the_floor_and_says_who_is_left_out():
    ranked = _rank(ListSettings(capacity=50))
    assert set(ranked.loc[ranked["contact_first"], "customer_id"]) == {"a", "b", "c", "e"}
    tight = ListSettings(capacity=1, contact_floor=0.3)
    few = mark_contacts(ranked, tight)
    assert list(few.loc[few["contact_first"], "customer_id"]) == ["b"]
    summary = contact_summary(few, tight)
    assert summary["high_tier"] == 2 and summary["high_tier_outside"] == 1
    assert not mark_contacts(ranked, ListSettings(capacity=0))["contact_first"].any()


def test_numbers_are_rounded_for_reading_and_tiers_follow_the_shown_probability():
    features = pd.DataFrame({"customer_id": ["x", "y"], "monthly_revenue": [21.600000000000005, 3]})
    ranked = rank_customers(
        features,
        np.array([0.12346, 0.123456789]),
        pd.DataFrame({"monthly_revenue": [0.0, 0.0]}),
        reasons=ReasonSettings({}),
        plays=PLAYS,
        settings=ListSettings(),
        profile_columns=[],
    )
    assert list(ranked["customer_id"]) == ["x", "y"]  # a tie when shown: more revenue first
    assert list(ranked["churn_probability"]) == [0.1235, 0.1235]
    assert ranked.loc[0, "monthly_revenue"] == 21.6
    assert ranked.loc[0, "revenue_at_risk"] == round(0.1235 * 21.6, 2)
    # a probability shown as 0.3000 is in the tier 0.3 starts, never "0.3 but medium"
    edge = rank_customers(
        features,
        np.array([0.29996, 0.09996]),
        pd.DataFrame({"monthly_revenue": [0.0, 0.0]}),
        reasons=ReasonSettings({}),
        plays=PLAYS,
        settings=ListSettings(high_threshold=0.3, medium_threshold=0.1),
        profile_columns=[],
    )
    assert list(edge["risk_tier"]) == ["high", "medium"]


def test_tiers_at_the_thresholds():
    assert list(risk_tier(np.array([0.3, 0.2999, 0.1, 0.0999]), 0.3, 0.1)) == [
        "high",
        "medium",
        "medium",
        "low",
    ]


def test_changes_since_the_previous_list():
    ranked = _rank()
    previous = pd.DataFrame(
        {
            "customer_id": ["a", "c", "gone", "d"],
            "risk_tier": ["medium", "high", "high", "low"],
            "churn_probability": [0.2, 0.4, 0.6, 0.05],
        }
    )
    out = compare_with_previous(ranked, previous).set_index("customer_id")
    assert out.loc["a", "previous_tier"] == "medium" and out.loc["a", "new_in_tier"]
    assert out.loc["b", "previous_tier"] is None and out.loc["b", "new_in_tier"]
    assert out.loc["d", "previous_probability"] == 0.05 and not out.loc["d", "new_in_tier"]
    assert tier_changes(ranked, previous) == {
        "newly_high": 2,  # a (was medium) and b (not listed)
        "left_high": 2,  # c (now medium) and gone (no longer on the list)
        "left_high_not_listed": 1,
        "still_high": 0,
    }
    first = compare_with_previous(ranked, None)
    assert first["new_in_tier"].all() and first["previous_tier"].isna().all()
    assert tier_changes(ranked, None) == {}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.integers(0, 10))
def test_ranking_is_a_permutation_and_the_contact_set_respects_capacity_and_floor(
    probabilities, capacity
):
    n = len(probabilities)
    features = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(n)], "monthly_revenue": np.linspace(0, 100, n)}
    )
    contrib = pd.DataFrame({"monthly_revenue": np.zeros(n)})
    list_settings = ListSettings(capacity=capacity)
    ranked = rank_customers(
        features,
        np.array(probabilities),
        contrib,
        reasons=ReasonSettings({}),
        plays=PLAYS,
        settings=list_settings,
        profile_columns=[],
    )
    assert sorted(ranked["customer_id"]) == sorted(features["customer_id"])
    assert ranked["churn_probability"].is_monotonic_decreasing
    above = (np.array(probabilities) >= 0.1).sum()
    assert ranked["contact_first"].sum() == min(capacity, above)
    high = ranked["risk_tier"] == "high"
    if capacity >= high.sum():
        assert ranked.loc[high, "contact_first"].all()


def test_a_list_worded_in_batches_is_the_list_worded_at_once():
    features, p, contrib = _population()
    features.index = features.index + 10  # rows as a population frame may hold them
    contrib.index = features.index
    whole, batched = (
        rank_customers(
            features,
            p,
            contrib,
            reasons=REASONS,
            plays=PLAYS,
            settings=ListSettings(capacity=2),
            profile_columns=["plan", "seats"],
            batch_rows=size,
        )
        for size in (len(features), 2)
    )
    pd.testing.assert_frame_equal(batched, whole)
    assert batched["reason_1"].ne("").sum() >= 3  # the batches were worded, not left empty


def test_tiers_follow_the_base_rate_unless_fixed_thresholds_are_given():
    from models.ranking import FIXED_TIERS, base_rate_tiers

    high, medium, rule = base_rate_tiers(0.033, None, None)
    odds = 0.033 / 0.967
    assert (high, medium) == (
        round(5 * odds / (1 + 5 * odds), 4),
        round(2 * odds / (1 + 2 * odds), 4),
    )
    assert 0.14 < high < 0.15 and 0.06 < medium < 0.07
    assert "5x and 2x the odds of the base rate 3.3%" in rule
    high, medium, _ = base_rate_tiers(0.363, None, None)  # a shop where a third go quiet
    assert 0.7 < high < 0.75 and 0.5 < medium < 0.55
    assert base_rate_tiers(0.033, 0.4, 0.2)[:2] == (0.4, 0.2)
    assert base_rate_tiers(None, None, None)[:2] == FIXED_TIERS


def test_tier_capture_counts_customers_and_churners_by_tier():
    from models.ranking import tier_capture

    churned = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    p = np.array([0.5, 0.2, 0.01, 0.6, 0.2, 0.01, 0.01, 0.05])
    got = tier_capture(churned, p, high=0.3, medium=0.1)
    assert got["high_capture"] == 0.25  # one of four churners at or above 0.3
    assert got["high_medium_capture"] == 0.5
    assert got["high_medium_share"] == 0.5 and got["high_share"] == 0.25
