"""The report's early warnings: activity before churn, support experience, NPS and the health
score. Each computes its numbers (models/signals.py), draws its chart (models/report_plots.py)
and says in two lines what the chart shows; the `*_lines` functions build those lines from the
numbers alone, so that every count (none, some, all) reads true."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features.describe import count
from models import report_plots as charts
from models.labels import ChurnDefinition
from models.retention import MONTH, churn_rate_by
from models.signals import (
    HEALTHY_FROM,
    NONE,
    OPEN,
    SLOW,
    activity_before,
    health_scores,
    net_promoter_score,
    nps_at,
    nps_by_month,
    slow_hours,
    support_experience,
)
from pipeline.report.data import History
from pipeline.report.html import Section, chart
from pipeline.report.sections import RECENT_MONTHS, month_span, recent_rows

WEEKS = 12
SUPPORT_DAYS = 90
LAST_WEEKS = 4  # "just before leaving": the last month of the 12 weeks


def _per_week(value: float) -> str:
    return f"{value:.1f} events a week"


def activity_lines(by: pd.DataFrame) -> tuple[str, str]:
    """The activity reading from average weekly events per week before the anchor (`by`:
    index weeks_before 1..WEEKS, columns churned and retained)."""
    by = by.reindex(columns=["churned", "retained"])
    last = by.loc[1:LAST_WEEKS].mean()
    churned, retained = last["churned"], last["retained"]
    lead = f"In the {LAST_WEEKS} weeks before leaving, churners averaged {_per_week(churned)}"
    if pd.isna(retained):
        first = f"{lead}; there were no retained customers to compare with."
    elif retained == 0:
        first = f"{lead}; retained customers had no events in the same weeks."
    elif round(churned / retained, 2) == 1:
        first = f"{lead}, as many as retained customers ({retained:.1f})."
    else:
        way = "fewer" if churned < retained else "more"
        first = (
            f"{lead}, {abs(1 - churned / retained):.0%} {way} than retained customers "
            f"({retained:.1f})."
        )
    start, end = by["churned"].loc[WEEKS], by["churned"].loc[1]
    change = (
        f"Over the {WEEKS} weeks before, churners went from {start:.1f} to {end:.1f} events a week"
    )
    if not pd.isna(retained):
        change += f" (retained: {by['retained'].loc[WEEKS]:.1f} to {by['retained'].loc[1]:.1f})"
    if round(start, 1) == round(end, 1):
        return first, f"{change}: their activity held steady before they left."
    if end < start:
        return first, f"{change}: engagement falls before customers leave."
    return first, f"{change}: their activity rose before they left."


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
    return Section(
        "Activity before churn", (chart(key, charts.activity_figure, table),), activity_lines(by)
    )


def _churn_by_group(history: History, group_of, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The recent customer-months and their churn rate by the group `group_of(keys)` puts
    each (customer, cutoff) in (its `column`)."""
    rows = recent_rows(history)
    keys = ibis.memtable(rows[["customer_id", "cutoff"]].astype({"cutoff": "datetime64[us]"}))
    found = group_of(keys)
    return rows, churn_rate_by(rows.merge(found, on=["customer_id", "cutoff"]), column)


def support_lines(rate: pd.Series, slow: float) -> tuple[str, str]:
    """The support reading: churn with a ticket still open or slow against no tickets (the
    groups no customer-month fell in are left out), and what "slow" meant."""
    troubled = [(group, rate[group]) for group in (OPEN, SLOW) if group in rate]
    if troubled:
        (group, value), *more = troubled
        first = f"Customers with {group} churned at {value:.1%}"
        first += "".join(f" and with {g} at {v:.1%}" for g, v in more)
        if NONE in rate:
            first += f", against {rate[NONE]:.1%} with no tickets."
        else:
            first += "; every customer-month had tickets."
    else:
        first = f"No customer had {OPEN} or {SLOW} in the {SUPPORT_DAYS} days before a month"
        first += f"; those with no tickets churned at {rate[NONE]:.1%}." if NONE in rate else "."
    window = f"tickets opened in the {SUPPORT_DAYS} days before each month"
    if pd.isna(slow):
        return first, f"No ticket was resolved, so none counts as slow; {window}."
    return first, (
        f"Slow: resolved after more than {slow:.0f} hours (the slowest quarter of resolved "
        f"tickets); {window}."
    )


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
    return Section(
        title,
        (chart(key, charts.groups_figure, table, overall, title="Churn by support experience"),),
        support_lines(table.set_index("value")["rate"], slow),
    )


