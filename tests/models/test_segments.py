"""Which groups churn materially more often than the rest, with confidence (models/segments.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.segments import risk_ratio, segment_risks


def _rows(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Customer-months per plan: (rows, churners)."""
    plans, churned = [], []
    for plan, (rows, churners) in groups.items():
        plans += [plan] * rows
        churned += [1] * churners + [0] * (rows - churners)
    return pd.DataFrame({"plan": plans, "churned": churned})


def test_the_risk_ratio_and_its_interval_by_hand():
    stats = risk_ratio(30, 300, 60, 1800)  # 10% against 3.33%
    assert math.isclose(stats["ratio"], 3.0)
    se = math.sqrt(1 / 30 - 1 / 300 + 1 / 60 - 1 / 1800)
    assert math.isclose(stats["low"], 3.0 * math.exp(-1.959964 * se))
    assert math.isclose(stats["high"], 3.0 * math.exp(1.959964 * se))


def test_a_plan_churning_a_little_more_is_no_risky_group():
    # the sample's "basic (a higher-risk plan)": 3.5% against 3.3% tells the team nothing
    frame = _rows({"basic": (10_000, 350), "pro": (8_000, 264), "business": (2_000, 66)})
    risks = segment_risks(frame, ["plan"], [], "churned")
    assert risks["plan"]["levels"] == {}


def test_a_plan_churning_twice_as_often_with_confidence_is_one():
    frame = _rows({"basic": (3_000, 210), "pro": (6_000, 180), "business": (1_000, 30)})
    levels = segment_risks(frame, ["plan"], [], "churned")["plan"]["levels"]
    assert list(levels) == ["basic"]
    assert levels["basic"]["ratio"] > 2 and levels["basic"]["low"] > 1


def test_a_small_group_is_never_sure_enough():
    # 2 churners of 10: a 20% rate, but an interval that holds 1
    frame = _rows({"trial": (10, 2), "pro": (5_000, 150)})
    assert segment_risks(frame, ["plan"], [], "churned")["plan"]["levels"] == {}


def test_weights_restore_thinned_retained_rows():
    # retained rows kept at rate 0.5 and weighted 2: the rates are the unthinned ones
    frame = _rows({"basic": (1_000, 200), "pro": (2_000, 100)})
    weight = np.where(frame["churned"] == 1, 1.0, 2.0)
    stats = segment_risks(frame.assign(w=weight), ["plan"], [], "churned", "w")
    rate = stats["plan"]["levels"]["basic"]["rate"]
    assert math.isclose(rate, 200 / (200 + 2 * 800), rel_tol=1e-3)


def test_the_fewest_seats_are_a_risky_band_of_a_number():
    rng = np.random.default_rng(0)
    seats = rng.integers(1, 50, 8_000)
    churned = rng.random(8_000) < np.where(seats <= 5, 0.12, 0.03)
    frame = pd.DataFrame({"seats": seats.astype(float), "churned": churned.astype(int)})
    risky = segment_risks(frame, [], ["seats"], "churned")["seats"]
    assert list(risky["bands"]) == ["below"]
    assert risky["below"] == np.quantile(seats, 0.25)
