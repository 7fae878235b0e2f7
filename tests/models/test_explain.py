"""Reasons: the strongest contributions whose values are risks for that customer, one per topic,
in words with no 'n/a' ever."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.describe import TYPICAL, TYPICAL_MARGIN, Risk, render_text
from features.registry import feature_catalogue
from features.spec import FeatureSpec
from models.explain import explain, select_reasons
from models.reason_rules import ReasonRule, ReasonSettings

NAMES = ["events_7d", "events_30d", "events_60_90d", "open_tickets", "tickets_90d", "last_nps"]
TOPICS = {
    "events_7d": "usage",
    "events_30d": "usage",
    "events_60_90d": "usage",
    "open_tickets": "support",
    "tickets_90d": "support",
    # last_nps has no topic: it is its own
}
RULES = {
    "events_7d": ReasonRule("{value:n:event} in the last 7 days", Risk("lower"), typical=4.0),
    "events_30d": ReasonRule(
        "{value:n:event} in the last 30 days, {events_7d:,.0f} in the last 7",
        Risk("lower"),
        "no events in the last 30 days",
        typical=20.0,
    ),
    "events_60_90d": ReasonRule(
        "events fell to {events_30d:,.0f} from {value:,.0f}", Risk("higher", than="events_30d")
    ),
    "open_tickets": ReasonRule(
        "{value:n:ticket} open (of {tickets_90d:,.0f})", Risk("higher", than=0)
    ),
    "tickets_90d": ReasonRule("{value:n:ticket}, {no_such_column} urgent", Risk("higher", 0)),
    "last_nps": ReasonRule("NPS {value:.0f} ({nps_category})", Risk("lower", than=7)),
}


def _is_risk(rule: ReasonRule, row: dict, name: str) -> bool:
    """The rule for one customer, written plainly."""
    value = row.get(name)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if missing:
        return rule.missing is not None
    risk = rule.risk
    if risk.when == "any":
        return True
    if risk.when == "in":
        return value in risk.values
    if risk.than == TYPICAL:
        margin = TYPICAL_MARGIN * abs(rule.typical)
        than = rule.typical + margin if risk.when == "higher" else rule.typical - margin
    elif isinstance(risk.than, str):
        than = row[risk.than]
    else:
        than = risk.than
    if than is None or (isinstance(than, float) and math.isnan(than)):
        return False
    return value * risk.scale > than if risk.when == "higher" else value * risk.scale < than


def reference(contributions, values, rules, k=3, topics=None, per_topic=1):
    """The plain per-row walk: strongest first, only risks that can be written, skip a topic
    once it has `per_topic`."""
    matrix = contributions.to_numpy()
    names = list(contributions.columns)
    records = values.to_dict("records")
    out = []
    for i, order in enumerate(np.argsort(-matrix, axis=1, kind="stable")):
        chosen, used = [], {}
        row = records[i]
        for j in order:
            name = names[j]
            if matrix[i, j] <= 0 or len(chosen) == k:
                break
            rule = rules.get(name)
            if rule is None or not _is_risk(rule, row, name):
                continue
            value = row.get(name)
            template = rule.missing if value is None or value != value else rule.template
            text = render_text(template, {**row, "value": value, "typical": rule.typical})
            if text is None:
                continue
            topic = (topics or {}).get(name, name)
            if used.get(topic, 0) >= per_topic:
                continue
            used[topic] = used.get(topic, 0) + 1
            chosen.append((name, text))
        out.append(chosen)
    return out


def _fixture(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    # Few distinct values, so equal contributions (ties) and zeros are common.
    contributions = pd.DataFrame(
        rng.choice([-0.5, -0.1, 0.0, 0.1, 0.2, 0.5, 0.9], size=(n, len(NAMES))), columns=NAMES
    )
    values = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "events_7d": rng.integers(0, 9, n),
            "events_30d": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 40, n)),
            "events_60_90d": rng.choice([0.0, 10.0, 30.0, np.nan], n),
            "open_tickets": rng.integers(0, 3, n),
            "tickets_90d": rng.integers(0, 9, n),
            "last_nps": rng.choice([1.0, 9.0, np.nan], n),
            "nps_category": pd.Series(rng.choice(["detractor", "promoter", None], n)),
        }
    )
    return contributions, values


def _as_lists(reasons):
    return [
        [(reasons.names[j], reasons.texts[s][i]) for s, j in enumerate(row) if j >= 0]
        for i, row in enumerate(reasons.columns.tolist())
    ]


def test_reasons_equal_the_per_row_walk_on_random_customers():
    for seed in range(5):
        contributions, values = _fixture(seed)
        for per_topic, topics in ((1, TOPICS), (2, TOPICS), (1, None)):
            got = explain(contributions, values, ReasonSettings(RULES, topics or {}, per_topic))
            assert _as_lists(got) == reference(contributions, values, RULES, 3, topics, per_topic)
    texts = {t for slot in got.texts for t in slot}
    assert "no events in the last 30 days" in texts
    assert not any("n/a" in t or "nan" in t or "{" in t for t in texts)
    # a sentence naming a column the row does not have is never used
    assert not any("urgent" in t for t in texts)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 3),
    st.lists(st.lists(st.integers(-2, 3), min_size=6, max_size=6), min_size=1, max_size=30),
)
def test_selection_equals_the_per_row_walk_for_any_k_and_topic_cap(k, per_topic, rows):
    contributions = pd.DataFrame(np.array(rows, dtype=float) / 2, columns=NAMES)
    columns, strength = select_reasons(contributions.to_numpy(), NAMES, k, TOPICS, per_topic)
    always = {n: ReasonRule("{value}", Risk("any")) for n in NAMES}
    values = pd.DataFrame({name: np.zeros(len(rows)) for name in NAMES})
    expected = reference(contributions, values, always, k, TOPICS, per_topic)
    assert [[NAMES[j] for j in row if j >= 0] for row in columns.tolist()] == [
        [name for name, _ in row] for row in expected
    ]
    picked = np.take_along_axis(contributions.to_numpy(), np.maximum(columns, 0), axis=1)
    assert np.array_equal(np.where(columns >= 0, picked, 0.0), strength)


def test_one_reason_per_topic_so_three_reasons_say_three_things():
    contributions = pd.DataFrame([[0.9, 0.8, 0.7, 0.1, 0.05, 0.3]], columns=NAMES)
    values = pd.DataFrame(
        {
            "events_7d": [0.0],
            "events_30d": [1.0],
            "events_60_90d": [50.0],
            "open_tickets": [2],
            "tickets_90d": [3],
            "last_nps": [2.0],
            "nps_category": ["detractor"],
        }
    )
    reasons = explain(contributions, values, ReasonSettings(RULES, TOPICS))
    assert reasons.features() == [["events_7d", "last_nps", "open_tickets"]]
    assert [t[0] for t in reasons.texts] == ["0 events in the last 7 days", "NPS 2 (detractor)",
                                             "2 tickets open (of 3)"]  # fmt: skip


def test_protective_values_are_never_reasons_even_with_a_positive_contribution():
    """A tree model can give a promoter's NPS or rising usage a positive contribution; the
    customer-success team must not read "NPS 10" or "usage rising" as why someone may leave."""
    contributions = pd.DataFrame([[0.5, 0.5, 0.5, 0.5, 0.0, 0.5]], columns=NAMES)
    values = pd.DataFrame(
        {
            "events_7d": [9.0],  # above the typical 4
            "events_30d": [40.0],  # above the typical 20
            "events_60_90d": [10.0],  # usage rose: 10 then, 40 now
            "open_tickets": [0],
            "tickets_90d": [0],
            "last_nps": [10.0],
            "nps_category": ["promoter"],
        }
    )
    reasons = explain(contributions, values, ReasonSettings(RULES, TOPICS))
    assert reasons.features() == [[]]
    assert [t[0] for t in reasons.texts] == ["", "", ""]


def test_a_value_near_the_typical_one_is_not_a_reason():
    contributions = pd.DataFrame([[0.4]], columns=["events_7d"])
    near = pd.DataFrame({"events_7d": [3.5]})  # 4 is typical: within the margin
    far = pd.DataFrame({"events_7d": [1.0]})
    rules = ReasonSettings({"events_7d": RULES["events_7d"]})
    assert explain(contributions, near, rules).features() == [[]]
    assert explain(contributions, far, rules).features() == [["events_7d"]]


def test_a_missing_value_has_its_own_sentence_or_is_no_reason():
    contributions = pd.DataFrame([[0.4, 0.3]], columns=["events_30d", "last_nps"])
    values = pd.DataFrame(
        {"events_30d": [np.nan], "events_7d": [0.0], "last_nps": [np.nan], "nps_category": [None]}
    )
    reasons = explain(contributions, values, ReasonSettings(RULES))
    assert reasons.features() == [["events_30d"]]
    assert reasons.texts[0][0] == "no events in the last 30 days"


def test_trajectory_reasons_name_only_risks_in_plain_words():
    """A late order against the customer's own cadence, weeks of falling use and a downward
    weekly trend read plainly; on time, steady or rising never is a reason."""
    names = ["order_overdue_365d", "weeks_fell_8w", "active_days_decline_12w"]
    declared = {f.name: f for f in feature_catalogue(FeatureSpec()) if f.name in names}
    typical = {"order_overdue_365d": 1.0, "weeks_fell_8w": 3.0, "active_days_decline_12w": 0.0}
    rules = {name: ReasonRule.of(declared[name], typical=typical[name]) for name in names}
    values = pd.DataFrame(
        {
            "order_overdue_365d": [63.4 / 21.2, 1.2],
            "order_interval_days_365d": [21.2, 30.0],
            "days_since_last_purchase": [63.4, 36.0],
            "weeks_fell_8w": [6, 3],
            "active_days_decline_12w": [1.74, -1.0],
        }
    )
    contributions = pd.DataFrame(np.full((2, 3), 0.4), columns=names)
    reasons = explain(contributions, values, ReasonSettings(rules, k=3))
    assert [text[0] for text in reasons.texts] == [
        "orders usually every 21 days, none for 63 days",
        "weekly use fell in 6 of the last 8 weeks",
        "weekly use trending down: 1.7 fewer active days a week than 12 weeks ago",
    ]
    # 20% late, falling in 3 weeks of 8 (typical), rising: no reason
    assert reasons.features()[1] == []


# The declared rules of the product's own features, against the raw facts a team would check.
DECLARED = {f.name: f for f in feature_catalogue(FeatureSpec())}


def _uniform(low: float, high: float) -> tuple[float, ...]:
    """The percentiles of a feature spread evenly from `low` to `high` in training."""
    return tuple(np.linspace(low, high, 101))


def _declared(typical: dict, ranges: dict | None = None, tables: dict | None = None) -> dict:
    return {
        name: ReasonRule.of(
            DECLARED[name],
            typical.get(name),
            (ranges or {}).get(name, ()),
            (tables or {}).get(name),
        )
        for name in DECLARED
    }


def _reasons(values: dict, features: list[str], rules: dict, **settings) -> list[list[str]]:
    frame = pd.DataFrame(values)
    contributions = pd.DataFrame(np.full((len(frame), len(features)), 0.5), columns=features)
    return explain(contributions, frame, ReasonSettings(rules, **settings)).features()


def test_a_monthly_payer_paid_20_days_ago_is_not_overdue():
    rules = _declared(
        {"days_since_last_purchase": 10.0}, {"days_since_last_purchase": _uniform(2, 25)}
    )
    values = {
        "days_since_last_purchase": [20.0, 75.0, 200.0],
        "order_interval_days_365d": [30.0, 30.0, np.nan],  # the last ordered once: no cadence
        "order_overdue_365d": [20 / 30, 75 / 30, np.nan],
    }
    got = _reasons(values, ["days_since_last_purchase"], rules)
    assert got == [[], ["days_since_last_purchase"], ["days_since_last_purchase"]]


def test_a_young_customers_short_history_is_no_shortfall_and_no_decline():
    typical = {"order_months_12m": 12.0, "active_days_30_60d": 12.0, "active_days_30d": 12.0}
    rules = _declared(typical, {"order_months_12m": _uniform(4, 12)})
    values = {
        "order_months_12m": [2, 2],
        "active_days_30_60d": [14, 14],
        "active_days_30d": [2, 2],
        "tenure_days": [48.0, 800.0],  # C004799 was 48 days old
    }
    got = _reasons(values, ["order_months_12m", "active_days_30_60d"], rules)
    assert got == [[], ["order_months_12m", "active_days_30_60d"]]


def test_a_small_dip_is_no_decline_and_a_light_user_has_nothing_to_decline_from():
    rules = _declared({"active_days_30_60d": 12.0, "active_days_30d": 12.0})
    values = {
        "active_days_30_60d": [10, 10, 3],
        "active_days_30d": [9, 5, 0],  # -10%, -50%, and a light user's 3 -> 0
        "tenure_days": [400.0] * 3,
    }
    got = _reasons(values, ["active_days_30_60d"], rules)
    assert got == [[], ["active_days_30_60d"], []]


def test_few_features_used_is_a_reason_only_for_a_customer_who_uses_the_product():
    # a customer who barely uses the product uses few features: one fact, said once
    typical = {"event_types_30d": 4.0, "active_days_30d": 12.0}
    rules = _declared(typical, {"event_types_30d": _uniform(2, 6)})
    values = {"event_types_30d": [0, 1], "active_days_30d": [0, 10], "tenure_days": [400.0] * 2}
    assert _reasons(values, ["event_types_30d"], rules) == [[], ["event_types_30d"]]


def test_a_rate_over_the_tenure_says_since_signing_up():
    rules = _declared({"orders_per_month_365d": 1.0}, {"orders_per_month_365d": _uniform(0.5, 1.2)})
    frame = pd.DataFrame({"orders_per_month_365d": [0.2, 0.2], "tenure_days": [48.0, 500.0]})
    contributions = pd.DataFrame({"orders_per_month_365d": [0.5, 0.5]})
    texts = explain(contributions, frame, ReasonSettings(rules)).texts[0]
    assert texts[0] == (
        "0.2 paid orders a month since signing up 48 days ago (typical customer: 1.0)"
    )
    assert texts[1] == "0.2 paid orders a month over the last 365 days (typical customer: 1.0)"


def test_no_order_in_a_year_is_said_only_when_the_exports_hold_a_year():
    rules = _declared({}, tables={"days_since_last_purchase": "purchases"})
    values = {"days_since_last_purchase": [np.nan], "tenure_days": [900.0]}
    features = ["days_since_last_purchase"]
    assert _reasons(values, features, rules, history_days={"purchases": 92.0}) == [[]]
    assert _reasons(values, features, rules, history_days={"purchases": 400.0}) == [features]


def test_a_value_outside_the_lowest_fifth_is_ordinary():
    # 30% below the median, yet a third of customers are lower still: an ordinary one
    rules = _declared({"value_30d": 100.0}, {"value_30d": _uniform(0.0, 200.0)})
    values = {"value_30d": [70.0, 30.0], "tenure_days": [400.0] * 2}
    assert _reasons(values, ["value_30d"], rules) == [[], ["value_30d"]]


def test_problems_that_are_over_are_no_reasons():
    rules = _declared({"satisfaction_min_90d": 4.0})
    values = {
        "failed_payments_90d": [1, 1],
        "failed_payments_30d": [0, 1],  # the first failure was two months ago, and paid since
        "satisfaction_min_90d": [3.0, 2.0],  # neutral, then dissatisfied
        "ticket_pace_90d": [3.0, 3.0],
        "tickets_30d": [1, 3],  # one ticket is no pace
        "tickets_90d": [1, 3],
    }
    features = ["failed_payments_90d", "satisfaction_min_90d", "ticket_pace_90d"]
    assert _reasons(values, features, rules) == [[], features]


def test_one_ticket_where_a_third_of_customers_have_one_is_ordinary():
    # 70% of training customers had no ticket in 90 days, 22% one, 8% two or more: one ticket
    # is no reason, two are (ties count when judging how unusual a value is)
    spread = tuple(np.quantile(np.repeat([0, 1, 2, 3], [70, 22, 5, 3]), np.linspace(0, 1, 101)))
    rules = _declared({"tickets_90d": 0.0}, {"tickets_90d": spread})
    values = {"tickets_90d": [1, 2], "tenure_days": [400.0] * 2}
    assert _reasons(values, ["tickets_90d"], rules) == [[], ["tickets_90d"]]
