"""The early warnings retention research names, measured on the customer's own data: activity
falls before customers leave, slow or unresolved support precedes churn, detractors leave more
often than promoters, and a health score separates the two.

Each function takes engine tables (or small frames) and returns a small frame to chart; the
rows compared are the labelled (customer, month) rows, so "churned" follows the configured
definition.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features.families.surveys import PASSIVE_FROM, PROMOTER_FROM
from models.health import health_risk

OPEN, SLOW, IN_TIME, NONE = (
    "a ticket still open",
    "a slow ticket",
    "tickets resolved in time",
    "no tickets",
)
SUPPORT_GROUPS = (OPEN, SLOW, IN_TIME, NONE)
NPS_GROUPS = ("promoter", "passive", "detractor", "no answer")
HEALTHY_FROM = 70
"""The health score below which a customer-success team would flag a customer."""


def activity_before(events: ir.Table, anchors: ir.Table, *, weeks: int = 12) -> pd.DataFrame:
    """Average events per customer in each of the `weeks` weeks before an anchor date (week 1
    is the last week), per group. `anchors` holds customer_id, anchor (a timestamp) and group
    (e.g. "churned", "retained"); a customer with no events in a week counts as zero.

    Columns: group, weeks_before, events (per customer and week), customers."""
    a = anchors.mutate(anchor_id=ibis.row_number())
    days = 7 * weeks
    e = events.select("customer_id", "timestamp")
    joined = a.join(
        e,
        [
            a.customer_id == e.customer_id,
            e.timestamp < a.anchor,
            e.timestamp >= a.anchor - ibis.interval(days=days),
        ],
    )
    age = (joined.anchor.epoch_seconds() - joined.timestamp.epoch_seconds()) / 86_400
    week = (age / 7).floor().cast("int64") + 1
    counts = joined.group_by([joined.group, week.name("weeks_before")]).aggregate(n=ibis._.count())
    sizes = a.group_by("group").aggregate(customers=ibis._.count()).execute()
    counts = counts.execute()
    grid = pd.MultiIndex.from_product(
        [sizes["group"], range(1, weeks + 1)], names=["group", "weeks_before"]
    )
    n = counts.set_index(["group", "weeks_before"])["n"].reindex(grid, fill_value=0)
    out = n.rename("events").reset_index().merge(sizes, on="group")
    out["events"] = out["events"] / out["customers"]
    return out


def slow_hours(tickets: pd.DataFrame, quantile: float = 0.75) -> float:
    """The resolution time (hours) that only the slowest quarter of resolved tickets exceed."""
    resolved = tickets.dropna(subset=["resolved_at"])
    hours = (resolved["resolved_at"] - resolved["opened_at"]).dt.total_seconds() / 3600
    return float(hours.quantile(quantile)) if len(hours) else float("nan")


def support_experience(
    tickets: ir.Table, rows: ir.Table, *, slow: float, days: int = 90
) -> pd.DataFrame:
    """Each (customer_id, cutoff) row's support in the `days` before the cutoff: a ticket
    still open at the cutoff, else one resolved slower than `slow` hours, else tickets
    resolved in time, else none. Columns: customer_id, cutoff, support."""
    t = tickets.select("customer_id", "opened_at", "resolved_at")
    j = rows.select("customer_id", "cutoff").join(
        t,
        [
            rows.customer_id == t.customer_id,
            t.opened_at < rows.cutoff,
            t.opened_at >= rows.cutoff - ibis.interval(days=days),
        ],
    )
    still_open = j.resolved_at.isnull() | (j.resolved_at >= j.cutoff)
    hours = (j.resolved_at.epoch_seconds() - j.opened_at.epoch_seconds()) / 3600
    per_row = j.group_by(["customer_id", "cutoff"]).aggregate(
        open=still_open.any(), slow=(~still_open & (hours > slow)).any()
    )
    frame = rows.select("customer_id", "cutoff").left_join(per_row, ["customer_id", "cutoff"])
    frame = frame.select("customer_id", "cutoff", "open", "slow").execute()
    found = frame["open"].notna()
    support = np.select(
        [frame["open"].fillna(False).astype(bool), frame["slow"].fillna(False).astype(bool), found],
        [OPEN, SLOW, IN_TIME],
        default=NONE,
    )
    group = pd.Categorical(support, categories=SUPPORT_GROUPS, ordered=True)
    return frame[["customer_id", "cutoff"]].assign(support=group)


def nps_group(score: pd.Series) -> pd.Series:
    """promoter (9-10), passive (7-8), detractor (0-6) or no answer, as an ordered category."""
    group = np.select(
        [score >= PROMOTER_FROM, score >= PASSIVE_FROM, score.notna()],
        list(NPS_GROUPS[:3]),
        default=NPS_GROUPS[3],
    )
    return pd.Series(pd.Categorical(group, categories=NPS_GROUPS, ordered=True), index=score.index)


def nps_at(surveys: ir.Table, rows: ir.Table, *, days: int = 365) -> pd.DataFrame:
    """Each (customer_id, cutoff) row's latest NPS answer in the `days` before the cutoff, as
    a group. Columns: customer_id, cutoff, nps."""
    s = surveys.select("customer_id", "answered_at", "nps")
    j = rows.select("customer_id", "cutoff").join(
        s,
        [
            rows.customer_id == s.customer_id,
            s.answered_at < rows.cutoff,
            s.answered_at >= rows.cutoff - ibis.interval(days=days),
        ],
    )
    latest = j.group_by(["customer_id", "cutoff"]).aggregate(score=j.nps.argmax(j.answered_at))
    frame = rows.select("customer_id", "cutoff").left_join(latest, ["customer_id", "cutoff"])
    frame = frame.select("customer_id", "cutoff", "score").execute()
    return frame[["customer_id", "cutoff"]].assign(nps=nps_group(frame["score"].astype(float)))


def nps_by_month(answers: pd.DataFrame) -> pd.DataFrame:
    """Net promoter score per calendar month of the answers: % promoters - % detractors.
    Columns: month, answers, nps."""
    group = nps_group(answers["nps"].astype(float))
    month = answers["answered_at"].dt.to_period("M").dt.to_timestamp()
    shares = pd.crosstab(month, group, normalize="index")
    out = pd.DataFrame(
        {
            "answers": month.value_counts().sort_index(),
            "nps": 100 * (shares.get("promoter", 0.0) - shares.get("detractor", 0.0)),
        }
    )
    return out.rename_axis("month").reset_index()


def net_promoter_score(scores: pd.Series) -> float:
    """The net promoter score of a set of answers: % promoters - % detractors (NaN for no
    answers)."""
    group = nps_group(scores.dropna().astype(float))
    if not len(group):
        return float("nan")
    return float(100 * ((group == "promoter").mean() - (group == "detractor").mean()))


def health_scores(features: pd.DataFrame) -> pd.Series:
    """The customer-success health score, 0-100 (100 = healthy): 100 minus the rule-based
    risk points of models/health.py."""
    return pd.Series(100.0 - health_risk(features), index=features.index)
