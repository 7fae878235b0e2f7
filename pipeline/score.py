"""`churn score`: the nightly ranked at-risk list from the production (champion) model."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.describe import Risk
from features.engines import check_runner, connect, open_tables
from features.exports.freshness import TableFreshness
from features.exports.ingest import ValidationReport, ingest_exports
from features.registry import families, feature_catalogue, reason_topics
from features.spec import FeatureSpec
from models.drift import flagged_drift, population_stability, typical_values
from models.explain import ReasonRule, ReasonSettings
from models.plots import score_distribution_figure
from models.ranking import (
    ListSettings,
    compare_with_previous,
    contact_summary,
    rank_customers,
    tier_changes,
)
from models.segments import risk_note
from pipeline import guards, tracking
from pipeline.config import Config
from pipeline.console import log_tables, print_warnings
from pipeline.datasets import exported_history, held_days, scoring_features, today
from pipeline.list_summary import print_scoring_summary
from pipeline.manifest import ListFacts, list_manifest
from pipeline.outputs import date_lock, previous_list, write_list
from pipeline.progress import Progress
from pipeline.timing import Timer
from pipeline.tracking import descriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Champion:
    """The production model and where it came from (name, alias, version, run, fingerprint)."""

    model: object
    registry: dict
    store: tracking.Store

    @property
    def metadata(self) -> dict:
        return self.model.metadata


@dataclass(frozen=True)
class Population:
    """Today's feature rows of every eligible customer (a pandas frame; on the Spark engine a
    Spark DataFrame), and how fresh the data behind them is."""

    features: Any
    freshness: list[TableFreshness]
    spec: FeatureSpec
    history_days: dict[str, float] = field(default_factory=dict)
    """Per table, the days before the as-of date the exports hold."""


@dataclass(frozen=True)
class ScoringStart:
    """What every engine's list starts from: the typed exports, their validation, the model
    and the as-of date."""

    paths: dict
    validation: ValidationReport
    champion: Champion
    when: pd.Timestamp


def run_scoring(
    config: Config,
    as_of: dt.date | None = None,
    capacity: int | None = None,
    *,
    write_hook=None,
    progress: Progress | None = None,
) -> int:
    """Validate, build features as of the date, score, rank, write the list, log monitoring.

    The as-of date is `as_of`, else the export date ([data] as_of), else today."""
    timer = Timer(progress)
    export_date = config.as_of or today()
    when = pd.Timestamp(as_of or export_date)
    guards.check_as_of(config, when, export_date)
    with timer("validate", "checking and typing the exports"):
        runner = check_runner(config.engine)
        paths, validation = ingest_exports(config.exports, config.cache_dir, export_date, runner)
        log_tables(validation)
    print_warnings(validation.warnings)
    with timer("load_model", f"models:/{config.model.name}@{config.model.alias}"):
        champion = load_champion(config)
    guards.check_definition(config, champion.metadata)
    if config.engine.backend == "spark":
        from pipeline.score_spark import score_on_spark

        scored = ScoringStart(paths, validation, champion, when)
        return score_on_spark(config, scored, capacity, timer=timer, write_hook=write_hook)
    with timer("features", f"features as of {when:%Y-%m-%d}"):
        population = current_population(config, paths, validation, when=when, champion=champion)
    with timer("predict", "probabilities and contributions"):
        scores = champion.model.scores(population.features)
    settings = list_settings(config, capacity)
    with timer("rank_and_reasons", "tiers, reasons, plays and the contact set"):
        ranked = rank(config, population, champion, scores=scores, settings=settings)
    with timer("drift", "feature drift against training"):
        reference = champion.metadata.get("reference_profile", {})
        drift = population_stability(population.features, reference)
    with timer("write", "the list, its CSV and manifest"):
        context = ListContext(population, champion, drift, settings, when, validation)
        manifest, folder = publish(config, ranked, context, write_hook=write_hook)
    with timer("monitoring", "MLflow scoring run"):
        probabilities = ranked["churn_probability"].to_numpy()
        log_monitoring(
            config, context, manifest, probabilities=probabilities, timer=timer, folder=folder
        )
    brief = timer.progress.quiet
    print_scoring_summary(ranked, manifest, folder, seconds=timer.seconds, brief=brief)
    return 0


def load_champion(config: Config) -> Champion:
    """The production model, its registry facts and metadata; refuses when there is none."""
    store = tracking.open_store(config.tracking)
    name, alias = config.model.name, config.model.alias
    if tracking.champion_version(name, alias) is None:
        raise guards.refuse(
            f"models:/{name}@{alias}",
            f"no model has this alias in the registry ({store.shown}); run `make train` first",
        )
    loaded, digest = tracking.load_model(name, alias)
    registry = {"name": name, "alias": alias, **tracking.model_version_info(name, alias)}
    return Champion(loaded.unwrap_python_model(), {**registry, "sha256": digest}, store)


def current_population(
    config: Config, paths: dict, validation: ValidationReport, *, when: pd.Timestamp, champion
) -> Population:
    """Features as of `when` for every customer eligible under the churn definition, after
    every check that the data can support the model's list."""
    spec = FeatureSpec.from_dict(champion.metadata["feature_spec"])
    tables, freshness = checked_tables(config, paths, validation, when=when, spec=spec)
    history = exported_history(tables, config.exports)
    features = scoring_features(tables, when, spec, definition=config.churn, history=history)
    log.info("%s customers eligible as of %s", f"{len(features):,}", f"{when:%Y-%m-%d}")
    guards.check_features(config, features, champion.metadata, when=when)
    return Population(features, freshness, spec, held_days(history, when))


