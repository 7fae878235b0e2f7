"""`churn score`: the nightly ranked at-risk list from the production (champion) model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from features.describe import count
from features.engine import open_tables
from features.errors import Problem, Refusal
from features.freshness import TableFreshness, table_freshness
from features.ingest import ingest_exports
from features.registry import feature_catalogue, reason_topics
from features.spec import FeatureSpec
from models.drift import population_stability, typical_values, vanished_features
from models.explain import ReasonRule, ReasonSettings
from models.plots import score_distribution_figure
from models.ranking import (
    COLUMNS,
    TIERS,
    ListSettings,
    compare_with_previous,
    contact_summary,
    rank_customers,
    tier_changes,
)
from models.split import WARMUP_DAYS
from pipeline import tracking
from pipeline.config import Config
from pipeline.datasets import scoring_features, today
from pipeline.outputs import date_lock, previous_list, write_list
from pipeline.report import print_warnings
from pipeline.timing import Timer


def _refuse(where: str, message: str) -> Refusal:
    return Refusal([Problem(where, message)])


def load_champion(config: Config):
    """The production model, its registry facts and metadata; refuses when there is none."""
    store = tracking.open_store(config.tracking)
    name, alias = config.model.name, config.model.alias
    if tracking.champion_version(name, alias) is None:
        raise _refuse(
            f"models:/{name}@{alias}",
            f"no model has this alias in the registry ({store.shown}); run `make train` first",
        )
    loaded, digest = tracking.load_model(name, alias)
    registry = {**tracking.model_version_info(name, alias), "sha256": digest}
    return store, loaded.unwrap_python_model(), registry


def check_definition(config: Config, metadata: dict) -> None:
    """Refuse when the configured churn definition differs from the model's."""
    trained = metadata["churn_definition"]
    current = config.churn.to_dict()
    differs = {k: (trained.get(k), v) for k, v in current.items() if trained.get(k) != v}
    if differs:
        detail = ", ".join(f"{k}: model {a!r} vs config {b!r}" for k, (a, b) in differs.items())
        raise _refuse(
            str(config.path),
            f"[churn] differs from the model's definition ({detail}); "
            "retrain or restore the config",
        )


def check_as_of(config: Config, when: pd.Timestamp, export_date: dt.date) -> None:
    """Refuse an as-of date after the export date: the data cannot describe that day."""
    if when.date() > export_date:
        raise _refuse(
            str(config.path),
            f"as-of date {when:%Y-%m-%d} is after the export date {export_date:%Y-%m-%d} "
            "([data] as_of, or today when it is not set): the exports cannot describe it",
        )


def check_freshness(
    config: Config, tables: dict, when: pd.Timestamp, labels: dict[str, str]
) -> list[TableFreshness]:
    """Refuse a list the data cannot support: an as-of date before enough history, data whose
    latest event is more than `max_staleness_days` old, or one table whose export stopped
    (its last event older than twice its usual longest gap between event days)."""
    freshness = table_freshness(tables, when.to_pydatetime())
    firsts = [f.first for f in freshness if f.first is not None]
    where = config.exports.directory
    if not firsts or when <= min(firsts) + pd.Timedelta(days=WARMUP_DAYS):
        start = f"starts {min(firsts):%Y-%m-%d}" if firsts else "has no events"
        raise _refuse(
            where,
            f"as-of date {when:%Y-%m-%d} is too early: the data {start}, and features need "
            f"{WARMUP_DAYS} days of history before the as-of date",
        )
    allowed = config.scoring.max_staleness_days
    lasts = [f for f in freshness if f.last is not None]
    latest = max(f.last for f in lasts)
    stale_days = (when.normalize() - latest.normalize()).days
    if stale_days > allowed:
        raise _refuse(
            where,
            f"data is stale: latest event on {latest:%Y-%m-%d}, {stale_days} days before the "
            f"as-of date {when:%Y-%m-%d} (allowed: {allowed}, [scoring] max_staleness_days)",
        )
    for f in freshness:
        label = labels.get(f.table, f.table)
        if f.last is None:
            raise _refuse(label, f"no {f.table} rows before the as-of date {when:%Y-%m-%d}")
        days = f.days_before(when)
        limit = max(allowed, 2 * f.usual_gap_days)
        if days > limit:
            raise _refuse(
                label,
                f"export looks stale: its latest row is from {f.last:%Y-%m-%d}, {days} days "
                f"before the as-of date {when:%Y-%m-%d}, while other tables run to "
                f"{latest:%Y-%m-%d} and its rows are usually at most {f.usual_gap_days} days "
                f"apart (allowed: {limit})",
            )
    return freshness


