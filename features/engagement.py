"""Engagement family: how much, how broadly and how recently a customer uses the product."""

from __future__ import annotations

import ibis.expr.types as ir

from features.describe import Risk
from features.registry import (
    Cutoffs,
    Feature,
    FeatureSpec,
    age_days,
    column_safe,
    count_where,
    days_before,
    distinct_days,
    join_lookback,
    ratio,
    when,
    within,
)

FAMILY = "engagement"
TABLE = "engagement"
LOOKBACK_DAYS = 90
TS = "timestamp"
# Stands for "each of the most frequent event types" in the catalogue and docs.
EVENT_TYPE_PLACEHOLDER = "<event_type>"
# What each feature's reason is about (name prefix -> topic; the rest: "usage"), so a
# customer's top reasons are not three ways of saying "usage dropped".
TOPICS = {"event_types_": "adoption", "rare_event_types_": "adoption"}
DEFAULT_TOPIC = "usage"


def _events(days: int, after: int = 0):
    return lambda t: count_where(within(t, TS, days, after))


def _active_days(days: int, after: int = 0):
    return lambda t: distinct_days(t.days_before, within(t, TS, days, after), days)


def _rare_types(spec: FeatureSpec):
    """Rows of event types outside the spec's most frequent ones."""
    if not spec.event_types:
        return lambda t: t.event_type.notnull()
    return lambda t: t.event_type.notnull() & ~t.event_type.isin(spec.event_types)


def _types_used(spec: FeatureSpec, days: int):
    """Distinct event types in the window: the frequent types seen (from their per-type
    counts) plus the distinct rare ones (counted over the rare rows only, which is cheap)."""

    def derive(r: ir.Table) -> ir.IntegerValue:
        seen = [(r[f"{column_safe(e)}_events_{days}d"] > 0).cast("int64") for e in spec.event_types]
        return sum(seen, r[f"rare_event_types_{days}d"].cast("int64"))

    return derive


def _events_of_type(event_type: str, days: int):
    return lambda t: count_where(within(t, TS, days) & (t.event_type == event_type))


def _usage(name: str, describe: str, days: int, aggregate, **overrides) -> Feature:
    """An engagement feature with the family's defaults: 0 without events, lower is riskier."""
    defaults = {"window_days": days, "fill": 0, "higher_is_riskier": False}
    return Feature(name, FAMILY, describe, aggregate=aggregate, **{**defaults, **overrides})


