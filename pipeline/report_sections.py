"""The report's sections about the customer base: retention and the early warnings. Each
computes its numbers (models/retention.py, models/signals.py), draws its chart
(models/report_plots.py) and says in two lines what the chart shows."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features.describe import plain_name
from models import report_plots as charts
from models.labels import ChurnDefinition
from models.retention import (
    churn_rate_by,
    cohort_retention,
    customer_retention,
    periods,
    revenue_retention,
)
from models.signals import (
    NONE,
    OPEN,
    SLOW,
    activity_before,
    health_scores,
    nps_at,
    nps_by_month,
    slow_hours,
    support_experience,
)
from pipeline.report_data import History
from pipeline.report_html import Section, svg

RECENT_MONTHS = 12  # segments and warnings cover the last year of labelled months
WEEKS = 12
SUPPORT_DAYS = 90


def recent_rows(history: History) -> pd.DataFrame:
    """The labelled rows of the last RECENT_MONTHS months (what the breakdowns cover)."""
    cutoffs = sorted(history.rows["cutoff"].unique())[-RECENT_MONTHS:]
    return history.rows[history.rows["cutoff"].isin(cutoffs)]


def share(rates: pd.Series, key: str) -> str:
    """A group's rate as a percentage, or "(none)" when no row fell in the group."""
    value = rates.get(key, np.nan)
    return "(none)" if pd.isna(value) else f"{value:.1%}"


def _span(rows: pd.DataFrame) -> str:
    months = sorted(rows["cutoff"].unique())
    return f"{pd.Timestamp(months[0]):%Y-%m} to {pd.Timestamp(months[-1]):%Y-%m}"


def crr_section(history: History, key: str) -> Section:
    """CRR per month and quarter by its formula, from the customer table."""
    active = history.active.groupby("cutoff").size()
    signups = history.customers["signup_at"]
    monthly = customer_retention(periods(history.months), active, signups)
    quarterly = customer_retention(periods(history.months, quarterly=True), active, signups)
    last, worst = monthly.iloc[-1], monthly.loc[monthly["crr"].idxmin()]
    year = monthly.tail(12)
    quarters = ", ".join(f"{q.period} {q.crr:.1f}%" for q in quarterly.tail(4).itertuples())
    return Section(
        "Customer retention rate (CRR) per month and quarter",
        svg(charts.crr_figure(monthly, quarterly), key),
        (
            f"CRR was {last.crr:.1f}% in {last.period}: {last.customers_start:,} customers at "
            f"the start, {last.new:,} new, {last.customers_end:,} at the end; the last "
            f"{len(year)} months averaged {year['crr'].mean():.1f}%.",
            f"By quarter: {quarters or 'no whole quarter yet'}; the weakest month was "
            f"{worst.period} ({worst.crr:.1f}%). CRR = (CE - CN) / CS x 100.",
        ),
    )


def churn_and_revenue_section(
    history: History, purchases: pd.DataFrame, key: str, *, definition: ChurnDefinition
) -> Section:
    """Logo churn (labels under the configured definition) and revenue retention."""
    logo = history.rows.groupby("cutoff")["churned"].agg(["size", "sum"]).reset_index()
    logo = logo.rename(columns={"cutoff": "month", "size": "rows", "sum": "churned"})
    logo["rate"] = logo["churned"] / logo["rows"]
    revenue = revenue_retention(purchases, history.months)
    last, rev = logo.iloc[-1], revenue.tail(12)
    return Section(
        "Logo churn and revenue retention",
        svg(charts.churn_and_revenue_figure(logo, revenue), key),
        (
            f"{last['rate']:.1%} of customers churned in the month from {last['month']:%Y-%m-%d} "
            f"({last['churned']:,} of {last['rows']:,}; {definition.kind} churn within "
            f"{definition.horizon_days} days); {logo['rate'].tail(12).mean():.1%} a month "
            "over the last year.",
            f"Revenue retention over the last {len(rev)} months: gross "
            f"{rev['grr'].mean():.1%} (losses only), net {rev['nrr'].mean():.1%} (with "
            "expansion), from paid purchases.",
        ),
    )


