"""Saves measured against the control group: the intervals hold their coverage on draws with
a known effect, strata add up, and the months-needed rule follows the interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.arms import CONTACT, CONTROL
from models.saves import OVERALL, lists_needed, measure_saves, rate_difference, wilson


def _graded(rng, *, tiers: dict[str, tuple[int, int, float, float]]) -> pd.DataFrame:
    """Contact sets drawn with known churn rates: per tier (contact n, control n, churn
    without a call, churn with one)."""
    parts = []
    for tier, (n_contact, n_control, base, called) in tiers.items():
        arm = np.array([CONTACT] * n_contact + [CONTROL] * n_control)
        rate = np.where(arm == CONTACT, called, base)
        parts.append(
            pd.DataFrame(
                {
                    "as_of": pd.Timestamp("2026-06-01"),
                    "customer_id": [f"{tier}{i}" for i in range(len(arm))],
                    "risk_tier": tier,
                    "contact_arm": arm,
                    "suggested_play": rng.choice(["billing follow-up", "re-engagement"], len(arm)),
                    "monthly_revenue": 50.0,
                    "churned": (rng.random(len(arm)) < rate).astype(int),
                    "reached": arm == CONTACT,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_wilson_interval_holds_the_rate_and_stays_inside_zero_and_one():
    low, high = wilson(0, 20)
    assert low == 0.0 and 0.1 < high < 0.2
    low, high = wilson(7, 20)
    assert low < 0.35 < high
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_difference_interval_covers_the_true_difference_about_95_in_100_times():
    rng = np.random.default_rng(1)
    covered = 0
    trials = 600
    for _ in range(trials):
        control = int((rng.random(40) < 0.25).sum())
        contact = int((rng.random(360) < 0.15).sum())
        _, low, high = rate_difference((control, 40), (contact, 360))
        covered += low <= 0.10 <= high
    assert 0.92 <= covered / trials <= 0.985


def test_saves_add_up_over_tiers_and_name_every_group():
    rng = np.random.default_rng(2)
    graded = _graded(rng, tiers={"high": (180, 20, 0.40, 0.20), "medium": (270, 30, 0.15, 0.12)})
    measured = measure_saves(graded).set_index("group")
    assert {OVERALL, "high", "medium", "billing follow-up", "re-engagement"} <= set(measured.index)
    total = measured.loc["high", "saved"] + measured.loc["medium", "saved"]
    assert np.isclose(measured.loc[OVERALL, "saved"], total)
    high = graded[graded["risk_tier"] == "high"]
    by_arm = high.groupby("contact_arm")["churned"].mean()
    assert np.isclose(measured.loc["high", "saved"], (by_arm[CONTROL] - by_arm[CONTACT]) * 180)
    row = measured.loc[OVERALL]
    assert row["saved_low"] < row["saved"] < row["saved_high"]
    assert row["contact"] == 450 and row["control"] == 50


def test_customers_not_reached_and_control_customers_contacted_are_counted():
    rng = np.random.default_rng(3)
    graded = _graded(rng, tiers={"high": (90, 10, 0.4, 0.2)})
    graded.loc[graded.index[:7], "reached"] = False  # contact arm, not in the log
    graded.loc[graded.index[-2:], "reached"] = True  # control arm, called anyway
    row = measure_saves(graded).set_index("group").loc[OVERALL]
    assert row["not_reached"] == 7
    assert row["control_contacted"] == 2


def test_lists_needed_follows_the_interval():
    clear = pd.Series({"saved": 30.0, "saved_low": 5.0})
    unclear = pd.Series({"saved": 10.0, "saved_low": -10.0})
    none = pd.Series({"saved": -3.0, "saved_low": -20.0})
    assert lists_needed(clear, 3) == 0
    assert lists_needed(unclear, 3) == 9  # the half-width 20 is twice the effect: 4x lists
    assert lists_needed(none, 3) is None
