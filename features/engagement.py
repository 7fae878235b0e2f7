"""Engagement family: how much, how broadly and how recently a customer uses the product."""

from __future__ import annotations

import ibis.expr.types as ir

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


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every engagement feature for this spec (per-type counts for the spec's event types)."""
    f = FAMILY
    label = spec.settings.value_label
    features = [
        Feature(
            "events_7d",
            f,
            "{value:.0f} events in the last 7 days",
            window_days=7,
            aggregate=_events(7),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "events_30d",
            f,
            "{value:.0f} events in the last 30 days",
            window_days=30,
            aggregate=_events(30),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "events_90d",
            f,
            "{value:.0f} events in the last 90 days",
            window_days=90,
            aggregate=_events(90),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "events_30_60d",
            f,
            "{value:.0f} events in the 30 days before the last 30",
            window_days=60,
            aggregate=_events(60, 30),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "events_60_90d",
            f,
            "{value:.0f} events 60-90 days ago, {events_30d:.0f} in the last 30 days",
            window_days=90,
            aggregate=_events(90, 60),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "events_7_35d",
            f,
            "{value:.0f} events in the 4 weeks before the last 7 days",
            window_days=35,
            aggregate=_events(35, 7),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "active_days_7d",
            f,
            "active on {value:.0f} of the last 7 days",
            window_days=7,
            aggregate=_active_days(7),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "active_days_30d",
            f,
            "active days in last 30: {value:.0f}, vs {active_days_30_60d:.0f} in the 30 before",
            window_days=30,
            aggregate=_active_days(30),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "active_days_30_60d",
            f,
            "active on {value:.0f} days in the 30 days before the last 30",
            window_days=60,
            aggregate=_active_days(60, 30),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "active_days_60_90d",
            f,
            "active on {value:.0f} days 60-90 days ago, {active_days_30d:.0f} in the last 30",
            window_days=90,
            aggregate=_active_days(90, 60),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "active_days_90d",
            f,
            "active on {value:.0f} of the last 90 days",
            window_days=90,
            aggregate=_active_days(90),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "value_30d",
            f,
            f"{label} in the last 30 days: {{value:.0f}} ({{value_90d:.0f}} over 90 days)",
            kind="amount",
            window_days=30,
            aggregate=lambda t: when(within(t, TS, 30), t.value).sum().fill_null(0),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "value_90d",
            f,
            f"{label} in the last 90 days: {{value:.0f}}",
            kind="amount",
            window_days=90,
            aggregate=lambda t: when(within(t, TS, 90), t.value).sum().fill_null(0),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "days_since_last_event",
            f,
            "last active {value:.0f} days ago",
            kind="days",
            window_days=LOOKBACK_DAYS,
            aggregate=lambda t: age_days(t, TS).min(),
            higher_is_riskier=True,
        ),
        Feature(
            "event_types_30d",
            f,
            "used {value:.0f} different features in the last 30 days",
            window_days=30,
            derive=_types_used(spec, 30),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "event_types_90d",
            f,
            "used {value:.0f} different features in the last 90 days",
            window_days=90,
            derive=_types_used(spec, 90),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "activity_trend_30d",
            f,
            "30-day activity at {value:.0%} of the 30 days before "
            "({events_30d:.0f} vs {events_30_60d:.0f} events)",
            kind="ratio",
            window_days=60,
            derive=lambda r: ratio(r.events_30d, r.events_30_60d),
            higher_is_riskier=False,
        ),
        Feature(
            "activity_trend_7d",
            f,
            "last week's activity at {value:.0%} of the previous 4-week weekly average",
            kind="ratio",
            window_days=35,
            derive=lambda r: ratio(r.events_7d, r.events_7_35d / 4.0),
            higher_is_riskier=False,
        ),
    ]
    rare = _rare_types(spec)
    for days in (30, 90):
        features.append(
            Feature(
                f"rare_event_types_{days}d",
                f,
                f"used {{value:.0f}} less common features in the last {days} days",
                window_days=days,
                aggregate=lambda t, d=days: t.event_type.nunique(where=within(t, TS, d)),
                fill=0,
                higher_is_riskier=False,
                rows=rare,
            )
        )
    for event_type in spec.event_types:
        safe = event_type if event_type == EVENT_TYPE_PLACEHOLDER else column_safe(event_type)
        for days in (7, 30, 90):
            features.append(
                Feature(
                    f"{safe}_events_{days}d",
                    f,
                    f"{{value:.0f}} '{event_type}' events in the last {days} days",
                    window_days=days,
                    aggregate=_events_of_type(event_type, days),
                    fill=0,
                    higher_is_riskier=False,
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
