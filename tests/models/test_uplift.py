"""Ranking the contact set by who can be saved: the gate, the order it gives, and its grading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.arms import CONTACT, CONTROL
from models.ranking import ListSettings, mark_contacts
from models.uplift import (
    ANY_PLAY,
    RISK,
    UPLIFT,
    ContactRanking,
    choose_ranking,
    ranking_grades,
    ranking_line,
)

BILLING, NUDGE = "billing follow-up", "re-engagement campaign"


def _arm(n: int, churned: int, arm: str, play: str, **columns) -> pd.DataFrame:
    """`n` graded customers of one arm and play, the first `churned` of them churned."""
    return pd.DataFrame(
        {
            "as_of": pd.Timestamp("2026-01-01"),
            "customer_id": [f"{arm[:4]}-{play[:4]}-{i}" for i in range(n)],
            "risk_tier": "high",
            "contact_arm": arm,
            "suggested_play": play,
            "monthly_revenue": 10.0,
            "churned": [1] * churned + [0] * (n - churned),
            "reached": arm == CONTACT,
            **columns,
        }
    )


def _history(control_per_play: int, *, billing_contact_churn: float) -> pd.DataFrame:
    """Two plays, nine contacted per control customer, 40% churn without a call: the billing
    follow-up brings it to `billing_contact_churn`, the nudge changes nothing."""
    n, m = control_per_play, 9 * control_per_play
    return pd.concat(
        [
            _arm(n, round(0.4 * n), CONTROL, BILLING),
            _arm(m, round(billing_contact_churn * m), CONTACT, BILLING),
            _arm(n, round(0.4 * n), CONTROL, NUDGE),
            _arm(m, round(0.4 * m), CONTACT, NUDGE),
        ],
        ignore_index=True,
    )


def test_risk_asked_for_reads_no_history_and_says_it_is_the_default():
    chosen = choose_ranking(pd.DataFrame(), asked=RISK, min_graded=200)
    assert (chosen.used, chosen.effects) == (RISK, {})
    assert ranking_line(chosen.record()) == (
        'contact set ranked by risk: [contact] rank_by = "risk" (the default)'
    )


def test_thin_history_falls_back_to_risk_naming_the_count_it_lacks():
    chosen = choose_ranking(_history(20, billing_contact_churn=0.1), asked=UPLIFT, min_graded=200)
    assert (chosen.asked, chosen.used) == (UPLIFT, RISK)
    assert chosen.reason == "uplift asked for but only 40 graded control customers (need 200)"
    assert chosen.line().startswith("contact set ranked by risk: uplift asked for but only 40")


def test_no_history_at_all_falls_back_to_risk():
    chosen = choose_ranking(pd.DataFrame(), asked=UPLIFT, min_graded=1)
    assert chosen.used == RISK and "only 0 graded control customers (need 1)" in chosen.reason


def test_enough_customers_but_no_saving_beyond_chance_falls_back_to_risk():
    # the billing follow-up removes an eighth of the churn: within what chance allows
    chosen = choose_ranking(_history(150, billing_contact_churn=0.35), asked=UPLIFT, min_graded=200)
    assert chosen.used == RISK
    assert "the calls' saving is not beyond chance yet" in chosen.reason


def test_enough_history_with_a_real_saving_ranks_by_uplift_with_each_plays_effect():
    chosen = choose_ranking(_history(300, billing_contact_churn=0.1), asked=UPLIFT, min_graded=200)
    assert (chosen.asked, chosen.used) == (UPLIFT, UPLIFT)
    effects = chosen.effects
    # the billing follow-up removed three quarters of the churn, the nudge none: the plays
    # differ far beyond their noise, so each keeps most of its own effect
    assert effects[BILLING] > 0.6 and effects[NUDGE] < 0.1
    assert 0 < effects[NUDGE] <= effects[ANY_PLAY] <= effects[BILLING]
    assert "over 600 graded control and 5,400 contacted customers" in chosen.reason
    assert chosen.record()["effects"][BILLING] == round(effects[BILLING], 4)


def _candidates() -> pd.DataFrame:
    """Two customers above the floor: `risky` is likelier to churn and worth more, but their
    play has no effect; `savable`'s play removes half the churn."""
    return pd.DataFrame(
        {
            "rank": [1, 2],
            "customer_id": ["risky", "savable"],
            "churn_probability": [0.6, 0.4],
            "risk_tier": ["high", "high"],
            "revenue_at_risk": [60.0, 40.0],
            "suggested_play": [NUDGE, BILLING],
        }
    )


