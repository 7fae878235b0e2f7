"""Grading reasons against the causes the sample's simulator really used.

The simulator draws each customer-month's churn from a sum of named log-odds terms
(simulator/mechanism.py, HAZARD_TERMS) and writes each term's contribution beside the true
probability (data/sample/truth/hazard_terms.csv.gz). A reason names a topic ("usage",
"payment problems", ...); TOPIC_TERMS says which terms each topic speaks to. A reason is
true when one of its topic's terms raises that customer's log-odds clearly above what the
same term adds for the average active customer that month (CLEAR_LOG_ODDS).

Only this grader reads the terms: the product never does. Pure functions of frames, so each
is tested on hand-made rows (tests/bench/test_reason_truth.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

CLEAR_LOG_ODDS = 0.25
"""A term clearly raises a customer's risk when it adds at least this much more log-odds
than it adds on average that month (odds x1.28: a tenth of the sample's spread of true
log-odds between its churners and the rest)."""

UNOBSERVABLE = ("frailty", "noise")
"""Terms no export reveals: no reason can name them, so recall leaves them out."""

TOPIC_TERMS: dict[str, tuple[str, ...]] = {
    # engagement is a noisy view of health, and its fall of health's fall
    # (weak onboarding shows in a new customer's first month of events)
    "usage": ("health", "health_trend", "onboarding"),
    "adoption": ("breadth", "onboarding"),
    "tenure": ("tenure_early", "onboarding"),
    # tickets are filed at a rate that rises as health falls (simulator/mechanism.py)
    "ticket volume": ("recent_tickets", "health"),
    "open tickets": ("open_ticket",),
    "support experience": ("slow_ticket", "low_satisfaction"),
    "payment problems": ("failed_recovered", "failed_unrecovered"),
    "price change": ("price_rise",),
    # NPS answers follow health
    "nps": ("health", "health_trend"),
    # add-on purchases follow health, invoices scale with seats, an unpaid invoice is no order
    "spend": ("health", "health_trend", "seats", "failed_unrecovered"),
    "plan": ("plan",),
    "seats": ("seats",),
    "loyalty_member": ("loyalty",),
}
"""The hazard terms behind each reason topic: what a reason on that topic is evidence of."""

AT_RISK_TIERS = ("high", "medium")
TOP_TERMS = 2
KEYS = ["customer_id", "cutoff"]


def read_terms(path: str) -> pd.DataFrame:
    """The simulator's terms per (customer_id, cutoff): one column per hazard term."""
    terms = pd.read_csv(path, dtype={"customer_id": str}, parse_dates=["month_start"])
    return terms.rename(columns={"month_start": "cutoff"})


def term_names(terms: pd.DataFrame) -> list[str]:
    """The term columns of a terms frame."""
    return [c for c in terms.columns if c not in KEYS]


def excess_over_population(terms: pd.DataFrame) -> pd.DataFrame:
    """Each term minus its mean over every active customer of the same month: how much more
    (or less) log-odds it adds for this customer than for the average one."""
    names = term_names(terms)
    means = terms.groupby("cutoff")[names].transform("mean")
    return pd.concat([terms[KEYS], terms[names] - means], axis=1)


def clear_terms(excess: pd.DataFrame) -> pd.DataFrame:
    """Per (customer, cutoff), whether each term clearly raises the customer's risk."""
    names = term_names(excess)
    return pd.concat([excess[KEYS], excess[names] >= CLEAR_LOG_ODDS], axis=1)


def reason_rows(listed: pd.DataFrame, topics: Mapping[str, str]) -> pd.DataFrame:
    """One row per reason of the at-risk customers of lists (columns customer_id, cutoff,
    risk_tier, reason_features): customer_id, cutoff, slot, feature, topic."""
    at_risk = listed[listed["risk_tier"].isin(AT_RISK_TIERS)]
    rows = [
        (c, cutoff, slot, feature, topics.get(feature, feature))
        for c, cutoff, features in zip(
            at_risk["customer_id"], at_risk["cutoff"], at_risk["reason_features"], strict=True
        )
        for slot, feature in enumerate(features)
    ]
    return pd.DataFrame(rows, columns=[*KEYS, "slot", "feature", "topic"])


