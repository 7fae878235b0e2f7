"""Engagement family: how much, how broadly and how recently a customer uses the product."""

from __future__ import annotations

from features.describe import Risk
from features.expressions import age_days, count_where, days_before, days_known, ratio, when
from features.expressions import distinct_days as active_days
from features.family import Family, Source, Window
from features.periods import Periods, active_periods, fitted_change, periods_fell
from features.spec import Feature, FeatureSpec, column_safe

TS = "timestamp"
EVENT_TYPE_PLACEHOLDER = "<event_type>"  # "each frequent event type" in the catalogue
TYPICAL = " (typical customer: {typical:,.0f})"
# Each window once. An earlier window's count is a reason when above its recent counterpart's.
COUNTS = (Window(7), Window(30), Window(90), Window(60, 30), Window(90, 60), Window(35, 7))
ACTIVE = (Window(7), Window(30), Window(60, 30), Window(90, 60), Window(90))
RECENT = (Window(30), Window(90))  # usage value, breadth of use
PER_TYPE = (Window(7), Window(30), Window(90))
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
BELOW_PACE = 0.8  # a recent pace a fifth or more below the customer's own longer one


def _count(prefix: str, w: Window, aggregate, recent: str, fell: str) -> Feature:
    """A count over a window, worded `recent` for a recent one; an earlier window is worded
    against its recent counterpart and is a reason when above it (a decline)."""
    name, base = f"{prefix}_{w.suffix}", f"{prefix}_{w.recent.suffix}"
    if not w.after:
        return FAMILY.feature(name, recent, window_days=w.days, aggregate=aggregate)
    text = f"{fell} fell to {{{base}:,.0f}} {w.recent.words} from {{value:,.0f}} {w.words}"
    if w.scale != 1:  # different lengths: both counts, and the risk compares them per day
        text = f"{{{base}:n:event}} {w.recent.words}, {{value:,.0f}} {w.words}"
    risk = Risk("higher", than=base, scale=w.scale)
    return FAMILY.feature(name, text, window_days=w.days, aggregate=aggregate, risk=risk)


def _events(w: Window) -> Feature:
    aggregate = lambda t: count_where(w.holds(t, TS))  # noqa: E731
    return _count("events", w, aggregate, "{value:n:event} " + w.words + TYPICAL, "events")


def _active(w: Window) -> Feature:
    aggregate = lambda t: active_days(t.days_before, w.holds(t, TS), w.days)  # noqa: E731
    text = f"active on {{value:n:day}} of the last {w.days}{TYPICAL}"
    return _count("active_days", w, aggregate, text, "active days")


def _value(spec: FeatureSpec, w: Window) -> Feature:
    text = f"{spec.settings.value_label} {w.words}: {{value:,.0f}}{TYPICAL}"
    aggregate = lambda t: when(w.holds(t, TS), t.value).sum().fill_null(0)  # noqa: E731
    return FAMILY.feature(
        f"value_{w.suffix}", text, kind="amount", window_days=w.days, aggregate=aggregate
    )


def _trend(name: str) -> Feature:
    recent, earlier, weeks, days, text = TRENDS[name]
    derive = lambda r: ratio(r[recent], r[earlier] / weeks)  # noqa: E731
    return FAMILY.feature(name, text, kind="ratio", window_days=days, fill=None,
                          higher_is_riskier=None, derive=derive, inputs=(recent, earlier),
                          risk=Risk("lower", 1.0))  # fmt: skip


def _breadth(spec: FeatureSpec, w: Window, rare_rows) -> tuple[Feature, Feature]:
    """All distinct event types used (the frequent ones seen, from their per-type counts, plus
    the rare ones) and the distinct rare types, counted over the rare rows only (cheap)."""
    seen = [f"{column_safe(e)}_events_{w.suffix}" for e in spec.event_types]
    rare = f"rare_event_types_{w.suffix}"
    derive = lambda r: sum(((r[c] > 0).cast("int64") for c in seen), r[rare].cast("int64"))  # noqa: E731
    count = lambda t: t.event_type.nunique(where=w.holds(t, TS))  # noqa: E731
    return (
        FAMILY.feature(f"event_types_{w.suffix}", f"used {{value:n:different feature}} "
                       f"{w.words}{TYPICAL}", window_days=w.days, derive=derive,
                       inputs=(*seen, rare)),
        FAMILY.feature(rare, f"used {{value:n:less common feature}} {w.words}{TYPICAL}",
                       window_days=w.days, rows=rare_rows, aggregate=count),
    )  # fmt: skip


def _per_type(event_type: str, w: Window) -> Feature:
    safe = event_type if event_type == EVENT_TYPE_PLACEHOLDER else column_safe(event_type)
    shown = event_type.replace("{", "(").replace("}", ")")  # braces would break the template
    aggregate = lambda t: count_where(w.holds(t, TS) & (t.event_type == event_type))  # noqa: E731
    text = "{value:n:'" + shown + "' event} " + w.words + TYPICAL
    return FAMILY.feature(
        f"{safe}_events_{w.suffix}", text, window_days=w.days, aggregate=aggregate
    )


