"""Retention measures on hand-made tables: CRR by its formula, cohorts, segments, revenue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.retention import (
    churn_rate_by,
    cohort_counts,
    cohort_retention,
    customer_retention,
    month_starts,
    periods,
    retained_after,
    revenue_retention,
    tenure_band,
)

T = pd.Timestamp


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "signup_at": [T("2025-01-10"), T("2024-12-15"), T("2025-02-05"), T("2024-11-01")],
            "churned_at": [pd.NaT, T("2025-02-10"), T("2025-02-20"), pd.NaT],
        }
    )


def test_whole_months_only():
    assert len(month_starts(T("2024-11-01 01:00"), T("2026-11-01"))) == 24
    assert month_starts(T("2024-11-15"), T("2025-02-01")) == [T("2024-12-01"), T("2025-01-01")]
    assert month_starts(T("2025-01-01"), T("2025-01-31")) == []


def test_quarters_need_all_three_months():
    months = [T(f"{y}-{m:02d}-01") for y, m in [(2024, 11), (2024, 12)]]
    months += [T(f"2025-{m:02d}-01") for m in range(1, 7)]
    assert [label for *_, label in periods(months, quarterly=True)] == ["2025 Q1", "2025 Q2"]
    assert periods(months[:1]) == [(T("2024-11-01"), T("2024-12-01"), "2024-11")]


def test_crr_follows_its_formula(customers):
    """Jan: 2 customers at the start, 3 at the end, 1 new: (3 - 1) / 2 = 100%.
    Feb: 3 at the start, 2 at the end, 1 new (who also left): (2 - 1) / 3 = 33.3%."""
    months = [T("2025-01-01"), T("2025-02-01")]
    active = {T("2025-01-01"): 2, T("2025-02-01"): 3, T("2025-03-01"): 2}
    table = customer_retention(periods(months), active, customers["signup_at"])
    assert table["customers_start"].tolist() == [2, 3]
    assert table["customers_end"].tolist() == [3, 2]
    assert table["new"].tolist() == [1, 1]
    assert table["crr"].tolist() == pytest.approx([100.0, 100 / 3])


def test_cohorts_count_from_each_customers_own_signup():
    """January: a stays; e signs up on the 20th and cancels on 19 February, within her first
    month though after the 1 February boundary; f cancels exactly one month after signing up,
    so he was still a customer at that point and gone by the second. February: c left within
    his first month. b and d signed up before the first month; March's cohort and January's
    third month are not over by the end (1 April)."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "signup_at": [T("2025-01-10"), T("2024-12-15"), T("2025-02-05"), T("2024-11-01")]
            + [T("2025-01-20"), T("2025-01-05")],
            "churned_at": [pd.NaT, T("2025-02-10"), T("2025-02-20"), pd.NaT]
            + [T("2025-02-19"), T("2025-02-05")],
        }
    )
    months = [T("2025-01-01"), T("2025-02-01"), T("2025-03-01")]
    counts = cohort_counts(customers, months, T("2025-04-01"))
    assert retained_after(counts, 1) == (4, 2)
    assert retained_after(counts, 2) == (3, 1)
    assert retained_after(counts, 3) == (0, 0)
    table = cohort_retention(counts)
    assert table.index.tolist() == ["2025-01", "2025-02"]
    assert table.loc["2025-01"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert table.loc["2025-02", 1] == 0.0 and np.isnan(table.loc["2025-02", 2])


def test_no_cohort_is_followed_for_a_month_before_a_month_has_passed(customers):
    counts = cohort_counts(customers, [T("2025-02-01")], T("2025-03-01"))
    assert counts.empty and cohort_retention(counts).empty
    assert retained_after(counts, 1) == (0, 0)


def test_churn_rate_by_segment_largest_first_with_the_rest_pooled():
    rows = pd.DataFrame(
        {
            "plan": ["pro"] * 4 + ["basic"] * 3 + ["team"] * 2 + ["solo"],
            "churned": [1, 0, 0, 0, 1, 1, 0, 0, 1, 1],
        }
    )
    table = churn_rate_by(rows, "plan", top=2)
    assert table["value"].tolist() == ["pro", "basic", "other"]
    assert table["rows"].tolist() == [4, 3, 3]
    assert table["churned"].tolist() == [1, 2, 2]
    assert table["rate"].tolist() == pytest.approx([0.25, 2 / 3, 2 / 3])


def test_tenure_bands_are_ordered_and_keep_their_order_in_the_rates():
    cutoff = pd.Series([T("2025-06-01")] * 4)
    signup = pd.Series([T("2025-05-01"), T("2024-05-01"), T("2025-05-15"), T("2022-01-01")])
    band = tenure_band(signup, cutoff)
    assert band.tolist() == ["under 3 months", "1-2 years", "under 3 months", "2 years or more"]
    table = churn_rate_by(pd.DataFrame({"band": band, "churned": [1, 0, 0, 0]}), "band")
    assert table["value"].tolist() == ["under 3 months", "1-2 years", "2 years or more"]
    assert table["rate"].tolist() == [0.5, 0.0, 0.0]


def test_revenue_retention_gross_caps_expansion_net_keeps_it():
    """x paid 100 then 120, y 50 then nothing, z is new in February, w's payment failed:
    gross (100 + 0) / 150, net (120 + 0) / 150."""
    purchases = pd.DataFrame(
        {
            "customer_id": ["x", "x", "y", "z", "w"],
            "timestamp": [T("2025-01-05"), T("2025-02-05"), T("2025-01-20"), T("2025-02-07")]
            + [T("2025-01-09")],
            "amount": [100.0, 120.0, 50.0, 30.0, 500.0],
            "status": ["paid", "paid", "paid", "paid", "failed"],
        }
    )
    table = revenue_retention(purchases, [T("2025-01-01"), T("2025-02-01")])
    assert table["month"].tolist() == [T("2025-02-01")]
    assert table["starting"].tolist() == [150.0]
    assert table["grr"].tolist() == pytest.approx([100 / 150])
    assert table["nrr"].tolist() == pytest.approx([120 / 150])


def test_one_absurd_order_moves_one_customers_revenue_by_a_few_orders_at_most():
    # a paid order of 1e12 (kept with a warning at ingest) counts as ORDER_CAP x the
    # customer's median order; the month's revenue stays readable
    from features.families.purchases import ORDER_CAP

    months = [T("2025-01-05"), T("2025-02-05"), T("2025-03-05"), T("2025-03-20")]
    purchases = pd.DataFrame(
        {
            "customer_id": ["x"] * 4 + ["y"] * 3,
            "timestamp": months + months[:3],
            "amount": [40.0, 40.0, 40.0, 1e12, 60.0, 60.0, 60.0],
            "status": "paid",
        }
    )
    table = revenue_retention(purchases, [T("2025-02-01"), T("2025-03-01")])
    assert table["starting"].tolist() == [100.0]
    assert table["net"].tolist() == [40.0 + ORDER_CAP * 40.0 + 60.0]
