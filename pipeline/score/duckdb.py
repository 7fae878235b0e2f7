"""The list on the DuckDB engine (the default): features as of the date in process, scored,
ranked and explained in pandas, written through the same staging, swap and lock as Spark's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import pipeline.score.guards as guards
from features.exports.verdict import ValidationReport
from features.spec import FeatureSpec
from models.drift import population_stability
from models.ranking import (
    ListSettings,
    compare_with_previous,
    contact_summary,
    rank_customers,
    tier_changes,
    with_arms,
)
from models.reason_rules import ReasonSettings
from pipeline.config import Config
from pipeline.datasets import exported_history, held_days, scoring_features
from pipeline.outputs import date_lock, holding_date_lock, previous_list, write_list
from pipeline.score.common import (
    Champion,
    ListContext,
    Population,
    ScoringStart,
    arm_draw,
    checked_tables,
    drifted,
    list_settings,
    profile_columns,
)
from pipeline.score.contact_ranking import contact_ranking
from pipeline.score.manifest import ListFacts, list_manifest
from pipeline.score.monitoring import log_monitoring
from pipeline.score.reasons import population_reasons
from pipeline.score.summary import print_scoring_summary
from pipeline.timing import Timer

log = logging.getLogger(__name__)


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
        settings=list_settings(config, capacity, model.metadata),
        profile_columns=profile_columns(population),
    )
    return PastList(features, ranked, reasons)


def publish(
    config: Config, ranked: pd.DataFrame, context: ListContext, *, write_hook=None
) -> tuple[dict, Path]:
    """Draw the contact set's control group, compare with the previous list, write the list
    and its manifest under the date's lock; returns the manifest and the folder."""
    output_dir, when = Path(config.scoring.output_dir), context.when
    with holding_date_lock(output_dir, when):
        previous = previous_list(output_dir, when)
        earlier = previous[1] if previous else None
        draw = arm_draw(config, when)
        ranked = compare_with_previous(with_arms(ranked, draw), earlier)
        facts = ListFacts(
            model=context.champion.registry,
            when=when,
            freshness=context.population.freshness,
            contacts=contact_summary(ranked, context.settings, draw),
            changes=tier_changes(ranked, earlier),
            previous_as_of=previous[0] if previous else None,
            drifted=drifted(config, context.drift, context.champion.metadata),
            warnings=[p.line() for p in context.validation.warnings],
            profile=profile_columns(context.population),
            currency=config.features.currency,
            settings=context.settings,
        )
        manifest = list_manifest(facts, ranked)
        return manifest, write_list(
            output_dir, when, ranked, manifest=manifest, write_hook=write_hook
        )


def score_on_duckdb(
    config: Config, start: ScoringStart, capacity: int | None, *, timer: Timer, write_hook=None
) -> int:
    """Features as of the date, probabilities and contributions, the ranked list, drift, the
    list written under the date's lock, the monitoring run and the summary."""
    champion, when = start.champion, start.when
    with timer("features", f"features as of {when:%Y-%m-%d}"):
        population = current_population(
            config, start.paths, start.validation, when=when, champion=champion
        )
    with timer("predict", "probabilities and contributions"):
        scores = champion.model.scores(population.features)
    with timer("rank_and_reasons", "tiers, reasons, plays and the contact set"):
        ranking = contact_ranking(config, start.paths, when)
        settings = list_settings(config, capacity, champion.metadata, ranking)
        ranked = rank(config, population, champion, scores=scores, settings=settings)
    with timer("drift", "feature drift against training"):
        reference = champion.metadata.get("reference_profile", {})
        drift = population_stability(population.features, reference)
    # the date's lock is kept until the list's run is logged: a later run that finds the list
    # without its run while the lock is free knows this run ended before logging it
    with date_lock(Path(config.scoring.output_dir), when):
        with timer("write", "the list, its CSV and manifest"):
            context = ListContext(population, champion, drift, settings, when, start.validation)
            manifest, folder = publish(config, ranked, context, write_hook=write_hook)
        with timer("monitoring", "MLflow scoring run"):
            probabilities = ranked["churn_probability"].to_numpy()
            log_monitoring(
                config, context, manifest, probabilities=probabilities, timer=timer, folder=folder
            )
    brief = timer.progress.quiet
    print_scoring_summary(ranked, manifest, folder, seconds=timer.seconds, brief=brief)
    return 0
