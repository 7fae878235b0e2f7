"""Feature values on a tiny hand-made history, checked against values computed by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.build import (
    build_features,
    cutoff_batches,
    resolve_spec,
    to_frame,
    write_batches,
)
from features.exports.contract import ProfileColumns
from features.expressions import bit_count
from features.registry import feature_catalogue
from features.spec import FeatureSettings, FeatureSpec
from tests.tables import open_frames

CUTOFF = dt.datetime(2024, 4, 1)

CUSTOMERS = [
    {"customer_id": "a", "signup_at": "2023-12-01", "plan": "pro", "seats": 3},
    {"customer_id": "b", "signup_at": "2024-03-20", "plan": "basic", "seats": 1},  # new, no history
    {
        "customer_id": "gone",
        "signup_at": "2023-01-01",
        "churned_at": "2024-03-01",
        "plan": "pro",
        "seats": 1,
    },  # cancelled before the cutoff: not in the population
    {"customer_id": "later", "signup_at": "2024-04-01", "plan": "pro", "seats": 1},  # signs up at
]
ENGAGEMENT = [
    # last 7 days [03-25, 04-01): two logins on one day, one export
    {"customer_id": "a", "timestamp": "2024-03-30 09:00", "event_type": "login", "value": 10},
    {"customer_id": "a", "timestamp": "2024-03-30 18:00", "event_type": "login", "value": 20},
    {"customer_id": "a", "timestamp": "2024-03-26 12:00", "event_type": "export"},
    # 8-30 days before: one login
    {"customer_id": "a", "timestamp": "2024-03-10 12:00", "event_type": "login", "value": 5},
    # 30-60 days before [01-31, 03-02): four logins on four days
    {"customer_id": "a", "timestamp": "2024-02-01 12:00", "event_type": "login", "value": 1},
    {"customer_id": "a", "timestamp": "2024-02-05 12:00", "event_type": "login", "value": 1},
    {"customer_id": "a", "timestamp": "2024-02-10 12:00", "event_type": "login", "value": 1},
    {"customer_id": "a", "timestamp": "2024-02-20 12:00", "event_type": "login", "value": 1},
    # 60-90 days before [01-02, 02-01): one login without a value
    {"customer_id": "a", "timestamp": "2024-01-15 12:00", "event_type": "login"},
    # at and after the cutoff: must be ignored
    {"customer_id": "a", "timestamp": "2024-04-01 00:00", "event_type": "login", "value": 99},
    {"customer_id": "a", "timestamp": "2024-04-05 00:00", "event_type": "export", "value": 99},
]
SUPPORT = [
    # resolved before the cutoff after 48 h, satisfaction 2, high priority
    {
        "customer_id": "a",
        "opened_at": "2024-03-01 08:00",
        "resolved_at": "2024-03-03 08:00",
        "priority": "high",
        "satisfaction": 2,
    },
    # opened before, resolved after the cutoff: open at the cutoff, its satisfaction unknown yet
    {
        "customer_id": "a",
        "opened_at": "2024-03-21 00:00",
        "resolved_at": "2024-04-03 00:00",
        "priority": "normal",
        "satisfaction": 5,
    },
    # never resolved
    {"customer_id": "a", "opened_at": "2024-03-29 00:00", "priority": "urgent"},
    # opened after the cutoff
    {"customer_id": "a", "opened_at": "2024-04-02 00:00", "priority": "urgent"},
]
PURCHASES = [
    {
        "customer_id": "a",
        "timestamp": "2024-01-10",
        "amount": 40,
        "discount": 0,
        "status": "paid",
        "kind": "subscription",
    },  # 82 days before: the 60-90 day invoice
    {
        "customer_id": "a",
        "timestamp": "2024-02-10",
        "amount": 40,
        "discount": 0,
        "status": "paid",
        "kind": "subscription",
    },
    {
        "customer_id": "a",
        "timestamp": "2024-03-10",
        "amount": 50,
        "discount": 10,
        "status": "failed",
        "kind": "subscription",
    },  # price rise, first charge failed
    {
        "customer_id": "a",
        "timestamp": "2024-03-12",
        "amount": 50,
        "discount": 10,
        "status": "paid",
        "kind": "subscription",
    },
    {
        "customer_id": "a",
        "timestamp": "2024-03-20",
        "amount": 15,
        "discount": 0,
        "status": "paid",
        "kind": "addon",
    },
    {
        "customer_id": "a",
        "timestamp": "2024-04-01",
        "amount": 500,
        "discount": 0,
        "status": "paid",
        "kind": "addon",
    },  # at the cutoff: ignored
]
SURVEYS = [
    {"customer_id": "a", "answered_at": "2024-01-01", "nps": 9},
    {"customer_id": "a", "answered_at": "2024-03-01", "nps": 4},
    {"customer_id": "a", "answered_at": "2024-04-01", "nps": 10},  # at the cutoff: ignored
]


def _every_table(folder: Path) -> dict:
    """The tiny exports of every table, opened as the builder reads them."""
    frames = {
        "customers": CUSTOMERS,
        "engagement": ENGAGEMENT,
        "support": SUPPORT,
        "purchases": PURCHASES,
        "surveys": SURVEYS,
    }
    return open_frames(folder, frames)


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> pd.DataFrame:
    tables = _every_table(tmp_path_factory.mktemp("tiny"))
    spec = resolve_spec(
        tables, FeatureSettings(top_event_types=2), ProfileColumns(("plan",), ("seats",))
    )
    return to_frame(build_features(tables, [CUTOFF], spec)).set_index("customer_id")


def test_population_is_exactly_the_customers_active_at_the_cutoff(frame):
    assert sorted(frame.index) == ["a", "b"]


def test_engagement_values(frame):
    a = frame.loc["a"]
    expected = {
        "events_7d": 3,
        "events_30d": 4,
        "events_90d": 9,
        "events_30_60d": 4,
        "events_60_90d": 1,
        "events_7_35d": 1,
        "active_days_7d": 2,
        "active_days_30d": 3,
        "active_days_30_60d": 4,
        "active_days_60_90d": 1,
        "active_days_90d": 8,
        "value_30d": 35.0,
        "value_90d": 39.0,
        "event_types_30d": 2,
        "event_types_90d": 2,
        "login_events_7d": 2,
        "login_events_30d": 3,
        "login_events_90d": 8,
        "export_events_7d": 1,
        "export_events_90d": 1,
    }
    assert {k: a[k] for k in expected} == expected
    assert a["days_since_last_event"] == pytest.approx(1.25)  # 2024-03-30 18:00 -> 04-01
    assert a["activity_trend_30d"] == pytest.approx(4 / 4)
    assert a["activity_trend_7d"] == pytest.approx(3 / (1 / 4))


def test_support_values(frame):
    a = frame.loc["a"]
    assert a["tickets_30d"] == 2 and a["tickets_90d"] == 3  # 03-01 08:00 is 31 days back
    assert a["open_tickets"] == 2
    assert a["oldest_open_ticket_days"] == pytest.approx(11.0)
    assert a["resolution_hours_mean_90d"] == pytest.approx(48.0)
    assert a["resolution_hours_max_90d"] == pytest.approx(48.0)
    assert a["high_priority_tickets_90d"] == 2
    assert a["high_priority_share_90d"] == pytest.approx(2 / 3)
    assert a["satisfaction_mean_90d"] == pytest.approx(2.0)  # the 5 is not known yet
    assert a["last_satisfaction"] == pytest.approx(2.0)
    assert a["satisfaction_min_90d"] == pytest.approx(2.0)
    assert a["days_since_last_ticket"] == pytest.approx(3.0)


def test_purchase_values(frame):
    a = frame.loc["a"]
    assert a["orders_30d"] == 2 and a["orders_90d"] == 4 and a["orders_365d"] == 4
    assert a["revenue_30d"] == pytest.approx(65.0)
    assert a["revenue_90d"] == pytest.approx(145.0)
    assert a["monthly_revenue"] == pytest.approx(145.0 / 3)
    assert a["failed_payments_30d"] == 1 and a["failed_payments_90d"] == 1
    assert a["refunds_90d"] == 0
    assert a["discount_share_365d"] == pytest.approx(10 / (145 + 10))
    assert a["addon_purchases_90d"] == 1
    assert a["last_invoice_amount"] == pytest.approx(50.0)
    assert a["invoice_amount_60_90d"] == pytest.approx(40.0)
    assert a["invoice_change"] == pytest.approx(0.25)
    assert a["last_invoice_failed"] == 0  # the failed charge was retried and paid
    assert a["days_since_last_purchase"] == pytest.approx(12.0)


def _trend(oldest_first: list[float]) -> float:
    """The least-squares change over the periods, by numpy."""
    return float(np.polyfit(range(len(oldest_first)), oldest_first, 1)[0] * (len(oldest_first) - 1))


def test_trajectory_values(frame):
    """Week by week, a's events fall on days 2, 6 | 22 | 41 | 51 | 56, 60 | 77 before the
    cutoff: active days per week (newest first) 2,0,0,1,0,1,0,1,2,0,0,1."""
    a = frame.loc["a"]
    weeks = [2, 0, 0, 1, 0, 1, 0, 1, 2, 0, 0, 1]
    assert a["active_weeks_12w"] == 6
    assert a["active_days_decline_12w"] == pytest.approx(-_trend(weeks[::-1]))
    assert a["weeks_fell_8w"] == 4  # weeks 2->3, 4->5, 6->7, 7->8 (counting back)
    assert a["events_per_active_day_30d"] == pytest.approx(4 / 3)
    assert a["events_per_active_day_90d"] == pytest.approx(9 / 8)
    assert a["value_per_event_90d"] == pytest.approx(39 / 7)  # two events carry no value
    # tenure 122 days: the 90-day pace is over 90 days
    assert a["active_days_pace_90d"] == pytest.approx(3 / (8 * 30 / 90))
    assert a["value_pace_90d"] == pytest.approx(35 / (39 * 30 / 90))
    assert a["events_per_month_90d"] == pytest.approx(9 * 30 / 90)
    assert a["login_days_since_last"] == pytest.approx(1.25)
    assert a["export_days_since_last"] == pytest.approx(5.5)
    assert a["ticket_pace_90d"] == pytest.approx(2 / (3 * 30 / 90))
    # paid orders 82, 51, 20 and 12 days back: per 30-day month (newest first) 2, 1, 1, 0...
    months = [2, 1, 1] + [0] * 9
    assert a["order_months_12m"] == 3
    assert a["orders_decline_12m"] == pytest.approx(-_trend(months[::-1]))
    assert a["order_interval_days_365d"] == pytest.approx(70 / 3)  # 01-10 to 03-20, 3 gaps
    assert a["order_overdue_365d"] == pytest.approx(12 / (70 / 3))
    # the year's pace is over the 122 days since signing up
    assert a["spend_pace_365d"] == pytest.approx(145 / (145 * 90 / 122))
    assert a["revenue_per_order_365d"] == pytest.approx(145 / 4)
    assert a["orders_per_month_365d"] == pytest.approx(4 * 30 / 122)


def test_a_rate_over_a_few_days_of_tenure_reads_at_least_a_week(tmp_path):
    customers = [{"customer_id": "new", "signup_at": "2024-03-30", "plan": "pro", "seats": 1}]
    events = [{"customer_id": "new", "timestamp": "2024-03-31 10:00", "event_type": "login"}]
    later = [{"customer_id": "new", "timestamp": "2024-04-02", "amount": 9, "status": "paid"}]
    frames = {"customers": customers, "engagement": events, "purchases": later}
    tables = open_frames(tmp_path, frames)
    spec = resolve_spec(tables, FeatureSettings(), ProfileColumns(("plan",), ("seats",)))
    new = to_frame(build_features(tables, [CUTOFF], spec)).set_index("customer_id").loc["new"]
    assert new["events_per_month_90d"] == pytest.approx(1 * 30 / 7)  # two days, read as seven


def test_survey_and_profile_values(frame):
    a, b = frame.loc["a"], frame.loc["b"]
    assert a["last_nps"] == 4 and a["nps_category"] == "detractor"
    assert a["days_since_nps"] == pytest.approx(31.0)
    assert a["tenure_days"] == pytest.approx(122.0) and a["is_new_customer"] == 0
    assert b["tenure_days"] == pytest.approx(12.0) and b["is_new_customer"] == 1
    assert a["plan"] == "pro" and a["seats"] == 3.0


def test_customer_without_history_gets_zero_counts_and_null_unknowns(frame):
    b = frame.loc["b"]
    spec = FeatureSpec(
        FeatureSettings(top_event_types=2),
        ("login", "export"),
        ProfileColumns(("plan",), ("seats",)),
    )
    for feature in feature_catalogue(spec):
        if feature.family == "profile":
            continue
        if feature.fill is not None:
            assert b[feature.name] == feature.fill, feature.name
        else:
            assert pd.isna(b[feature.name]), feature.name


def test_many_cutoffs_in_one_pass_equal_one_cutoff_at_a_time(tmp_path):
    tables = _every_table(tmp_path)
    spec = resolve_spec(tables, FeatureSettings(), ProfileColumns(("plan",), ("seats",)))
    cutoffs = [dt.datetime(2024, 2, 15), dt.datetime(2024, 3, 15), CUTOFF]
    together = to_frame(build_features(tables, cutoffs, spec))
    apart = pd.concat([to_frame(build_features(tables, [c], spec)) for c in cutoffs])
    pd.testing.assert_frame_equal(together, apart.reset_index(drop=True))


def test_cutoff_batches_cover_every_cutoff_once_in_order():
    cutoffs = [dt.datetime(2024, m, 1) for m in (5, 1, 3, 2, 4)]
    assert cutoff_batches(cutoffs, customers=1_000, max_pairs=2_000) == [
        [dt.datetime(2024, m, 1) for m in ms] for ms in ((1, 2), (3, 4), (5,))
    ]
    assert cutoff_batches(cutoffs, customers=10, max_pairs=2_000) == [sorted(cutoffs)]
    assert len(cutoff_batches(cutoffs, customers=10**6, max_pairs=2_000)) == 5


def test_batched_queries_give_the_same_frame_as_one_query(tmp_path):
    tables = _every_table(tmp_path)
    spec = resolve_spec(tables, FeatureSettings(), ProfileColumns(("plan",), ("seats",)))
    cutoffs = [dt.datetime(2024, 2, 15), dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 15), CUTOFF]
    one = to_frame(build_features(tables, cutoffs, spec))
    batches = cutoff_batches(cutoffs, customers=4, max_pairs=8)
    assert [len(b) for b in batches] == [2, 2]
    batched = to_frame([build_features(tables, b, spec) for b in batches])
    pd.testing.assert_frame_equal(one, batched)


def test_batches_written_to_parquet_read_back_as_the_frame(tmp_path):
    tables = _every_table(tmp_path)
    spec = resolve_spec(tables, FeatureSettings(), ProfileColumns(("plan",), ("seats",)))
    cutoffs = [dt.datetime(2024, 2, 15), dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 15), CUTOFF]
    queries = [build_features(tables, b, spec) for b in cutoff_batches(cutoffs, 4, max_pairs=8)]
    written = write_batches(queries, tmp_path / "batches")
    assert [b.path.parent for b in written] == [tmp_path / "batches"] * 2
    streamed = pa.concat_tables([b.read() for b in written]).to_pandas()
    pd.testing.assert_frame_equal(streamed, to_frame(queries))


def test_rare_event_types_still_count_towards_breadth(tmp_path):
    tables = open_frames(
        tmp_path,
        {
            "customers": CUSTOMERS,
            "engagement": ENGAGEMENT,
            "support": SUPPORT,
            "purchases": PURCHASES,
        },
    )
    spec = resolve_spec(tables, FeatureSettings(top_event_types=1), ProfileColumns(("plan",), ()))
    assert spec.event_types == ("login",)
    a = to_frame(build_features(tables, [CUTOFF], spec)).set_index("customer_id").loc["a"]
    assert (a["rare_event_types_30d"], a["event_types_30d"]) == (1, 2)  # login + export
    assert (a["rare_event_types_90d"], a["event_types_90d"]) == (1, 2)
    assert "export_events_30d" not in a.index


@pytest.mark.parametrize("word", [0, 1, 2, 3, 2**31, 2**62, 2**63 - 1, 0x5A5A5A5A5A5A5A5A])
def test_bit_count_matches_python(word):
    value = ibis.literal(word, type="int64")
    assert ibis.duckdb.connect().execute(bit_count(value)) == bin(word).count("1")


def test_derived_features_may_read_each_other_in_any_declared_order():
    from features.build import _derive_in_layers
    from features.spec import Feature

    table = ibis.memtable({"a": [1, 2], "b": [3, 5]})
    later = Feature("c_twice", "test", "{value}", derive=lambda r: r.c * 2, inputs=("c",))
    first = Feature("c", "test", "{value}", derive=lambda r: r.a + r["b"], inputs=("a", "b"))
    out = _derive_in_layers(table, [later, first]).execute()
    assert out["c"].tolist() == [4, 7] and out["c_twice"].tolist() == [8, 14]
    orphan = Feature("d", "test", "{value}", derive=lambda r: r.missing + 1, inputs=("missing",))
    with pytest.raises(ValueError, match="'d': \\['missing'\\]"):
        _derive_in_layers(table, [orphan])


def test_every_derived_feature_declares_inputs_that_exist():
    """A derived feature names what it reads; each name is a feature declared before it in
    some layer or a column of the customer row, so ordering never depends on errors."""
    from features.population import active_customers
    from features.registry import feature_catalogue

    spec = FeatureSpec(event_types=("login",), profile=ProfileColumns(("plan",), ("seats",)))
    catalogue = feature_catalogue(spec)
    names = {f.name for f in catalogue}
    row_columns = {"customer_id", "signup_at", "churned_at", "cutoff", "plan", "seats"}
    for feature in catalogue:
        if feature.derive is not None:
            assert feature.inputs, feature.name
            assert set(feature.inputs) <= names | row_columns, feature.name
    assert active_customers  # the spine those row columns come from


def test_reason_topics_group_features_by_what_they_say():
    from features.registry import feature_catalogue, reason_topics

    spec = FeatureSpec(
        event_types=("login", "export"), profile=ProfileColumns(("plan",), ("seats",))
    )
    topics = reason_topics(spec)
    assert set(topics) == {f.name for f in feature_catalogue(spec)}
    assert topics["events_30d"] == topics["value_30d"] == topics["login_events_7d"] == "usage"
    assert topics["event_types_90d"] == topics["rare_event_types_30d"] == "adoption"
    assert topics["open_tickets"] == topics["oldest_open_ticket_days"] != topics["tickets_30d"]
    assert topics["failed_payments_30d"] == topics["last_invoice_failed"] != topics["orders_30d"]
    assert topics["last_nps"] == topics["days_since_nps"]
    assert topics["tenure_days"] == topics["is_new_customer"] != topics["plan"] != topics["seats"]


def test_value_label_names_the_usage_value_in_reasons_and_survives_the_saved_spec():
    from features.registry import feature_catalogue

    spec = FeatureSpec(settings=FeatureSettings(value_label="minutes of use", currency="GBP"))
    value_30d = next(f for f in feature_catalogue(spec) if f.name == "value_30d")
    assert value_30d.text(12, typical=40) == (
        "minutes of use in the last 30 days: 12 (typical customer: 40)"
    )
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    saved_before_labels = spec.to_dict()
    del saved_before_labels["settings"]["value_label"]
    del saved_before_labels["settings"]["currency"]
    del saved_before_labels["tables"]  # saved with a flag per optional table instead
    saved_before_labels |= {"has_surveys": False, "has_engagement": True}
    old = FeatureSpec.from_dict(saved_before_labels)
    assert old.settings.value_label == "usage value" and old.settings.currency == ""
    assert old.tables == ("engagement", "support", "purchases")


def test_purchases_only_exports_build_without_engagement_support_or_surveys(tmp_path):
    """A shop that exports only customers and orders gets purchase and profile features; no
    engagement column, and the spec says which tables the model was trained with."""
    tables = open_frames(tmp_path, {"customers": CUSTOMERS, "purchases": PURCHASES})
    spec = resolve_spec(tables, FeatureSettings(), ProfileColumns(("plan",), ()))
    assert spec.tables == ("purchases",)
    assert spec.event_types == ()
    got = to_frame(build_features(tables, [CUTOFF], spec)).set_index("customer_id")
    families = {f.family for f in feature_catalogue(spec)}
    assert families == {"purchases", "profile"}
    assert "events_30d" not in got.columns
    assert got.loc["a", "orders_90d"] == 4 and got.loc["b", "orders_90d"] == 0
    restored = FeatureSpec.from_dict(spec.to_dict())
    assert restored == spec and not restored.has("engagement")


def test_one_absurd_amount_moves_one_customers_money_by_a_few_orders_at_most(tmp_path):
    # a purchase of 1e12 (kept with a warning) counts as ORDER_CAP x the customer's median
    # paid order; a customer without it keeps their exact revenue
    from features.families.purchases import ORDER_CAP

    invoices = [
        {"customer_id": c, "timestamp": f"2024-0{m}-05", "amount": 40.0, "discount": 0.0,
         "status": "paid", "kind": "subscription"}
        for c in ("a", "b") for m in (1, 2, 3)
    ]  # fmt: skip
    absurd = {"customer_id": "a", "timestamp": "2024-03-20", "amount": 1e12, "discount": 0.0,
              "status": "paid", "kind": "addon"}  # fmt: skip
    frames = {
        "customers": [
            {"customer_id": "a", "signup_at": "2023-06-01", "plan": "pro", "seats": 1},
            {"customer_id": "b", "signup_at": "2023-06-01", "plan": "pro", "seats": 1},
        ],
        "purchases": [*invoices, absurd],
    }
    tables = open_frames(tmp_path, frames)
    spec = resolve_spec(tables, FeatureSettings(), ProfileColumns(("plan",), ("seats",)))
    got = to_frame(build_features(tables, [CUTOFF], spec)).set_index("customer_id")
    assert got.loc["b", "revenue_90d"] == 120.0
    assert got.loc["a", "revenue_90d"] == 120.0 + ORDER_CAP * 40.0
    assert got.loc["a", "monthly_revenue"] == (120.0 + ORDER_CAP * 40.0) / 3
    assert got.loc["a", "orders_90d"] == 4  # the order still counts as an order
