"""What a training run leaves in MLflow: the run (its facts, metrics, plots and test rows, built as
one record and logged at once), the registered and fingerprinted model, the alias moved only
when the new model beats the champion on the same test months, and the words that say so."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import models
from features.errors import Refusal
from models.evaluate import compare_models, evaluate_scores
from models.experiment import LABEL, ExperimentResult
from models.promotion import promotion_decision
from models.pyfunc import ChurnModel
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
    for path, figure in evaluation_figures(result, value_label=config.features.value_label).items():
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
