"""Retention as a customer-success team measures it: customer retention rate (CRR) per month
and quarter, logo churn, gross and net revenue retention, cohort retention by signup month,
and the churn rate of each segment (plan, channel, tenure band, ...).

Pure functions of small frames: who was a customer at each month boundary comes from the one
population rule (features/population.py), applied by the caller; churn comes from the labels
under the configured definition (models/labels.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.families.purchases import ORDER_CAP

MONTH = pd.DateOffset(months=1)
QUARTER = pd.DateOffset(months=3)
TENURE_BANDS = ((0, 90, "under 3 months"), (90, 180, "3-6 months"), (180, 365, "6-12 months"))
TENURE_BANDS += ((365, 730, "1-2 years"), (730, None, "2 years or more"))
OTHER = "other"


def month_starts(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """The first days of the calendar months lying wholly in [start, end): a history that
    starts on the 1st counts its first month, one that starts later does not."""
    first = pd.Timestamp(start).normalize()
    if first.day != 1:
        first = first + pd.offsets.MonthBegin(1)
    months = []
    while first + MONTH <= end:
        months.append(first)
        first = first + MONTH
    return months


def periods(months: Sequence[pd.Timestamp], *, quarterly: bool = False) -> list[tuple]:
    """(start, end, label) of each month, or of each calendar quarter whose three months are
    all in `months`: `2026-03`, `2026 Q1`."""
    if not quarterly:
        return [(m, m + MONTH, f"{m:%Y-%m}") for m in months]
    have = set(months)
    return [
        (m, m + QUARTER, f"{m.year} Q{(m.month - 1) // 3 + 1}")
        for m in months
        if m.month in (1, 4, 7, 10) and {m + i * MONTH for i in range(3)} <= have
    ]


def customer_retention(
    spans: Sequence[tuple], active_at: Mapping[pd.Timestamp, int], signups: pd.Series
) -> pd.DataFrame:
    """CRR = (CE - CN) / CS x 100 per period: CS customers at its start, CE at its end, CN
    customers who signed up during it (`active_at` counts customers at each boundary).

    Columns: period, start, customers_start, customers_end, new, crr."""
    rows = []
    for start, end, label in spans:
        cs, ce = int(active_at.get(start, 0)), int(active_at.get(end, 0))
        cn = int(((signups >= start) & (signups < end)).sum())
        crr = 100.0 * (ce - cn) / cs if cs else np.nan
        rows.append((label, start, cs, ce, cn, crr))
    columns = ["period", "start", "customers_start", "customers_end", "new", "crr"]
    return pd.DataFrame(rows, columns=columns)


def churn_rate_by(rows: pd.DataFrame, column: str, *, top: int | None = None) -> pd.DataFrame:
    """Churn rate per value of `column` over labelled rows (one per customer and month, with
    `churned` 0/1). Ordered categories keep their order; other values go largest first, those
    beyond the `top` largest pooled as "other". Columns: value, rows, churned, rate."""
    values = rows[column]
    if top is not None and not isinstance(values.dtype, pd.CategoricalDtype):
        largest = values.value_counts().index[:top]
        values = values.where(values.isin(largest), OTHER)
    grouped = rows["churned"].groupby(values, observed=True, sort=False).agg(["size", "sum"])
    if isinstance(values.dtype, pd.CategoricalDtype):
        grouped = grouped.reindex([c for c in values.cat.categories if c in grouped.index])
    else:
        grouped = grouped.sort_values("size", ascending=False, kind="stable")
        grouped = grouped.loc[
            [v for v in grouped.index if v != OTHER] + [OTHER] * (OTHER in grouped.index)
        ]
    return pd.DataFrame(
        {
            "value": [_shown(v) for v in grouped.index],
            "rows": grouped["size"].to_numpy(dtype=int),
            "churned": grouped["sum"].to_numpy(dtype=int),
            "rate": (grouped["sum"] / grouped["size"]).to_numpy(dtype=float),
        }
    )


def _shown(value) -> str:
    """A segment value as text: 1.0 as "1" (numeric profile columns such as flags)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tenure_band(signup_at: pd.Series, cutoff: pd.Series) -> pd.Series:
    """How long each customer had been a customer at the cutoff, in ordered bands."""
    days = (cutoff - signup_at).dt.days
    labels = [label for *_, label in TENURE_BANDS]
    band = pd.Series(pd.NA, index=days.index, dtype=object)
    for low, high, label in TENURE_BANDS:
        band = band.mask((days >= low) & ((days < high) if high else True), label)
    return pd.Series(pd.Categorical(band, categories=labels, ordered=True), index=days.index)