def _weekly() -> list[Feature]:
    """The last 12 weeks, week by week: in how many the customer was active, how much their
    weekly active days fell by the least-squares line, in how many of the last 8 they fell."""
    weeks = lambda t: WEEKS.active_days(t.days_before, t[TS].notnull())  # noqa: E731
    span = WEEKS.span
    return [
        FAMILY.feature("active_weeks_12w", "active in {value:n:week} of the last 12 (typical "
                       "customer: {typical:,.0f})", window_days=span,
                       aggregate=lambda t: active_periods(weeks(t))),
        FAMILY.feature("active_days_decline_12w", "weekly use trending down: {value:.1f} fewer "
                       "active days a week than 12 weeks ago", kind="amount",
                       window_days=span, aggregate=lambda t: -fitted_change(weeks(t)),
                       higher_is_riskier=True, risk=Risk("higher", than=DECLINE)),
        FAMILY.feature("weeks_fell_8w", "weekly use fell in {value:.0f} of the last 8 weeks",
                       window_days=FELL_WEEKS * 7 + 7, higher_is_riskier=True,
                       aggregate=lambda t: periods_fell(weeks(t), FELL_WEEKS)),
    ]  # fmt: skip


def _pace(spec: FeatureSpec) -> list[Feature]:
    """Intensity and pace against the customer's own history: events per active day, value per
    event, the last 30 days against the 90-day pace (since signup if shorter), events per month
    of tenure within 90 days."""
    per_day = lambda r, d: ratio(r[d] * 30.0, days_known(r, 90))  # noqa: E731
    return [
        *[FAMILY.feature(f"events_per_active_day_{w.suffix}", "{value:.1f} events per active "
                         f"day {w.words} (typical customer: {{typical:.1f}})", kind="amount",
                         window_days=w.days, fill=None, inputs=(f"events_{w.suffix}",
                         f"active_days_{w.suffix}"), derive=lambda r, w=w: ratio(
                         r[f"events_{w.suffix}"], r[f"active_days_{w.suffix}"]))
          for w in RECENT],
        FAMILY.feature("value_per_event_90d", f"{spec.settings.value_label} per event in the "
                       "last 90 days: {value:,.1f} (typical customer: {typical:,.1f})",
                       kind="amount", window_days=90, fill=None,
                       aggregate=lambda t: when(Window(90).holds(t, TS), t.value).mean()),
        FAMILY.feature("active_days_pace_90d", "active on {active_days_30d:n:day} of the last "
                       "30, {value:.0%} of their pace over 90 days", kind="ratio",
                       window_days=90, fill=None, inputs=("active_days_30d", "active_days_90d",
                       "signup_at"), derive=lambda r: ratio(r.active_days_30d,
                       per_day(r, "active_days_90d")), risk=Risk("lower", BELOW_PACE)),
        FAMILY.feature("value_pace_90d", f"{spec.settings.value_label} in the last 30 days at "
                       "{value:.0%} of their pace over 90 days", kind="ratio", window_days=90,
                       fill=None, inputs=("value_30d", "value_90d", "signup_at"),
                       derive=lambda r: ratio(r.value_30d, per_day(r, "value_90d")),
                       risk=Risk("lower", BELOW_PACE)),
        FAMILY.feature("events_per_month_90d", "{value:,.0f} events a month over the last 90 "
                       "days or since signing up (typical customer: {typical:,.0f})",
                       kind="amount", window_days=90, inputs=("events_90d", "signup_at"),
                       derive=lambda r: per_day(r, "events_90d")),
    ]  # fmt: skip


def _last_use(event_type: str) -> Feature:
    safe = event_type if event_type == EVENT_TYPE_PLACEHOLDER else column_safe(event_type)
    shown = event_type.replace("{", "(").replace("}", ")")
    return FAMILY.feature(
        f"{safe}_days_since_last", "last used '" + shown + "' {value:n:day} ago (typical "
        "customer: {typical:n:day})", kind="days", window_days=FAMILY.lookback_days, fill=None,
        higher_is_riskier=True, aggregate=lambda t: age_days(t, TS).min(
            where=t.event_type == event_type),
    )  # fmt: skip


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every engagement feature for this spec (per-type counts for the spec's event types)."""
    types = spec.event_types
    rare_rows = lambda t: t.event_type.notnull() & ~t.event_type.isin(types or ("",))  # noqa: E731
    breadth = [_breadth(spec, w, rare_rows) for w in RECENT]
    last = FAMILY.feature(
        "days_since_last_event", "last active {value:n:day} ago (typical customer: "
        "{typical:n:day})", kind="days", window_days=FAMILY.lookback_days, fill=None,
        higher_is_riskier=True, aggregate=lambda t: age_days(t, TS).min(),
        describe_missing=f"no activity in the last {FAMILY.lookback_days} days",
    )  # fmt: skip
    return [
        *map(_events, COUNTS),
        *map(_active, ACTIVE),
        *[_value(spec, w) for w in RECENT],
        last,
        *[used for used, _ in breadth],
        *map(_trend, TRENDS),
        *[rare for _, rare in breadth],
        *[_per_type(e, w) for e in types for w in PER_TYPE],
        *_weekly(),
        *_pace(spec),
        *map(_last_use, types),
    ]


FAMILY = Family(
    name="engagement",
    declare=declarations,
    source=Source("engagement", TS, lookback_days=90, columns=("event_type", "value")),
    per_row=lambda t: {"days_before": days_before(t, TS)},
    topics={"event_types_": "adoption", "rare_event_types_": "adoption"},
    default_topic="usage",
    in_exports=lambda spec: spec.has_engagement,
    defaults={"fill": 0, "higher_is_riskier": False},
)