def _current_features(config, tables, when, spec, model) -> pd.DataFrame:
    for table, needed in (("surveys", spec.has_surveys), ("support", spec.has_support)):
        if needed and table not in tables:
            raise _refuse(
                config.exports.directory,
                f"the model was trained with {table} features; the exports have no {table} "
                "rows (restore the export, or retrain without it)",
            )
    features = scoring_features(tables, when, spec, config.churn)
    missing = [f for f in model.features if f not in features.columns]
    if missing:
        raise _refuse(
            config.exports.directory,
            f"the model needs features the data no longer produces: {missing[:8]}",
        )
    if features.empty:
        raise _refuse(config.exports.directory, f"no active customers as of {when:%Y-%m-%d}")
    return features


def check_vanished(config: Config, features: pd.DataFrame, metadata: dict) -> None:
    """Refuse when features that were alive in training are dead today (a renamed event type,
    a dropped column): every customer would look at risk for a reason that is not real."""
    vanished = vanished_features(features, metadata.get("active_share", {}))
    if vanished:
        shown = ", ".join(
            f"{name} ({before:.0%} of customers in training, {now:.1%} today)"
            for name, (before, now) in list(vanished.items())[:5]
        )
        raise _refuse(
            config.exports.directory,
            f"{len(vanished)} features have (almost) no values today that most customers had "
            f"in training: {shown}; check the exports for a renamed event type or a missing "
            "column, or retrain if the change is real",
        )


def reason_settings(config: Config, spec: FeatureSpec, metadata: dict, features) -> ReasonSettings:
    """How reasons are chosen and worded: the current feature declarations (with the
    configured actionable profile columns), the model's topics and typical values (today's
    medians for models saved without them), the configured currency."""
    profile = replace(spec.profile, actionable=config.exports.profile.actionable)
    catalogue = feature_catalogue(replace(spec, profile=profile))
    numeric = [f for f in model_features(metadata) if f in features.columns]
    typical = metadata.get("typical") or typical_values(features, numeric)
    rules = {f.name: ReasonRule.of(f, typical.get(f.name)) for f in catalogue}
    topics = metadata.get("topics") or reason_topics(spec)
    return ReasonSettings(rules, topics, per_topic=1, currency=config.features.currency)


def model_features(metadata: dict) -> list[str]:
    """The model's numeric features (categoricals left out)."""
    categories = metadata.get("categories", {})
    return [f for f in metadata["features"] if f not in categories]