def cohort_counts(
    customers: pd.DataFrame, months: Sequence[pd.Timestamp], end: pd.Timestamp
) -> pd.DataFrame:
    """Per signup-month cohort (signups within `months`) and k = 1, 2, ... months: the
    cohort's customers and how many were still customers k months after their own signup
    (not cancelled before signup_at + k months). Counted from each customer's signup, not
    from the next month start: a customer who signs up on the 20th and cancels at the first
    renewal has left within their first month. A (cohort, k) row is there only when every
    member's k-month point is before `end`. Columns: cohort (a monthly Period), k,
    customers, retained."""
    columns = ["cohort", "k", "customers", "retained"]
    if not len(months):
        return pd.DataFrame(columns=columns)
    start = months[0]
    members = customers[
        (customers["signup_at"] >= start) & (customers["signup_at"] < months[-1] + MONTH)
    ]
    cohort = members["signup_at"].dt.to_period("M")
    parts = []
    for k in range(1, len(months) + 1):
        # a cohort's k-month points fall in its (k + 1)-th month: all observed by its end
        whole = (cohort + k + 1).dt.to_timestamp() <= end
        if not whole.any():
            break
        point = members["signup_at"] + pd.DateOffset(months=k)
        stayed = members["churned_at"].isna() | (members["churned_at"] >= point)
        parts.append(
            pd.DataFrame({"cohort": cohort, "k": k, "retained": stayed.astype(int)})[whole]
        )
    if not parts:
        return pd.DataFrame(columns=columns)
    rows = pd.concat(parts, ignore_index=True)
    table = rows.groupby(["cohort", "k"])["retained"].agg(customers="size", retained="sum")
    return table.reset_index()[columns]


def cohort_retention(counts: pd.DataFrame) -> pd.DataFrame:
    """`cohort_counts` as shares: rows cohort month (`2025-03`), columns k, NaN where not
    yet observed."""
    if counts.empty:
        return pd.DataFrame()
    share = counts.assign(share=counts["retained"] / counts["customers"])
    table = share.pivot(index="cohort", columns="k", values="share").sort_index()
    table.index = [str(c) for c in table.index]
    table.columns = [int(k) for k in table.columns]
    return table


def retained_after(counts: pd.DataFrame, k: int) -> tuple[int, int]:
    """(customers followed for k months, those still customers then) over every cohort
    observed that long."""
    at = counts[counts["k"] == k]
    return int(at["customers"].sum()), int(at["retained"].sum())


def counted_amounts(paid: pd.DataFrame) -> pd.Series:
    """Each paid order's amount, at most ORDER_CAP times its customer's median paid order."""
    usual = paid.groupby("customer_id")["amount"].transform("median")
    return paid["amount"].clip(upper=usual * ORDER_CAP)


def revenue_retention(purchases: pd.DataFrame, months: Sequence[pd.Timestamp]) -> pd.DataFrame:
    """Gross and net revenue retention per month: of the customers who paid in the month
    before, what share of that revenue they paid this month, capped at what they paid before
    (gross: losses only) or not (net: with expansion). Paid purchases only when a status is
    given. Each order counts at most ORDER_CAP times the customer's median paid order (as
    the list's revenue does): one absurd amount cannot make a month's revenue. Columns:
    month, starting, gross, net, grr, nrr (ratios)."""
    paid = purchases
    if "status" in paid.columns and paid["status"].notna().any():
        paid = paid[paid["status"] == "paid"]
    month = paid["timestamp"].dt.to_period("M")
    amount = counted_amounts(paid)
    revenue = amount.groupby([paid["customer_id"], month]).sum().unstack(fill_value=0.0)
    periods_ = [pd.Period(m, "M") for m in months]
    revenue = revenue.reindex(columns=periods_, fill_value=0.0)
    rows = []
    for before, now in zip(periods_, periods_[1:], strict=False):
        base = revenue[before] > 0
        starting = float(revenue.loc[base, before].sum())
        gross = float(np.minimum(revenue.loc[base, now], revenue.loc[base, before]).sum())
        net = float(revenue.loc[base, now].sum())
        grr, nrr = (gross / starting, net / starting) if starting else (np.nan, np.nan)
        rows.append((now.to_timestamp(), starting, gross, net, grr, nrr))
    return pd.DataFrame(rows, columns=["month", "starting", "gross", "net", "grr", "nrr"])
