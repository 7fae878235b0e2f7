"""The report's sections about retention: CRR, logo churn and revenue retention, cohorts and
churn by segment. Each computes its numbers (models/retention.py), draws its chart
(models/report_plots.py) and says in two lines what the chart shows; the lines are built by
the `*_lines` functions, which take the numbers alone and say what they say for any count
(none, some, all)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.describe import count, plain_name
from models import report_plots as charts
from models.labels import ChurnDefinition
from models.retention import (
    MONTH,
    churn_rate_by,
    cohort_counts,
    cohort_retention,
    customer_retention,
    periods,
    retained_after,
    revenue_retention,
)
from pipeline.report.data import History
from pipeline.report.html import Section, chart

RECENT_MONTHS = 12  # segments and warnings cover the last year of labelled months
COHORT_MILESTONES = (1, 3, 6, 12)  # months after signing up the cohort line names
COHORT_COMPARED = 6  # the cohorts are compared this many months on (or fewer, if newer)


def recent_rows(history: History) -> pd.DataFrame:
    """The labelled rows of the last RECENT_MONTHS months (what the breakdowns cover)."""
    cutoffs = sorted(history.rows["cutoff"].unique())[-RECENT_MONTHS:]
    return history.rows[history.rows["cutoff"].isin(cutoffs)]


def share(rates: pd.Series, key: str) -> str:
    """A group's rate as a percentage, or "(none)" when no row fell in the group."""
    value = rates.get(key, np.nan)
    return "(none)" if pd.isna(value) else f"{value:.1%}"


def month_span(months) -> str:
    """The months a figure covers, as "2025-11 to 2026-10" (or "2026-10" for one)."""
    distinct = pd.Series(list(months)).drop_duplicates()  # a column of rows: format once each
    shown = sorted({f"{pd.Timestamp(m):%Y-%m}" for m in distinct})
    return shown[0] if len(shown) == 1 else f"{shown[0]} to {shown[-1]}"


def during(months) -> str:
    """The months as "from 2025-11 to 2026-10", or "in 2026-10" for one."""
    span = month_span(months)
    return f"from {span}" if " to " in span else f"in {span}"


def crr_lines(monthly: pd.DataFrame, quarterly: pd.DataFrame) -> tuple[str, str]:
    """The CRR reading: the last month (or why it has none), the recent average, the
    quarters and the weakest month."""
    last = monthly.iloc[-1]
    people = f"{last.new:,} new, {last.customers_end:,} at the end"
    if last.customers_start:
        first = (
            f"CRR was {last.crr:.1f}% in {last.period}: "
            f"{count(last.customers_start, 'customer')} at the start, {people}"
        )
    else:
        first = f"{last.period} has no CRR: no customers at its start ({people})"
    recent = monthly.tail(RECENT_MONTHS)
    known = recent["crr"].dropna()
    if len(known) > 1:
        which = f"the last {len(recent)} months"
        if len(known) < len(recent):
            which = f"the {len(known)} of {which} with customers at the start"
        first += f"; {which} averaged {known.mean():.1f}%"
    rated_quarters = quarterly.dropna(subset=["crr"]).tail(4)
    quarters = ", ".join(f"{q.period} {q.crr:.1f}%" for q in rated_quarters.itertuples())
    if quarters:
        second = f"By quarter: {quarters}"
    elif len(quarterly):
        second = "No whole calendar quarter with customers at its start yet"
    else:
        second = "No whole calendar quarter yet"
    rated = monthly.dropna(subset=["crr"])
    if len(rated) > 1 and rated["crr"].nunique() == 1:
        second += f"; every month's CRR was {rated['crr'].iloc[0]:.1f}%"
    elif len(rated) > 1:
        worst = rated.loc[rated["crr"].idxmin()]
        second += f"; the weakest month was {worst.period} ({worst.crr:.1f}%)"
    return first + ".", second + ". CRR = (CE - CN) / CS x 100."


def crr_section(history: History, key: str) -> Section:
    """CRR per month and quarter by its formula, from the customer table."""
    active = history.active.groupby("cutoff").size()
    signups = history.customers["signup_at"]
    monthly = customer_retention(periods(history.months), active, signups)
    quarterly = customer_retention(periods(history.months, quarterly=True), active, signups)
    return Section(
        "Customer retention rate (CRR) per month and quarter",
        (chart(key, charts.crr_figure, monthly, quarterly),),
        crr_lines(monthly, quarterly),
    )


def churn_line(logo: pd.DataFrame, definition: ChurnDefinition) -> str:
    """The logo churn reading: the last labelled month, then the recent monthly average.
    `logo` holds month, rows, churned and rate per labelled month."""
    last = logo.iloc[-1]
    month = f"the month from {last['month']:%Y-%m-%d}"
    rule = f"{definition.kind} churn within {definition.horizon_days} days"
    rows, churned = int(last["rows"]), int(last["churned"])
    if churned == 0:
        line = f"No customer churned in {month} (0 of {rows:,}; {rule})"
    elif churned == rows:
        line = f"All {count(rows, 'customer')} churned in {month} ({rule})"
    else:
        line = (
            f"{last['rate']:.1%} of customers churned in {month} ({churned:,} of {rows:,}; {rule})"
        )
    recent = logo.tail(RECENT_MONTHS)
    if len(recent) > 1:
        line += (
            f"; {recent['rate'].mean():.1%} a month on average over the last {len(recent)} months"
        )
    return line + "."


