"""Why a list would be wrong, checked before one is written: each check refuses (exit 3) with
one line naming what to fix, rather than serve stale, mismatched or misleading data."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from features.errors import Problem, Refusal
from features.exports.freshness import TableFreshness, customer_freshness, table_freshness
from features.spec import FeatureSpec
from models.drift import active_shares, vanished_from_shares
from models.split import WARMUP_DAYS
from pipeline.config import Config


def refuse(where: str, message: str) -> Refusal:
    """A refusal with one problem."""
    return Refusal([Problem(where, message)])


def check_as_of(config: Config, when: pd.Timestamp, export_date: dt.date) -> None:
    """Refuse an as-of date after the export date: the data cannot describe that day."""
    if when.date() > export_date:
        raise refuse(
            str(config.path),
            f"as-of date {when:%Y-%m-%d} is after the export date {export_date:%Y-%m-%d} "
            "([data] as_of, or today when it is not set): the exports cannot describe it",
        )


def check_definition(config: Config, metadata: dict) -> None:
    """Refuse when the configured churn definition differs from the model's."""
    trained = metadata["churn_definition"]
    current = config.churn.to_dict()
    differs = {k: (trained.get(k), v) for k, v in current.items() if trained.get(k) != v}
    if differs:
        detail = ", ".join(f"{k}: model {a!r} vs config {b!r}" for k, (a, b) in differs.items())
        raise refuse(
            str(config.path),
            f"[churn] differs from the model's definition ({detail}); "
            "retrain or restore the config",
        )


def check_tables(config: Config, spec: FeatureSpec, tables: dict) -> None:
    """Refuse when the model was trained with an optional table the exports no longer have."""
    for table in spec.tables:
        if table not in tables:
            raise refuse(
                config.exports.directory,
                f"the model was trained with {table} features; the exports have no {table} "
                "rows (restore the export, or retrain without it)",
            )


def check_cancellations(config: Config, tables: dict) -> None:
    """Refuse a contractual list when the customer export holds no cancellation date at all:
    the model needs them to leave cancelled customers out, so a dropped or renamed column
    would put every cancelled customer on the list."""
    if config.churn.kind != "contractual":
        return
    customers = tables["customers"]
    if int(customers.churned_at.notnull().sum().execute()) == 0:
        raise refuse(
            config.exports.directory,
            "the customer export has no cancellation dates (churned_at) at all, but the model "
            "is trained for contractual churn: cancelled customers would be listed as active; "
            "check the export and [tables.customers.columns] churned_at",
        )


def check_freshness(
    config: Config, tables: dict, when: pd.Timestamp, *, labels: dict[str, str]
) -> list[TableFreshness]:
    """Refuse a list the data cannot support: an as-of date before enough history, data whose
    latest event is more than `max_staleness_days` old, one table whose export stopped (its
    last event older than twice its usual longest gap between event days), or a customer
    table behind the events (its newest signup or cancellation further before the events'
    newest day than `max_staleness_days` or twice its usual gap): customers who signed up
    since would be missing from the list."""
    freshness = table_freshness(tables, when.to_pydatetime())
    _check_history(config, freshness, when)
    latest = max(f.last for f in freshness if f.last is not None)
    stale_days = (when.normalize() - latest.normalize()).days
    allowed = config.scoring.max_staleness_days
    if stale_days > allowed:
        raise refuse(
            config.exports.directory,
            f"data is stale: latest event on {latest:%Y-%m-%d}, {stale_days} days before the "
            f"as-of date {when:%Y-%m-%d} (allowed: {allowed}, [scoring] max_staleness_days)",
        )
    for f in freshness:
        _check_table(f, labels.get(f.table, f.table), when, latest=latest, allowed=allowed)
    customers = customer_freshness(tables["customers"], when.to_pydatetime())
    _check_customers(customers, labels.get("customers", "customers"), latest, allowed)
    return freshness


def _check_history(config: Config, freshness: list[TableFreshness], when: pd.Timestamp) -> None:
    firsts = [f.first for f in freshness if f.first is not None]
    if not firsts or when <= min(firsts) + pd.Timedelta(days=WARMUP_DAYS):
        start = f"starts {min(firsts):%Y-%m-%d}" if firsts else "has no events"
        raise refuse(
            config.exports.directory,
            f"as-of date {when:%Y-%m-%d} is too early: the data {start}, and features need "
            f"{WARMUP_DAYS} days of history before the as-of date",
        )


def _check_table(
    f: TableFreshness, label: str, when: pd.Timestamp, *, latest: pd.Timestamp, allowed: int
) -> None:
    if f.last is None:
        raise refuse(label, f"no {f.table} rows before the as-of date {when:%Y-%m-%d}")
    days = f.days_before(when)
    limit = max(allowed, 2 * f.usual_gap_days)
    if days > limit:
        raise refuse(
            label,
            f"export looks stale: its latest row is from {f.last:%Y-%m-%d}, {days} days "
            f"before the as-of date {when:%Y-%m-%d}, while other tables run to "
            f"{latest:%Y-%m-%d} and its rows are usually at most {f.usual_gap_days} days "
            f"apart (allowed: {limit})",
        )


def _check_customers(f: TableFreshness, label: str, latest: pd.Timestamp, allowed: int) -> None:
    if f.last is None:  # nobody signed up before the as-of date: nobody to list, said later
        return
    behind = (latest.normalize() - f.last.normalize()).days
    limit = max(allowed, 2 * f.usual_gap_days)
    if behind > limit:
        raise refuse(
            label,
            f"customer export looks behind the events: its newest signup or cancellation is "
            f"from {f.last:%Y-%m-%d}, {behind} days before the events' newest day "
            f"{latest:%Y-%m-%d} (allowed: {limit}, the larger of [scoring] max_staleness_days "
            f"and twice its usual gap of {f.usual_gap_days} days); customers who signed up "
            "since would be missing from the list",
        )


def check_features(
    config: Config, features: pd.DataFrame, metadata: dict, *, when: pd.Timestamp
) -> None:
    """Refuse when the data no longer produces the model's features, nobody is active, or
    features alive in training are dead today (a renamed event type, a dropped column):
    every customer would look at risk for a reason that is not real."""
    trained = metadata.get("active_share", {})
    today = active_shares(features, [f for f in trained if f in features.columns])
    check_feature_counts(config, list(features.columns), len(features), today, metadata, when=when)


def check_feature_counts(
    config: Config,
    columns: list[str],
    rows: int,
    active: dict[str, float],
    metadata: dict,
    *,
    when: pd.Timestamp,
) -> None:
    """`check_features` from counts an engine made: the feature columns, the number of rows,
    each feature's share of rows with a value today (`active_shares`)."""
    where = config.exports.directory
    missing = [f for f in metadata["features"] if f not in columns]
    if missing:
        raise refuse(where, f"the model needs features the data no longer produces: {missing[:8]}")
    if rows == 0:
        raise refuse(where, f"no active customers as of {when:%Y-%m-%d}")
    vanished = vanished_from_shares(active, metadata.get("active_share", {}))
    if vanished:
        shown = ", ".join(
            f"{name} ({before:.0%} of customers in training, {now:.1%} today)"
            for name, (before, now) in list(vanished.items())[:5]
        )
        raise refuse(
            where,
            f"{len(vanished)} features have (almost) no values today that most customers had "
            f"in training: {shown}; check the exports for a renamed event type or a missing "
            "column, or retrain if the change is real",
        )