def _display(event_type: str) -> str:
    """An event type as reasons show it (braces would break the template)."""
    return event_type.replace("{", "(").replace("}", ")")


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every engagement feature for this spec (per-type counts for the spec's event types)."""
    label = spec.settings.value_label
    typical = "(typical customer: {typical:,.0f})"
    # A decline: the earlier window's value above the recent one's (scaled to its length).
    fell_from = {"risk": Risk("higher", than="events_30d")}
    features = [
        _usage("events_7d", f"{{value:n:event}} in the last 7 days {typical}", 7, _events(7)),
        _usage("events_30d", f"{{value:n:event}} in the last 30 days {typical}", 30, _events(30)),
        _usage("events_90d", f"{{value:n:event}} in the last 90 days {typical}", 90, _events(90)),
        _usage(
            "events_30_60d",
            "events fell to {events_30d:,.0f} in the last 30 days from {value:,.0f} 30-60 days "
            "ago",
            60,
            _events(60, 30),
            **fell_from,
        ),
        _usage(
            "events_60_90d",
            "events fell to {events_30d:,.0f} in the last 30 days from {value:,.0f} 60-90 days ago",
            90,
            _events(90, 60),
            **fell_from,
        ),
        _usage(
            "events_7_35d",
            "{events_7d:n:event} in the last 7 days, {value:,.0f} 7-35 days ago",
            35,
            _events(35, 7),
            risk=Risk("higher", than="events_7d", scale=0.25),
        ),
        _usage(
            "active_days_7d",
            f"active on {{value:n:day}} of the last 7 {typical}",
            7,
            _active_days(7),
        ),
        _usage(
            "active_days_30d",
            f"active on {{value:n:day}} of the last 30 {typical}",
            30,
            _active_days(30),
        ),
        _usage(
            "active_days_30_60d",
            "active days fell to {active_days_30d:,.0f} in the last 30 days from {value:,.0f} "
            "30-60 days ago",
            60,
            _active_days(60, 30),
            risk=Risk("higher", than="active_days_30d"),
        ),
        _usage(
            "active_days_60_90d",
            "active days fell to {active_days_30d:,.0f} in the last 30 days from {value:,.0f} "
            "60-90 days ago",
            90,
            _active_days(90, 60),
            risk=Risk("higher", than="active_days_30d"),
        ),
        _usage(
            "active_days_90d",
            f"active on {{value:n:day}} of the last 90 {typical}",
            90,
            _active_days(90),
        ),
        _usage(
            "value_30d",
            f"{label} in the last 30 days: {{value:,.0f}} {typical}",
            30,
            lambda t: when(within(t, TS, 30), t.value).sum().fill_null(0),
            kind="amount",
        ),
        _usage(
            "value_90d",
            f"{label} in the last 90 days: {{value:,.0f}} {typical}",
            90,
            lambda t: when(within(t, TS, 90), t.value).sum().fill_null(0),
            kind="amount",
        ),
        _usage(
            "days_since_last_event",
            "last active {value:n:day} ago (typical customer: {typical:n:day})",
            LOOKBACK_DAYS,
            lambda t: age_days(t, TS).min(),
            kind="days",
            fill=None,
            higher_is_riskier=True,
            describe_missing=f"no activity in the last {LOOKBACK_DAYS} days",
        ),
        Feature(
            "event_types_30d",
            FAMILY,
            f"used {{value:n:different feature}} in the last 30 days {typical}",
            window_days=30,
            derive=_types_used(spec, 30),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "event_types_90d",
            FAMILY,
            f"used {{value:n:different feature}} in the last 90 days {typical}",
            window_days=90,
            derive=_types_used(spec, 90),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "activity_trend_30d",
            FAMILY,
            "activity fell to {value:.0%} of the 30 days before ({events_30d:,.0f} vs "
            "{events_30_60d:,.0f} events)",
            kind="ratio",
            window_days=60,
            derive=lambda r: ratio(r.events_30d, r.events_30_60d),
            risk=Risk("lower", than=1.0),
        ),
        Feature(
            "activity_trend_7d",
            FAMILY,
            "last week's activity at {value:.0%} of its weekly average over the 4 weeks before",
            kind="ratio",
            window_days=35,
            derive=lambda r: ratio(r.events_7d, r.events_7_35d / 4.0),
            risk=Risk("lower", than=1.0),
        ),
    ]
    rare = _rare_types(spec)
    for days in (30, 90):
        features.append(
            _usage(
                f"rare_event_types_{days}d",
                f"used {{value:n:less common feature}} in the last {days} days {typical}",
                days,
                lambda t, d=days: t.event_type.nunique(where=within(t, TS, d)),
                rows=rare,
            )
        )
    for event_type in spec.event_types:
        safe = event_type if event_type == EVENT_TYPE_PLACEHOLDER else column_safe(event_type)
        shown = _display(event_type)
        for days in (7, 30, 90):
            features.append(
                _usage(
                    f"{safe}_events_{days}d",
                    f"{{value:n:'{shown}' event}} in the last {days} days {typical}",
                    days,
                    _events_of_type(event_type, days),
                )
            )
    return features


def joined(events: ir.Table, cutoffs: Cutoffs) -> ir.Table:
    """Each event paired with every cutoff whose lookback window holds it (strictly before),
    with its distance in days to that cutoff."""
    t = join_lookback(
        events.select("customer_id", TS, "event_type", "value"), cutoffs, TS, LOOKBACK_DAYS
    )
    return t.mutate(days_before=days_before(t, TS))