def revenue_line(revenue: pd.DataFrame) -> str:
    """The revenue retention reading: the average of the recent months that follow a month
    with paid purchases (the others have no ratio)."""
    recent = revenue.tail(RECENT_MONTHS)
    known = recent.dropna(subset=["grr", "nrr"])
    if known.empty:
        return "No revenue retention yet: no month follows a month with paid purchases."
    ratios = (
        f"gross {known['grr'].mean():.1%} (losses only), net {known['nrr'].mean():.1%} "
        "(with expansion), from paid purchases"
    )
    if len(known) == 1:
        return f"Revenue retention in {known['month'].iloc[0]:%Y-%m}: {ratios}."
    which = f"the last {len(recent)} months"
    if len(known) < len(recent):
        which = f"the {len(known)} of {which} that follow a month with paid purchases"
    return f"Revenue retention, averaged over {which}: {ratios}."


def churn_and_revenue_section(
    history: History, purchases: pd.DataFrame, key: str, *, definition: ChurnDefinition
) -> Section:
    """Logo churn (labels under the configured definition) and revenue retention."""
    title = "Logo churn and revenue retention"
    if history.rows.empty:
        return Section(title, missing="no month whose churn outcome is known yet")
    logo = history.rows.groupby("cutoff")["churned"].agg(["size", "sum"]).reset_index()
    logo = logo.rename(columns={"cutoff": "month", "size": "rows", "sum": "churned"})
    logo["rate"] = logo["churned"] / logo["rows"]
    revenue = revenue_retention(purchases, history.months)
    return Section(
        title,
        (
            chart(f"{key}-churn-", charts.logo_churn_figure, logo),
            chart(f"{key}-revenue-", charts.revenue_retention_figure, revenue),
        ),
        (churn_line(logo, definition), revenue_line(revenue)),
    )


def cohort_lines(counts: pd.DataFrame, table: pd.DataFrame) -> tuple[str, str]:
    """The cohort reading: of everyone followed a month, how many stayed (and how many left
    within their first month), then the later milestones; the best and worst cohort."""
    followed, stayed = retained_after(counts, 1)
    signed = during(pd.Period(c).to_timestamp() for c in counts["cohort"][counts["k"] == 1])
    who = f"{count(followed, 'customer')} who signed up {signed}"
    if stayed == followed:
        first = f"All {who} were still customers a month after signing up"
    elif stayed == 0:
        first = f"None of the {who} was still a customer a month after signing up"
    else:
        first = (
            f"Of the {who}, {stayed / followed:.1%} were still customers a month after signing "
            f"up ({count(followed - stayed, 'customer')} left within their first month)"
        )
    later = []
    for k in COHORT_MILESTONES[1:]:
        n, kept = retained_after(counts, k)
        if n:
            later.append(f"{kept / n:.0%} after {k} months ({n:,} followed)")
    first += ("; " + ", ".join(later) if later else "") + "."
    observed = {k: table[k].dropna() for k in table.columns}
    compared = [k for k, column in observed.items() if len(column) >= 2]
    rows = "Rows: signup month; columns: months since signing up."
    if not compared:
        k = max(observed)
        (cohort,) = observed[k].index
        return first, (
            f"Only the {cohort} cohort has been followed {count(k, 'month')} so far "
            f"({observed[k].iloc[0]:.0%} still customers). {rows}"
        )
    k = min(max(compared), COHORT_COMPARED)
    column = observed[k]
    if column.nunique() == 1:
        return first, f"After {count(k, 'month')} every cohort kept {column.iloc[0]:.0%}. {rows}"
    return first, (
        f"After {count(k, 'month')} the {column.idxmax()} cohort kept the most "
        f"({column.max():.0%}), the {column.idxmin()} cohort the fewest ({column.min():.0%}). "
        + rows
    )


def cohort_section(history: History, key: str) -> Section:
    """Retention of each signup-month cohort, counted from each customer's own signup."""
    title = "Cohort retention by signup month"
    end = history.months[-1] + MONTH
    counts = cohort_counts(history.customers, history.months, end)
    if counts.empty:
        return Section(title, missing="no signup cohort has been followed for a month yet")
    table = cohort_retention(counts)
    return Section(title, (chart(key, charts.cohort_figure, table),), cohort_lines(counts, table))


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


def segment_lines(found: pd.DataFrame, overall: float, months) -> tuple[str, str]:
    """The segment reading: the highest and the lowest churn rate of the groups in `found`
    (column, value, rows, rate), against all customers over `months`."""
    bars = "Bars give the churn rate, labels the customer-months behind it."
    if overall == 0:
        return f"No customer churned {during(months)}: every segment's rate is 0%.", bars
    span = month_span(months)
    if found["rate"].nunique() == 1:
        rate = found["rate"].iloc[0]
        return f"Every segment churned at {rate:.1%} a month ({span}).", bars
    high, low = found.loc[found["rate"].idxmax()], found.loc[found["rate"].idxmin()]
    return (
        f"Highest monthly churn: {high['column']} {high['value']} at {high['rate']:.1%} "
        f"against {overall:.1%} for all customers ({span}).",
        f"Lowest: {low['column']} {low['value']} at {low['rate']:.1%}. {bars}",
    )


def segments_section(history: History, columns: dict[str, str], key: str) -> Section:
    """Churn rate by plan, channel, tenure band and the other profile columns."""
    rows = recent_rows(history)
    if rows.empty:
        return Section("Churn by segment", missing="no month whose churn outcome is known yet")
    tables = {name: churn_rate_by(rows, c, top=8) for c, name in columns.items()}
    overall = float(rows["churned"].mean())
    found = pd.concat([t.assign(column=name) for name, t in tables.items()], ignore_index=True)
    sizable = found[found["rows"] >= max(30, 0.01 * len(rows))]
    found = sizable if len(sizable) else found  # tiny data: every group counts
    return Section(
        "Churn by segment",
        (chart(key, charts.segments_figure, tables, overall),),
        segment_lines(found.reset_index(drop=True), overall, rows["cutoff"]),
    )
