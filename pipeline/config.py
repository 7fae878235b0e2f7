"""Load `churn.toml` once into frozen settings that the steps receive as plain arguments."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from features.constraints import (
    Number,
    OneOf,
    Optional,
    Text,
    Whole,
    check_settings,
    did_you_mean,
)
from features.contract import TABLES, ExportSource, ProfileColumns, TableSource
from features.errors import ConfigError, Problem
from features.spec import FeatureSettings, FeatureSpec
from models.labels import ChurnDefinition
from models.plays import PlaySettings
from models.promotion import HIGHER_IS_BETTER


@dataclass(frozen=True)
class TrainingSettings:
    """How the history is cut into training, validation and out-of-time test cutoffs."""

    cutoffs: int = 24
    spacing_months: int = 1
    test_cutoffs: int = 3
    valid_cutoffs: int = 2
    backtest_folds: int = 4
    seed: int = 7
    search_seconds: float = 0.0
    calibration: str = "sigmoid"
    truth_file: str = ""

    CHECKS: ClassVar[dict] = {
        "cutoffs": Whole(3, 600),
        "spacing_months": Whole(1, 24),
        "test_cutoffs": Whole(1, 60),
        "valid_cutoffs": Whole(1, 60),
        "backtest_folds": Whole(0, 60),
        "seed": Whole(0, 2**31 - 1),
        "search_seconds": Number(0, 86_400),
        "calibration": OneOf(("sigmoid", "isotonic")),
        "truth_file": Text(),
    }

    def cross_check(self) -> list[str]:
        """Rules between keys: the test and validation cutoffs leave some to train on."""
        needed = self.test_cutoffs + self.valid_cutoffs + 1
        if self.cutoffs < needed:
            return [
                f"cutoffs = {self.cutoffs}: must be at least test_cutoffs + valid_cutoffs + 1 "
                f"= {needed}, so some cutoffs are left to train on"
            ]
        return []


NAME_SHAPE = "letters, digits, '_', '.', '-' (up to 100), e.g. 'churn-lightgbm'"
ALIAS_SHAPE = "a letter, then letters, digits, '_' or '-', e.g. 'champion'"


@dataclass(frozen=True)
class ModelSettings:
    """Registry name, production alias, and the metric a challenger must beat to be promoted."""

    name: str = "churn-lightgbm"
    alias: str = "champion"
    promote_metric: str = "roc_auc"

    CHECKS: ClassVar[dict] = {
        "name": Text(pattern=r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}", describe=NAME_SHAPE),
        "alias": Text(pattern=r"[A-Za-z][A-Za-z0-9_\-]{0,99}", describe=ALIAS_SHAPE),
        "promote_metric": OneOf(tuple(HIGHER_IS_BETTER)),
    }

    def cross_check(self) -> list[str]:
        """MLflow reserves "latest" and version-like aliases."""
        if self.alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", self.alias):
            return [f"alias = {self.alias!r}: reserved by MLflow; choose e.g. 'champion'"]
        return []


@dataclass(frozen=True)
class ScoringSettings:
    """Where lists go and how they are tiered, capped and checked."""

    output_dir: str = "outputs/at_risk"
    high_threshold: float = 0.30
    medium_threshold: float = 0.10
    capacity: int = 200
    capacity_rank_by: str = "revenue"
    contact_floor: float | None = None
    max_staleness_days: int = 3
    psi_threshold: float = 0.2

    CHECKS: ClassVar[dict] = {
        "output_dir": Text(non_empty=True),
        "high_threshold": Number(0, 1, open_low=True),
        "medium_threshold": Number(0, 1, open_low=True),
        "capacity": Whole(0),
        "capacity_rank_by": OneOf(("revenue", "probability")),
        "contact_floor": Optional(Number(0, 1)),
        "max_staleness_days": Whole(0, 3650),
        "psi_threshold": Number(0, open_low=True),
    }

    def cross_check(self) -> list[str]:
        """Rules between keys: the medium tier lies below the high one."""
        if self.medium_threshold >= self.high_threshold:
            return [
                f"medium_threshold {self.medium_threshold} must be below high_threshold "
                f"{self.high_threshold} (otherwise no customer is medium risk)"
            ]
        return []


@dataclass(frozen=True)
class ReportSettings:
    """Where `churn report` writes the retention report."""

    output_dir: str = "outputs/reports"

    CHECKS: ClassVar[dict] = {"output_dir": Text(non_empty=True)}


@dataclass(frozen=True)
class TrackingSettings:
    """The local MLflow store used when MLFLOW_TRACKING_URI is not set."""

    store_dir: str = "mlruns"
    experiment: str = "churn"
    scoring_experiment: str = "churn-scoring"
    timeout_seconds: float = 10.0
    retries: int = 2

    CHECKS: ClassVar[dict] = {
        "store_dir": Text(non_empty=True),
        "experiment": Text(non_empty=True),
        "scoring_experiment": Text(non_empty=True),
        "timeout_seconds": Number(1, 600),
        "retries": Whole(0, 10),
    }


@dataclass(frozen=True)
class Config:
    """Everything a run needs, resolved from one TOML file."""

    exports: ExportSource
    as_of: dt.date | None = None
    cache_dir: Path = Path(".churn/cache")
    churn: ChurnDefinition = ChurnDefinition()
    features: FeatureSettings = FeatureSettings()
    training: TrainingSettings = TrainingSettings()
    model: ModelSettings = ModelSettings()
    scoring: ScoringSettings = ScoringSettings()
    tracking: TrackingSettings = TrackingSettings()
    plays: PlaySettings = PlaySettings()
    path: Path = field(default=Path("churn.toml"))
    report: ReportSettings = ReportSettings()


def _fail(path: Path, message: str) -> ConfigError:
    return ConfigError([Problem(str(path), message)])


def _section(path: Path, cls: type, raw: Any, where: str, problems: list[Problem]) -> Any:
    """Build settings dataclass `cls` from a TOML table, checking every key against
    `cls.CHECKS` and the cross-key rules; each mistake is added to `problems` (one line naming
    the file, section, key, value and what is allowed) and the defaults stand in for it."""
    if not isinstance(raw, dict):
        problems.append(Problem(str(path), f"[{where}] must be a table of settings"))
        return cls()
    values, mistakes = check_settings(cls, raw)
    problems += [Problem(str(path), f"[{where}] {key} {text}") for key, text in mistakes]
    settings = cls(**values)
    if not mistakes and hasattr(settings, "cross_check"):
        problems += [Problem(str(path), f"[{where}] {t}") for t in settings.cross_check()]
    return settings


def _table_source(path: Path, name: str, raw: dict[str, Any]) -> TableSource:
    known = {"file", "columns", "timestamps", "value_maps", "delimiter"}
    unknown = sorted(set(raw) - known - {"profile"})
    if unknown:
        raise _fail(path, f"[tables.{name}] has unknown keys {unknown}; known: {sorted(known)}")
    contract = {c.name for c in TABLES[name].columns}
    for key in ("columns", "timestamps", "value_maps"):
        bad = sorted(set(raw.get(key, {})) - contract)
        if bad:
            raise _fail(
                path, f"[tables.{name}.{key}] names {bad}, not contract columns {sorted(contract)}"
            )
    return TableSource(
        file=raw.get("file", ""),
        columns=dict(raw.get("columns", {})),
        timestamp_formats=dict(raw.get("timestamps", {})),
        value_maps={k: dict(v) for k, v in raw.get("value_maps", {}).items()},
        delimiter=raw.get("delimiter"),
    )


def _profile(path: Path, raw: dict[str, Any]) -> ProfileColumns:
    """The customer-table columns used as features, and which of them are actionable."""
    known = {"categorical", "numeric", "actionable"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(
            path, f"[tables.customers.profile] has unknown keys {unknown}; known: {sorted(known)}"
        )
    lists = {}
    for key in sorted(known):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(path, f"[tables.customers.profile] {key} must be a list of column names")
        lists[key] = tuple(value)
    profile = ProfileColumns(lists["categorical"], lists["numeric"], lists["actionable"])
    stray = [c for c in profile.actionable if c not in profile.all]
    if stray:
        raise _fail(
            path,
            f"[tables.customers.profile] actionable names {stray}, which are not profile "
            f"columns {list(profile.all)}",
        )
    return profile


def known_topics(profile: ProfileColumns, features: FeatureSettings) -> list[str]:
    """Every topic a reason can have with this profile (what [plays] maps to plays)."""
    from features.engagement import EVENT_TYPE_PLACEHOLDER
    from features.registry import reason_topics

    spec = FeatureSpec(features, (EVENT_TYPE_PLACEHOLDER,), profile)
    return sorted(set(reason_topics(spec).values()))


def _plays(
    path: Path, raw: dict[str, Any], profile: ProfileColumns, features: FeatureSettings
) -> PlaySettings:
    """The topic -> play table: the defaults, with [plays.by_topic] entries added or replaced
    (an empty string switches a topic's play off)."""
    known = {"by_topic", "default", "low_tier"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(path, f"[plays] has unknown keys {unknown}; known: {sorted(known)}")
    defaults = PlaySettings()
    for key in ("default", "low_tier"):
        if not isinstance(raw.get(key, ""), str) or raw.get(key) == "":
            raise _fail(path, f"[plays] {key} must be a non-empty play name")
    by_topic = raw.get("by_topic", {})
    if not isinstance(by_topic, dict):
        raise _fail(path, '[plays.by_topic] must be a table of topic = "play"')
    topics = known_topics(profile, features)
    for topic, play in by_topic.items():
        if topic not in topics:
            raise _fail(
                path,
                f"[plays.by_topic] {topic!r} is not a reason topic{did_you_mean(topic, topics)}; "
                f"topics: {', '.join(topics)}",
            )
        if not isinstance(play, str):
            raise _fail(path, f"[plays.by_topic] {topic!r} must name a play (text)")
    table = {k: v for k, v in {**defaults.by_topic, **by_topic}.items() if v}
    return PlaySettings(
        table, raw.get("default", defaults.default), raw.get("low_tier", defaults.low_tier)
    )


def load_config(path: Path, data_dir: str | None = None) -> Config:
    """Read and check the TOML configuration; `data_dir` overrides [data].dir."""
    if not path.exists():
        raise _fail(path, "configuration file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    sections = {
        "data",
        "tables",
        "churn",
        "features",
        "training",
        "model",
        "scoring",
        "tracking",
        "plays",
        "report",
    }
    unknown = sorted(set(raw) - sections)
    if unknown:
        raise ConfigError(
            [
                Problem(
                    str(path),
                    f"unknown section [{name}]{did_you_mean(name, sections)}; "
                    f"known: {', '.join(sorted(sections))}",
                )
                for name in unknown
            ]
        )
    base = path.resolve().parent
    data = dict(raw.get("data", {}))
    directory = data_dir or data.pop("dir", "data/sample")
    data.pop("dir", None)
    as_of = data.pop("as_of", None)
    cache_dir = data.pop("cache_dir", ".churn/cache")
    max_orphan_share = float(data.pop("max_orphan_share", 0.01))
    if data:
        raise _fail(path, f"[data] has unknown keys {sorted(data)}")
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise _fail(path, f"[data] as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
    tables_raw = raw.get("tables", {})
    bad_tables = sorted(set(tables_raw) - set(TABLES))
    if bad_tables:
        raise _fail(path, f"[tables] names unknown tables {bad_tables}; known: {sorted(TABLES)}")
    tables = {name: _table_source(path, name, t) for name, t in tables_raw.items()}
    profile_raw = tables_raw.get("customers", {}).get("profile", {})
    profile = _profile(path, profile_raw)
    directory_path = Path(directory)
    if not directory_path.is_absolute():
        directory_path = (Path.cwd() if data_dir else base) / directory_path
    cache_path = Path(cache_dir)
    if not cache_path.is_absolute():
        cache_path = base / cache_path
    exports = ExportSource(str(directory_path), tables, profile, max_orphan_share)
    problems: list[Problem] = []
    tracking = _section(path, TrackingSettings, raw.get("tracking", {}), "tracking", problems)
    if not Path(tracking.store_dir).is_absolute():
        tracking = replace(tracking, store_dir=str(base / tracking.store_dir))
    scoring = _section(path, ScoringSettings, raw.get("scoring", {}), "scoring", problems)
    if not Path(scoring.output_dir).is_absolute():
        scoring = replace(scoring, output_dir=str(base / scoring.output_dir))
    report = _section(path, ReportSettings, raw.get("report", {}), "report", problems)
    if not Path(report.output_dir).is_absolute():
        report = replace(report, output_dir=str(base / report.output_dir))
    features = _section(path, FeatureSettings, raw.get("features", {}), "features", problems)
    training = _section(path, TrainingSettings, raw.get("training", {}), "training", problems)
    churn = _section(path, ChurnDefinition, raw.get("churn", {}), "churn", problems)
    model = _section(path, ModelSettings, raw.get("model", {}), "model", problems)
    if problems:
        raise ConfigError(problems)
    if training.truth_file and not Path(training.truth_file).is_absolute():
        training = replace(training, truth_file=str(base / training.truth_file))
    return Config(
        exports=exports,
        as_of=as_of,
        cache_dir=cache_path,
        churn=churn,
        features=features,
        training=training,
        model=model,
        scoring=scoring,
        tracking=tracking,
        plays=_plays(path, raw.get("plays", {}), profile, features),
        path=path,
        report=report,
    )
