"""`churn score` on the Spark engine: the same checks, model, list and publishing rules as
`pipeline/score.py`, with the feature rows and the list kept on Spark (pipeline/score/spark_list.py)
and only counts, the contact set and the top of the list brought to the driver."""

from __future__ import annotations

import logging
from pathlib import Path

import pipeline.score.guards as guards
from features.engines.spark.session import spark_dataframe
from features.spec import FeatureSpec
from models.drift import stability_from_shares
from pipeline.config import Config
from pipeline.datasets import exported_history, held_days, scoring_query
from pipeline.outputs import date_lock, previous_list, write_list
from pipeline.score.common import (
    ListContext,
    Population,
    ScoringStart,
    arm_draw,
    checked_tables,
    drifted,
    list_settings,
    numeric_features,
    profile_columns,
)
from pipeline.score.contact_ranking import spark_contact_ranking
from pipeline.score.manifest import ListFacts, list_manifest
from pipeline.score.monitoring import log_monitoring
from pipeline.score.reasons import reason_settings
from pipeline.score.spark_counts import FeatureCounts, feature_counts, medians
from pipeline.score.spark_list import ListRecipe, row_schema, spark_list
from pipeline.score.summary import print_scoring_summary
from pipeline.timing import Timer

log = logging.getLogger(__name__)


def score_on_spark(
    config: Config, start: ScoringStart, capacity: int | None, *, timer: Timer, write_hook=None
) -> int:
    """Features as of the date on Spark, the checks and drift from their counts, the list
    scored, ranked and written by Spark under the date's lock, the monitoring run."""
    champion, when = start.champion, start.when
    with timer("features", f"features as of {when:%Y-%m-%d} on Spark, and their counts"):
        population, counts, recipe = spark_population(config, start, capacity)
    with timer("drift", "feature drift against training"):
        reference = champion.metadata.get("reference_profile", {})
        drift = stability_from_shares(reference, counts.shares)
    settings = recipe.settings
    context = ListContext(population, champion, drift, settings, when, start.validation)
    output_dir = Path(config.scoring.output_dir)
    with date_lock(output_dir, when):
        previous = previous_list(output_dir, when)
        earlier = previous[1] if previous else None
        with timer("predict_and_rank", "probabilities, reasons and plays on the executors, order"):
            draw = arm_draw(config, when)
            listed = spark_list(
                population.features, recipe, earlier, customers=counts.rows, draw=draw
            )
            list_counts, contacts = listed.counts(settings, draw)
        facts = ListFacts(
            model=champion.registry,
            when=when,
            freshness=population.freshness,
            contacts=contacts,
            changes=listed.changes(earlier),
            previous_as_of=previous[0] if previous else None,
            drifted=drifted(config, drift, champion.metadata),
            warnings=[p.line() for p in start.validation.warnings],
            profile=profile_columns(population),
            currency=config.features.currency,
            settings=settings,
        )
        manifest = list_manifest(facts, list_counts)
        with timer("write", "the list as partitioned Parquet, its CSVs and manifest"):
            folder = write_list(output_dir, when, listed, manifest=manifest, write_hook=write_hook)
        with timer("monitoring", "MLflow scoring run"):  # under the lock: see duckdb.py
            probabilities = listed.probabilities()
            log_monitoring(
                config, context, manifest, probabilities=probabilities, timer=timer, folder=folder
            )
    top = listed.top(10).to_pandas()
    listed.frame.unpersist()
    population.features.unpersist()
    brief = timer.progress.quiet
    print_scoring_summary(top, manifest, folder, seconds=timer.seconds, brief=brief)
    return 0


def spark_population(
    config: Config, start: ScoringStart, capacity: int | None
) -> tuple[Population, FeatureCounts, ListRecipe]:
    """Today's eligible customers' features as a cached Spark DataFrame, once the data and
    the feature counts pass every check the DuckDB engine makes; their counts; and the
    recipe the executors apply to them."""
    metadata = start.champion.metadata
    spec = FeatureSpec.from_dict(metadata["feature_spec"])
    tables, freshness = checked_tables(
        config, start.paths, start.validation, when=start.when, spec=spec
    )
    history = exported_history(tables, config.exports)
    query = scoring_query(tables, start.when, spec, definition=config.churn, history=history)
    features = spark_dataframe(query).cache()
    counts = feature_counts(
        features, list(metadata.get("active_share", {})), metadata.get("reference_profile", {})
    )
    log.info("%s customers eligible as of %s", f"{counts.rows:,}", f"{start.when:%Y-%m-%d}")
    guards.check_feature_counts(
        config, counts.columns, counts.rows, counts.active, metadata, when=start.when
    )
    population = Population(features, freshness, spec, held_days(history, start.when))
    typical = metadata.get("typical") or medians(features, numeric_features(metadata))
    reasons = reason_settings(
        config, spec, metadata, typical=typical, history_days=population.history_days
    )
    schema = query.schema().to_pyarrow()
    profile = profile_columns(population)
    recipe = ListRecipe(
        model=start.champion.model,
        reasons=reasons,
        plays=config.plays,
        settings=list_settings(config, capacity, metadata, spark_contact_ranking(config)),
        profile_columns=profile,
        features=schema,
        rows=row_schema(schema, reasons.k, profile),
    )
    return population, counts, recipe
