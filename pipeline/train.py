"""`churn train`: exports -> point-in-time features -> labels -> LightGBM -> MLflow registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

import models
from features.build import resolve_spec
from features.engine import open_tables
from features.errors import Problem, Refusal
from features.ingest import ingest_exports
from features.registry import feature_catalogue, reason_topics
from features.spec import FeatureSpec
from models.drift import active_shares, reference_profile, typical_values
from models.evaluate import compare_models
from models.experiment import LABEL, run_experiment
from models.matrix import FeatureLayout
from models.promotion import promotion_decision
from models.pyfunc import ChurnModel
from models.split import (
    WARMUP_DAYS,
    TimeSplit,
    backtest_splits,
    monthly_cutoffs,
    split_cutoffs,
)
from pipeline import report, tracking
from pipeline.config import Config
from pipeline.datasets import attach_truth, data_span, labelled_features, today
from pipeline.timing import Timer


def model_metadata(
    spec: FeatureSpec, config: Config, layout: FeatureLayout, train_rows: pd.DataFrame
) -> dict:
    """What travels with the model: feature set, descriptions, churn definition, and the
    training distribution of each feature (for drift monitoring at scoring time)."""
    catalogue = feature_catalogue(spec)
    numeric = [f for f in layout.features if f not in layout.categories]
    return {
        "features": list(layout.features),
        "categories": {k: list(v) for k, v in layout.categories.items()},
        "descriptions": {f.name: f.describe for f in catalogue},
        "families": {f.name: f.family for f in catalogue},
        "topics": reason_topics(spec),
        "feature_spec": spec.to_dict(),
        "churn_definition": config.churn.to_dict(),
        "reference_profile": reference_profile(train_rows, numeric, list(layout.categories)),
        "typical": typical_values(train_rows, numeric),
        "active_share": active_shares(train_rows, numeric),
    }


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


def check_trainable(config: Config, frame: pd.DataFrame, split: TimeSplit) -> None:
    """Refuse before training, with the numbers, data a model cannot learn from or be judged
    on: no churner at all, or too few in the training, validation or test cutoffs."""
    counts = {}
    for part in ("train", "valid", "test"):
        rows = frame[frame["cutoff"].isin(getattr(split, part))]
        counts[part] = (len(rows), int(rows[LABEL].sum()), rows["customer_id"].nunique())
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


def run_training(config: Config, as_of: dt.date | None = None) -> int:
    """Train, evaluate and register a model on the configured exports; prints a summary."""
    timer = Timer()
    with timer("validate"):
        paths, validation = ingest_exports(
            config.exports, config.cache_dir, as_of or config.as_of or today()
        )
    report.print_warnings(validation.warnings)
    tables = open_tables(paths)
    data_start, data_end = data_span(tables)
    label_days = config.churn.lead_days + config.churn.horizon_days
    split = time_split(config, data_start, data_end)
    with timer("features"):
        spec = resolve_spec(tables, config.features, config.exports.profile)
        frame = labelled_features(tables, list(split.all), spec, config.churn, data_end)
        frame = attach_truth(frame, config.training.truth_file)
    check_trainable(config, frame, split)
    catalogue = feature_catalogue(spec)
    categorical = [f.name for f in catalogue if f.kind == "categorical"]
    layout = FeatureLayout.from_frame(
        frame[frame["cutoff"].isin(split.train)], [f.name for f in catalogue], categorical
    )
    with timer("training"):
        result = run_experiment(
            frame,
            split,
            layout,
            config.training.seed,
            config.training.search_seconds,
            backtest_splits(list(split.all), config.training.backtest_folds, label_days),
            config.training.calibration,
        )
    with timer("logging"):
        outcome = _track(config, frame, split, spec, layout, result, data_start, data_end)
    report.print_training_summary(
        compare_models(result.scores),
        outcome,
        timer.seconds,
        frame,
        split,
        result.gaps,
        result.backtest,
    )
    return 0


def _track(config, frame, split, spec, layout, result, data_start, data_end) -> dict:
    store = tracking.open_store(config.tracking)
    metric = config.model.promote_metric
    name, alias = config.model.name, config.model.alias
    rows = {
        s: int(frame["cutoff"].isin(getattr(split, s)).sum()) for s in ("train", "valid", "test")
    }
    with tracking.run(
        store, config.tracking.experiment, f"train-{split.test[-1]:%Y-%m-%d}"
    ) as run_id:
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
                "data.start": f"{data_start:%Y-%m-%d}",
                "data.end": f"{data_end:%Y-%m-%d}",
                "cutoffs.train": ",".join(f"{c:%Y-%m-%d}" for c in split.train),
                "cutoffs.valid": ",".join(f"{c:%Y-%m-%d}" for c in split.valid),
                "cutoffs.test": ",".join(f"{c:%Y-%m-%d}" for c in split.test),
                "features.count": len(layout.features),
                **{f"rows.{k}": v for k, v in rows.items()},
            }
        )
        for model_name, scores in result.scores.items():
            prefix = "" if model_name == "model" else f"{model_name}."
            tracking.log_metrics(scores, prefix=f"test.{prefix}")
        for other, gap in result.gaps.items():
            tracking.log_metrics(gap, prefix=f"test.gap_vs_{other}.")
        for _, row in result.backtest.iterrows():
            tracking.log_metrics(
                {k: row[k] for k in ("roc_auc", "lift_at_10", "ece", "logistic_roc_auc")},
                "backtest.",
                step=int(row["cutoff"].strftime("%Y%m")),
            )
        tracking.log_text(Path(config.path).read_text(), "config/churn.toml")
        metadata = model_metadata(spec, config, layout, frame[frame["cutoff"].isin(split.train)])
        tracking.log_dict(metadata, "model_metadata.json")
        if not result.backtest.empty:
            tracking.log_table(
                result.backtest.assign(cutoff=result.backtest["cutoff"].astype(str)),
                "evaluation/backtest.json",
            )
        tracking.log_table(compare_models(result.scores).reset_index(), "evaluation/compare.json")
        if result.model.search:
            tracking.log_table(pd.DataFrame(result.model.search), "evaluation/search.json")
        for path, figure in report.evaluation_figures(result).items():
            tracking.log_figure(figure, path)
        tracking.log_dataset(
            frame[frame["cutoff"].isin(split.test)], config.exports.directory, "test", "test"
        )
        champion = tracking.champion_version(name, alias)
        champion_score = _champion_score(name, alias, frame, split, metric) if champion else None
        python_model = ChurnModel(result.model, metadata)
        example = layout.plain(frame[frame["cutoff"].isin(split.test)].head(5))
        version = tracking.log_churn_model(
            python_model,
            example,
            name,
            tracking.model_requirements(),
            [str(Path(models.__file__).parent)],
        )
        tracking.record_model_digest(name, version)
        promote, reason = promotion_decision(result.scores["model"][metric], champion_score, metric)
        if promote:
            tracking.set_alias(name, alias, version)
        tracking.tag_version(name, version, {"promoted": str(promote), "reason": reason})
        tracking.set_tags({"promoted": str(promote), "promotion_reason": reason})
        url = tracking.runs_table_url(store, config.tracking.experiment)
    return {
        "run_id": run_id,
        "version": version,
        "promoted": promote,
        "reason": reason,
        "name": name,
        "alias": alias,
        "champion": champion,
        "ui": url,
        "store": store.shown,
    }


def _champion_score(name, alias, frame, split, metric) -> float | None:
    """The current champion's metric on the new out-of-time test rows (None if incomparable)."""
    from models.evaluate import evaluate_scores

    try:
        champion = tracking.load_model(name, alias)[0].unwrap_python_model()
    except Refusal:
        return None  # an unverifiable champion is not run: the new model is compared with none
    test = frame[frame["cutoff"].isin(split.test)]
    if any(f not in test.columns for f in champion.features):
        return None
    probability = champion.predict(None, test)["probability"].to_numpy()
    return evaluate_scores(test[LABEL].to_numpy(), probability)[metric]
