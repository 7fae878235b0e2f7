"""The simulated retention team: it follows list-like contact sets with the pipeline's control
draw, logs only whom it reached, and its calls change churn by the true amount it records."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from models.arms import CONTACT, CONTROL
from simulator.contacts import EFFECTS, ContactPolicy
from simulator.history import simulate_history, write_history

END = datetime.date(2025, 11, 1)


@pytest.fixture(scope="module")
def world() -> dict[str, pd.DataFrame]:
    policy = ContactPolicy(first_month=4, put_forward=0.08, decided=0.3)
    return simulate_history(customers=2500, months=12, seed=21, end=END, contacts=policy)


def test_without_a_team_the_history_is_unchanged():
    plain = simulate_history(customers=400, months=6, seed=4, end=END)
    team = ContactPolicy(first_month=6)  # never starts within six months
    same = simulate_history(customers=400, months=6, seed=4, end=END, contacts=team)
    for name in plain:
        pd.testing.assert_frame_equal(plain[name], same[name])
    assert same["contacts"].empty


def test_the_log_holds_whom_the_team_reached_and_never_the_control_group(world):
    truth, log = world["truth_contacts"], world["contacts"]
    assert set(truth["contact_arm"]) == {CONTACT, CONTROL}
    control_share = (truth["contact_arm"] == CONTROL).mean()
    assert 0.07 < control_share < 0.13
    logged = set(zip(log["customer_id"], log["contacted_at"].dt.normalize(), strict=True))
    reached = truth[truth["reached"]]
    assert logged == set(zip(reached["customer_id"], reached["month_start"], strict=True))
    assert not (truth["reached"] & (truth["contact_arm"] == CONTROL)).any()
    assert set(log["play"]) <= {*EFFECTS, "customer-success check-in"}


def test_calls_save_only_reached_customers_who_had_not_decided(world):
    truth = world["truth_contacts"]
    acted = truth["reached"] & ~truth["decided"]
    assert not truth.loc[~acted, "saved"].any()
    assert (truth.loc[~acted, "probability"] == truth.loc[~acted, "probability_without_call"]).all()
    lower = truth.loc[acted, "probability"] <= truth.loc[acted, "probability_without_call"]
    assert lower.all() and truth.loc[acted, "saved"].sum() > 0
    # the saved are exactly those whose draw fell between the two probabilities: none churned
    assert not (truth["saved"] & truth["churned"]).any()


def test_a_billing_fix_moves_more_risk_than_a_usage_nudge(world):
    truth = world["truth_contacts"]
    relative = truth["expected_effect"] / truth["probability_without_call"]
    by_play = relative.groupby(truth["play"]).mean()
    assert by_play["billing follow-up"] > 2 * by_play["re-engagement campaign"]


def test_churned_customers_in_the_truth_match_the_customer_table(world):
    truth, customers = world["truth_contacts"], world["customers"].set_index("customer_id")
    churned_at = customers.loc[truth["customer_id"], "churned_at"].to_numpy()
    month_end = (truth["month_start"] + pd.offsets.MonthBegin(1)).to_numpy()
    in_month = (churned_at >= truth["month_start"].to_numpy()) & (churned_at < month_end)
    assert np.array_equal(in_month, truth["churned"].to_numpy())


def test_a_team_following_given_lists_calls_their_contact_sets_with_their_plays():
    plain = simulate_history(customers=600, months=6, seed=5, end=END)
    month = pd.Timestamp("2025-09-01")
    terms = plain["truth_terms"]
    terms = terms[terms["month_start"] == month].set_index("customer_id")
    failed = terms[["failed_recovered", "failed_unrecovered"]].clip(lower=0).sum(axis=1)
    # a billing follow-up for 15 customers with a failed payment and 15 without, then others
    paying, others = failed.index[failed > 0], failed.index[failed == 0]
    active = np.array([*paying[:15], *others[:55]], dtype=object)
    assert len(paying) >= 15
    listed = pd.DataFrame(
        {
            "customer_id": [*active[:60], "C999999"],  # one id the world does not have
            "risk_tier": "high",
            "contact_arm": [CONTACT] * 50 + [CONTROL] * 10 + [CONTACT],
            "suggested_play": ["billing follow-up"] * 30 + ["re-engagement campaign"] * 31,
        }
    )
    listed = pd.concat([listed, pd.DataFrame({"customer_id": active[60:70]})])  # not put forward
    team = ContactPolicy(lists={month: listed}, reach=1.0, decided=0.0)
    world = simulate_history(customers=600, months=6, seed=5, end=END, contacts=team)
    called = world["truth_contacts"]
    assert set(called["month_start"]) == {month}  # no list, no calls, in the other months
    assert called["customer_id"].tolist() == sorted(active[:60])
    arms = dict(zip(listed["customer_id"], listed["contact_arm"], strict=True))
    assert (called["contact_arm"] == called["customer_id"].map(arms)).all()
    assert set(world["contacts"]["customer_id"]) == set(active[:50])  # everyone reached
    plays = dict(zip(listed["customer_id"], listed["suggested_play"], strict=True))
    assert (called["play"] == called["customer_id"].map(plays)).all()
    # a billing follow-up acts on failed payments alone: without one, it removes nothing
    billing = called[(called["play"] == "billing follow-up") & (called["contact_arm"] == CONTACT)]
    moved = billing["probability"] < billing["probability_without_call"]
    assert (moved == (billing["customer_id"].map(failed) > 0).to_numpy()).all()
    assert moved.sum() >= 10 and (~moved).sum() >= 10
    # before the list's month the world is the one without a team
    earlier = world["truth"]["month_start"] < month
    pd.testing.assert_frame_equal(
        world["truth"][earlier].reset_index(drop=True),
        plain["truth"][plain["truth"]["month_start"] < month].reset_index(drop=True),
    )


def test_a_team_that_has_called_nobody_yet_writes_an_empty_log(tmp_path):
    world = simulate_history(
        customers=300, months=4, seed=3, end=END, contacts=ContactPolicy(lists={})
    )
    paths = write_history(world, tmp_path)
    log = pd.read_csv(paths["contacts"])
    assert log.empty and list(log.columns) == [
        "customer_id",
        "contacted_at",
        "play",
        "channel",
        "outcome",
    ]