def cohort_section(history: History, key: str) -> Section:
    """Retention of each signup-month cohort."""
    table = cohort_retention(history.active, history.customers, history.months)
    if table.empty or table.shape[1] == 0:
        return Section("Cohort retention by signup month", missing="no signups in the history")
    at = {k: table[k].mean() for k in (1, 3, 6, 12) if k in table.columns}
    shown = ", ".join(f"{v:.0%} after {k} month{'s' * (k > 1)}" for k, v in at.items())
    k = max(c for c in table.columns if table[c].notna().sum() >= 2) if len(table) > 1 else 1
    column = table[min(k, 6)].dropna()
    return Section(
        "Cohort retention by signup month",
        svg(charts.cohort_figure(table), key),
        (
            f"Of the customers who signed up in a month, on average {shown} were still customers.",
            f"After {min(k, 6)} months the {column.idxmax()} cohort kept the most "
            f"({column.max():.0%}), the {column.idxmin()} cohort the fewest "
            f"({column.min():.0%}). Rows: signup month; columns: months since.",
        ),
    )


def segment_columns(
    history: History, categorical: tuple[str, ...], numeric: tuple[str, ...]
) -> dict[str, str]:
    """The columns churn is broken down by: the configured profile columns (numeric ones
    when they take few values) and the tenure band, by their plain names."""
    columns = {c: plain_name(c) for c in categorical if c in history.rows.columns}
    for c in numeric:
        if c in history.rows.columns and history.rows[c].nunique() <= 6:
            columns[c] = plain_name(c)
    return {**columns, "tenure": "tenure"}


def segments_section(history: History, columns: dict[str, str], key: str) -> Section:
    """Churn rate by plan, channel, tenure band and the other profile columns."""
    rows = recent_rows(history)
    tables = {name: churn_rate_by(rows, c, top=8) for c, name in columns.items()}
    overall = float(rows["churned"].mean())
    found = pd.concat([t.assign(column=name) for name, t in tables.items()], ignore_index=True)
    sizable = found[found["rows"] >= max(30, 0.01 * len(rows))]
    found = sizable if len(sizable) else found  # tiny data: every group counts
    high, low = found.loc[found["rate"].idxmax()], found.loc[found["rate"].idxmin()]
    return Section(
        "Churn by segment",
        svg(charts.segments_figure(tables, overall), key),
        (
            f"Highest monthly churn: {high['column']} {high['value']} at {high['rate']:.1%} "
            f"against {overall:.1%} for all customers ({_span(rows)}).",
            f"Lowest: {low['column']} {low['value']} at {low['rate']:.1%}. Bars give the "
            "churn rate, labels the customer-months behind it.",
        ),
    )


