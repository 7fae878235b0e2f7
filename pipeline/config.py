"""Load `churn.toml` once into frozen settings that the steps receive as plain arguments."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from features.contract import DECIMAL_MARKS, TABLES, ExportSource, ProfileColumns, TableSource
from features.errors import ConfigError, Problem
from features.registry import FeatureSettings
from models.labels import ChurnDefinition


@dataclass(frozen=True)
class TrainingSettings:
    """How the history is cut into training, validation and out-of-time test cutoffs."""

    cutoffs: int = 16
    spacing_months: int = 1
    test_cutoffs: int = 1
    valid_cutoffs: int = 2
    backtest_folds: int = 4
    seed: int = 7
    search_seconds: float = 0.0
    calibration: str = "sigmoid"
    truth_file: str = ""


@dataclass(frozen=True)
class ModelSettings:
    """Registry name, production alias, and the metric a challenger must beat to be promoted."""

    name: str = "churn-lightgbm"
    alias: str = "champion"
    promote_metric: str = "roc_auc"


@dataclass(frozen=True)
class ScoringSettings:
    """Where lists go and how they are tiered, capped and checked."""

    output_dir: str = "outputs/at_risk"
    high_threshold: float = 0.30
    medium_threshold: float = 0.10
    capacity: int = 0
    capacity_rank_by: str = "revenue"
    max_staleness_days: int = 3
    psi_threshold: float = 0.2


@dataclass(frozen=True)
class TrackingSettings:
    """The local MLflow store used when MLFLOW_TRACKING_URI is not set."""

    store_dir: str = "mlruns"
    experiment: str = "churn"
    scoring_experiment: str = "churn-scoring"


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
    path: Path = field(default=Path("churn.toml"))


def _fail(path: Path, message: str) -> ConfigError:
    return ConfigError([Problem(str(path), message)])


def _section(path: Path, cls: type, raw: dict[str, Any], where: str) -> Any:
    """Build dataclass `cls` from a TOML table, refusing unknown keys (usually typos)."""
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise _fail(path, f"[{where}] has unknown keys {unknown}; known: {sorted(known)}")
    values = {}
    for key, value in raw.items():
        default = getattr(cls(), key)
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(default, float) and isinstance(value, int):
            value = float(value)
        values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"[{where}] {exc}") from None


def _share(path: Path, where: str, value: Any) -> float:
    """A tolerated share of rows: a number from 0 to 1 (0.01 is 1%)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(path, f"{where} must be a number from 0 to 1 (0.01 is 1%), got {value!r}")
    return float(value)


def _decimal(path: Path, where: str, value: Any) -> str:
    if value not in DECIMAL_MARKS:
        allowed = ", ".join(repr(m) for m in DECIMAL_MARKS)
        raise _fail(path, f"{where} decimal must be one of {allowed}, got {value!r}")
    return value


def _table_source(path: Path, name: str, raw: dict[str, Any]) -> TableSource:
    known = {
        "file",
        "columns",
        "timestamps",
        "value_maps",
        "delimiter",
        "decimal",
        "max_duplicate_share",
    }
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
        decimal=_decimal(path, f"[tables.{name}]", raw.get("decimal", "auto")),
        max_duplicate_share=(
            _share(path, f"[tables.{name}] max_duplicate_share", raw["max_duplicate_share"])
            if "max_duplicate_share" in raw
            else None
        ),
    )


def load_config(path: Path, data_dir: str | None = None) -> Config:
    """Read and check the TOML configuration; `data_dir` overrides [data].dir."""
    if not path.exists():
        raise _fail(path, "configuration file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    sections = {"data", "tables", "churn", "features", "training", "model", "scoring", "tracking"}
    unknown = sorted(set(raw) - sections)
    if unknown:
        raise _fail(path, f"unknown sections {unknown}; known: {sorted(sections)}")
    base = path.resolve().parent
    data = dict(raw.get("data", {}))
    directory = data_dir or data.pop("dir", "data/sample")
    data.pop("dir", None)
    as_of = data.pop("as_of", None)
    cache_dir = data.pop("cache_dir", ".churn/cache")
    max_orphan_share = _share(path, "[data] max_orphan_share", data.pop("max_orphan_share", 0.01))
    max_duplicate_share = _share(
        path, "[data] max_duplicate_share", data.pop("max_duplicate_share", 0.01)
    )
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
    profile = ProfileColumns(
        categorical=tuple(profile_raw.get("categorical", ())),
        numeric=tuple(profile_raw.get("numeric", ())),
    )
    directory_path = Path(directory)
    if not directory_path.is_absolute():
        directory_path = (Path.cwd() if data_dir else base) / directory_path
    cache_path = Path(cache_dir)
    if not cache_path.is_absolute():
        cache_path = base / cache_path
    exports = ExportSource(
        str(directory_path), tables, profile, max_orphan_share, max_duplicate_share
    )
    tracking = _section(path, TrackingSettings, raw.get("tracking", {}), "tracking")
    if not Path(tracking.store_dir).is_absolute():
        tracking = TrackingSettings(
            str(base / tracking.store_dir), tracking.experiment, tracking.scoring_experiment
        )
    scoring = _section(path, ScoringSettings, raw.get("scoring", {}), "scoring")
    if not Path(scoring.output_dir).is_absolute():
        scoring = replace(scoring, output_dir=str(base / scoring.output_dir))
    training = _section(path, TrainingSettings, raw.get("training", {}), "training")
    if training.truth_file and not Path(training.truth_file).is_absolute():
        training = replace(training, truth_file=str(base / training.truth_file))
    return Config(
        exports=exports,
        as_of=as_of,
        cache_dir=cache_path,
        churn=_section(path, ChurnDefinition, raw.get("churn", {}), "churn"),
        features=_section(path, FeatureSettings, raw.get("features", {}), "features"),
        training=training,
        model=_section(path, ModelSettings, raw.get("model", {}), "model"),
        scoring=scoring,
        tracking=tracking,
        path=path,
    )