def topic_is_true(reasons: pd.DataFrame, clear: pd.DataFrame) -> np.ndarray:
    """For each reason row (customer_id, cutoff, topic), whether a term behind its topic
    clearly raises that customer's risk that month (False for a customer without truth)."""
    joined = reasons[[*KEYS, "topic"]].merge(clear, on=KEYS, how="left")
    true = np.zeros(len(joined), dtype=bool)
    for topic, members in TOPIC_TERMS.items():
        at = (joined["topic"] == topic).to_numpy()
        present = [t for t in members if t in joined.columns]
        if at.any() and present:
            hit = joined.loc[at, present].fillna(False).astype(bool).any(axis=1)
            true[at] = hit.to_numpy()
    return true


def top_terms(excess: pd.DataFrame, terms: Iterable[str], k: int = TOP_TERMS) -> pd.Series:
    """Per (customer, cutoff) row of `excess`, the (at most) `k` of `terms` that raise the
    customer's risk most, among those that raise it clearly, largest first."""
    names = [t for t in terms if t in excess.columns]
    values = excess[names].to_numpy(dtype=float)
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    picked = [
        [names[j] for j in row if values[i, j] >= CLEAR_LOG_ODDS]
        for i, row in enumerate(order.tolist())
    ]
    return pd.Series(picked, index=excess.index)


def nameable_terms(topics: Iterable[str]) -> list[str]:
    """The hazard terms some reason topic of a model can speak to."""
    return sorted({t for topic in set(topics) for t in TOPIC_TERMS.get(topic, ())})


def grade(
    reasons: pd.DataFrame, customers: pd.DataFrame, excess: pd.DataFrame, nameable: list[str]
) -> dict:
    """Precision and recall of reasons. `reasons`: reason rows (`reason_rows`); `customers`:
    the graded customers (customer_id, cutoff), with or without reasons; `excess`: the
    terms over the population (`excess_over_population`); `nameable`: the terms the
    model's topics can speak to.

    precision: the share of reasons whose topic has a term clearly raising the customer's
    risk; recall: the share of the customers' top TOP_TERMS clear nameable terms that some
    reason's topic speaks to (`recall_all`: over every observable term)."""
    clear = clear_terms(excess)
    true = topic_is_true(reasons, clear)
    graded = customers[KEYS].drop_duplicates().merge(excess, on=KEYS, how="inner")
    observable = [t for t in term_names(excess) if t not in UNOBSERVABLE]
    spoken = reasons.groupby(KEYS)["topic"].agg(set)
    recall = {}
    for label, candidates in (("recall", nameable), ("recall_all", observable)):
        tops = top_terms(graded, candidates)
        said = spoken.reindex(pd.MultiIndex.from_frame(graded[KEYS]))
        found = total = 0
        for wanted, topics in zip(tops, said, strict=True):
            covered = {t for topic in (topics if isinstance(topics, set) else ()) for t in
                       TOPIC_TERMS.get(topic, ())}  # fmt: skip
            total += len(wanted)
            found += sum(t in covered for t in wanted)
        recall[label] = found / total if total else float("nan")
        recall[f"{label}_terms"] = total
    return {
        "precision": float(true.mean()) if len(true) else float("nan"),
        **recall,
        "reasons": len(reasons),
        "customers": len(graded),
        "customers_with_reasons": int(reasons[KEYS].drop_duplicates().shape[0]),
    }


def chance_precision(reasons: pd.DataFrame, clear: pd.DataFrame, topics: Iterable[str]) -> float:
    """The precision of reasons whose topic is drawn at random among `topics` for the same
    customers: what the precision would be if the reasons knew nothing about the customer
    beyond their tier (the health-dominated causes of at-risk customers make it high)."""
    topics = sorted(set(topics))
    if reasons.empty or not topics:
        return float("nan")
    shares = [topic_is_true(reasons.assign(topic=topic), clear).mean() for topic in topics]
    return float(np.mean(shares))