def run_scoring(
    config: Config, as_of: dt.date | None = None, capacity: int | None = None, write_hook=None
) -> int:
    """Validate, build features as of the date, score, rank, write the list, log monitoring.

    The as-of date is `as_of`, else the export date ([data] as_of), else today."""
    timer = Timer()
    export_date = config.as_of or today()
    when = pd.Timestamp(as_of or export_date)
    check_as_of(config, when, export_date)
    with timer("validate"):
        paths, validation = ingest_exports(config.exports, config.cache_dir, export_date)
    print_warnings(validation.warnings)
    with timer("load_model"):
        store, model, registry = load_champion(config)
    metadata = model.metadata
    check_definition(config, metadata)
    spec = FeatureSpec.from_dict(metadata["feature_spec"])
    with timer("features"):
        tables = open_tables(paths)
        labels = {name: t.file for name, t in validation.tables.items()}
        freshness = check_freshness(config, tables, when, labels)
        features = _current_features(config, tables, when, spec, model)
        check_vanished(config, features, metadata)
    with timer("predict"):
        probability, contributions = model.scores(features)
    settings = ListSettings(
        high_threshold=config.scoring.high_threshold,
        medium_threshold=config.scoring.medium_threshold,
        capacity=config.scoring.capacity if capacity is None else capacity,
        capacity_rank_by=config.scoring.capacity_rank_by,
        horizon_days=config.churn.horizon_days,
        contact_floor=config.scoring.contact_floor,
    )
    profile = [c for c in spec.profile.all if c in features.columns]
    with timer("rank_and_reasons"):
        ranked = rank_customers(
            features,
            probability,
            contributions,
            reasons=reason_settings(config, spec, metadata, features),
            plays=config.plays,
            settings=settings,
            profile_columns=profile,
        )
    with timer("drift"):
        drift = population_stability(features, metadata.get("reference_profile", {}))
    output_dir = Path(config.scoring.output_dir)
    with timer("write"), date_lock(output_dir, when):
        previous = previous_list(output_dir, when)
        earlier = previous[1] if previous else None
        ranked = compare_with_previous(ranked, earlier)
        facts = ListFacts(
            registry=registry,
            when=when,
            freshness=freshness,
            contacts=contact_summary(ranked, settings),
            changes=tier_changes(ranked, earlier),
            previous_as_of=previous[0] if previous else None,
            drift=drift,
            warnings=[p.line() for p in validation.warnings],
            profile=profile,
        )
        manifest = _manifest(config, facts, ranked)
        folder = write_list(output_dir, when, ranked, manifest, write_hook)
    with timer("monitoring"):
        _log_monitoring(store, config, manifest, ranked, drift, timer.seconds)
    _print_summary(ranked, manifest, folder, timer.seconds)
    return 0


@dataclass(frozen=True)
class ListFacts:
    """What the manifest says about one list besides its rows."""

    registry: dict
    when: pd.Timestamp
    freshness: list[TableFreshness]
    contacts: dict
    changes: dict
    previous_as_of: pd.Timestamp | None
    drift: pd.Series
    warnings: list[str]
    profile: list[str]