def checked_tables(
    config: Config, paths: dict, validation: ValidationReport, *, when: pd.Timestamp, spec
) -> tuple[dict, list[TableFreshness]]:
    """The typed tables on the configured engine, once the data is fresh enough, has the
    model's tables and (contractual churn) its cancellations; and how fresh each table is."""
    tables = open_tables(paths, connect(config.engine))
    labels = {name: t.file for name, t in validation.tables.items()}
    freshness = guards.check_freshness(config, tables, when, labels=labels)
    guards.check_tables(config, spec, tables)
    guards.check_cancellations(config, tables)
    return tables, freshness


def list_settings(config: Config, capacity: int | None) -> ListSettings:
    """Tiers and the contact set from the configuration (`--capacity` overrides)."""
    scoring = config.scoring
    return ListSettings(
        high_threshold=scoring.high_threshold,
        medium_threshold=scoring.medium_threshold,
        capacity=scoring.capacity if capacity is None else capacity,
        capacity_rank_by=scoring.capacity_rank_by,
        horizon_days=config.churn.horizon_days,
        contact_floor=scoring.contact_floor,
    )


def drifted(config: Config, drift: pd.Series, metadata: dict) -> tuple[dict, dict]:
    """The drifted features, and apart those training never saw a whole window of."""
    partial = metadata.get("partial_history", [])
    return flagged_drift(drift, config.scoring.psi_threshold, partial)


def numeric_features(metadata: dict) -> list[str]:
    """The model's numeric features (all but its categorical ones)."""
    return [f for f in metadata["features"] if f not in metadata.get("categories", {})]


