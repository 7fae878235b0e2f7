"""Engagement trajectories: usage measured against the customer's own history, week by week
and pace against pace, so a heavy user slowing down is seen before they look like a light one.
Declared for the engagement family (features/families/engagement.py), which passes itself in."""

from __future__ import annotations

from features.describe import MIN_DROP, Risk, enough_before, steep_decline
from features.exports.contract import TIMELINES
from features.expressions import age_days, days_known, ratio, when
from features.family import Family, Window
from features.periods import Periods, active_periods, fitted_change, periods_fell
from features.rollup import ActiveDays
from features.spec import Feature, FeatureSpec

TS = TIMELINES["engagement"]
RECENT = (Window(30), Window(90))
# trend: (recent count, earlier count, weeks in the earlier window, window days, wording)
TRENDS = {
    "activity_trend_30d": ("events_30d", "events_30_60d", 1.0, 60, "activity fell to "
                           "{value:.0%} of the 30 days before ({events_30d:,.0f} vs "
                           "{events_30_60d:,.0f} events)"),
    "activity_trend_7d": ("events_7d", "events_7_35d", 4.0, 35, "last week's activity at "
                          "{value:.0%} of its weekly average over the 4 weeks before"),
}  # fmt: skip
WEEKS = Periods(7, 12)  # the weekly trajectory: active days in each of the last 12 weeks
FELL_WEEKS = 8
DECLINE = 0.5  # a fitted fall of half an active day a week or more is a decline worth naming


def trend(family: Family, name: str) -> Feature:
    """A ratio of a recent count to its earlier counterpart's weekly pace (TRENDS)."""
    recent, earlier, weeks, days, text = TRENDS[name]
    derive = lambda r: ratio(r[recent], r[earlier] / weeks)  # noqa: E731
    risk = Risk("lower", 1.0 - MIN_DROP, given=(enough_before(earlier),))
    return family.feature(name, text, kind="ratio", window_days=days, fill=None,
                          higher_is_riskier=None, derive=derive, inputs=(recent, earlier),
                          risk=risk)  # fmt: skip


def weekly(family: Family) -> list[Feature]:
    """The last 12 weeks, week by week: in how many the customer was active, how much their
    weekly active days fell by the least-squares line, in how many of the last 8 they fell."""
    weeks = lambda combine: ActiveDays.in_periods(WEEKS, TS, combine)  # noqa: E731
    span = WEEKS.span
    return [
        family.feature("active_weeks_12w", "active in {value:n:week} of the last 12",
                       typical=",.0f", window_days=span, aggregate=weeks(active_periods),
                       history="whole"),
        family.feature("active_days_decline_12w", "weekly use trending down: {value:.1f} fewer "
                       "active days a week than 12 weeks ago", kind="amount",
                       window_days=span, aggregate=weeks(lambda v: -fitted_change(v)),
                       higher_is_riskier=True, history="whole",
                       risk=steep_decline("active_days_decline_12w", DECLINE)),
        family.feature("weeks_fell_8w", "weekly use fell in {value:.0f} of the last 8 weeks",
                       window_days=FELL_WEEKS * 7 + 7, higher_is_riskier=True,
                       aggregate=weeks(lambda v: periods_fell(v, FELL_WEEKS)), history="whole"),
    ]  # fmt: skip


def pace(family: Family, spec: FeatureSpec) -> list[Feature]:
    """Intensity and pace against the customer's own history: events per active day, value per
    event, the last 30 days against the 90-day pace (since signup if shorter), events per month
    of tenure within 90 days."""
    per_day = lambda r, d: ratio(r[d] * 30.0, days_known(r, 90))  # noqa: E731
    return [
        *[family.feature(f"events_per_active_day_{w.suffix}", "{value:.1f} events per active "
                         f"day {w.words}", typical=".1f", kind="amount",
                         window_days=w.days, fill=None, inputs=(f"events_{w.suffix}",
                         f"active_days_{w.suffix}"), derive=lambda r, w=w: ratio(
                         r[f"events_{w.suffix}"], r[f"active_days_{w.suffix}"]))
          for w in RECENT],
        family.feature("value_per_event_90d", f"{spec.settings.value_label} per event in the "
                       "last 90 days: {value:,.1f}", typical=",.1f",
                       kind="amount", window_days=90, fill=None,
                       aggregate=lambda t: when(Window(90).holds(t, TS), t.value).mean()),
        family.feature("active_days_pace_90d", "active on {active_days_30d:n:day} of the last "
                       "30, {value:.0%} of their pace {since}", kind="ratio",
                       window_days=90, fill=None, inputs=("active_days_30d", "active_days_90d",
                       "signup_at"), derive=lambda r: ratio(r.active_days_30d,
                       per_day(r, "active_days_90d")), per_tenure=True,
                       risk=Risk("lower", 1.0 - MIN_DROP, given=(enough_before(
                           "active_days_90d"),))),
        family.feature("value_pace_90d", f"{spec.settings.value_label} in the last 30 days at "
                       "{value:.0%} of their pace {since}", kind="ratio", window_days=90,
                       fill=None, inputs=("value_30d", "value_90d", "signup_at"),
                       derive=lambda r: ratio(r.value_30d, per_day(r, "value_90d")),
                       per_tenure=True, risk=Risk("lower", 1.0 - MIN_DROP, given=(
                           enough_before("value_90d"),))),
        family.feature("events_per_month_90d", "{value:,.0f} events a month {since}",
                       typical=",.0f", kind="amount", window_days=90,
                       inputs=("events_90d", "signup_at"), per_tenure=True,
                       derive=lambda r: per_day(r, "events_90d")),
    ]  # fmt: skip


def last_use(family: Family, event_type: str, safe: str, shown: str) -> Feature:
    """Days since the customer last used a frequent event type (`safe` names the column,
    `shown` is the type as the reason prints it)."""
    return family.feature(
        f"{safe}_days_since_last", "last used '" + shown + "' {value:n:day} ago", typical="n:day",
        kind="days", window_days=family.lookback_days, fill=None, higher_is_riskier=True,
        aggregate=lambda t: age_days(t, TS).min(where=t.event_type == event_type),
    )  # fmt: skip