def precision_by(reasons: pd.DataFrame, clear: pd.DataFrame, column: str) -> dict:
    """Reasons and precision per feature or per topic, most frequent first."""
    true = pd.Series(topic_is_true(reasons, clear), index=reasons.index)
    table = pd.DataFrame({"key": reasons[column], "true": true})
    out = table.groupby("key")["true"].agg(["size", "mean"]).sort_values("size", ascending=False)
    return {k: {"reasons": int(r["size"]), "precision": round(float(r["mean"]), 4)}
            for k, r in out.iterrows()}  # fmt: skip


def health_rule_reasons(
    points: pd.DataFrame, keys: pd.DataFrame, topics: Mapping[str, str], k: int = 3
) -> pd.DataFrame:
    """The health score's own reasons as reason rows: per customer, the rules that gave risk
    points, most points first, one per topic, at most `k`. `points`: rule points per row
    (models.baselines.health_points), aligned with `keys` (customer_id, cutoff)."""
    names = list(points.columns)
    values = points.to_numpy(dtype=float)
    rows = []
    for i, order in enumerate(np.argsort(-values, axis=1, kind="stable").tolist()):
        seen: set[str] = set()
        for j in order:
            topic = topics[names[j]]
            if values[i, j] <= 0 or topic in seen or len(seen) == k:
                continue
            seen.add(topic)
            rows.append((keys["customer_id"].iat[i], keys["cutoff"].iat[i], len(seen) - 1,
                         names[j], topic))  # fmt: skip
    return pd.DataFrame(rows, columns=[*KEYS, "slot", "feature", "topic"])


def topic_repeats(reasons: pd.DataFrame) -> int:
    """Customers given two reasons on one topic (the target: none)."""
    per = reasons.groupby([*KEYS, "topic"]).size()
    return int(per[per > 1].reset_index()[KEYS].drop_duplicates().shape[0])


def majority_facts(facts: pd.DataFrame, retained: np.ndarray, used: Iterable[str]) -> dict:
    """For each feature some reason used, the share of the retained customers whose value
    of it is a risk by its rule (`facts`: rows x features, booleans, aligned with the
    `retained` mask): a fact most retained customers share tells the team nothing."""
    shares = {}
    for feature in sorted(set(used)):
        if feature in facts.columns and retained.any():
            shares[feature] = round(float(facts.loc[retained, feature].mean()), 4)
    return shares


def usual_intervals(
    purchases: pd.DataFrame, cutoff: pd.Timestamp, invoice_kinds: Iterable[str]
) -> pd.DataFrame:
    """Per customer, from the raw purchases before `cutoff`: days since the last paid
    invoice and the usual interval between paid invoices over the year before (the median
    gap; missing with fewer than two invoices)."""
    paid = purchases[
        (purchases["status"] == "paid")
        & purchases["kind"].isin(list(invoice_kinds))
        & (purchases["timestamp"] < cutoff)
        & (purchases["timestamp"] >= cutoff - pd.Timedelta(days=365))
    ].sort_values(["customer_id", "timestamp"])
    days = (paid["timestamp"] - paid.groupby("customer_id")["timestamp"].shift()).dt.days
    usual = days.groupby(paid["customer_id"]).median()
    last = paid.groupby("customer_id")["timestamp"].max()
    return pd.DataFrame({"since_last": (cutoff - last).dt.total_seconds() / 86400,
                         "usual": usual})  # fmt: skip


def on_time_but_overdue(
    reasons: pd.DataFrame, intervals: pd.DataFrame, features: Iterable[str]
) -> int:
    """Reasons on the given recency features for customers who paid an invoice within their
    usual interval (`intervals` from `usual_intervals`, indexed by customer): "overdue"
    said of a customer who is on time."""
    picked = reasons[reasons["feature"].isin(list(features))]
    joined = picked.join(intervals, on="customer_id")
    return int((joined["since_last"] <= joined["usual"]).sum())