def _manifest(config: Config, facts: ListFacts, ranked: pd.DataFrame) -> dict:
    tiers = ranked["risk_tier"].value_counts()
    flagged = facts.drift[facts.drift > config.scoring.psi_threshold]
    latest = max(f.last for f in facts.freshness if f.last is not None)
    plays = ranked["suggested_play"].value_counts()
    return {
        "model": {"name": config.model.name, "alias": config.model.alias, **facts.registry},
        "as_of": f"{facts.when:%Y-%m-%d}",
        "latest_event": f"{latest:%Y-%m-%d}",
        "freshness_days": (facts.when.normalize() - latest.normalize()).days,
        "tables": {
            f.table: {
                "latest": f"{f.last:%Y-%m-%d}",
                "days_before_as_of": f.days_before(facts.when),
                "usual_gap_days": f.usual_gap_days,
            }
            for f in facts.freshness
            if f.last is not None
        },
        "customers": len(ranked),
        "tiers": {t: int(tiers.get(t, 0)) for t in TIERS},
        "revenue_at_risk": round(float(ranked["revenue_at_risk"].sum()), 2),
        "currency": config.features.currency,
        "contact": facts.contacts,
        "plays": {str(k): int(v) for k, v in plays.items()},
        "changes": {
            "previous_as_of": (
                f"{facts.previous_as_of:%Y-%m-%d}" if facts.previous_as_of is not None else None
            ),
            **facts.changes,
        },
        "drifted_features": {k: round(float(v), 4) for k, v in flagged.items()},
        "warnings": facts.warnings,
        "columns": {**COLUMNS, **{c: "profile column, as exported" for c in facts.profile}},
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _log_monitoring(store, config, manifest, ranked, drift, seconds) -> None:
    with tracking.run(store, config.tracking.scoring_experiment, f"score-{manifest['as_of']}"):
        tracking.log_params(
            {
                "model.version": manifest["model"]["version"],
                "model.run_id": manifest["model"]["run_id"],
                "as_of": manifest["as_of"],
            }
        )
        tracking.log_metrics({f"tier.{k}": v for k, v in manifest["tiers"].items()})
        tracking.log_metrics(
            {
                "customers": manifest["customers"],
                "revenue_at_risk": manifest["revenue_at_risk"],
                "probability.mean": float(ranked["churn_probability"].mean()),
                "probability.p90": float(ranked["churn_probability"].quantile(0.9)),
                "features.drifted": len(manifest["drifted_features"]),
            }
        )
        tracking.log_metrics({f"psi.{k}": v for k, v in drift.items()})
        tracking.log_metrics({f"seconds.{k}": v for k, v in seconds.items()})
        tracking.log_dict(manifest, "manifest.json")
        tracking.log_figure(
            score_distribution_figure(ranked["churn_probability"].to_numpy()),
            "plots/score_distribution.png",
        )


def summary_lines(ranked: pd.DataFrame, manifest: dict, folder: Path) -> list[str]:
    """What `churn score` prints: the list in numbers, who to call, what changed, the top 10."""
    money = manifest.get("currency") or ""
    tiers, contact = manifest["tiers"], manifest["contact"]
    lines = [
        f"at-risk list as of {manifest['as_of']} (data through {manifest['latest_event']}, "
        f"{count(manifest['freshness_days'], 'day')} before), model {manifest['model']['name']} "
        f"v{manifest['model']['version']}",
        f"customers {manifest['customers']:,}: high {tiers['high']:,}, "
        f"medium {tiers['medium']:,}, low {tiers['low']:,}; "
        f"revenue at risk {manifest['revenue_at_risk']:,.2f} {money}".rstrip(),
    ]
    if contact["capacity"]:
        line = (
            f"contact first: {contact['contacts']:,} of {contact['above_floor']:,} customers at "
            f"or above p={contact['floor']:.2f} (capacity {contact['capacity']:,}), covering "
            f"{contact['share_of_revenue_at_risk']:.0%} of revenue at risk"
        )
        if contact["high_tier_outside"]:
            line += (
                f"; {contact['high_tier_outside']:,} of {contact['high_tier']:,} high-risk "
                "customers are outside it: the capacity is below the high tier"
            )
        elif contact["high_tier"]:
            line += f"; all {contact['high_tier']:,} high-risk customers are in it"
        lines.append(line)
    lines.append("plays: " + ", ".join(f"{k} {v:,}" for k, v in manifest["plays"].items()))
    changes = manifest["changes"]
    if changes.get("previous_as_of"):
        lines.append(
            f"since the list of {changes['previous_as_of']}: {changes['newly_high']:,} customers "
            f"newly high risk, {changes['left_high']:,} left high risk "
            f"({changes['left_high_not_listed']:,} of them no longer on the list)"
        )
    if manifest["drifted_features"]:
        lines.append(
            f"drift: {len(manifest['drifted_features'])} features beyond the PSI threshold: "
            + ", ".join(list(manifest["drifted_features"])[:5])
        )
    lines.append("top 10:")
    for row in ranked.head(10).itertuples():
        lines.append(
            f"  {row.rank:>3}. {row.customer_id:<10} p={row.churn_probability:.2f} "
            f"{row.risk_tier:<6} at risk {row.revenue_at_risk:>10,.2f}  {row.suggested_play}"
        )
        reasons = "; ".join(r for r in (row.reason_1, row.reason_2, row.reason_3) if r)
        lines.append(f"       {reasons or '(no single risk stands out)'}")
    lines.append(f"written: {folder}/at_risk.parquet, at_risk.csv, manifest.json")
    return lines


def _print_summary(
    ranked: pd.DataFrame, manifest: dict, folder: Path, seconds: dict[str, float]
) -> None:
    print("\n".join(summary_lines(ranked, manifest, folder)))
    print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
