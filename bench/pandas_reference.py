"""A deliberately plain pandas implementation of every feature: the independent check.

For each cutoff: keep the active customers, filter each event table to its lookback window,
group by customer, line the result up with the active customers and fill. Nothing here is
shared with the Ibis expressions in `features/`; only the spec dataclasses, `column_safe`
(which decides column names) and the catalogue's order of names are imported. The
definitions are restated from the feature docs: windows are [cutoff - days, cutoff - after)
with the cutoff itself excluded, counts are 0 for customers without rows, every other value
is null when there is nothing to compute it on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.families.purchases import ORDER_CAP
from features.registry import feature_catalogue
from features.spec import FeatureSpec, column_safe

HIGH_PRIORITIES = ("high", "urgent")
ENGAGEMENT_LOOKBACK = 90
SUPPORT_LOOKBACK = 365
PURCHASES_LOOKBACK = 365
SURVEYS_LOOKBACK = 730

Cutoff = dt.datetime | dt.date | pd.Timestamp


# ---------------------------------------------------------------- small helpers


def in_window(stamps: pd.Series, cutoff: pd.Timestamp, days: int, after: int = 0) -> pd.Series:
    """True where cutoff - days <= stamp < cutoff - after (the cutoff itself never counts)."""
    start = cutoff - pd.Timedelta(days=days)
    end = cutoff - pd.Timedelta(days=after)
    return (stamps >= start) & (stamps < end)


def days_before(cutoff: pd.Timestamp, stamps: pd.Series) -> pd.Series:
    """Days (fractional) from each stamp to the cutoff."""
    return (cutoff - stamps).dt.total_seconds() / 86400.0


def count_per_customer(rows: pd.DataFrame, mask: pd.Series) -> pd.Series:
    """Number of rows meeting `mask`, per customer (customers without such rows absent)."""
    return rows.loc[mask].groupby("customer_id").size()


def latest_per_customer(rows: pd.DataFrame, order: str, value: str) -> pd.Series:
    """`value` of each customer's row with the largest `order`."""
    ordered = rows.sort_values(order, kind="stable")
    return ordered.groupby("customer_id").tail(1).set_index("customer_id")[value]


def zero_filled(values: pd.Series, ids: pd.Index, dtype: str = "int64") -> pd.Series:
    """Per-customer values lined up with `ids`, 0 where a customer has none."""
    return values.reindex(ids).fillna(0).astype(dtype)