def _anchors(rows: pd.DataFrame, definition: ChurnDefinition, start: pd.Timestamp):
    """Churners aligned on their churn date (contractual) or the window's start (inactivity,
    when activity stopped); retained customers on the middle of the same months' windows.
    Only customers with WEEKS weeks of history and tenure before the anchor."""
    lead = pd.Timedelta(days=definition.lead_days)
    window = rows["cutoff"] + lead
    retained = window + pd.Timedelta(days=definition.horizon_days // 2)
    if definition.kind == "contractual":
        churned = rows["churned_at"]
    else:
        churned, retained = window, window
    anchor = churned.where(rows["churned"] == 1, retained)
    group = np.where(rows["churned"] == 1, "churned", "retained")
    frame = pd.DataFrame({"customer_id": rows["customer_id"], "anchor": anchor, "group": group})
    enough = (anchor - pd.Timedelta(weeks=WEEKS) >= start) & (
        rows["signup_at"] <= anchor - pd.Timedelta(weeks=WEEKS)
    )
    return frame[enough & anchor.notna()].astype({"anchor": "datetime64[us]"})


def activity_section(
    history: History, events: ir.Table | None, key: str, *, definition: ChurnDefinition
) -> Section:
    """Average weekly activity in the 12 weeks before churn against retained customers."""
    if events is None:
        return Section("Activity before churn", missing="no engagement events in the exports")
    anchors = _anchors(recent_rows(history), definition, history.data_start)
    if not (anchors["group"] == "churned").any():
        return Section("Activity before churn", missing="no churners with 12 weeks of history")
    table = activity_before(events, ibis.memtable(anchors), weeks=WEEKS)
    by = table.pivot(index="weeks_before", columns="group", values="events")
    last4 = by.loc[1:4].mean()
    churned, retained = by["churned"], by["retained"]
    return Section(
        "Activity before churn",
        svg(charts.activity_figure(table), key),
        (
            f"In the 4 weeks before leaving, churners averaged {last4['churned']:.1f} events a "
            f"week, {1 - last4['churned'] / last4['retained']:.0%} fewer than retained "
            f"customers ({last4['retained']:.1f}).",
            f"Over the {WEEKS} weeks before, churners went from {churned[WEEKS]:.1f} to "
            f"{churned[1]:.1f} events a week (retained: {retained[WEEKS]:.1f} to "
            f"{retained[1]:.1f}): engagement falls before customers leave.",
        ),
    )


def _churn_by_group(history: History, group_of, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The recent customer-months and their churn rate by the group `group_of(keys)` puts
    each (customer, cutoff) in (its `column`)."""
    rows = recent_rows(history)
    keys = ibis.memtable(rows[["customer_id", "cutoff"]].astype({"cutoff": "datetime64[us]"}))
    found = group_of(keys)
    return rows, churn_rate_by(rows.merge(found, on=["customer_id", "cutoff"]), column)


def support_section(history: History, tables: dict[str, ir.Table], key: str) -> Section:
    """Churn among customers with slow or unresolved tickets against the others."""
    title = "Support experience and churn"
    if "support" not in tables:
        return Section(title, missing="no support data in the exports")
    tickets = tables["support"].select("opened_at", "resolved_at").execute()
    slow = slow_hours(tickets)
    rows, table = _churn_by_group(
        history,
        lambda keys: support_experience(tables["support"], keys, slow=slow, days=SUPPORT_DAYS),
        "support",
    )
    overall = float(rows["churned"].mean())
    rate = table.set_index("value")["rate"]
    return Section(
        title,
        svg(charts.groups_figure(table, overall, title="Churn by support experience"), key),
        (
            f"Customers with {OPEN} churned at {share(rate, OPEN)} and with {SLOW} at "
            f"{share(rate, SLOW)}, against {share(rate, NONE)} with no tickets.",
            f"Slow: resolved after more than {slow:.0f} hours (the slowest quarter of "
            f"tickets); tickets opened in the {SUPPORT_DAYS} days before each month.",
        ),
    )


def nps_section(history: History, tables: dict[str, ir.Table], key: str) -> Section:
    """Churn by NPS group and the net promoter score over time."""
    title = "NPS and churn"
    if "surveys" not in tables:
        return Section(title, missing="no survey (NPS) data in the exports")
    rows, groups = _churn_by_group(history, lambda keys: nps_at(tables["surveys"], keys), "nps")
    answers = tables["surveys"].select("answered_at", "nps").execute()
    monthly = nps_by_month(answers)
    monthly = monthly[monthly["month"].isin(history.months)]
    rate = groups.set_index("value")["rate"]
    trend = "No answers in the period."
    if len(monthly):
        last = monthly.iloc[-1]
        trend = (
            f"NPS was {last['nps']:+.0f} in {last['month']:%Y-%m} ({last['answers']:,} "
            f"answers), {monthly['nps'].tail(12).mean():+.0f} on average over the last year."
        )
    return Section(
        title,
        svg(charts.nps_figure(groups, float(rows["churned"].mean()), monthly), key),
        (
            f"Detractors churned at {share(rate, 'detractor')} a month, promoters at "
            f"{share(rate, 'promoter')} (no answer in the year before: "
            f"{share(rate, 'no answer')}).",
            trend,
        ),
    )


def health_section(features: pd.DataFrame, tiers: pd.Series | None, key: str) -> Section:
    """The health-score distribution today, by the list's risk tier."""
    scores = health_scores(features).set_axis(features["customer_id"].astype(str))
    tier = tiers.reindex(scores.index) if tiers is not None else None
    second = "No list to compare with yet."
    if tier is not None:
        high = scores[tier == "high"]
        second = (
            f"{int((high >= 70).sum()):,} of the {len(high):,} high-risk customers on the "
            "list score 70 or more: the rule-based score would not flag them."
        )
    return Section(
        "Health score",
        svg(charts.health_figure(scores, tier), key),
        (
            f"Median health score {scores.median():.0f} of 100; {(scores < 50).mean():.0%} of "
            "customers score below 50 (recency, engagement trend, open tickets, failed "
            "payments).",
            second,
        ),
    )
