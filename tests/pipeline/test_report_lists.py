"""Today's list in the report says what its numbers say for every count: revenue at risk by
tier with what the contact set covers of the high and medium tiers, where it sits by plan tier
by tier, the contact set and plays, and what changed since the earlier list."""

from __future__ import annotations

import pandas as pd

from pipeline.report.lists import at_risk_lines, changes_lines, plays_lines, transitions

T = pd.Timestamp


def _ranked(rows: list[tuple[str, float, bool, str]], play: str = "billing follow-up"):
    """One customer per (tier, revenue at risk, in the contact set, plan)."""
    frame = pd.DataFrame(rows, columns=["risk_tier", "revenue_at_risk", "contact_first", "plan"])
    frame.insert(0, "customer_id", [f"c{i}" for i in range(len(frame))])
    frame["suggested_play"] = [play if t != "low" else "no action" for t in frame["risk_tier"]]
    return frame


MIXED = _ranked(
    [("high", 100.0, True, "A"), ("high", 50.0, True, "B"), ("medium", 30.0, True, "A")]
    + [("medium", 20.0, False, "B"), ("low", 500.0, False, "B"), ("low", 300.0, False, "A")]
    + [("low", 10.0, False, "A")]
)


def test_revenue_at_risk_is_given_by_tier_and_by_plan_within_the_tiers():
    """The contact set holds 180 of the high and medium tiers' 200; the low tier's 810 is
    apart, and so is where it sits (plan B) from where the tiers acted on sit (plan A)."""
    first, second = at_risk_lines(MIXED, "plan", currency="EUR")
    assert first == (
        "4 of 7 customers are at risk (high 2, medium 2); revenue at risk (EUR): high 150, "
        "medium 50 (the contact set covers 90% of these 200), low 810."
    )
    assert second == (
        "Most revenue at risk in the high and medium tiers: plan A (130: high 100, medium 30); "
        "in the low tier: plan B (500)."
    )


def test_revenue_at_risk_when_no_one_or_everyone_is_at_risk():
    low = _ranked([("low", 500.0, False, "B"), ("low", 300.0, False, "A")])
    assert at_risk_lines(low, "plan", currency="EUR") == (
        "None of the 2 customers is at risk (high or medium); revenue at risk (EUR) in the low "
        "tier: 800.",
        "Most revenue at risk in the low tier: plan B (500).",
    )
    everyone = _ranked([("high", 100.0, True, "A"), ("medium", 50.0, True, "A")])
    first, second = at_risk_lines(everyone, "plan", currency="")
    assert first == (
        "All 2 customers are at risk (high 1, medium 1); revenue at risk: high 100, medium 50 "
        "(the contact set covers all 150), low 0."
    )
    assert second == (
        "Most revenue at risk in the high and medium tiers: plan A (150: high 100, medium 50)."
    )


def test_revenue_at_risk_without_a_contact_set_a_plan_or_any_revenue():
    uncalled = MIXED.assign(contact_first=False)
    assert "medium 50 (no contact set), low 810." in at_risk_lines(uncalled, "plan", currency="")[0]
    assert at_risk_lines(MIXED, None, currency="")[1] == (
        "Of all revenue at risk, the high tier holds 15%, the medium tier holds 5%, the low "
        "tier holds 80%."
    )
    free = MIXED.assign(revenue_at_risk=0.0)
    assert at_risk_lines(free, "plan", currency="")[1] == (
        "No customer has revenue at risk (no revenue on record)."
    )
    assert "(the contact set holds 3 customers)" in at_risk_lines(free, "plan", currency="")[0]
    assert plays_lines(free)[0] == "The contact set holds 3 customers; all are below."


def test_plays_lines_for_no_one_some_or_more_than_ten_contacts():
    assert plays_lines(MIXED)[0] == (
        "The contact set holds 3 customers covering 90% of the high and medium tiers' revenue "
        "at risk; all are below."
    )
    one = MIXED.assign(contact_first=[True] + [False] * 6)
    assert plays_lines(one)[0].startswith("The contact set holds 1 customer covering 50% ")
    assert plays_lines(one)[0].endswith("; it is below.")
    many = _ranked([("high", 10.0, True, "A")] * 12)
    assert plays_lines(many)[0].endswith("; the first 10 are below.")
    none = MIXED.assign(contact_first=False)
    assert plays_lines(none)[0] == (
        "No contact set: [scoring] capacity is 0 or no customer is at or above the contact floor."
    )


def test_plays_lines_for_no_one_one_play_or_several_plays_at_risk():
    assert (
        plays_lines(MIXED)[1] == "Every customer at risk (4) gets the same play: billing follow-up."
    )
    mixed = MIXED.assign(suggested_play=["billing follow-up", "NPS follow-up"] * 3 + ["no action"])
    assert plays_lines(mixed)[1] == "Most common play: billing follow-up (2 customers at risk)."
    low = _ranked([("low", 5.0, False, "A")])
    assert plays_lines(low)[1] == "No customer is at risk today: no play to suggest."


def _list(tiers: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(tiers), "risk_tier": list(tiers.values())})


DAY = T("2025-10-01")


def test_changes_when_some_customers_move():
    """c moves up to high, b down to medium; d leaves the list, e joins it."""
    before = _list({"a": "high", "b": "high", "c": "medium", "d": "low"})
    now = _list({"a": "high", "b": "medium", "c": "high", "e": "low"})
    assert changes_lines(transitions(now, before), DAY) == (
        "Since the list of 2025-10-01: 1 customer is newly high risk; 1 of its 2 high-risk "
        "customers left the high tier (still on the list).",
        "1 customer is new to the list; 1 of the earlier list's 4 is not on today's.",
    )


def test_changes_when_nothing_moves():
    both = _list({"a": "high", "b": "high"})
    assert changes_lines(transitions(both, both), DAY)[0].endswith(
        "; all 2 high-risk customers of the earlier list still are."
    )
    same = _list({"a": "high", "b": "low"})
    assert changes_lines(transitions(same, same), DAY) == (
        "Since the list of 2025-10-01: no customer is newly high risk; the one high-risk "
        "customer of the earlier list still is.",
        "No customer is new to the list; every customer on the earlier list is on today's.",
    )


def test_changes_when_every_high_risk_customer_leaves_or_there_was_none():
    before = _list({"a": "high", "b": "high"})
    now = _list({"c": "low"})
    assert changes_lines(transitions(now, before), DAY) == (
        "Since the list of 2025-10-01: no customer is newly high risk; all 2 high-risk "
        "customers of the earlier list left the high tier (all of them gone from the list).",
        "1 customer is new to the list; none of the earlier list's customers is on today's.",
    )
    quiet = _list({"a": "low", "b": "low"})
    rising = _list({"a": "high", "b": "high"})
    first, _ = changes_lines(transitions(rising, quiet), DAY)
    assert first == (
        "Since the list of 2025-10-01: 2 customers are newly high risk; the earlier list had no "
        "high-risk customer."
    )
    some_gone = changes_lines(transitions(_list({"c": "high"}), before.iloc[[0, 1]]), DAY)[0]
    assert "(all of them gone from the list)" in some_gone
    split = changes_lines(transitions(_list({"b": "low"}), before), DAY)[0]
    assert (
        "all 2 high-risk customers of the earlier list left the high tier (1 of them gone" in split
    )
