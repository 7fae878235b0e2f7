"""Engagement family: how much, how broadly and how recently a customer uses the product."""

from __future__ import annotations

from features.describe import MIN_DROP, Given, Risk, enough_before
from features.exports.contract import TIMELINES
from features.expressions import age_days, count_where, days_before, when
from features.families.engagement_trends import RECENT, TRENDS, last_use, pace, trend, weekly
from features.family import Family, Source, Window
from features.rollup import ActiveDays
from features.spec import Feature, FeatureSpec, column_safe

TS = TIMELINES["engagement"]
EVENT_TYPE_PLACEHOLDER = "<event_type>"  # "each frequent event type" in the catalogue
COUNT = ",.0f"  # how a typical count reads
# Each window once. An earlier window's count is a reason when above its recent counterpart's.
COUNTS = (Window(7), Window(30), Window(90), Window(60, 30), Window(90, 60), Window(35, 7))
ACTIVE = (Window(7), Window(30), Window(60, 30), Window(90, 60), Window(90))
PER_TYPE = (Window(7), Window(30), Window(90))


def _total(w: Window) -> dict:
    """The declaration fields of a total over a window: scaled when the window reaches
    before the first exported day (features/coverage.py)."""
    return {"window_days": w.days, "window_after": w.after, "history": "scale"}


def _count(prefix: str, w: Window, aggregate, recent: str, fell: str) -> Feature:
    """A count over a window, worded `recent` for a recent one; an earlier window is worded
    against its recent counterpart and is a reason when above it (a decline)."""
    name, base = f"{prefix}_{w.suffix}", f"{prefix}_{w.recent.suffix}"
    if not w.after:
        return FAMILY.feature(name, recent, aggregate=aggregate, typical=COUNT, **_total(w))
    text = f"{fell} fell to {{{base}:,.0f}} {w.recent.words} from {{value:,.0f}} {w.words}"
    if w.scale != 1:  # different lengths: both counts, and the risk compares them per day
        text = f"{{{base}:n:event}} {w.recent.words}, {{value:,.0f}} {w.words}"
    risk = Risk("higher", than=base, scale=w.scale, drop=MIN_DROP, given=(enough_before(name),))
    return FAMILY.feature(name, text, aggregate=aggregate, risk=risk, **_total(w))


def _events(w: Window) -> Feature:
    aggregate = lambda t: count_where(w.holds(t, TS))  # noqa: E731
    return _count("events", w, aggregate, "{value:n:event} " + w.words, "events")


def _active(w: Window) -> Feature:
    aggregate = ActiveDays.in_window(w, TS)
    text = f"active on {{value:n:day}} of the last {w.days}"
    return _count("active_days", w, aggregate, text, "active days")


def _value(spec: FeatureSpec, w: Window) -> Feature:
    text = f"{spec.settings.value_label} {w.words}: {{value:,.0f}}"
    aggregate = lambda t: when(w.holds(t, TS), t.value).sum().fill_null(0)  # noqa: E731
    return FAMILY.feature(
        f"value_{w.suffix}", text, kind="amount", aggregate=aggregate, typical=COUNT, **_total(w)
    )


def _breadth(spec: FeatureSpec, w: Window, rare_rows) -> tuple[Feature, Feature]:
    """All distinct event types used (the frequent ones seen, from their per-type counts, plus
    the rare ones) and the distinct rare types, counted over the rare rows only (cheap)."""
    seen = [f"{column_safe(e)}_events_{w.suffix}" for e in spec.event_types]
    rare = f"rare_event_types_{w.suffix}"
    derive = lambda r: sum(((r[c] > 0).cast("int64") for c in seen), r[rare].cast("int64"))  # noqa: E731
    count = lambda t: t.event_type.nunique(where=w.holds(t, TS))  # noqa: E731
    # A customer who barely uses the product uses few features: that is one fact, and the
    # usage reason says it. Breadth is its own reason only for a customer who is active.
    active = Risk("lower", given=(Given(f"active_days_{w.suffix}", "at_least", scale=2.0),))
    return (
        FAMILY.feature(f"event_types_{w.suffix}", f"used {{value:n:different feature}} "
                       f"{w.words}", window_days=w.days, derive=derive,
                       inputs=(*seen, rare), risk=active, typical=COUNT),
        FAMILY.feature(rare, f"used {{value:n:less common feature}} {w.words}",
                       window_days=w.days, rows=rare_rows, aggregate=count, history="whole",
                       risk=active, typical=COUNT),
    )  # fmt: skip


def _names(event_type: str) -> tuple[str, str]:
    """An event type as a column-name part and as shown in text (braces would break it)."""
    safe = event_type if event_type == EVENT_TYPE_PLACEHOLDER else column_safe(event_type)
    return safe, event_type.replace("{", "(").replace("}", ")")


def _per_type(event_type: str, w: Window) -> Feature:
    safe, shown = _names(event_type)
    aggregate = lambda t: count_where(w.holds(t, TS) & (t.event_type == event_type))  # noqa: E731
    text = "{value:n:'" + shown + "' event} " + w.words
    return FAMILY.feature(
        f"{safe}_events_{w.suffix}", text, aggregate=aggregate, typical=COUNT, **_total(w)
    )


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every engagement feature for this spec (per-type counts for the spec's event types)."""
    types = spec.event_types
    rare_rows = lambda t: t.event_type.notnull() & ~t.event_type.isin(types or ("",))  # noqa: E731
    breadth = [_breadth(spec, w, rare_rows) for w in RECENT]
    last = FAMILY.feature(
        "days_since_last_event", "last active {value:n:day} ago", typical="n:day", kind="days",
        window_days=FAMILY.lookback_days, fill=None, higher_is_riskier=True,
        aggregate=lambda t: age_days(t, TS).min(),
        describe_missing=f"no activity in the last {FAMILY.lookback_days} days",
    )  # fmt: skip
    return [
        *map(_events, COUNTS),
        *map(_active, ACTIVE),
        *[_value(spec, w) for w in RECENT],
        last,
        *[used for used, _ in breadth],
        *[trend(FAMILY, name) for name in TRENDS],
        *[rare for _, rare in breadth],
        *[_per_type(e, w) for e in types for w in PER_TYPE],
        *weekly(FAMILY),
        *pace(FAMILY, spec),
        *[last_use(FAMILY, e, *_names(e)) for e in types],
    ]


FAMILY = Family(
    name="engagement",
    declare=declarations,
    source=Source("engagement", lookback_days=90, columns=("event_type", "value")),
    per_row=lambda t: {"days_before": days_before(t, TS)},
    topics={"event_types_": "adoption", "rare_event_types_": "adoption"},
    default_topic="usage",
    defaults={"fill": 0, "higher_is_riskier": False},
)