@pytest.mark.parametrize(
    ("ranking", "first"),
    [
        (ContactRanking(), "risky"),
        (
            ContactRanking(UPLIFT, UPLIFT, "ok", {ANY_PLAY: 0.2, BILLING: 0.5, NUDGE: 0.0}),
            "savable",
        ),
        # asked for but gated back to risk: the effects are not used
        (ContactRanking(UPLIFT, RISK, "thin", {}), "risky"),
    ],
)
def test_under_uplift_a_savable_customer_moves_ahead_of_a_riskier_one(ranking, first):
    settings = ListSettings(capacity=1, contact_ranking=ranking)
    marked = mark_contacts(_candidates(), settings)
    assert marked.loc[marked["contact_first"], "customer_id"].tolist() == [first]


def test_plays_no_graded_list_held_take_the_pooled_effect():
    effects = {ANY_PLAY: 0.3, BILLING: 0.1}
    frame = _candidates().assign(suggested_play=["plan review", BILLING])
    settings = ListSettings(capacity=2, contact_ranking=ContactRanking(UPLIFT, UPLIFT, "", effects))
    marked = mark_contacts(frame, settings)
    # 60 x 0.3 = 18 against 40 x 0.1 = 4
    assert marked.set_index("customer_id")["contact_order"].to_dict() == {"risky": 1, "savable": 2}


def _ordered(first_half: tuple[float, float], rest: tuple[float, float]) -> pd.DataFrame:
    """One list's graded contact set in contact order: in the first half churn is
    `first_half` (control, contact), in the rest `rest`; within each half the arms and the
    churners are shuffled (a seeded draw)."""
    rng = np.random.default_rng(3)
    halves = []
    for start, (control_churn, contact_churn) in ((0, first_half), (1000, rest)):
        half = pd.concat(
            [
                _arm(100, round(100 * control_churn), CONTROL, BILLING),
                _arm(900, round(900 * contact_churn), CONTACT, BILLING),
            ],
            ignore_index=True,
        )
        half["customer_id"] += f"-{start}"
        half["contact_order"] = start + 1 + rng.permutation(len(half))
        halves.append(half)
    return pd.concat(halves, ignore_index=True)


def test_the_grading_sees_an_order_that_puts_who_can_be_saved_first():
    good = ranking_grades(_ordered((0.5, 0.1), (0.3, 0.3)))
    assert good["first"]["difference"] == pytest.approx(0.4)
    assert good["first"]["low"] > 0.3 and good["first"]["high"] < 0.5
    assert good["rest"]["difference"] == pytest.approx(0.0, abs=1e-12)
    assert good["first"]["contact"] == good["rest"]["contact"] == 900
    # the true curve: 720 saves per whole set up to its middle, then flat at 360, against
    # 360 for a random order: the gaps at the tenths average 90 customers
    assert good["qini"] == pytest.approx(90, abs=20)
    bad = ranking_grades(_ordered((0.3, 0.3), (0.5, 0.1)))
    assert bad["qini"] < 0 and bad["saved"] == pytest.approx(good["saved"])


def test_a_contact_set_whose_rest_holds_no_control_customer_is_not_graded():
    graded = _ordered((0.5, 0.1), (0.3, 0.3))
    graded = graded[~((graded["contact_order"] > 1000) & (graded["contact_arm"] == CONTROL))]
    assert ranking_grades(graded) is None
