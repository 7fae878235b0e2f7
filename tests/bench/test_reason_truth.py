"""The reason grader on hand-made rows (bench/reason_truth.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench import reason_truth as truth

CUTOFF = pd.Timestamp("2026-08-01")


def _terms(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Hazard terms per customer at one month (every term not given is 0)."""
    names = ["health", "health_trend", "failed_unrecovered", "open_ticket", "noise"]
    frame = pd.DataFrame([{n: terms.get(n, 0.0) for n in names} for terms in rows.values()])
    return frame.assign(customer_id=list(rows), cutoff=CUTOFF)[["customer_id", "cutoff", *names]]


def _listed(reasons: dict[str, list[str]], tiers: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": list(reasons),
            "cutoff": CUTOFF,
            "risk_tier": [tiers[c] for c in reasons],
            "reason_features": list(reasons.values()),
        }
    )


TOPICS = {
    "value_30d": "usage",
    "last_invoice_failed": "payment problems",
    "tickets_90d": "ticket volume",
}


def test_a_reason_is_true_when_its_topic_has_a_clearly_raised_term():
    # population mean of health is (0.9 + 0 + 0 + 0) / 4 = 0.225: a's 0.9 is clearly above
    terms = _terms(
        {
            "a": {"health": 0.9, "failed_unrecovered": 0.0},
            "b": {"failed_unrecovered": 1.6},
            "c": {},
            "d": {},
        }
    )
    excess = truth.excess_over_population(terms)
    listed = _listed(
        {
            "a": ["value_30d", "last_invoice_failed"],
            "b": ["last_invoice_failed"],
            "c": ["value_30d"],
        },
        {"a": "high", "b": "medium", "c": "low"},
    )
    reasons = truth.reason_rows(listed, TOPICS)
    assert len(reasons) == 3  # the low tier's reason is not graded
    at_risk = listed[listed["risk_tier"] != "low"]
    graded = truth.grade(reasons, at_risk, excess, ["health", "failed_unrecovered"])
    # a: usage true (health), payment false; b: payment true
    assert math.isclose(graded["precision"], 2 / 3)
    # a's top clear term (health) is named; b's (failed_unrecovered) is named
    assert graded["recall"] == 1.0 and graded["recall_terms"] == 2


def test_recall_counts_the_top_two_clear_terms_a_reason_missed():
    terms = _terms({"a": {"health": 1.0, "open_ticket": 0.8, "failed_unrecovered": 0.5}, "b": {}})
    excess = truth.excess_over_population(terms)
    listed = _listed({"a": ["value_30d"]}, {"a": "high"})
    reasons = truth.reason_rows(listed, TOPICS)
    graded = truth.grade(reasons, listed, excess, ["health", "open_ticket", "failed_unrecovered"])
    # top two of a: health (named by usage), open_ticket (no reason on open tickets)
    assert graded["recall"] == 0.5 and graded["recall_terms"] == 2


def test_unobservable_terms_are_never_owed_a_reason():
    terms = _terms({"a": {"noise": 3.0}, "b": {}})
    excess = truth.excess_over_population(terms)
    listed = _listed({"a": []}, {"a": "high"})
    graded = truth.grade(truth.reason_rows(listed, TOPICS), listed, excess, ["health"])
    assert graded["recall_all_terms"] == 0


def test_the_health_scores_rules_give_one_reason_per_topic_by_points():
    points = pd.DataFrame(
        {
            "recency": [35.0, 0.0],
            "trend": [10.0, 0.0],
            "open_tickets": [0.0, 0.0],
            "failed_payments": [20.0, 0.0],
        }  # fmt: skip
    )
    keys = pd.DataFrame({"customer_id": ["a", "b"], "cutoff": [CUTOFF, CUTOFF]})
    topics = {"recency": "usage", "trend": "usage", "open_tickets": "open tickets",
              "failed_payments": "payment problems"}  # fmt: skip
    rows = truth.health_rule_reasons(points, keys, topics)
    assert rows[["customer_id", "feature", "topic"]].values.tolist() == [
        ["a", "recency", "usage"],
        ["a", "failed_payments", "payment problems"],
    ]


def test_overdue_said_of_a_customer_who_paid_on_time_is_counted():
    stamps = pd.to_datetime(["2026-05-05", "2026-06-05", "2026-07-05", "2026-04-01"])
    purchases = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "timestamp": stamps,
            "status": "paid",
            "kind": "subscription",
        }
    )
    intervals = truth.usual_intervals(purchases, CUTOFF, ["subscription"])
    assert intervals.loc["a", "usual"] == 30.5 and intervals.loc["a", "since_last"] == 27
    assert np.isnan(intervals.loc["b", "usual"])  # one invoice: no usual interval
    reasons = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "cutoff": CUTOFF,
            "slot": 0,
            "feature": "days_since_last_purchase",
            "topic": "spend",
        }  # fmt: skip
    )
    assert truth.on_time_but_overdue(reasons, intervals, ["days_since_last_purchase"]) == 1


def test_a_fact_most_retained_customers_share_is_found():
    facts = pd.DataFrame(
        {"plan": [True, True, True, False], "value_30d": [True, False, False, False]}
    )
    retained = np.array([True, True, True, False])
    assert truth.majority_facts(facts, retained, ["plan", "value_30d"]) == {
        "plan": 1.0,
        "value_30d": round(1 / 3, 4),
    }
