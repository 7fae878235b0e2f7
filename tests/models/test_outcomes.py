"""Did the lists come true: grading a list by tier against outcomes, on hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from models.labels import ChurnDefinition
from models.outcomes import gradable, grade_list, production_calibration

T = pd.Timestamp


@pytest.fixture
def listed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
            "churn_probability": [0.5, 0.4, 0.2, 0.1, 0.05, 0.05, 0.3],
            "risk_tier": ["high", "high", "medium", "medium", "low", "low", "high"],
            "contact_first": [True, True, True, False, False, False, False],
        }
    )


def test_a_list_is_graded_only_once_its_horizon_has_passed_in_the_data():
    thirty = ChurnDefinition(horizon_days=30)
    assert gradable(T("2026-10-01"), thirty, T("2026-11-01"))
    assert not gradable(T("2026-10-03"), thirty, T("2026-11-01"))
    assert not gradable(
        T("2026-10-01"), ChurnDefinition(horizon_days=30, lead_days=7), T("2026-11-01")
    )


def test_tiers_contact_set_and_whole_list_by_precision_and_capture(listed):
    """g left during the lead time (no outcome) and is not graded. Churners: a, c, e."""
    outcomes = pd.DataFrame({"customer_id": list("abcdef"), "churned": [1, 0, 1, 0, 1, 0]})
    table = grade_list(listed, outcomes).set_index("group")
    assert table.index.tolist() == ["high", "medium", "low", "contact set", "whole list"]
    assert table["customers"].tolist() == [2, 2, 2, 3, 6]
    assert table["churned"].tolist() == [1, 1, 1, 2, 3]
    assert table["expected"].tolist() == pytest.approx([0.9, 0.3, 0.1, 1.1, 1.3])
    assert table["precision"].tolist() == pytest.approx([0.5, 0.5, 0.5, 2 / 3, 0.5])
    assert table["capture"].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3, 1.0])
    assert table.loc["high", "predicted_rate"] == pytest.approx(0.45)


def test_predicted_and_actual_drifting_apart_is_flagged_but_chance_is_not():
    many = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(1000)],
            "churn_probability": 0.05,
            "risk_tier": "low",
            "contact_first": False,
        }
    )
    expected = pd.DataFrame({"customer_id": many["customer_id"], "churned": [1] * 55 + [0] * 945})
    doubled = expected.assign(churned=[1] * 100 + [0] * 900)
    assert not grade_list(many, expected).set_index("group").loc["whole list", "drift"]
    row = grade_list(many, doubled).set_index("group").loc["whole list"]
    assert row["drift"] and row["z"] > 6


def test_production_calibration_in_equal_groups(listed):
    outcomes = pd.DataFrame({"customer_id": list("abcdef"), "churned": [1, 0, 1, 0, 1, 0]})
    table = production_calibration(listed, outcomes, bins=3)
    assert table["customers"].tolist() == [2, 2, 2]
    assert table["predicted"].tolist() == pytest.approx([0.05, 0.15, 0.45])
    assert table["observed"].tolist() == pytest.approx([0.5, 0.5, 0.5])
