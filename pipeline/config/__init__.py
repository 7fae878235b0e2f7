"""Load `churn.toml` once into frozen settings that the steps receive as plain arguments."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from features.constraints import (
    Flag,
    Number,
    OneOf,
    Optional,
    Text,
    Whole,
    check_settings,
    did_you_mean,
)
from features.engines import EngineSettings
from features.errors import ConfigError, Problem
from features.exports.contract import ExportSource, ProfileColumns
from features.spec import FeatureSettings, FeatureSpec
from models.arms import ContactSettings
from models.labels import ChurnDefinition
from models.plays import PlaySettings
from models.promotion import HIGHER_IS_BETTER
from models.ranking import TIER_MULTIPLES, ListSettings, base_rate_tiers
from pipeline.config.exports import read_exports


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
    memory_gb: float | None = None
    """Budget for the training matrix; None: a share of the machine's memory, read when
    training starts (pipeline/train/memory.py, memory_budget_gb)."""
    negative_rate: float | None = None
    """Share of retained customer-months kept for training; None: chosen from the budget."""
    refit: bool = True
    """Register the evaluated model refit on every labelled month (False: the evaluated
    model itself, as it was tested)."""

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
        "memory_gb": Optional(Number(0, 100_000, open_low=True)),
        "negative_rate": Optional(Number(0, 1, open_low=True)),
        "refit": Flag(),
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
class ScoringSettings(ListSettings):
    """[scoring]: the list's own settings (models/ranking.py, `ListSettings`, declared there
    once), where lists go, and how fresh the data must be and how much drift is told. The
    tier thresholds are optional here: left out, the tiers follow the base rate the model
    was trained on (`high_multiple` and `medium_multiple` times its odds; models/ranking.py,
    `base_rate_tiers`); given (both), they are fixed probabilities."""

    high_threshold: float | None = None  # type: ignore[assignment]
    medium_threshold: float | None = None  # type: ignore[assignment]
    high_multiple: float = TIER_MULTIPLES[0]
    medium_multiple: float = TIER_MULTIPLES[1]
    capacity: int = 200
    output_dir: str = "outputs/at_risk"
    max_staleness_days: int = 3
    psi_threshold: float = 0.2

    CHECKS: ClassVar[dict] = {
        **ListSettings.CHECKS,
        "high_threshold": Optional(Number(0, 1, open_low=True)),
        "medium_threshold": Optional(Number(0, 1, open_low=True)),
        "high_multiple": Number(1, 100, open_low=True),
        "medium_multiple": Number(0, 100, open_low=True),
        "output_dir": Text(non_empty=True),
        "max_staleness_days": Whole(0, 3650),
        "psi_threshold": Number(0, open_low=True),
    }

    def tiers(self, base_rate: float | None) -> tuple[float, float, str]:
        """The high and medium thresholds a list uses with a model trained at `base_rate`,
        and the rule they came from, in words."""
        multiples = (self.high_multiple, self.medium_multiple)
        return base_rate_tiers(base_rate, self.high_threshold, self.medium_threshold, multiples)

    def cross_check(self) -> list[str]:
        """Both thresholds or neither; the medium tier below the high one."""
        given = (self.high_threshold is None, self.medium_threshold is None)
        if given[0] != given[1]:
            return [
                "high_threshold and medium_threshold: set both (fixed tiers) or neither "
                "(tiers from the base rate)"
            ]
        if self.high_threshold is None:
            if self.medium_multiple >= self.high_multiple:
                return [
                    f"medium_multiple {self.medium_multiple:g} must be below high_multiple "
                    f"{self.high_multiple:g}"
                ]
            return []
        return super().cross_check()


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
    key_file: str = ".churn/model.key"
    """The key registered models are signed with, when CHURN_MODEL_KEY is not set (never in
    the store: pipeline/tracking/signing.py)."""

    CHECKS: ClassVar[dict] = {
        "store_dir": Text(non_empty=True),
        "key_file": Text(non_empty=True),
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
    cache_dir: Path | str = Path(".churn/cache")
    """The typed cache: a local folder, or with the Spark engine a URI kept as written."""
    churn: ChurnDefinition = ChurnDefinition()
    features: FeatureSettings = FeatureSettings()
    training: TrainingSettings = TrainingSettings()
    model: ModelSettings = ModelSettings()
    scoring: ScoringSettings = ScoringSettings()
    tracking: TrackingSettings = TrackingSettings()
    plays: PlaySettings = PlaySettings()
    path: Path = field(default=Path("churn.toml"))
    report: ReportSettings = ReportSettings()
    engine: EngineSettings = EngineSettings()
    contact: ContactSettings = ContactSettings()


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
    if hasattr(settings, "cross_check"):  # rules on keys given right (defaults stand in)
        wrong = {key for key, _ in mistakes}
        texts = [t for t in settings.cross_check() if not any(k in t for k in wrong)]
        problems += [Problem(str(path), f"[{where}] {t}") for t in texts]
    return settings


def known_topics(profile: ProfileColumns, features: FeatureSettings) -> list[str]:
    """Every topic a reason can have with this profile (what [plays] maps to plays)."""
    from features.families.engagement import EVENT_TYPE_PLACEHOLDER
    from features.registry import reason_topics

    spec = FeatureSpec(features, (EVENT_TYPE_PLACEHOLDER,), profile)
    return sorted(set(reason_topics(spec).values()))


def _topic_mistakes(by_topic: dict[str, Any], topics: list[str]) -> list[str]:
    """What is wrong in [plays.by_topic]: topics reasons cannot have, plays that are not text."""
    mistakes = []
    for topic, play in by_topic.items():
        if topic not in topics:
            mistakes.append(
                f"by_topic {topic!r} is not a reason topic{did_you_mean(topic, topics)}; "
                f"topics: {', '.join(topics)}"
            )
        elif not isinstance(play, str):
            mistakes.append(f"by_topic {topic!r} must name a play (text)")
    return mistakes


def _plays(
    path: Path,
    raw: Any,
    profile: ProfileColumns,
    features: FeatureSettings,
    problems: list[Problem],
) -> PlaySettings:
    """The topic -> play table: the defaults, with [plays.by_topic] entries added or replaced
    (an empty string switches a topic's play off); mistakes are added to `problems`."""
    defaults = PlaySettings()
    if not isinstance(raw, dict):
        problems.append(Problem(str(path), "[plays] must be a table of settings"))
        return defaults
    known = {"by_topic", "default", "low_tier"}
    mistakes = [f"{key} unknown key{did_you_mean(key, known)}; known: {', '.join(sorted(known))}"
                for key in sorted(set(raw) - known)]  # fmt: skip
    for key in ("default", "low_tier"):
        if not isinstance(raw.get(key, ""), str) or raw.get(key) == "":
            mistakes.append(f"{key} must be a non-empty play name")
    by_topic = raw.get("by_topic", {})
    if not isinstance(by_topic, dict):
        mistakes.append('by_topic must be a table of topic = "play"')
        by_topic = {}
    mistakes += _topic_mistakes(by_topic, known_topics(profile, features))
    if mistakes:
        problems += [
            Problem(str(path), f"[plays] {m}".replace("[plays] by_topic ", "[plays.by_topic] "))
            for m in mistakes
        ]
        return defaults
    table = {k: v for k, v in {**defaults.by_topic, **by_topic}.items() if v}
    return PlaySettings(
        table, raw.get("default", defaults.default), raw.get("low_tier", defaults.low_tier)
    )


SECTIONS = ("data", "tables", "churn", "features", "training", "model", "scoring", "tracking",
            "plays", "report", "engine", "contact")  # fmt: skip


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML document, refused when missing, malformed or holding unknown sections."""
    if not path.exists():
        raise _fail(path, "configuration file not found")
    if path.is_dir():
        raise _fail(path, "is a folder, not a configuration file: name the .toml file in it")
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # a BOM is no text
    except UnicodeDecodeError as exc:
        raise _fail(
            path,
            f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at position {exc.start}): "
            "save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            [
                Problem(
                    str(path),
                    f"unknown section [{name}]{did_you_mean(name, SECTIONS)}; "
                    f"known: {', '.join(sorted(SECTIONS))}",
                )
                for name in unknown
            ]
        )
    return raw


def _under(base: Path, folder: str) -> str:
    """A configured folder read from the configuration's folder when relative."""
    return folder if Path(folder).is_absolute() else str(base / folder)


def load_config(path: Path, data_dir: str | None = None) -> Config:
    """Read and check the TOML configuration, every mistake reported at once (ConfigError,
    one line each); `data_dir` overrides [data] dir."""
    raw = _read_toml(path)
    base = path.resolve().parent
    problems: list[Problem] = []

    def section(cls: type, name: str) -> Any:
        return _section(path, cls, raw.get(name, {}), name, problems)

    engine = section(EngineSettings, "engine")  # first: it says whether URIs may be read
    exports, data, cache_path = read_exports(path, raw, data_dir, problems, engine.backend)
    tracking, scoring = section(TrackingSettings, "tracking"), section(ScoringSettings, "scoring")
    report, features = section(ReportSettings, "report"), section(FeatureSettings, "features")
    training, churn = section(TrainingSettings, "training"), section(ChurnDefinition, "churn")
    model, contact = section(ModelSettings, "model"), section(ContactSettings, "contact")
    plays = _plays(path, raw.get("plays", {}), exports.profile, features, problems)
    if problems:
        raise ConfigError(problems)
    if training.truth_file:
        training = replace(training, truth_file=_under(base, training.truth_file))
    return Config(
        exports=exports,
        as_of=data.as_of,
        cache_dir=cache_path,
        churn=churn,
        features=features,
        training=training,
        model=model,
        scoring=replace(scoring, output_dir=_under(base, scoring.output_dir)),
        tracking=replace(
            tracking,
            store_dir=_under(base, tracking.store_dir),
            key_file=_under(base, tracking.key_file),
        ),
        plays=plays,
        path=path,
        report=replace(report, output_dir=_under(base, report.output_dir)),
        engine=engine,
        contact=contact,
    )