def nps_group_line(rate: pd.Series) -> str:
    """Churn by NPS group: detractors and promoters (those present), and customers with no
    answer in the year before."""
    said = [
        (name, rate[group])
        for group, name in (("detractor", "Detractors"), ("promoter", "promoters"))
        if group in rate
    ]
    if said:
        (name, value), *more = said
        line = f"{name.capitalize()} churned at {value:.1%} a month"
        line += "".join(f", {n} at {v:.1%}" for n, v in more)
    else:
        line = "No customer's latest answer was a detractor's or a promoter's"
    if "no answer" in rate:
        line += f" (no answer in the year before: {rate['no answer']:.1%})"
    return line + "."


def nps_trend_line(answers: pd.DataFrame, months: list[pd.Timestamp]) -> str:
    """The NPS of the answers given in the last RECENT_MONTHS whole months (all of them
    together, not an average of monthly scores), and of the latest month with answers."""
    recent = months[-RECENT_MONTHS:]
    span = month_span(recent)
    when = answers["answered_at"]
    inside = answers[(when >= recent[0]) & (when < recent[-1] + MONTH)]
    if inside.empty:
        return f"No survey answers in the last {count(len(recent), 'month')} ({span})."
    latest = inside["answered_at"].dt.to_period("M").max()
    last = inside[inside["answered_at"].dt.to_period("M") == latest]
    return (
        f"NPS over the last {count(len(recent), 'month')} ({span}): "
        f"{net_promoter_score(inside['nps']):+.0f} from {count(len(inside), 'answer')}; "
        f"{net_promoter_score(last['nps']):+.0f} in {latest} ({count(len(last), 'answer')}), "
        "the latest month with answers."
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
    overall = float(rows["churned"].mean())
    return Section(
        title,
        (
            chart(
                f"{key}-groups-", charts.groups_figure, groups, overall, title="Churn by NPS group"
            ),
            chart(f"{key}-trend-", charts.nps_trend_figure, monthly),
        ),
        (
            nps_group_line(groups.set_index("value")["rate"]),
            nps_trend_line(answers, history.months),
        ),
    )


def health_lines(scores: pd.Series, high: pd.Series | None) -> tuple[str, str]:
    """The health reading: the median and how many score below 50; then how many of the
    list's high-risk customers (`high`: their scores; None: no list) the rule-based score
    would miss by scoring them HEALTHY_FROM or more."""
    low, n = int((scores < 50).sum()), len(scores)
    if low == 0:
        below = "no customer scores below 50"
    elif low == n:
        below = f"all {count(n, 'customer')} score below 50"
    else:
        below = f"{low:,} of {count(n, 'customer')} ({low / n:.0%}) score below 50"
    first = (
        f"Median health score {scores.median():.0f} of 100; {below} (recency, engagement "
        "trend, open tickets, failed payments)."
    )
    if high is None:
        return first, "No list to compare with yet."
    if high.empty:
        return first, "The list has no high-risk customer to compare with."
    missed, n = int((high >= HEALTHY_FROM).sum()), len(high)
    whom = (
        "The one high-risk customer on the list scores"
        if n == 1
        else f"All {n:,} high-risk customers on the list score"
    )
    if missed == 0:
        return first, f"{whom} below {HEALTHY_FROM}: the rule-based score flags them too."
    if missed == n:
        return first, (
            f"{whom} {HEALTHY_FROM} or more: the rule-based score would flag none of them."
        )
    return first, (
        f"{missed:,} of the {n:,} high-risk customers on the list score {HEALTHY_FROM} or "
        f"more: the rule-based score would not flag them (it flags the other {n - missed:,})."
    )


def health_section(features: pd.DataFrame, tiers: pd.Series | None, key: str) -> Section:
    """The health-score distribution today, by the list's risk tier."""
    scores = health_scores(features).set_axis(features["customer_id"].astype(str))
    tier = tiers.reindex(scores.index) if tiers is not None else None
    high = scores[tier == "high"] if tier is not None else None
    return Section(
        "Health score",
        (chart(key, charts.health_figure, scores, tier),),
        health_lines(scores, high),
    )
