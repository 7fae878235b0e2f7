"""Support family: ticket volume, tickets still open, resolution speed, priority, satisfaction.

A ticket's resolution time and satisfaction only count once it was resolved before the cutoff.
"""

from __future__ import annotations

import ibis.expr.types as ir

from features.contract import HIGH_PRIORITIES
from features.registry import (
    Cutoffs,
    Feature,
    FeatureSpec,
    age_days,
    count_where,
    join_lookback,
    ratio,
    within,
)

FAMILY = "support"
# What each feature's reason is about (name prefix -> topic; the rest: "ticket volume").
TOPICS = {
    "open_tickets": "open tickets",
    "oldest_open_ticket": "open tickets",
    "resolution_hours": "support experience",
    "satisfaction": "support experience",
    "last_satisfaction": "support experience",
}
DEFAULT_TOPIC = "ticket volume"
TABLE = "support"
LOOKBACK_DAYS = 365
TS = "opened_at"


def _resolved(t: ir.Table) -> ir.BooleanValue:
    return t.resolved_at.notnull() & (t.resolved_at < t.cutoff)


def _open(t: ir.Table) -> ir.BooleanValue:
    return t.resolved_at.isnull() | (t.resolved_at >= t.cutoff)


def _resolution_hours(t: ir.Table) -> ir.FloatingValue:
    return (t.resolved_at.epoch_seconds() - t.opened_at.epoch_seconds()) / 3600.0


def _recently_resolved(t: ir.Table) -> ir.BooleanValue:
    return _resolved(t) & within(t, TS, 90)


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every support feature."""
    f = FAMILY
    return [
        Feature(
            "tickets_30d",
            f,
            "{value:.0f} support tickets in the last 30 days",
            window_days=30,
            aggregate=lambda t: count_where(within(t, TS, 30)),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "tickets_90d",
            f,
            "{value:.0f} support tickets in the last 90 days",
            window_days=90,
            aggregate=lambda t: count_where(within(t, TS, 90)),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "open_tickets",
            f,
            "{value:.0f} support tickets still open",
            window_days=365,
            aggregate=lambda t: count_where(_open(t)),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "oldest_open_ticket_days",
            f,
            "oldest open ticket waiting {value:.0f} days",
            kind="days",
            window_days=365,
            aggregate=lambda t: age_days(t, TS).max(where=_open(t)),
            higher_is_riskier=True,
        ),
        Feature(
            "resolution_hours_mean_90d",
            f,
            "tickets took {value:.0f} hours to resolve on average (last 90 days)",
            kind="amount",
            window_days=90,
            aggregate=lambda t: _resolution_hours(t).mean(where=_recently_resolved(t)),
            higher_is_riskier=True,
        ),
        Feature(
            "resolution_hours_max_90d",
            f,
            "slowest ticket took {value:.0f} hours to resolve (last 90 days)",
            kind="amount",
            window_days=90,
            aggregate=lambda t: _resolution_hours(t).max(where=_recently_resolved(t)),
            higher_is_riskier=True,
        ),
        Feature(
            "high_priority_tickets_90d",
            f,
            "{value:.0f} high-priority or urgent tickets in the last 90 days",
            window_days=90,
            aggregate=lambda t: count_where(
                within(t, TS, 90) & t.priority.isin(HIGH_PRIORITIES).fill_null(False)
            ),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "high_priority_share_90d",
            f,
            "{value:.0%} of last 90 days' tickets were high priority",
            kind="ratio",
            window_days=90,
            derive=lambda r: ratio(r.high_priority_tickets_90d, r.tickets_90d),
            higher_is_riskier=True,
        ),
        Feature(
            "satisfaction_mean_90d",
            f,
            "average support satisfaction {value:.1f} (last 90 days)",
            kind="score",
            window_days=90,
            aggregate=lambda t: t.satisfaction.mean(where=_recently_resolved(t)),
            higher_is_riskier=False,
        ),
        Feature(
            "satisfaction_min_90d",
            f,
            "worst support satisfaction {value:.0f} (last 90 days)",
            kind="score",
            window_days=90,
            aggregate=lambda t: t.satisfaction.min(where=_recently_resolved(t)),
            higher_is_riskier=False,
        ),
        Feature(
            "last_satisfaction",
            f,
            "last support satisfaction score {value:.0f}",
            kind="score",
            window_days=365,
            aggregate=lambda t: t.satisfaction.argmax(
                t.resolved_at, where=_resolved(t) & t.satisfaction.notnull()
            ),
            higher_is_riskier=False,
        ),
        Feature(
            "days_since_last_ticket",
            f,
            "last support ticket {value:.0f} days ago",
            kind="days",
            window_days=365,
            aggregate=lambda t: age_days(t, TS).min(),
            higher_is_riskier=False,
        ),
    ]


def joined(tickets: ir.Table, cutoffs: Cutoffs) -> ir.Table:
    """Tickets opened in the year before each cutoff, joined to that cutoff."""
    columns = ("customer_id", TS, "resolved_at", "priority", "satisfaction")
    return join_lookback(tickets.select(*columns), cutoffs, TS, LOOKBACK_DAYS)
