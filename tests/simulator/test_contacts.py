"""The simulated retention team: it follows list-like contact sets with the pipeline's control
draw, logs only whom it reached, and its calls change churn by the true amount it records."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from models.arms import CONTACT, CONTROL
from simulator.contacts import EFFECTS, ContactPolicy
from simulator.history import simulate_history

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
