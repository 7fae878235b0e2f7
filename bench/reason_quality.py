"""Reasons graded against the simulator's causes, on the test months of the latest training.

For each out-of-time test month of the training split, the newest registered model writes
the list it would have written as of that month (pipeline.score.duckdb.list_as_of: the product's
own features, tiers and reasons); the reasons of its high and medium tiers are graded
against the simulator's hazard terms (bench/reason_truth.py), beside the health score's
own rule reasons for the same customers. Also checked: facts most retained customers share,
"overdue" said of customers who paid within their usual interval, two reasons on one topic.

`make train` runs it after training on the sample (it says so and stops where the data has
no hazard terms); the figures go to the training run in MLflow, and with `--write` to
bench/results/reasons.json.

    python -m bench.reason_quality --config churn.toml [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bench import reason_truth as truth
from features.errors import UserError
from models.health import HEALTH_TOPICS, health_points
from models.reason_rules import risk_mask
from models.split import TimeSplit
from pipeline import tracking
from pipeline.config import Config, load_config
from pipeline.datasets import data_span, today
from pipeline.score.duckdb import list_as_of
from pipeline.train.data import time_split, validated_tables

RESULTS = Path(__file__).parent / "results" / "reasons.json"
TERMS_NAME = "hazard_terms.csv.gz"
RECENCY_FEATURES = ("days_since_last_purchase", "order_overdue_365d")
"""Reasons that say a customer's orders are late."""


def terms_file(config: Config) -> Path | None:
    """The hazard terms beside the configured truth file (the sample's), when there are any
    and they belong to the exports being trained on (inside their folder)."""
    if not config.training.truth_file:
        return None
    path = Path(config.training.truth_file).parent / TERMS_NAME
    exports = Path(config.exports.directory).resolve()
    return path if path.exists() and path.resolve().is_relative_to(exports) else None


def lists_for(config: Config, tables: dict, split: TimeSplit, model) -> pd.DataFrame:
    """The lists the model writes as of each test month, with each row's feature values,
    risk facts and label (churned within the horizon)."""
    frames = []
    customers = tables["customers"].select("customer_id", "churned_at").to_pandas()
    churned_at = customers.set_index(customers["customer_id"].astype(str))["churned_at"]
    for cutoff in split.test:
        when = pd.Timestamp(cutoff)
        past = list_as_of(config, tables, when, model)
        features, ranked, settings = past.features, past.ranked, past.reasons
        names = list(model.features)
        values = features.reset_index(drop=True)
        facts = pd.DataFrame(
            risk_mask(values, names, settings.rules, settings.history_days), columns=names
        )
        end = when + pd.Timedelta(days=config.churn.lead_days + config.churn.horizon_days)
        left = churned_at.reindex(features["customer_id"].astype(str)).to_numpy()
        churned = pd.notna(left) & (left >= np.datetime64(when)) & (left < np.datetime64(end))
        by_id = ranked.set_index("customer_id")
        ids = features["customer_id"].astype(str).to_numpy()
        frames.append(
            {
                "cutoff": when,
                "features": features.reset_index(drop=True),
                "facts": facts,
                "churned": churned,
                "listed": by_id.loc[ids].reset_index().assign(cutoff=when),
                "topics": settings.topics,
                "rules": settings.rules,
            }
        )
    return frames