def reason_settings(
    config: Config,
    spec: FeatureSpec,
    metadata: dict,
    *,
    typical: dict[str, float],
    history_days: dict[str, float] | None = None,
) -> ReasonSettings:
    """How reasons are chosen and worded: the current feature declarations (with the
    configured actionable profile columns, a reason only for the groups that churned
    materially more often in training), the model's topics, the typical values and ranges
    (the model's training medians; today's for models saved without them), the days of each
    table the exports hold, the configured currency."""
    profile = replace(spec.profile, actionable=config.exports.profile.actionable)
    catalogue = feature_catalogue(replace(spec, profile=profile))
    tables = {f.name: f.table for f in families(spec) if f.table}
    spread = metadata.get("percentiles", {})
    rules = {
        f.name: ReasonRule.of(
            f, typical.get(f.name), tuple(spread.get(f.name, ())), tables.get(f.family)
        )
        for f in catalogue
    }
    segments = metadata.get("segment_risk", {})
    for column in profile.actionable:
        if column in rules:
            rules[column] = segment_rule(rules[column], segments.get(column))
    topics = metadata.get("topics") or reason_topics(spec)
    return ReasonSettings(
        rules,
        topics,
        per_topic=1,
        currency=config.features.currency,
        history_days=dict(history_days or {}),
    )


def segment_rule(rule: ReasonRule, risky: dict | None) -> ReasonRule:
    """An actionable profile column's rule: a reason only for the groups that churned
    materially more often than the rest in training (models/segments.py), worded with how
    much more; never one for a model saved without that measure."""
    if not risky:
        return replace(rule, risk=None)
    if risky["kind"] == "categorical":
        levels = risky["levels"]
        notes = {level: risk_note(stats) for level, stats in levels.items()}
        return replace(rule, risk=Risk("in", values=tuple(levels)), notes=notes)
    bands = risky["bands"]
    if not bands:
        return replace(rule, risk=None)
    band = max(bands, key=lambda b: bands[b]["ratio"])
    when = "lower" if band == "below" else "higher"
    note = f"{'below' if band == 'below' else 'above'} {risky[band]:,.0f}: "
    return replace(
        rule,
        risk=Risk(when, than=risky[band], lived=False),
        template=rule.template.replace("{note}", f" ({note}{risk_note(bands[band])})"),
    )


def population_reasons(config: Config, population: Population, metadata: dict) -> ReasonSettings:
    """`reason_settings` for a population's list: the model's typical values (today's
    medians for a model saved without them) and the days of history the exports hold."""
    typical = metadata.get("typical") or typical_values(
        population.features, numeric_features(metadata)
    )
    return reason_settings(
        config,
        population.spec,
        metadata,
        typical=typical,
        history_days=population.history_days,
    )


def rank(
    config: Config,
    population: Population,
    champion: Champion,
    *,
    scores: tuple[np.ndarray, pd.DataFrame],
    settings: ListSettings,
) -> pd.DataFrame:
    """The ranked list with tiers, reasons, plays and the contact set."""
    probability, contributions = scores
    return rank_customers(
        population.features,
        probability,
        contributions,
        reasons=population_reasons(config, population, champion.metadata),
        plays=config.plays,
        settings=settings,
        profile_columns=profile_columns(population),
    )


@dataclass(frozen=True)
class PastList:
    """A list as it would have been written as of a past date: its population's features,
    the ranked rows and how its reasons were chosen."""

    features: pd.DataFrame
    ranked: pd.DataFrame
    reasons: ReasonSettings


def list_as_of(
    config: Config, tables: dict, when: pd.Timestamp, model, *, capacity: int | None = None
) -> PastList:
    """The list (not written) `model` gives as of `when` from typed tables, with no
    freshness guard: what a list as of a past date said, for back-tests and for grading its
    reasons. `model` is a loaded ChurnModel."""
    spec = FeatureSpec.from_dict(model.metadata["feature_spec"])
    history = exported_history(tables, config.exports)
    features = scoring_features(tables, when, spec, definition=config.churn, history=history)
    population = Population(features, [], spec, held_days(history, when))
    reasons = population_reasons(config, population, model.metadata)
    probability, contributions = model.scores(features)
    ranked = rank_customers(
        features,
        probability,
        contributions,
        reasons=reasons,
        plays=config.plays,
        settings=list_settings(config, capacity),
        profile_columns=profile_columns(population),
    )
    return PastList(features, ranked, reasons)


def profile_columns(population: Population) -> list[str]:
    return [c for c in population.spec.profile.all if c in population.features.columns]


