"""Support family: ticket volume, tickets still open, resolution speed, priority, satisfaction.

A ticket's resolution time and satisfaction only count once it was resolved before the cutoff.
"""

from __future__ import annotations

import ibis.expr.types as ir

from features.describe import Given, Risk
from features.exports.contract import HIGH_PRIORITIES, TIMELINES
from features.expressions import age_days, count_where, days_known, ratio, within
from features.family import Family, Source, Window
from features.spec import Feature, FeatureSpec

LOOKBACK_DAYS = 365
TS = TIMELINES["support"]
RECENT_TICKET_DAYS = 30
ABOVE_PACE = 1.5  # tickets in the last 30 days at half again their 90-day pace
DISSATISFIED_BELOW = 3  # satisfaction 1-5: ratings 1-2 are dissatisfied (the bottom two boxes)


def _resolved(t: ir.Table) -> ir.BooleanValue:
    return t.resolved_at.notnull() & (t.resolved_at < t.cutoff)


def _open(t: ir.Table) -> ir.BooleanValue:
    return t.resolved_at.isnull() | (t.resolved_at >= t.cutoff)


def _resolution_hours(t: ir.Table) -> ir.FloatingValue:
    return (t.resolved_at.epoch_seconds() - t.opened_at.epoch_seconds()) / 3600.0


def _mean(value: ir.NumericValue, where: ir.BooleanValue) -> ir.FloatingValue:
    return value.mean(where=where)


def _max(value: ir.NumericValue, where: ir.BooleanValue) -> ir.NumericValue:
    return value.max(where=where)


def _recently_resolved(t: ir.Table) -> ir.BooleanValue:
    return _resolved(t) & within(t, TS, 90)


def _ticket(name: str, describe: str, days: int, aggregate, **overrides) -> Feature:
    """A support feature over `days` with the family's defaults."""
    return FAMILY.feature(name, describe, window_days=days, aggregate=aggregate, **overrides)


UNKNOWN = {"fill": None}
"""No resolved or open ticket: the value is unknown, not zero."""


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every support feature."""
    return [
        *[_volume(w) for w in (Window(30), Window(90))],
        *_open_tickets(),
        *_resolution(),
        *_priority_and_pace(),
        *_satisfaction(),
        _last_ticket(),
    ]


def _volume(w: Window) -> Feature:
    """Tickets opened in a window."""
    return _ticket(f"tickets_{w.suffix}", f"{{value:n:support ticket}} {w.words}", w.days,
                   lambda t: count_where(w.holds(t, TS)), history="scale")  # fmt: skip


def _open_tickets() -> list[Feature]:
    """Tickets still open at the cutoff, and how long the oldest has waited."""
    return [
        _ticket("open_tickets", "{value:n:support ticket} still open", LOOKBACK_DAYS,
                lambda t: count_where(_open(t)), risk=Risk("higher", than=0)),
        _ticket("oldest_open_ticket_days", "oldest open ticket waiting {value:n:day}",
                LOOKBACK_DAYS, lambda t: age_days(t, TS).max(where=_open(t)), kind="days",
                risk=Risk("higher", than=0), **UNKNOWN),
    ]  # fmt: skip


def _resolution() -> list[Feature]:
    """Hours tickets resolved in the last 90 days took: on average and the slowest."""
    return [
        _ticket(f"resolution_hours_{stat}_90d", f"{wording} in the last 90 days", 90,
                lambda t, reduce=reduce: reduce(_resolution_hours(t), _recently_resolved(t)),
                kind="amount", typical=",.0f", **UNKNOWN)
        for stat, wording, reduce in (
            ("mean", "tickets took {value:,.0f} hours to resolve on average", _mean),
            ("max", "slowest ticket took {value:,.0f} hours to resolve", _max),
        )
    ]  # fmt: skip


def _priority_and_pace() -> list[Feature]:
    """High-priority tickets, the last 30 days' pace against the 90 days', and the share of
    tickets that were high priority."""
    urgent = lambda t: t.priority.isin(HIGH_PRIORITIES).fill_null(False)  # noqa: E731
    return [
        _ticket("high_priority_tickets_90d", "{value:n:high-priority or urgent ticket} in the "
                "last 90 days", 90, lambda t: count_where(within(t, TS, 90) & urgent(t)),
                history="scale"),
        FAMILY.feature("ticket_pace_90d", "{tickets_30d:n:support ticket} in the last 30 days, "
                       "{value:.1f} times their pace {since}", kind="ratio",
                       window_days=90, fill=None, derive=lambda r: ratio(
                           r.tickets_30d, r.tickets_90d * 30.0 / days_known(r, 90)),
                       inputs=("tickets_30d", "tickets_90d", "signup_at"), per_tenure=True,
                       # one ticket is no pace: a ratio of tiny counts is noise
                       risk=Risk("higher", than=ABOVE_PACE,
                                 given=(Given("tickets_30d", "at_least", 2),))),
        FAMILY.feature("high_priority_share_90d", "{value:.0%} of the last 90 days' tickets "
                       "were high priority", kind="ratio", window_days=90, fill=None,
                       derive=lambda r: ratio(r.high_priority_tickets_90d, r.tickets_90d),
                       inputs=("high_priority_tickets_90d", "tickets_90d")),
    ]  # fmt: skip


def _satisfaction() -> list[Feature]:
    """Satisfaction with resolved tickets: average and worst in 90 days, and the last."""
    rated = lambda t: _resolved(t) & t.satisfaction.notnull()  # noqa: E731
    scored = {"kind": "score", "higher_is_riskier": False, "fill": None,
              "risk": Risk("lower", than=DISSATISFIED_BELOW)}  # fmt: skip
    return [
        _ticket("satisfaction_mean_90d", "average support satisfaction {value:.1f} in the last "
                "90 days", 90, lambda t: t.satisfaction.mean(where=_recently_resolved(t)),
                typical=".1f", **scored),
        _ticket("satisfaction_min_90d", "worst support satisfaction {value:.0f} in the last 90 "
                "days", 90, lambda t: t.satisfaction.min(where=_recently_resolved(t)),
                typical=".0f", **scored),
        _ticket("last_satisfaction", "last support satisfaction score {value:.0f}",
                LOOKBACK_DAYS, lambda t: t.satisfaction.argmax(t.resolved_at, where=rated(t)),
                typical=".0f", **scored),
    ]  # fmt: skip


def _last_ticket() -> Feature:
    """Days since the customer last contacted support: a risk when recent."""
    return _ticket(
        "days_since_last_ticket",
        "contacted support {value:n:day} ago",
        LOOKBACK_DAYS,
        lambda t: age_days(t, TS).min(),
        kind="days",
        higher_is_riskier=False,
        # a ticket in the last month is a risk signal; an old one is not
        risk=Risk("lower", than=RECENT_TICKET_DAYS),
        **UNKNOWN,
    )


FAMILY = Family(
    name="support",
    declare=declarations,
    source=Source("support", LOOKBACK_DAYS, ("resolved_at", "priority", "satisfaction")),
    topics={
        "open_tickets": "open tickets",
        "oldest_open_ticket": "open tickets",
        "resolution_hours": "support experience",
        "satisfaction": "support experience",
        "last_satisfaction": "support experience",
    },
    default_topic="ticket volume",
    defaults={"fill": 0, "higher_is_riskier": True},
)