def null_filled(values: pd.Series, ids: pd.Index) -> pd.Series:
    """Per-customer values lined up with `ids`, NaN where a customer has none."""
    return values.reindex(ids).astype("float64")


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0 or missing."""
    num = numerator.astype("float64")
    den = denominator.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return (num / den).where(den > 0)


def calendar_days_before(cutoff: pd.Timestamp, stamps: pd.Series) -> pd.Series:
    """Whole calendar days from each stamp's date to the cutoff's date."""
    return (cutoff.normalize() - stamps.dt.normalize()).dt.days


def per_period(
    rows: pd.DataFrame, offsets: pd.Series, ids: pd.Index, days: int, count: int, distinct: bool
) -> np.ndarray:
    """customers x periods: distinct offsets (active days) or rows in each period of `days`
    days counted back from the cutoff's day (period 0 the most recent)."""
    frame = pd.DataFrame({"customer_id": rows["customer_id"], "offset": offsets})
    frame = frame[frame["offset"] < days * count].assign(period=lambda f: f["offset"] // days)
    if distinct:
        frame = frame.drop_duplicates(["customer_id", "offset"])
    table = frame.groupby(["customer_id", "period"]).size().unstack(fill_value=0)
    return table.reindex(index=ids, columns=range(count), fill_value=0).to_numpy(float)


def trend_change(values: np.ndarray) -> np.ndarray:
    """Per row, the least-squares change from the oldest period to the newest (np.polyfit)."""
    n = values.shape[1]
    time_order = values[:, ::-1]  # oldest first
    return np.array([np.polyfit(np.arange(n), row, 1)[0] * (n - 1) for row in time_order])


def known_days(active: pd.DataFrame, cutoff: pd.Timestamp, days: int) -> pd.Series:
    """Days of the last `days` the customer was signed up for, at least a week."""
    tenure = days_before(cutoff, active.set_index("customer_id")["signup_at"])
    return tenure.clip(lower=7, upper=days)


# ---------------------------------------------------------------- families


def engagement_features(
    events: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index, spec: FeatureSpec
) -> pd.DataFrame:
    """Engagement features for the customers `ids` at one cutoff."""
    e = events.loc[in_window(events["timestamp"], cutoff, ENGAGEMENT_LOOKBACK)]
    ts = e["timestamp"]
    day = ts.dt.floor("D")

    def count(days: int, after: int = 0) -> pd.Series:
        return zero_filled(count_per_customer(e, in_window(ts, cutoff, days, after)), ids)

    def active_days(days: int, after: int = 0) -> pd.Series:
        mask = in_window(ts, cutoff, days, after)
        return zero_filled(day[mask].groupby(e.loc[mask, "customer_id"]).nunique(), ids)

    def value_sum(days: int) -> pd.Series:
        mask = in_window(ts, cutoff, days)
        return zero_filled(e.loc[mask].groupby("customer_id")["value"].sum(), ids, "float64")

    def type_count(days: int, rare_only: bool = False) -> pd.Series:
        mask = in_window(ts, cutoff, days)
        if rare_only:
            mask &= ~e["event_type"].isin(spec.event_types)
        return zero_filled(e.loc[mask].groupby("customer_id")["event_type"].nunique(), ids)

    out = pd.DataFrame(index=ids)
    out["events_7d"] = count(7)
    out["events_30d"] = count(30)
    out["events_90d"] = count(90)
    out["events_30_60d"] = count(60, 30)
    out["events_60_90d"] = count(90, 60)
    out["events_7_35d"] = count(35, 7)
    out["active_days_7d"] = active_days(7)
    out["active_days_30d"] = active_days(30)
    out["active_days_30_60d"] = active_days(60, 30)
    out["active_days_60_90d"] = active_days(90, 60)
    out["active_days_90d"] = active_days(90)
    out["value_30d"] = value_sum(30)
    out["value_90d"] = value_sum(90)
    out["days_since_last_event"] = null_filled(
        days_before(cutoff, ts).groupby(e["customer_id"]).min(), ids
    )
    out["event_types_30d"] = type_count(30)
    out["event_types_90d"] = type_count(90)
    out["activity_trend_30d"] = safe_ratio(out["events_30d"], out["events_30_60d"])
    out["activity_trend_7d"] = safe_ratio(out["events_7d"], out["events_7_35d"] / 4.0)
    out["rare_event_types_30d"] = type_count(30, rare_only=True)
    out["rare_event_types_90d"] = type_count(90, rare_only=True)
    for event_type in spec.event_types:
        of_type = e["event_type"] == event_type
        for days in (7, 30, 90):
            mask = of_type & in_window(ts, cutoff, days)
            out[f"{column_safe(event_type)}_events_{days}d"] = zero_filled(
                count_per_customer(e, mask), ids
            )
    weeks = per_period(e, calendar_days_before(cutoff, ts), ids, 7, 12, distinct=True)
    out["active_weeks_12w"] = (weeks > 0).sum(axis=1)
    out["active_days_decline_12w"] = -trend_change(weeks)
    out["weeks_fell_8w"] = (weeks[:, :8] < weeks[:, 1:9]).sum(axis=1)
    for days in (30, 90):
        out[f"events_per_active_day_{days}d"] = safe_ratio(
            out[f"events_{days}d"], out[f"active_days_{days}d"]
        )
    out["value_per_event_90d"] = null_filled(e.groupby("customer_id")["value"].mean(), ids)
    for event_type in spec.event_types:
        of_type = e["event_type"] == event_type
        out[f"{column_safe(event_type)}_days_since_last"] = null_filled(
            days_before(cutoff, ts[of_type]).groupby(e.loc[of_type, "customer_id"]).min(), ids
        )
    return out


def pace_features(
    block: pd.DataFrame, active: pd.DataFrame, cutoff: pd.Timestamp, spec: FeatureSpec
) -> pd.DataFrame:
    """The features read against the customer's own tenure: recent pace against a longer
    window's (since signup when shorter), counts per month of tenure."""
    known_90 = known_days(active, cutoff, 90).reindex(block.index)
    known_365 = known_days(active, cutoff, 365).reindex(block.index)
    out = pd.DataFrame(index=block.index)
    if spec.has("engagement"):
        out["active_days_pace_90d"] = safe_ratio(
            block["active_days_30d"], block["active_days_90d"] * 30 / known_90
        )
        out["value_pace_90d"] = safe_ratio(block["value_30d"], block["value_90d"] * 30 / known_90)
        out["events_per_month_90d"] = block["events_90d"] * 30 / known_90
    if spec.has("support"):
        out["ticket_pace_90d"] = safe_ratio(
            block["tickets_30d"], block["tickets_90d"] * 30 / known_90
        )
    out["spend_pace_365d"] = safe_ratio(
        block["revenue_90d"], block["revenue_365d"] * 90 / known_365
    )
    out["orders_per_month_365d"] = block["orders_365d"] * 30 / known_365
    return out


def support_features(tickets: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index) -> pd.DataFrame:
    """Support features for the customers `ids` at one cutoff (tickets opened in the last year)."""
    s = tickets.loc[in_window(tickets["opened_at"], cutoff, SUPPORT_LOOKBACK)]
    opened, resolved_at = s["opened_at"], s["resolved_at"]
    customer = s["customer_id"]
    age = days_before(cutoff, opened)
    still_open = resolved_at.isna() | (resolved_at >= cutoff)
    resolved = resolved_at.notna() & (resolved_at < cutoff)
    recently_resolved = resolved & in_window(opened, cutoff, 90)
    hours = (resolved_at - opened).dt.total_seconds() / 3600.0
    last_90 = in_window(opened, cutoff, 90)
    high = last_90 & s["priority"].isin(HIGH_PRIORITIES)

    out = pd.DataFrame(index=ids)
    out["tickets_30d"] = zero_filled(count_per_customer(s, in_window(opened, cutoff, 30)), ids)
    out["tickets_90d"] = zero_filled(count_per_customer(s, last_90), ids)
    out["open_tickets"] = zero_filled(count_per_customer(s, still_open), ids)
    out["oldest_open_ticket_days"] = null_filled(
        age[still_open].groupby(customer[still_open]).max(), ids
    )
    out["resolution_hours_mean_90d"] = null_filled(
        hours[recently_resolved].groupby(customer[recently_resolved]).mean(), ids
    )
    out["resolution_hours_max_90d"] = null_filled(
        hours[recently_resolved].groupby(customer[recently_resolved]).max(), ids
    )
    out["high_priority_tickets_90d"] = zero_filled(count_per_customer(s, high), ids)
    out["high_priority_share_90d"] = safe_ratio(
        out["high_priority_tickets_90d"], out["tickets_90d"]
    )
    out["satisfaction_mean_90d"] = null_filled(
        s.loc[recently_resolved].groupby("customer_id")["satisfaction"].mean(), ids
    )
    out["satisfaction_min_90d"] = null_filled(
        s.loc[recently_resolved].groupby("customer_id")["satisfaction"].min(), ids
    )
    rated = s.loc[resolved & s["satisfaction"].notna()]
    out["last_satisfaction"] = null_filled(
        latest_per_customer(rated, "resolved_at", "satisfaction"), ids
    )
    out["days_since_last_ticket"] = null_filled(age.groupby(customer).min(), ids)
    return out


def purchases_features(
    purchases: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index, spec: FeatureSpec
) -> pd.DataFrame:
    """Purchases features for the customers `ids` at one cutoff (purchases in the last year)."""
    p = purchases.loc[in_window(purchases["timestamp"], cutoff, PURCHASES_LOOKBACK)]
    ts, customer = p["timestamp"], p["customer_id"]
    status = p["status"]
    paid = (status == "paid").fillna(False).astype(bool)
    invoice = (
        (p["kind"].isin(spec.settings.invoice_kinds) & status.notna() & (status != "refunded"))
        .fillna(False)
        .astype(bool)
    )

    def status_count(value: str, days: int) -> pd.Series:
        mask = (status == value).fillna(False).astype(bool) & in_window(ts, cutoff, days)
        return zero_filled(count_per_customer(p, mask), ids)

    # money counts an order at most ORDER_CAP x the customer's median paid order in the year
    usual = p.loc[paid, "amount"].groupby(p.loc[paid, "customer_id"]).median()
    cap = customer.map(usual * ORDER_CAP)
    p = p.assign(counted=p["amount"].where(cap.isna() | (p["amount"] <= cap), cap))
    out = pd.DataFrame(index=ids)
    for days in (30, 90, 365):
        mask = paid & in_window(ts, cutoff, days)
        out[f"orders_{days}d"] = zero_filled(count_per_customer(p, mask), ids)
        out[f"revenue_{days}d"] = zero_filled(
            p.loc[mask].groupby("customer_id")["counted"].sum(), ids, "float64"
        )
    out["monthly_revenue"] = out["revenue_90d"] / 3.0
    out["failed_payments_30d"] = status_count("failed", 30)
    out["failed_payments_90d"] = status_count("failed", 90)
    out["refunds_90d"] = status_count("refunded", 90)

    paid_rows = p.loc[paid]
    discounts = paid_rows.groupby("customer_id")["discount"].sum(min_count=1)
    gross = (
        (paid_rows["amount"] + paid_rows["discount"].fillna(0))
        .groupby(paid_rows["customer_id"])
        .sum()
    )
    out["discount_share_365d"] = safe_ratio(null_filled(discounts, ids), null_filled(gross, ids))

    addon = paid & p["kind"].isin(spec.settings.addon_kinds) & in_window(ts, cutoff, 90)
    out["addon_purchases_90d"] = zero_filled(count_per_customer(p, addon), ids)
    recent_invoices = p.loc[invoice & in_window(ts, cutoff, 45)]
    out["last_invoice_amount"] = null_filled(
        latest_per_customer(recent_invoices, "timestamp", "counted"), ids
    )
    last_status = latest_per_customer(recent_invoices, "timestamp", "status")
    out["last_invoice_failed"] = zero_filled((last_status == "failed").astype("int8"), ids, "int8")
    older = invoice & in_window(ts, cutoff, 90, 60)
    out["invoice_amount_60_90d"] = null_filled(
        p.loc[older].groupby("customer_id")["amount"].mean(), ids
    )
    out["invoice_change"] = (
        safe_ratio(out["last_invoice_amount"], out["invoice_amount_60_90d"]) - 1.0
    )
    out["days_since_last_purchase"] = null_filled(
        days_before(cutoff, ts)[paid].groupby(customer[paid]).min(), ids
    )
    months = per_period(p.loc[paid], calendar_days_before(cutoff, ts[paid]), ids, 30, 12, False)
    out["order_months_12m"] = (months > 0).sum(axis=1)
    out["orders_decline_12m"] = -trend_change(months)
    span = ts[paid].groupby(customer[paid]).agg(lambda s: (s.max() - s.min()).total_seconds())
    intervals = safe_ratio(null_filled(span, ids) / 86400.0, out["orders_365d"] - 1)
    out["order_interval_days_365d"] = intervals
    out["order_overdue_365d"] = safe_ratio(out["days_since_last_purchase"], intervals)
    out["revenue_per_order_365d"] = safe_ratio(out["revenue_365d"], out["orders_365d"])
    return out


def nps_category(score: pd.Series) -> pd.Series:
    """promoter (9-10), passive (7-8), detractor (0-6), None without a score."""
    labels = [
        None if pd.isna(s) else "promoter" if s >= 9 else "passive" if s >= 7 else "detractor"
        for s in score
    ]
    # Built from a list so pandas picks its default string dtype, as the engine output does.
    return pd.Series(labels, index=score.index)


def surveys_features(answers: pd.DataFrame, cutoff: pd.Timestamp, ids: pd.Index) -> pd.DataFrame:
    """Survey features for the customers `ids` at one cutoff (answers in the last two years)."""
    v = answers.loc[in_window(answers["answered_at"], cutoff, SURVEYS_LOOKBACK)]
    out = pd.DataFrame(index=ids)
    out["last_nps"] = null_filled(latest_per_customer(v, "answered_at", "nps"), ids)
    out["nps_category"] = nps_category(out["last_nps"])
    out["days_since_nps"] = null_filled(
        days_before(cutoff, v["answered_at"]).groupby(v["customer_id"]).min(), ids
    )
    return out


def profile_features(active: pd.DataFrame, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """Tenure, new-customer flag and the profile columns, for the active customers' rows."""
    out = pd.DataFrame(index=pd.Index(active["customer_id"], name="customer_id"))
    tenure = days_before(cutoff, active["signup_at"]).to_numpy()
    out["tenure_days"] = tenure
    out["is_new_customer"] = (tenure < spec.settings.new_customer_days).astype("int8")
    for column in spec.profile.categorical:
        values = active[column].astype(object)
        out[column] = pd.Series([None if pd.isna(v) else str(v) for v in values], index=out.index)
    for column in spec.profile.numeric:
        out[column] = active[column].astype("float64").to_numpy()
    return out


# ---------------------------------------------------------------- assembly


def active_at(customers: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Customers signed up before the cutoff and not cancelled before it."""
    signed_up = customers["signup_at"] < cutoff
    churned = customers["churned_at"]
    still_there = churned.isna() | (churned >= cutoff)
    return customers.loc[signed_up & still_there]


def cutoff_stamps(cutoffs: Sequence[Cutoff]) -> list[pd.Timestamp]:
    """Distinct cutoffs as timestamps (midnight for dates), ascending."""
    return sorted({pd.Timestamp(c) for c in cutoffs})


def reference_features(
    frames: dict[str, pd.DataFrame], cutoffs: Sequence[Cutoff], spec: FeatureSpec
) -> pd.DataFrame:
    """Every feature of `spec` per (active customer, cutoff), sorted by cutoff then customer.

    `frames` holds the typed tables as pandas (customers, engagement, support, purchases and,
    when the spec uses surveys, surveys). Columns and row order match `to_frame(build_features)`.
    """
    parts = []
    for cutoff in cutoff_stamps(cutoffs):
        active = active_at(frames["customers"], cutoff)
        ids = pd.Index(active["customer_id"], name="customer_id")
        blocks = []
        if spec.has("engagement"):
            blocks.append(engagement_features(frames["engagement"], cutoff, ids, spec))
        if spec.has("support"):
            blocks.append(support_features(frames["support"], cutoff, ids))
        blocks.append(purchases_features(frames["purchases"], cutoff, ids, spec))
        if spec.has("surveys"):
            blocks.append(surveys_features(frames["surveys"], cutoff, ids))
        blocks.append(profile_features(active, cutoff, spec))
        block = pd.concat(blocks, axis=1)
        block = pd.concat([block, pace_features(block, active, cutoff, spec)], axis=1).copy()
        block.insert(0, "cutoff", cutoff)
        parts.append(block.reset_index())
    out = pd.concat(parts, ignore_index=True)
    out["cutoff"] = out["cutoff"].astype("datetime64[us]")
    # the builder's column order (names only: the catalogue's expressions are not used here)
    columns = ["customer_id", "cutoff", *[f.name for f in feature_catalogue(spec)]]
    out = out[columns]
    return out.sort_values(["cutoff", "customer_id"], kind="stable").reset_index(drop=True)
