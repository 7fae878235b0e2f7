"""The early warnings' readings say what their numbers say for every count: churners less,
as or more active than retained customers, support and NPS groups present or not, the NPS of
the last 12 months only, and none, some or all high-risk customers missed by the health
score. A section whose data the exports do not have says so."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.labels import ChurnDefinition
from models.signals import IN_TIME, NONE, OPEN, SLOW
from pipeline.report.early_warnings import (
    activity_lines,
    activity_section,
    health_lines,
    nps_group_line,
    nps_trend_line,
    support_lines,
)

T = pd.Timestamp
WEEKS = range(1, 13)


def _weekly(churned, retained=None) -> pd.DataFrame:
    """Events per week before the anchor: week 1 is the last; `churned` is (weeks 1-4,
    weeks 5-12)."""
    recent, earlier = churned
    frame = pd.DataFrame({"churned": [recent] * 4 + [earlier] * 8}, index=WEEKS)
    if retained is not None:
        frame["retained"] = float(retained)
    return frame


def test_activity_lines_when_churners_are_less_active_and_falling():
    first, second = activity_lines(_weekly((2.0, 4.0), 8.0))
    assert first == (
        "In the 4 weeks before leaving, churners averaged 2.0 events a week, 75% fewer than "
        "retained customers (8.0)."
    )
    assert second == (
        "Over the 12 weeks before, churners went from 4.0 to 2.0 events a week (retained: 8.0 "
        "to 8.0): engagement falls before customers leave."
    )


def test_activity_lines_when_churners_are_more_active_as_active_or_alone():
    more = activity_lines(_weekly((10.0, 4.0), 8.0))
    assert "10.0 events a week, 25% more than retained customers (8.0)." in more[0]
    assert more[1].endswith(": their activity rose before they left.")
    same = activity_lines(_weekly((8.0, 8.0), 8.0))
    assert same[0].endswith("averaged 8.0 events a week, as many as retained customers (8.0).")
    assert same[1].endswith(": their activity held steady before they left.")
    idle = activity_lines(_weekly((1.0, 1.0), 0.0))
    assert idle[0].endswith("; retained customers had no events in the same weeks.")
    alone = activity_lines(_weekly((1.0, 3.0)))
    assert alone[0].endswith("; there were no retained customers to compare with.")
    assert "retained:" not in alone[1]


def test_activity_before_churn_without_engagement_events_says_so():
    section = activity_section(None, None, "activity", definition=ChurnDefinition())
    assert section.missing == "no engagement events in the exports"


def test_support_lines_name_only_the_groups_customers_fell_in():
    window = "tickets opened in the 90 days before each month."
    every = pd.Series({OPEN: 0.075, SLOW: 0.065, IN_TIME: 0.03, NONE: 0.028})
    first, second = support_lines(every, 48.0)
    assert first == (
        "Customers with a ticket still open churned at 7.5% and with a slow ticket at 6.5%, "
        "against 2.8% with no tickets."
    )
    assert second == (
        "Slow: resolved after more than 48 hours (the slowest quarter of resolved tickets); "
        + window
    )
    slow_only = support_lines(pd.Series({SLOW: 0.065, NONE: 0.028}), 48.0)[0]
    assert (
        slow_only == "Customers with a slow ticket churned at 6.5%, against 2.8% with no tickets."
    )
    calm = support_lines(pd.Series({IN_TIME: 0.03, NONE: 0.02}), 48.0)[0]
    assert calm == (
        "No customer had a ticket still open or a slow ticket in the 90 days before a month; "
        "those with no tickets churned at 2.0%."
    )
    busy = support_lines(pd.Series({OPEN: 0.1, IN_TIME: 0.02}), 48.0)[0]
    assert (
        busy
        == "Customers with a ticket still open churned at 10.0%; every customer-month had tickets."
    )
    only_in_time = support_lines(pd.Series({IN_TIME: 0.03}), 48.0)[0]
    assert only_in_time == (
        "No customer had a ticket still open or a slow ticket in the 90 days before a month."
    )
    unresolved = support_lines(pd.Series({OPEN: 0.1}), np.nan)[1]
    assert unresolved == "No ticket was resolved, so none counts as slow; " + window


def test_nps_group_line_names_the_groups_present():
    both = pd.Series({"detractor": 0.034, "promoter": 0.025, "no answer": 0.035})
    assert nps_group_line(both) == (
        "Detractors churned at 3.4% a month, promoters at 2.5% (no answer in the year before: "
        "3.5%)."
    )
    assert nps_group_line(pd.Series({"promoter": 0.02})) == "Promoters churned at 2.0% a month."
    assert nps_group_line(pd.Series({"no answer": 0.03})) == (
        "No customer's latest answer was a detractor's or a promoter's (no answer in the year "
        "before: 3.0%)."
    )


def _answers(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"answered_at": [T(d) for d, _ in rows], "nps": [n for _, n in rows]})


MONTHS = list(pd.date_range("2024-11-01", periods=14, freq="MS"))  # 2024-11 to 2025-12


def test_nps_of_the_last_year_counts_only_the_last_12_months_answers():
    """Three detractors in 2024-11, inside the data but 13 months back, are left out: with
    them the score would be (3 - 4) / 8, negative."""
    answers = _answers(
        [("2024-11-10", 0), ("2024-11-11", 0), ("2024-11-12", 0)]
        + [("2025-03-01", 10), ("2025-03-02", 10), ("2025-03-03", 0)]
        + [("2025-08-01", 9), ("2025-08-02", 7)]
    )
    assert nps_trend_line(answers, MONTHS) == (
        "NPS over the last 12 months (2025-01 to 2025-12): +40 from 5 answers; +50 in 2025-08 "
        "(2 answers), the latest month with answers."
    )
    old = _answers([("2024-11-10", 10), ("2026-01-05", 10)])  # before and after the year
    assert (
        nps_trend_line(old, MONTHS)
        == "No survey answers in the last 12 months (2025-01 to 2025-12)."
    )
    one = nps_trend_line(_answers([("2025-12-31", 3)]), MONTHS[-1:])
    assert one.startswith("NPS over the last 1 month (2025-12): -100 from 1 answer;")


def test_health_lines_for_none_some_and_all_high_risk_customers_missed():
    scores = pd.Series([90.0, 80.0, 40.0, 66.0])
    first, _ = health_lines(scores, None)
    assert first.startswith("Median health score 73 of 100; 1 of 4 customers (25%) score below 50")
    assert health_lines(scores, None)[1] == "No list to compare with yet."
    assert health_lines(scores, pd.Series([], dtype=float))[1] == (
        "The list has no high-risk customer to compare with."
    )
    assert health_lines(scores, pd.Series([40.0, 65.0]))[1] == (
        "All 2 high-risk customers on the list score below 70: the rule-based score flags them too."
    )
    assert health_lines(scores, pd.Series([40.0, 80.0, 90.0]))[1] == (
        "2 of the 3 high-risk customers on the list score 70 or more: the rule-based score "
        "would not flag them (it flags the other 1)."
    )
    assert health_lines(scores, pd.Series([80.0, 90.0]))[1] == (
        "All 2 high-risk customers on the list score 70 or more: the rule-based score would "
        "flag none of them."
    )
    assert health_lines(scores, pd.Series([65.0]))[1].startswith(
        "The one high-risk customer on the list scores below 70"
    )
    assert "no customer scores below 50" in health_lines(pd.Series([90.0, 70.0]), None)[0]
    assert "all 2 customers score below 50" in health_lines(pd.Series([9.0, 10.0]), None)[0]