def grade_lists(config: Config, tables: dict, months: list[dict], terms: pd.DataFrame) -> dict:
    """Every figure of the grading, for the model's reasons and the health score's rules."""
    excess = truth.excess_over_population(terms)
    clear = truth.clear_terms(excess)
    topics = months[0]["topics"]
    listed = pd.concat([m["listed"] for m in months], ignore_index=True)
    reasons = truth.reason_rows(listed, topics)
    at_risk = listed[listed["risk_tier"].isin(truth.AT_RISK_TIERS)]
    # the terms some reason could name: the topics of features that may be a reason
    rules = months[0]["rules"]
    nameable = truth.nameable_terms(
        topics.get(f, f) for f, r in rules.items() if r.risk is not None
    )
    health = []
    for m in months:
        rows = m["listed"]["risk_tier"].isin(truth.AT_RISK_TIERS).to_numpy()
        points = health_points(m["features"].loc[rows])
        recency = "usage" if "days_since_last_event" in m["features"] else "spend"
        health_topics = {**HEALTH_TOPICS, "recency": recency}
        keys = m["features"].loc[rows, ["customer_id"]].assign(cutoff=m["cutoff"])
        health.append(truth.health_rule_reasons(points, keys, health_topics))
    health_reasons = pd.concat(health, ignore_index=True)
    purchases = tables["purchases"].select("customer_id", "timestamp", "status", "kind")
    purchases = purchases.to_pandas().assign(customer_id=lambda f: f["customer_id"].astype(str))
    overdue = sum(
        truth.on_time_but_overdue(
            reasons[reasons["cutoff"] == m["cutoff"]],
            truth.usual_intervals(purchases, m["cutoff"], config.features.invoice_kinds),
            RECENCY_FEATURES,
        )
        for m in months
    )
    shares = [truth.majority_facts(m["facts"], ~m["churned"], reasons["feature"]) for m in months]
    widest = {f: max(s.get(f, 0.0) for s in shares) for f in set(reasons["feature"])}
    spoken = {topics.get(f, f) for f, rule in rules.items() if rule.risk is not None}
    return {
        "model": truth.grade(reasons, at_risk, excess, nameable),
        "chance_precision": truth.chance_precision(reasons, clear, spoken & set(truth.TOPIC_TERMS)),
        "health_rules": truth.grade(health_reasons, at_risk, excess, nameable),
        "checks": {
            "topic_repeats": truth.topic_repeats(reasons),
            "overdue_said_of_on_time_payers": overdue,
            "widest_fact_share_of_retained": max(widest.values(), default=0.0),
            "facts_held_by_most_retained": sorted(f for f, s in widest.items() if s > 0.5),
        },
        "by_topic": truth.precision_by(reasons, clear, "topic"),
        "by_feature": truth.precision_by(reasons, clear, "feature"),
        "health_by_topic": truth.precision_by(health_reasons, clear, "topic"),
        "widest_fact_shares": dict(sorted(widest.items(), key=lambda kv: -kv[1])[:10]),
    }


def summary_lines(result: dict) -> list[str]:
    """The grading in a few lines for the training summary."""
    m, h, c = result["model"], result["health_rules"], result["checks"]
    months = ", ".join(result["cutoffs"])
    return [
        f"reasons graded against the simulator's causes (high and medium tiers, {months}): "
        f"precision {m['precision']:.2f}, recall {m['recall']:.2f} (every observable cause: "
        f"{m['recall_all']:.2f}), {m['reasons']:,} reasons for {m['customers']:,} customers; "
        f"the health score's rules: precision {h['precision']:.2f}, recall {h['recall']:.2f}",
        f"reason checks: {c['topic_repeats']} customers with two reasons on one topic, "
        f"{c['overdue_said_of_on_time_payers']} 'overdue' said of on-time payers, widest fact "
        f"held by {c['widest_fact_share_of_retained']:.0%} of retained customers; a topic "
        f"drawn at random would be true for {result['chance_precision']:.0%} of these reasons",
    ]


def run(config: Config, *, write: bool) -> dict | None:
    """Grade the newest registered model's reasons; None when the data has no hazard terms."""
    path = terms_file(config)
    if path is None:
        return None
    tables, _ = validated_tables(config, config.as_of or today())
    split = time_split(config, *data_span(tables))
    tracking.open_store(config.tracking)
    found = tracking.latest_version(config.model.name)
    if found is None:
        return None
    version, run_id = found
    model = tracking.load_version(config.model.name, version)[0].unwrap_python_model()
    months = lists_for(config, tables, split, model)
    result = grade_lists(config, tables, months, truth.read_terms(str(path)))
    result["cutoffs"] = [f"{c:%Y-%m-%d}" for c in split.test]
    result["graded"] = {"model": config.model.name, "version": version, "run_id": run_id}
    metrics = {
        "reasons.precision": result["model"]["precision"],
        "reasons.recall": result["model"]["recall"],
        "reasons.recall_all": result["model"]["recall_all"],
        "reasons.health_rules.precision": result["health_rules"]["precision"],
        "reasons.health_rules.recall": result["health_rules"]["recall"],
        "reasons.topic_repeats": result["checks"]["topic_repeats"],
        "reasons.overdue_on_time": result["checks"]["overdue_said_of_on_time_payers"],
        "reasons.widest_fact_share": result["checks"]["widest_fact_share_of_retained"],
    }
    if run_id:
        tracking.record_on_run(run_id, metrics, {"evaluation/reasons.json": result})
    if write:
        payload = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **result}
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2, default=str))
        os.replace(tmp, RESULTS)
    return result


def main(argv: list[str] | None = None) -> int:
    """Grade, print the summary lines; exit 2 with one line on a user mistake."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("churn.toml"))
    parser.add_argument("--data", help="the exports folder (overrides [data] dir)")
    parser.add_argument("--write", action="store_true", help="write bench/results/reasons.json")
    args = parser.parse_args(argv)
    try:
        result = run(load_config(args.config, args.data), write=args.write)
    except UserError as error:
        for problem in error.problems:
            print(f"error: {problem.line()}", file=sys.stderr)
        return 2
    if result is None:
        print("reasons: not graded (these exports have no simulator hazard terms)")
        return 0
    print("\n".join(summary_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
