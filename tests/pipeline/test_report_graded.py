"""Whether the earlier lists came true, in words that hold for every count: churners or none,
a high tier and a contact set or none, calibration in one group or several, exact or not."""

from __future__ import annotations

import pandas as pd

from models.outcomes import WHOLE_LIST, grade_list, production_calibration
from pipeline.report.graded import calibration_lines, drift_line, tiers_line

DAY = pd.Timestamp("2025-10-01")


def _listed(rows: list[tuple[str, float, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["customer_id", "churn_probability", "risk_tier", "contact_first"]
    )


def _outcomes(churned: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(churned), "churned": list(churned.values())})


LISTED = _listed(
    [("h1", 0.5, "high", True), ("h2", 0.4, "high", True), ("m1", 0.2, "medium", False)]
    + [("l1", 0.05, "low", False)]
)


def test_tiers_line_when_some_churned():
    """h1 and l1 churned: the high tier caught one of the two churners."""
    grades = grade_list(LISTED, _outcomes({"h1": 1, "h2": 0, "m1": 0, "l1": 1}))
    assert tiers_line(DAY, grades.set_index("group")) == (
        "The list of 2025-10-01: its high tier churned at 50.0% (predicted 45.0%), capturing 1 "
        "of the 2 churners (50%); the contact set's precision was 50.0% (1 of 2 churned)."
    )
    assert drift_line(grades.set_index("group").loc[WHOLE_LIST], []) == (
        "Whole list: 1 churner expected, 2 churned: within what chance allows."
    )


def test_tiers_line_when_no_one_churned_or_there_was_no_high_tier_nor_contact_set():
    calm = grade_list(LISTED, _outcomes({"h1": 0, "h2": 0, "m1": 0, "l1": 0}))
    assert tiers_line(DAY, calm.set_index("group")) == (
        "The list of 2025-10-01: its high tier churned at 0.0% (predicted 45.0%); no customer "
        "on the list churned; the contact set's precision was 0.0% (0 of 2 churned)."
    )
    plain = LISTED[LISTED["risk_tier"] != "high"].assign(contact_first=False)
    grades = grade_list(plain, _outcomes({"m1": 1, "l1": 0}))
    assert tiers_line(DAY, grades.set_index("group")) == (
        "The list of 2025-10-01 had no high-risk customer; there was no contact set."
    )


def test_drift_line_warns_with_the_lists_that_drift():
    grades = grade_list(LISTED, _outcomes({"h1": 1, "h2": 1, "m1": 1, "l1": 1}))
    line = drift_line(grades.set_index("group").loc[WHOLE_LIST], [(DAY, grades)])
    assert line.startswith("Warning: predicted and actual churn drift apart (lists of 2025-10-01:")


def test_calibration_lines_for_one_group_several_and_an_exact_match():
    outcomes = _outcomes({"h1": 1, "h2": 0, "m1": 0, "l1": 0})
    several = production_calibration(LISTED, outcomes, bins=2)
    assert calibration_lines(several, DAY) == (
        "The list of 2025-10-01 in 2 equal groups by probability: the riskiest group was "
        "predicted 45.0% and churned at 50.0%.",
        "Largest gap: predicted 12.5% against 0.0% (2 customers); points on the diagonal mean "
        "a predicted 20% is a real 20%.",
    )
    one = production_calibration(LISTED.iloc[[0]], outcomes, bins=10)
    assert calibration_lines(one, DAY)[0] == (
        "The list of 2025-10-01 as one group: predicted 50.0% and churned at 100.0%."
    )
    sure = _listed([("a", 1.0, "high", True), ("b", 0.0, "low", False)])
    exact = production_calibration(sure, _outcomes({"a": 1, "b": 0}), bins=2)
    assert calibration_lines(exact, DAY)[1].startswith("Every group churned as predicted;")
