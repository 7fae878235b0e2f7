"""What a training run leaves in MLflow: the run (its facts, metrics, plots and test rows, built as
one record and logged at once), the registered and fingerprinted model, the alias moved only
when the new model beats the champion on the same test months, and the words that say so."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import models
from features.errors import Problem, Refusal
from models.evaluate import compare_models, evaluate_scores
from models.experiment import LABEL, ExperimentResult
from models.promotion import promotion_decision
from models.pyfunc import ChurnModel
from models.ranking import tier_capture
from models.split import TimeSplit
from models.trainer import TrainedModel
from pipeline import tracking
from pipeline.config import Config
from pipeline.tracking import descriptions
from pipeline.train.data import TrainingData
from pipeline.train.figures import evaluation_figures
from pipeline.train.memory import memory_budget_gb
from pipeline.train.metadata import PROFILE_ROWS, model_metadata


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
    tiers: str = ""
    """The tiers a list would use with this model, and what they held of the test months."""
    on_server: bool = False
    """Whether the store is a tracking server (its UI is `ui`) rather than a local folder."""


@dataclass(frozen=True)
class Refit:
    """The evaluated model refit on every labelled month, and the months it saw."""

    model: TrainedModel
    split: TimeSplit

    def record(self, data: TrainingData) -> tracking.RunRecord:
        """Its lineage on the run: the months it was fitted, stopped and calibrated on."""
        months = self.split.train + self.split.valid
        return tracking.RunRecord(
            params={
                "refit.train_cutoffs": _months(self.split.train),
                "refit.valid_cutoffs": _months(self.split.valid),
                "refit.best_iteration": self.model.best_iteration,
                "refit.rows": int(data.frame["cutoff"].isin(months).sum()),
            },
            tags={"model.registered": "refit on every labelled month"},
        )


def _months(cutoffs) -> str:
    return ",".join(f"{c:%Y-%m-%d}" for c in cutoffs)


def settle_earlier_trainings(config: Config) -> list[Problem]:
    """What killed trainings left in the store, settled before this one trains: their runs
    still RUNNING with the process gone ended FAILED, then their versions without fingerprint
    or signature tagged incomplete (never champion); one warning line each."""
    tracking.open_store(config.tracking)
    dead = tracking.end_dead_runs(config.tracking.experiment)
    return dead + tracking.mark_incomplete_versions(config.model.name)


def track_training(
    config: Config,
    data: TrainingData,
    result: ExperimentResult,
    *,
    started: float | None = None,
    refit: Refit | None = None,
) -> TrainingOutcome:
    """Log the run (facts, metrics, plots, data: one record), register the model (the refit
    when there is one, carrying its evaluated twin), promote it if its evaluated twin beats
    the champion's; the run starts at `started` (when the step began) and says all this in
    its description."""
    store = tracking.open_store(config.tracking)
    name = f"train-{data.split.test[-1]:%Y-%m-%d}"
    experiment = config.tracking.experiment
    train_rows = data.rows("train", at_most=PROFILE_ROWS)
    metadata = model_metadata(
        data.spec, config, data.layout, train_rows=train_rows, whole_from=data.whole_from()
    )
    metadata["base_rate"] = base_rate(result.test, data.split.test)
    latest = refit.split.valid[-1] if refit else data.split.valid[-1]
    metadata["learned_through"] = f"{latest:%Y-%m-%d}"  # the latest cutoff whose labels it saw
    record = training_record(config, data, result, metadata=metadata)
    if refit is not None:
        record = record | refit.record(data)
    with tracking.run(
        store, experiment, name, started=started, description=descriptions.TRAINING_EXPERIMENT
    ) as run_id:
        tracking.log_record(record)
        version, champion, promoted, reason = _register(
            config, data, result, metadata=metadata, refit=refit
        )
        url = tracking.runs_table_url(store, experiment)
    model = config.model
    _, tiers = tier_metrics(config, result.test, metadata["base_rate"]["rate"])
    return TrainingOutcome(
        run_id, model.name, version, model.alias, promoted, reason, champion, url, store.shown,
        tiers, on_server=tracking.server_address(store) is not None,
    )  # fmt: skip


def base_rate(test: pd.DataFrame, months) -> dict:
    """The churn rate per horizon of the latest labelled months the model was tested on:
    what the default tiers are multiples of."""
    return {
        "rate": round(float(test[LABEL].mean()), 6) if len(test) else None,
        "months": [f"{m:%Y-%m-%d}" for m in months],
        "rows": len(test),
    }


def tier_metrics(
    config: Config, test: pd.DataFrame, rate: float | None
) -> tuple[dict[str, float], str]:
    """The tiers a list would use with this model and configuration, what they hold of the
    test months' customers and churners, and that in one line."""
    high, medium, rule = config.scoring.tiers(rate)
    capture = tier_capture(test[LABEL].to_numpy(), test["model"].to_numpy(), high, medium)
    line = (
        f"tiers: {rule}; on the test months the high and medium tiers held "
        f"{capture['high_medium_share']:.1%} of customers and "
        f"{capture['high_medium_capture']:.0%} of churners (high alone "
        f"{capture['high_capture']:.0%})"
    )
    return {f"test.tiers.{k}": v for k, v in capture.items()}, line