@dataclass(frozen=True)
class ListContext:
    """Everything about today's list besides its rows: the population, the model, drift, the
    settings, the as-of date and the export warnings."""

    population: Population
    champion: Champion
    drift: pd.Series
    settings: ListSettings
    when: pd.Timestamp
    validation: ValidationReport


def publish(
    config: Config, ranked: pd.DataFrame, context: ListContext, *, write_hook=None
) -> tuple[dict, Path]:
    """Compare with the previous list, write the list and its manifest under the date's lock;
    returns the manifest and the folder."""
    output_dir, when = Path(config.scoring.output_dir), context.when
    with date_lock(output_dir, when):
        previous = previous_list(output_dir, when)
        earlier = previous[1] if previous else None
        ranked = compare_with_previous(ranked, earlier)
        facts = ListFacts(
            model=context.champion.registry,
            when=when,
            freshness=context.population.freshness,
            contacts=contact_summary(ranked, context.settings),
            changes=tier_changes(ranked, earlier),
            previous_as_of=previous[0] if previous else None,
            drifted=drifted(config, context.drift, context.champion.metadata),
            warnings=[p.line() for p in context.validation.warnings],
            profile=profile_columns(context.population),
            currency=config.features.currency,
        )
        manifest = list_manifest(facts, ranked)
        return manifest, write_list(
            output_dir, when, ranked, manifest=manifest, write_hook=write_hook
        )


def log_monitoring(
    config: Config,
    context: ListContext,
    manifest: dict,
    *,
    probabilities: np.ndarray,
    timer: Timer,
    folder: Path,
) -> None:
    """The scoring run in the monitoring experiment, from the step's start: the model version
    it used (tagged, linked, described), counts, scores, drift, timings."""
    experiment, name = config.tracking.scoring_experiment, f"score-{manifest['as_of']}"
    with tracking.run(
        context.champion.store,
        experiment,
        name,
        started=timer.started,
        description=descriptions.SCORING_EXPERIMENT,
    ):
        _name_the_model(manifest, folder)
        _log_list_numbers(context, manifest, probabilities=probabilities, seconds=timer.seconds)
        tracking.log_figure(
            score_distribution_figure(
                probabilities,
                tiers={
                    "medium": context.settings.medium_threshold,
                    "high": context.settings.high_threshold,
                },
            ),
            "plots/score_distribution.png",
        )


def _name_the_model(manifest: dict, folder: Path) -> None:
    """The run's description, tags and input link name the model version behind the list."""
    model = manifest["model"]
    link = descriptions.version_link(model["name"], model["version"], model["alias"])
    tracking.describe_run(
        descriptions.scoring_description(manifest, folder=str(folder), version_link=link)
    )
    tracking.set_tags(
        {
            "model.name": model["name"],
            "model.version": model["version"],
            "model.alias": model["alias"],
            "list.as_of": manifest["as_of"],
        }
    )
    tracking.link_model_version(model["name"], model["version"])


def _log_list_numbers(
    context: ListContext, manifest: dict, *, probabilities: np.ndarray, seconds: dict[str, float]
) -> None:
    model = manifest["model"]
    tracking.log_params(
        {
            "model.version": model["version"],
            "model.run_id": model["run_id"],
            "as_of": manifest["as_of"],
        }
    )
    tracking.log_metrics({f"tier.{k}": v for k, v in manifest["tiers"].items()})
    tracking.log_metrics(
        {
            "customers": manifest["customers"],
            "revenue_at_risk": manifest["revenue_at_risk"],
            "probability.mean": float(np.mean(probabilities)),
            "probability.p90": float(np.quantile(probabilities, 0.9)),
            "features.drifted": len(manifest["drifted_features"]),
        }
    )
    tracking.log_metrics({f"psi.{k}": v for k, v in context.drift.items()})
    tracking.log_metrics({f"seconds.{k}": v for k, v in seconds.items()})
    tracking.log_dict(manifest, "manifest.json")
