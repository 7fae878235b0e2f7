"""What every engine's list starts from and shares: the champion model and where it came from,
the population, the list settings from the configuration, the checks on the typed tables,
and the drift the list reports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

import pipeline.score.guards as guards
from features.engines import connect, open_tables
from features.exports.freshness import TableFreshness
from features.exports.verdict import ValidationReport
from features.spec import FeatureSpec
from models.arms import ArmDraw
from models.drift import flagged_drift
from models.ranking import ListSettings
from models.uplift import ContactRanking
from pipeline import tracking
from pipeline.config import Config
from pipeline.outputs import recent_arms


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


def list_settings(
    config: Config,
    capacity: int | None,
    metadata: dict,
    ranking: ContactRanking | None = None,
) -> ListSettings:
    """Tiers and the contact set from the configuration (`--capacity` overrides), the tier
    thresholds resolved against the base rate the model (`metadata`) was trained on, and
    the contact set's `ranking` (None: by risk)."""
    scoring = config.scoring
    high, medium, rule = scoring.tiers((metadata.get("base_rate") or {}).get("rate"))
    return replace(
        scoring,
        high_threshold=high,
        medium_threshold=medium,
        tier_rule=rule,
        horizon_days=config.churn.horizon_days,
        capacity=scoring.capacity if capacity is None else capacity,
        contact_ranking=ranking or ContactRanking(),
    )


def arm_draw(config: Config, when: pd.Timestamp) -> ArmDraw:
    """The control group's draw for the list as of `when`: the [contact] settings and the
    arms earlier lists within the horizon gave (read under the date's lock)."""
    kept = recent_arms(Path(config.scoring.output_dir), when, config.churn.horizon_days)
    return ArmDraw(config.contact, when, kept)


def drifted(config: Config, drift: pd.Series, metadata: dict) -> tuple[dict, dict]:
    """The drifted features, and apart those training never saw a whole window of."""
    partial = metadata.get("partial_history", [])
    return flagged_drift(drift, config.scoring.psi_threshold, partial)


def numeric_features(metadata: dict) -> list[str]:
    """The model's numeric features (all but its categorical ones)."""
    return [f for f in metadata["features"] if f not in metadata.get("categories", {})]


def profile_columns(population: Population) -> list[str]:
    return [c for c in population.spec.profile.all if c in population.features.columns]