def training_record(
    config: Config, data: TrainingData, result: ExperimentResult, *, metadata: dict
) -> tracking.RunRecord:
    """What the training run records: its facts, its evaluation, the model's metadata."""
    tiers, _ = tier_metrics(config, result.test, (metadata.get("base_rate") or {}).get("rate"))
    return (
        _facts(config, data, result)
        | _evaluation(config, data, result)
        | _backtest(result.backtest)
        | tracking.RunRecord(metrics=tiers, dicts={"model_metadata.json": metadata})
    )


def _facts(config: Config, data: TrainingData, result: ExperimentResult) -> tracking.RunRecord:
    """The configuration, the data's span, the cutoffs, rows and model settings."""
    split = data.split
    params = {
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
    tags = {
        "mlflow.source.git.commit": tracking.git_commit(Path.cwd()) or "unknown",
        "data.dir": config.exports.directory,
    }
    texts = {"config/churn.toml": Path(config.path).read_text()}
    return tracking.RunRecord(params=params, tags=tags, texts=texts)


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


def _evaluation(config: Config, data: TrainingData, result: ExperimentResult) -> tracking.RunRecord:
    """The out-of-time metrics of every scorer and the gaps between them, the verdict against
    logistic regression, the tables and plots, and which rows were tested."""
    metrics = {}
    for model_name, scores in result.scores.items():
        prefix = "" if model_name == "model" else f"{model_name}."
        metrics |= {f"test.{prefix}{k}": v for k, v in scores.items()}
    for other, gap in result.gaps.items():
        metrics |= {f"test.gap_vs_{other}.{k}": v for k, v in gap.items()}
    versus = result.versus_logistic()
    metrics |= {f"lightgbm_vs_logistic.{k}": v for k, v in versus.metrics().items()}
    tables = {"evaluation/compare.json": compare_models(result.scores).reset_index()}
    if not result.backtest.empty:
        backtest = result.backtest.assign(cutoff=result.backtest["cutoff"].astype(str))
        tables["evaluation/backtest.json"] = backtest
    if result.model.search:
        tables["evaluation/search.json"] = pd.DataFrame(result.model.search)
    # Which rows were tested: their keys and labels (the features follow from the exports and
    # the feature spec logged with the model; hashing every column of a million rows would
    # cost MLflow a minute).
    test_rows = data.rows("test")[["customer_id", "cutoff", LABEL]]
    return tracking.RunRecord(
        metrics=metrics,
        tags={"lightgbm_vs_logistic": versus.outcome, "lightgbm_vs_logistic.line": versus.line()},
        tables=tables,
        figures=evaluation_figures(result, value_label=config.features.value_label),
        datasets=((test_rows, config.exports.directory, "test", "test"),),
    )


def _backtest(backtest: pd.DataFrame) -> tracking.RunRecord:
    """One step per fold (0, 1, ...), each stamped with its test cutoff, whose date is also
    a parameter per fold: the UI's step axis counts folds, its time axis reads as cutoffs."""
    keys = ("roc_auc", "lift_at_10", "ece", "logistic_roc_auc")
    steps = tuple(
        tracking.Step({f"backtest.{k}": row[k] for k in keys}, fold, row["cutoff"])
        for fold, row in enumerate(backtest.to_dict("records"))
    )
    params = {
        f"backtest.fold_{fold}.cutoff": f"{c:%Y-%m-%d}"
        for fold, c in enumerate(backtest.get("cutoff", []))
    }
    return tracking.RunRecord(params=params, steps=steps)


def _register(
    config: Config,
    data: TrainingData,
    result: ExperimentResult,
    *,
    metadata: dict,
    refit: Refit | None = None,
) -> tuple[str, str | None, bool, str]:
    """Log and register the model (the refit with its evaluated twin, or the evaluated
    model), fingerprint it, move the alias if the evaluated model beats the champion's
    evaluated twin on the same test rows. Returns the version, the former champion,
    promoted and why."""
    name, alias, metric = config.model.name, config.model.alias, config.model.promote_metric
    champion = tracking.champion_version(name, alias)
    champion_score = (
        _champion_score(name, alias, data.rows("test"), metric=metric) if champion else None
    )
    version = tracking.log_churn_model(
        ChurnModel(refit.model, metadata, evaluated=result.model)
        if refit
        else ChurnModel(result.model, metadata),
        example=data.layout.plain(data.rows("test").head(5)),
        registered_name=name,
        pip_requirements=tracking.model_requirements(),
        code_paths=[str(Path(models.__file__).parent)],
    )
    promoted, reason = promotion_decision(result.scores["model"][metric], champion_score, metric)
    if promoted:
        tracking.set_alias(name, alias, version)
        moved = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
        tracking.tag_version(name, version, {"champion.moved": moved, "champion.why": reason})
    _describe(config, data, result, outcome=(version, champion, promoted, reason), refit=refit)
    return version, champion, promoted, reason


def _describe(
    config: Config,
    data: TrainingData,
    result: ExperimentResult,
    *,
    outcome: tuple,
    refit: Refit | None = None,
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
        registered=f"Registered as {name} version {version}: {verdict}."
        + (descriptions.refit_words(refit.split) if refit else ""),
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
    probability = champion.twin_proba(test)
    return evaluate_scores(test[LABEL].to_numpy(), probability)[metric]
