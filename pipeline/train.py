"""`churn train`: exports -> point-in-time features -> labels -> LightGBM -> MLflow registry."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import models
from features.build import resolve_spec
from features.coverage import first_whole_cutoffs
from features.describe import QUANTILE_STEPS
from features.engines import check_runner, connect, open_tables
from features.errors import Problem, Refusal
from features.exports.ingest import ingest_exports
from features.exports.locations import is_uri
from features.registry import families, feature_catalogue, reason_topics
from features.spec import FeatureSpec
from models.drift import active_shares, percentiles, reference_profile, typical_values
from models.evaluate import compare_models, evaluate_scores
from models.experiment import LABEL, ExperimentResult, run_experiment
from models.matrix import FeatureLayout
from models.promotion import promotion_decision
from models.pyfunc import ChurnModel
from models.segments import segment_risks
from models.split import (
    WARMUP_DAYS,
    TimeSplit,
    backtest_splits,
    monthly_cutoffs,
    split_cutoffs,
)
from models.subsample import (
    WEIGHT,
    NegativeDraw,
    Subsample,
    matrix_bytes,
    negative_rate,
)
from models.trainer import OnProgress
from models.tuning import selection_splits
from pipeline import report, tracking
from pipeline.config import Config, TrainingSettings
from pipeline.datasets import (
    LabelledStream,
    attach_truth,
    data_span,
    exported_history,
    labelled_queries,
    today,
)
from pipeline.progress import Progress
from pipeline.timing import Timer
from pipeline.tracking import descriptions

log = logging.getLogger(__name__)


def model_metadata(
    spec: FeatureSpec,
    config: Config,
    layout: FeatureLayout,
    *,
    train_rows: pd.DataFrame,
    whole_from: dict[str, pd.Timestamp] | None = None,
) -> dict:
    """What travels with the model: feature set, descriptions, churn definition, and the
    training distribution of each feature (for drift monitoring and the typical customer
    at scoring time), read per feature from the months whose whole window the exports hold
    (`whole_from`: the first such cutoff per feature; features/coverage.py)."""
    catalogue = feature_catalogue(spec)
    numeric = [f for f in layout.features if f not in layout.categories]
    profile, typical, spread, active, partial = {}, {}, {}, {}, []
    for rows, names, whole in profile_groups(train_rows, list(layout.features), whole_from or {}):
        partial += [] if whole else names
        kept = [n for n in names if n in numeric]
        profile |= reference_profile(rows, kept, [n for n in names if n in layout.categories])
        typical |= typical_values(rows, kept)
        spread |= percentiles(rows, kept, QUANTILE_STEPS)
        active |= active_shares(rows, kept)
    return {
        "features": list(layout.features),
        "categories": {k: list(v) for k, v in layout.categories.items()},
        "descriptions": {f.name: f.describe for f in catalogue},
        "families": {f.name: f.family for f in catalogue},
        "topics": reason_topics(spec),
        "feature_spec": spec.to_dict(),
        "churn_definition": config.churn.to_dict(),
        "reference_profile": {f: profile[f] for f in layout.features if f in profile},
        "typical": typical,
        "percentiles": spread,
        "segment_risk": segment_risks(
            train_rows, list(spec.profile.categorical), list(spec.profile.numeric), LABEL, WEIGHT
        ),
        "active_share": active,
        "partial_history": sorted(partial),
    }


MIN_PROFILE_ROWS = 1_000
"""Fewer training rows than this with a feature's whole window held: its distribution is
read from every training row instead (a short export)."""


def profile_groups(
    rows: pd.DataFrame, names: list[str], whole_from: dict[str, pd.Timestamp]
) -> list[tuple[pd.DataFrame, list[str], bool]]:
    """The training rows each feature's distribution is read from, grouped: the cutoffs from
    the first whose whole window the exports hold (all rows for a feature without one, or
    when those cutoffs hold fewer than MIN_PROFILE_ROWS, and then the group says the rows
    did not hold the whole window: False)."""
    groups: dict[pd.Timestamp | None, list[str]] = {}
    for name in names:
        groups.setdefault(whole_from.get(name), []).append(name)
    out = []
    for first, members in groups.items():
        part = rows if first is None else rows[rows["cutoff"] >= first]
        whole = len(part) >= MIN_PROFILE_ROWS
        out.append((part if whole else rows, members, whole))
    return out


PROFILE_ROWS = 200_000
"""The training distribution saved with the model (drift bins, typical values, active shares)
is read from at most this many training rows, a seeded random sample: its deciles and
medians are settled long before, and at a million customers the months hold millions."""
SEARCH_FOLDS = 3  # a parameter search judges each set on at least this many backtest folds
MIN_TRAIN_CHURNERS = 20  # fewer: LightGBM's leaves (150 rows each) cannot tell churners apart
MIN_EVAL_CHURNERS = 5  # fewer: calibration and the test's ROC AUC are noise


def time_split(config: Config, data_start: pd.Timestamp, data_end: pd.Timestamp) -> TimeSplit:
    """The monthly cutoffs of the history split by time; refuses, with the numbers, a history
    too short for the configured test and validation cutoffs."""
    label_days = config.churn.lead_days + config.churn.horizon_days
    training = config.training
    cutoffs = monthly_cutoffs(
        data_start, data_end, label_days, training.cutoffs, training.spacing_months
    )
    try:
        return split_cutoffs(cutoffs, training.test_cutoffs, training.valid_cutoffs, label_days)
    except ValueError as error:
        raise Refusal(
            [
                Problem(
                    config.exports.directory,
                    f"the history ({data_start:%Y-%m-%d} to {data_end:%Y-%m-%d}) gives "
                    f"{len(cutoffs)} gradable monthly cutoffs after a {WARMUP_DAYS}-day warm-up "
                    f"with a {label_days}-day label window: {error}; export a longer history, "
                    "or lower [training] test_cutoffs / valid_cutoffs",
                )
            ]
        ) from None


def check_trainable(config: Config, counts: dict[str, tuple[int, int, int]]) -> None:
    """Refuse before training, with the numbers, data a model cannot learn from or be judged
    on: no churner at all, or too few in the training, validation or test cutoffs. `counts`:
    per part, its rows, churners and customers."""
    needed = {"train": MIN_TRAIN_CHURNERS, "valid": MIN_EVAL_CHURNERS, "test": MIN_EVAL_CHURNERS}
    short = [part for part, (_, churners, _) in counts.items() if churners < needed[part]]
    if not short:
        return
    found = "; ".join(
        f"{part}: {churners:,} churners (need {needed[part]}) among {rows:,} rows of "
        f"{customers:,} customers"
        for part, (rows, churners, customers) in counts.items()
    )
    definition = config.churn
    reason = (
        "no churner at all in the history"
        if sum(c for _, c, _ in counts.values()) == 0
        else "too few churners to train and judge a model"
    )
    raise Refusal(
        [
            Problem(
                config.exports.directory,
                f"{reason} under [churn] kind = {definition.kind!r}, horizon_days = "
                f"{definition.horizon_days} ({found}); export more customers or a longer "
                "history, or check the churn definition and the cancellation dates",
            )
        ]
    )


@dataclass(frozen=True)
class TrainingData:
    """The labelled feature rows of the history and how they were cut."""

    spec: FeatureSpec
    frame: pd.DataFrame
    split: TimeSplit
    layout: FeatureLayout
    data_start: pd.Timestamp
    data_end: pd.Timestamp
    sample: Subsample | None = None
    """How the retained training rows were thinned as they streamed in (None: all held)."""
    history: dict[str, pd.Timestamp] | None = None
    """Each event table's first exported day (features/coverage.py)."""

    def whole_from(self) -> dict[str, pd.Timestamp]:
        """Per feature, the first cutoff whose whole window the exports hold."""
        tables = {f.name: f.table for f in families(self.spec) if f.table}
        catalogue = feature_catalogue(self.spec)
        return first_whole_cutoffs(catalogue, self.history or {}, tables)

    def rows(self, part: str, at_most: int | None = None) -> pd.DataFrame:
        """The rows of the train, valid or test cutoffs; a seeded random `at_most` of them
        (in their order) when there are more."""
        at = np.flatnonzero(self.frame["cutoff"].isin(getattr(self.split, part)).to_numpy())
        if at_most is not None and len(at) > at_most:
            at = np.sort(np.random.default_rng(0).choice(at, at_most, replace=False))
        return self.frame.iloc[at]

    def count(self, part: str) -> int:
        """How many rows the train, valid or test cutoffs have, before any was thinned."""
        if part == "train" and self.sample is not None:
            return self.sample.rows
        return len(self.rows(part))


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run left behind: the run, the registered version, and whether it
    became the production model and why."""

    run_id: str
    name: str
    version: str
    alias: str
    promoted: bool
    reason: str
    champion: str | None
    ui: str
    store: str


def run_training(
    config: Config, as_of: dt.date | None = None, *, progress: Progress | None = None
) -> int:
    """Train, evaluate and register a model on the configured exports; prints a summary."""
    timer = Timer(progress)
    with timer("validate", "checking and typing the exports"):
        tables, warnings = validated_tables(config, as_of or config.as_of or today())
    report.print_warnings(warnings)
    with timer("features", "point-in-time features and labels for every monthly cutoff"):
        data = training_data(config, tables)
    with timer("training", _training_words(config)):
        result = fit_and_evaluate(config, data, progress=timer.progress.update)
    with timer("logging", "MLflow run, plots and the registered model"):
        outcome = track_training(config, data, result, started=timer.started)
    report.print_training_summary(
        comparison=compare_models(result.scores),
        outcome=outcome,
        seconds=timer.seconds,
        rows=sum(data.count(part) for part in ("train", "valid", "test")),
        split=data.split,
        gaps=result.gaps,
        backtest=result.backtest,
        versus=result.versus_logistic(),
        sample=result.sample,
        brief=timer.progress.quiet,
    )
    return 0


def _training_words(config: Config) -> str:
    folds = config.training.backtest_folds
    search = config.training.search_seconds
    return (
        "LightGBM, calibration and the baselines"
        + (f", {folds} backtest folds" if folds else "")
        + (f", a {search:g} s parameter search" if search else "")
    )


def validated_tables(config: Config, export_date: dt.date) -> tuple[dict, list[Problem]]:
    """The exports checked and typed (cached), opened as tables on the configured engine, and
    the tolerated problems to show."""
    runner = check_runner(config.engine)
    paths, validation = ingest_exports(config.exports, config.cache_dir, export_date, runner)
    report.log_tables(validation)
    return open_tables(paths, connect(config.engine)), validation.warnings


def training_data(config: Config, tables: dict) -> TrainingData:
    """Features and labels for every gradable cutoff of the history, checked trainable.

    The rows stream batch by batch to Parquet in a temporary folder of the cache, counted as
    they pass; they are read back as float32 (the model's precision) with the retained
    training rows thinned to fit the memory budget before they are held (none on small
    data)."""
    data_start, data_end = data_span(tables)
    split = time_split(config, data_start, data_end)
    spec = resolve_spec(tables, config.features, config.exports.profile)
    catalogue = feature_catalogue(spec)
    history = exported_history(tables, config.exports)
    categorical = [f.name for f in catalogue if f.kind == "categorical"]
    queries = labelled_queries(
        tables,
        list(split.all),
        spec,
        definition=config.churn,
        data_end=data_end,
        history=history,
    )
    parts = {part: getattr(split, part) for part in ("train", "valid", "test")}
    # The driver reads the rows back with its own file API: with the typed cache at a URI
    # (Spark), they stream to the driver's temporary folder instead.
    local = None if is_uri(str(config.cache_dir)) else Path(config.cache_dir)
    if local is not None:
        local.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="labelled-", dir=local) as folder:
        stream = LabelledStream(queries, Path(folder), parts, categorical)
        counts = stream.counts()
        check_trainable(config, counts)
        layout = FeatureLayout(tuple(f.name for f in catalogue), stream.levels())
        rows, churners, _ = counts["train"]
        whole = _evaluated_cutoffs(config, split)
        rate = retained_rate(
            config.training, *_thinnable(stream, split, whole), len(layout.features)
        )
        numeric = [f for f in layout.features if f not in layout.categories]
        frame = stream.held(
            NegativeDraw(rate, seed=config.training.seed), whole=whole, float32=numeric
        )
    frame = attach_truth(frame, config.training.truth_file)
    sample = None
    if rate < 1.0:
        kept = int((frame.loc[frame["cutoff"].isin(split.train), WEIGHT] > 0).sum())
        sample = Subsample(rate, rows, kept, churners)
    data = TrainingData(spec, frame, split, layout, data_start, data_end, sample, history)
    _log_parts(data)
    return data


def _thinnable(
    stream: LabelledStream, split: TimeSplit, whole: list[pd.Timestamp]
) -> tuple[int, int, int]:
    """Rows and churners of the training months that may be thinned, and the rows held
    whatever the rate (every month some model validates or tests on)."""
    thin = [stream.at(c) for c in split.train if c not in whole]
    held = sum(stream.at(c)[0] for c in whole)
    return sum(n for n, _ in thin), sum(k for _, k in thin), held


def _log_parts(data: TrainingData) -> None:
    for part in ("train", "valid", "test"):
        rows = data.rows(part)
        log.info("%s: %s rows, %s churners", part, f"{len(rows):,}", f"{int(rows[LABEL].sum()):,}")
    dates = descriptions.dates(data.split.all)
    log.info("%d features over cutoffs %s", len(data.layout.features), dates)


MEMORY_SHARE = 0.25
"""Default memory for the training stage as a share of the machine's memory."""
HELD_COPIES = 3
"""The training stage's peak over the float32 rows it holds: the held frame, a part's slice
(the training months) and LightGBM's matrix of it beside them. The rows held are kept to
the budget divided by this (measured on the 100k and 1M synthetic sets: bench/results)."""


def machine_memory_gb() -> float:
    """The machine's physical memory in GB, read when asked (not at import)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3


def memory_budget_gb(settings: TrainingSettings) -> float:
    """`[training] memory_gb`, or MEMORY_SHARE of this machine's memory when not set."""
    return (
        settings.memory_gb
        if settings.memory_gb is not None
        else (MEMORY_SHARE * machine_memory_gb())
    )


def training_negative_rate(settings: TrainingSettings, data: TrainingData) -> float:
    """The share of retained training rows to keep: the rate they were thinned at as they
    streamed in, else as `retained_rate` decides for the training rows held."""
    if data.sample is not None:
        return data.sample.rate
    train = data.rows("train")
    churners = int(train[LABEL].sum())
    return retained_rate(settings, len(train), churners, 0, len(data.layout.features))


def retained_rate(
    settings: TrainingSettings, rows: int, churners: int, held: int, features: int
) -> float:
    """The share of retained training rows to keep: `[training] negative_rate` when set, else
    1.0 when the rows held (`held` rows kept whole whatever the rate, plus the `rows` that
    may be thinned, `churners` of them) fit the memory budget as float32 with room for their
    copies (HELD_COPIES), else the share that fits."""
    if settings.negative_rate is not None:
        return settings.negative_rate
    budget = memory_budget_gb(settings) / HELD_COPIES
    rate = negative_rate(rows, churners, features, budget, held=held)
    log.info(
        "rows held %.2f GB of float32 for a %.2f GB share of the memory budget: retained "
        "rows kept at rate %.3g",
        matrix_bytes(rows + held, features) / 1024**3,
        budget,
        rate,
    )
    return rate


def fit_and_evaluate(
    config: Config, data: TrainingData, *, progress: OnProgress | None = None
) -> ExperimentResult:
    """LightGBM and the baselines on the split, evaluated out of time, with the backtest;
    the retained training rows subsampled when the matrix would exceed the memory budget;
    `progress` hears of boosting rounds, search time and folds."""
    label_days = config.churn.lead_days + config.churn.horizon_days
    folds = config.training.backtest_folds
    return run_experiment(
        data.frame,
        data.split,
        data.layout,
        seed=config.training.seed,
        search_seconds=config.training.search_seconds,
        backtest=backtest_splits(list(data.split.all), folds, label_days),
        selection=selection_splits(data.split, label_days, max(folds, SEARCH_FOLDS)),
        calibration=config.training.calibration,
        progress=progress,
        negative_rate=training_negative_rate(config.training, data),
        sample=data.sample,
    )


def _evaluated_cutoffs(config: Config, split: TimeSplit) -> list[pd.Timestamp]:
    """The cutoffs whose rows some model is validated or tested on (the split's, the backtest
    folds', the parameter search's): they are held whole, never thinned."""
    label_days = config.churn.lead_days + config.churn.horizon_days
    folds = config.training.backtest_folds
    splits = [split, *backtest_splits(list(split.all), folds, label_days)]
    if config.training.search_seconds > 0:
        splits += selection_splits(split, label_days, max(folds, SEARCH_FOLDS))
    return sorted({c for s in splits for c in (*s.valid, *s.test)})


def track_training(
    config: Config, data: TrainingData, result: ExperimentResult, *, started: float | None = None
) -> TrainingOutcome:
    """Log the run (facts, metrics, plots, data), register the model, promote it if better;
    the run starts at `started` (when the step began) and says all this in its description."""
    store = tracking.open_store(config.tracking)
    name = f"train-{data.split.test[-1]:%Y-%m-%d}"
    experiment = config.tracking.experiment
    with tracking.run(
        store, experiment, name, started=started, description=descriptions.TRAINING_EXPERIMENT
    ) as run_id:
        _log_run_facts(config, data, result)
        _log_evaluation(config, data, result)
        train_rows = data.rows("train", at_most=PROFILE_ROWS)
        metadata = model_metadata(
            data.spec, config, data.layout, train_rows=train_rows, whole_from=data.whole_from()
        )
        tracking.log_dict(metadata, "model_metadata.json")
        version, champion, promoted, reason = _register(config, data, result, metadata=metadata)
        url = tracking.runs_table_url(store, experiment)
    model = config.model
    return TrainingOutcome(
        run_id, model.name, version, model.alias, promoted, reason, champion, url, store.shown
    )


def _log_run_facts(config: Config, data: TrainingData, result: ExperimentResult) -> None:
    split = data.split
    tracking.set_tags(
        {
            "mlflow.source.git.commit": tracking.git_commit(Path.cwd()) or "unknown",
            "data.dir": config.exports.directory,
        }
    )
    tracking.log_params(
        {
            **{f"churn.{k}": v for k, v in config.churn.to_dict().items()},
            **{f"training.{k}": v for k, v in vars(config.training).items()},
            **{f"lgbm.{k}": v for k, v in result.model.params.items()},
            "lgbm.best_iteration": result.model.best_iteration,
            "data.start": f"{data.data_start:%Y-%m-%d}",
            "data.end": f"{data.data_end:%Y-%m-%d}",
            **{
                f"cutoffs.{part}": ",".join(f"{c:%Y-%m-%d}" for c in getattr(split, part))
                for part in ("train", "valid", "test")
            },
            "features.count": len(data.layout.features),
            **{f"rows.{part}": data.count(part) for part in ("train", "valid", "test")},
            **_sample_params(config, result),
        }
    )
    tracking.log_text(Path(config.path).read_text(), "config/churn.toml")


def _sample_params(config: Config, result: ExperimentResult) -> dict:
    """The memory budget, the rate retained training rows were kept at, and the rows kept."""
    sample = result.sample
    if sample is None:
        return {}
    return {
        "training.memory_gb_used": round(memory_budget_gb(config.training), 2),
        "training.negative_rate_used": sample.rate,
        "rows.train_kept": sample.kept,
    }


def _log_evaluation(config: Config, data: TrainingData, result: ExperimentResult) -> None:
    for model_name, scores in result.scores.items():
        prefix = "" if model_name == "model" else f"{model_name}."
        tracking.log_metrics(scores, prefix=f"test.{prefix}")
    for other, gap in result.gaps.items():
        tracking.log_metrics(gap, prefix=f"test.gap_vs_{other}.")
    versus = result.versus_logistic()
    tracking.log_metrics(versus.metrics(), prefix="lightgbm_vs_logistic.")
    tracking.set_tags(
        {"lightgbm_vs_logistic": versus.outcome, "lightgbm_vs_logistic.line": versus.line()}
    )
    _log_backtest(result.backtest)
    if not result.backtest.empty:
        tracking.log_table(
            result.backtest.assign(cutoff=result.backtest["cutoff"].astype(str)),
            "evaluation/backtest.json",
        )
    tracking.log_table(compare_models(result.scores).reset_index(), "evaluation/compare.json")
    if result.model.search:
        tracking.log_table(pd.DataFrame(result.model.search), "evaluation/search.json")
    for path, figure in report.evaluation_figures(
        result, value_label=config.features.value_label
    ).items():
        tracking.log_figure(figure, path)
    # Which rows were tested: their keys and labels (the features follow from the exports and
    # the feature spec logged with the model; hashing every column of a million rows would
    # cost MLflow a minute).
    test_rows = data.rows("test")[["customer_id", "cutoff", LABEL]]
    tracking.log_dataset(test_rows, config.exports.directory, name="test", context="test")


def _log_backtest(backtest: pd.DataFrame) -> None:
    """One step per fold (0, 1, ...), each stamped with its test cutoff, whose date is also
    a parameter per fold: the UI's step axis counts folds, its time axis reads as cutoffs."""
    for fold, row in enumerate(backtest.to_dict("records")):
        tracking.log_metrics(
            {k: row[k] for k in ("roc_auc", "lift_at_10", "ece", "logistic_roc_auc")},
            "backtest.",
            step=fold,
            stamped=row["cutoff"],
        )
    tracking.log_params(
        {
            f"backtest.fold_{fold}.cutoff": f"{c:%Y-%m-%d}"
            for fold, c in enumerate(backtest.get("cutoff", []))
        }
    )


def _register(
    config: Config, data: TrainingData, result: ExperimentResult, *, metadata: dict
) -> tuple[str, str | None, bool, str]:
    """Log and register the model, fingerprint it, move the alias if it beats the champion
    on the same test rows. Returns the version, the former champion, promoted and why."""
    name, alias, metric = config.model.name, config.model.alias, config.model.promote_metric
    champion = tracking.champion_version(name, alias)
    champion_score = (
        _champion_score(name, alias, data.rows("test"), metric=metric) if champion else None
    )
    version = tracking.log_churn_model(
        ChurnModel(result.model, metadata),
        example=data.layout.plain(data.rows("test").head(5)),
        registered_name=name,
        pip_requirements=tracking.model_requirements(),
        code_paths=[str(Path(models.__file__).parent)],
    )
    tracking.record_model_digest(name, version)
    promoted, reason = promotion_decision(result.scores["model"][metric], champion_score, metric)
    if promoted:
        tracking.set_alias(name, alias, version)
    _describe(config, data, result, outcome=(version, champion, promoted, reason))
    return version, champion, promoted, reason


def _describe(
    config: Config, data: TrainingData, result: ExperimentResult, *, outcome: tuple
) -> None:
    """Tags short enough to read in a table cell; the whole story in the run's and the
    version's descriptions."""
    version, champion, promoted, reason = outcome
    name, alias = config.model.name, config.model.alias
    short = descriptions.promotion_tag(promoted, champion, config.model.promote_metric)
    tags = {"promoted": "yes" if promoted else "no", "promotion": short}
    tracking.tag_version(name, version, tags)
    tracking.set_tags(tags)
    verdict = descriptions.verdict(promoted=promoted, alias=alias, reason=reason)
    text = descriptions.training_description(
        data=config.exports.directory,
        churn=descriptions.churn_words(config.churn),
        split=data.split,
        rows={part: data.count(part) for part in ("train", "valid", "test")},
        scores=result.scores,
        registered=f"Registered as {name} version {version}: {verdict}.",
    )
    tracking.describe_run(text)
    tracking.describe_model(name, text, version=version)
    tracking.describe_model(
        name,
        f"Probability that a customer churns ({descriptions.churn_words(config.churn)}), "
        f"from LightGBM on point-in-time features. `@{alias}` is the production version that "
        "`churn score` uses.",
    )


def _champion_score(name: str, alias: str, test: pd.DataFrame, *, metric: str) -> float | None:
    """The current champion's metric on the new out-of-time test rows (None if incomparable)."""
    try:
        champion = tracking.load_model(name, alias)[0].unwrap_python_model()
    except Refusal:
        return None  # an unverifiable champion is not run: the new model is compared with none
    if any(f not in test.columns for f in champion.features):
        return None
    probability = champion.predict(None, test)["probability"].to_numpy()
    return evaluate_scores(test[LABEL].to_numpy(), probability)[metric]
