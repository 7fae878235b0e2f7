"""The retention sections' readings say what their numbers say for every count: CRR with and
without customers at a month's start or a whole quarter, churn when none, some or all
customers left, revenue retention with and without paid months, cohorts counted from each
customer's own signup, and segments that differ or do not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.labels import ChurnDefinition
from models.retention import (
    cohort_counts,
    cohort_retention,
    customer_retention,
    periods,
    revenue_retention,
)
from pipeline.report.sections import (
    churn_line,
    cohort_lines,
    crr_lines,
    revenue_line,
    segment_lines,
)

T = pd.Timestamp
FORMULA = " CRR = (CE - CN) / CS x 100."


def _crr(active: dict[str, int], signups: list[str], months: list[str]):
    months_ = [T(m) for m in months]
    counts = {T(day): n for day, n in active.items()}
    signed = pd.Series([T(s) for s in signups], dtype="datetime64[ns]")
    return (
        customer_retention(periods(months_), counts, signed),
        customer_retention(periods(months_, quarterly=True), counts, signed),
    )


def test_crr_names_the_last_month_the_average_the_quarter_and_the_weakest_month():
    """Jan (10 - 0) / 10, Feb (8 - 0) / 10, Mar (9 - 2) / 8; the quarter (9 - 2) / 10."""
    active = {"2025-01-01": 10, "2025-02-01": 10, "2025-03-01": 8, "2025-04-01": 9}
    monthly, quarterly = _crr(
        active, ["2025-03-05", "2025-03-20"], ["2025-01", "2025-02", "2025-03"]
    )
    first, second = crr_lines(monthly, quarterly)
    assert first == (
        "CRR was 87.5% in 2025-03: 8 customers at the start, 2 new, 9 at the end; "
        "the last 3 months averaged 89.2%."
    )
    assert second == "By quarter: 2025 Q1 70.0%; the weakest month was 2025-02 (80.0%)." + FORMULA


def test_crr_of_one_month_has_no_average_no_quarter_and_no_weakest_month():
    monthly, quarterly = _crr({"2025-01-01": 1, "2025-02-01": 1}, [], ["2025-01"])
    first, second = crr_lines(monthly, quarterly)
    assert first == "CRR was 100.0% in 2025-01: 1 customer at the start, 0 new, 1 at the end."
    assert second == "No whole calendar quarter yet." + FORMULA


def test_a_month_without_customers_at_its_start_has_no_crr_and_is_left_out():
    """January starts empty: no CRR for it, nor for the quarter it opens; February and March
    both keep everyone."""
    active = {"2025-01-01": 0, "2025-02-01": 2, "2025-03-01": 2, "2025-04-01": 2}
    months = ["2025-01", "2025-02", "2025-03"]
    monthly, quarterly = _crr(active, ["2025-01-03", "2025-01-09"], months)
    first, second = crr_lines(monthly, quarterly)
    assert first.endswith(
        "; the 2 of the last 3 months with customers at the start averaged 100.0%."
    )
    assert second == (
        "No whole calendar quarter with customers at its start yet; every month's CRR was "
        "100.0%." + FORMULA
    )
    assert "nan" not in first + second
    emptied, none = _crr(
        {"2025-01-01": 2, "2025-02-01": 0, "2025-03-01": 1}, ["2025-02-02"], months[:2]
    )
    assert crr_lines(emptied, none)[0] == (
        "2025-02 has no CRR: no customers at its start (1 new, 1 at the end)."
    )


def _logo(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["month", "rows", "churned"])
    return frame.assign(month=pd.to_datetime(frame["month"]), rate=frame["churned"] / frame["rows"])


def test_churn_line_for_some_none_and_all_customers_leaving():
    rule = "contractual churn within 30 days"
    some = churn_line(_logo([("2025-09-01", 30, 1), ("2025-10-01", 80, 2)]), ChurnDefinition())
    assert some == (
        f"2.5% of customers churned in the month from 2025-10-01 (2 of 80; {rule}); "
        "2.9% a month on average over the last 2 months."
    )
    none = churn_line(_logo([("2025-10-01", 80, 0)]), ChurnDefinition())
    assert none == f"No customer churned in the month from 2025-10-01 (0 of 80; {rule})."
    every = churn_line(_logo([("2025-10-01", 3, 3)]), ChurnDefinition())
    assert every == f"All 3 customers churned in the month from 2025-10-01 ({rule})."


def test_revenue_line_averages_only_months_that_follow_a_paid_month():
    """x paid 100 then 120, y 50 then nothing: gross 100 / 150, net 120 / 150 in February;
    nobody paid in February, so March has no ratio."""
    purchases = pd.DataFrame(
        {
            "customer_id": ["x", "x", "y"],
            "timestamp": [T("2025-01-05"), T("2025-02-05"), T("2025-01-20")],
            "amount": [100.0, 120.0, 50.0],
            "status": ["paid", "paid", "paid"],
        }
    )
    one = revenue_retention(purchases, [T("2025-01-01"), T("2025-02-01")])
    assert revenue_line(one) == (
        "Revenue retention in 2025-02: gross 66.7% (losses only), net 80.0% (with expansion), "
        "from paid purchases."
    )
    gap = revenue_retention(
        purchases.iloc[[1]].assign(timestamp=T("2025-03-05")),
        [T("2025-01-01"), T("2025-02-01"), T("2025-03-01")],
    )
    assert revenue_line(gap) == (
        "No revenue retention yet: no month follows a month with paid purchases."
    )
    months = pd.to_datetime(["2025-02-01", "2025-03-01", "2025-04-01"])
    table = pd.DataFrame({"month": months, "grr": [0.9, np.nan, 0.7], "nrr": [1.1, np.nan, 0.9]})
    assert revenue_line(table) == (
        "Revenue retention, averaged over the 2 of the last 3 months that follow a month with "
        "paid purchases: gross 80.0% (losses only), net 100.0% (with expansion), from paid "
        "purchases."
    )
    assert "averaged over the last 2 months:" in revenue_line(table.dropna())


def _cohorts(rows: list[tuple[str, str | None]], months: list[str], end: str):
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "signup_at": [T(s) for s, _ in rows],
            "churned_at": [T(c) if c else pd.NaT for _, c in rows],
        }
    )
    counts = cohort_counts(customers, [T(m) for m in months], T(end))
    return counts, cohort_retention(counts)


def test_cohort_lines_count_who_left_within_their_first_month():
    """January: one stays, one cancels at his first renewal (20 Feb, a day before the month
    is up), one leaves after two weeks; February: one of two leaves within the month."""
    rows = [("2025-01-10", None), ("2025-01-21", "2025-02-20"), ("2025-01-05", "2025-01-19")]
    rows += [("2025-02-03", None), ("2025-02-10", "2025-02-28")]
    first, second = cohort_lines(*_cohorts(rows, ["2025-01-01", "2025-02-01"], "2025-04-01"))
    assert first == (
        "Of the 5 customers who signed up from 2025-01 to 2025-02, 40.0% were still customers "
        "a month after signing up (3 customers left within their first month)."
    )
    assert second.startswith(
        "After 1 month the 2025-02 cohort kept the most (50%), the 2025-01 cohort the fewest (33%)."
    )


def test_cohort_lines_when_everyone_or_no_one_stayed():
    months, end = ["2025-01-01", "2025-02-01"], "2025-03-01"
    stayed = cohort_lines(*_cohorts([("2025-01-10", None), ("2025-01-12", None)], months, end))
    assert stayed[0] == (
        "All 2 customers who signed up in 2025-01 were still customers a month after signing up."
    )
    assert stayed[1].startswith(
        "Only the 2025-01 cohort has been followed 1 month so far (100% still customers)."
    )
    gone = [("2025-01-10", "2025-01-20"), ("2025-01-12", "2025-02-01")]
    assert cohort_lines(*_cohorts(gone, months, end))[0] == (
        "None of the 2 customers who signed up in 2025-01 was still a customer a month after "
        "signing up."
    )


def test_cohort_lines_name_later_milestones_and_equal_cohorts():
    """y leaves on 1 April, before her third month is up (15 April); both cohorts kept
    everyone for two months."""
    rows = [("2025-01-10", None), ("2025-01-15", "2025-04-01"), ("2025-02-03", None)]
    months = ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]
    first, second = cohort_lines(*_cohorts(rows, months, "2025-05-01"))
    assert first == (
        "All 3 customers who signed up from 2025-01 to 2025-02 were still customers a month "
        "after signing up; 50% after 3 months (2 followed)."
    )
    assert second.startswith("After 2 months every cohort kept 100%.")


def _found(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["column", "value", "rows", "rate"])


YEAR = pd.date_range("2025-01-01", periods=12, freq="MS")


def test_segment_lines_name_the_highest_and_lowest_group_only_when_they_differ():
    found = _found([("plan", "basic", 100, 0.05), ("plan", "pro", 100, 0.01)])
    found = pd.concat([found, _found([("tenure", "under 3 months", 50, 0.08)])], ignore_index=True)
    high, low = segment_lines(found, 0.04, YEAR)
    assert high == (
        "Highest monthly churn: tenure under 3 months at 8.0% against 4.0% for all customers "
        "(2025-01 to 2025-12)."
    )
    assert low.startswith("Lowest: plan pro at 1.0%.")
    level = _found([("plan", "basic", 100, 0.02), ("plan", "pro", 50, 0.02)])
    assert segment_lines(level, 0.02, YEAR)[0] == (
        "Every segment churned at 2.0% a month (2025-01 to 2025-12)."
    )
    calm = _found([("plan", "basic", 100, 0.0), ("plan", "pro", 50, 0.0)])
    assert segment_lines(calm, 0.0, YEAR[:1])[0] == (
        "No customer churned in 2025-01: every segment's rate is 0%."
    )
