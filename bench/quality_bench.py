"""Benchmark: model quality by backtest on three data sets, to choose defaults by evidence.

For each data set (the bundled sample, Online Retail with 90-day inactivity churn, the 100k
synthetic set) the labelled feature rows are built once through the pipeline. Every choice is
then judged by expanding-window backtest folds over the cutoffs whose label windows end
before the out-of-time test (models/tuning.py), so choosing never sees the test months:

- `params`: LightGBM settings by coordinate descent from a start (the kind of tree, then
  learning rate, leaves, minimum leaf size, feature fraction, L2, each in turn given the
  others, until a pass changes nothing); the mean fold ROC AUC over the data sets decides,
  time breaks near-ties;
- `features`: with the chosen settings, which groups of trajectory features earn their
  place: each left out of every feature in turn (kept when that costs ROC AUC), then each
  other group and each group of candidates not in the product (bench/candidates.py) added
  to the kept ones in turn (joins when that gains); logistic regression beside;
- `ceiling` (the sample only): a model fitted to the simulator's true log-odds from every
  feature and candidate, scored on the test months: the best observable behaviour allows,
  beside the model trained as `churn train` does.

Results go to bench/results/quality.json (rewritten after each data set and step).

    python -m bench.quality_bench [--datasets sample online_retail synthetic_100k]
        [--steps params features ceiling] [--synthetic-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from bench.candidates import GROUPS as CANDIDATES
from bench.candidates import candidate_features, with_candidates
from bench.synthetic import DATA_ROOT, EXPORTS_CONFIG, ensure_dataset
from features.exports.ingest import ingest_exports
from models.baselines import fit_logistic, predict_logistic
from models.evaluate import evaluate_scores
from models.matrix import FeatureLayout
from models.trainer import DEFAULT_PARAMS, train_churn_model
from models.tuning import backtest_quality, mean_auc, selection_splits
from pipeline.config import load_config
from pipeline.train.data import TrainingData, training_data, validated_tables

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "quality.json"
WORK = ROOT / "work"
SYNTHETIC_CONFIG = (
    EXPORTS_CONFIG
    + """
[training]
cutoffs = 9
test_cutoffs = 1
valid_cutoffs = 1
"""
)
DATASETS = {
    "sample": (ROOT.parent / "churn.toml", 6),
    "online_retail": (ROOT.parent / "examples" / "online_retail" / "churn.toml", 4),
    "synthetic_100k": (None, 3),
}
"""Data set: (its configuration, backtest folds before the test)."""

START = {
    "extra_trees": False,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_child_samples": 150,
    "feature_fraction": 0.5,
    "lambda_l2": 5.0,
}
SWEEP = {
    "extra_trees": [False, True],
    "learning_rate": [0.03, 0.05, 0.1],
    "num_leaves": [3, 5, 7, 15],
    "min_child_samples": [50, 150, 400, 1000],
    "feature_fraction": [0.3, 0.5, 0.8],
    "lambda_l2": [1.0, 5.0, 20.0],
}
"""Where the sweep looks, in the order it settles them: the kind of tree first (extremely
randomised split points or the best ones), then the rate, then the tree's shape."""
MAX_PASSES = 3
NEAR_TIE = 0.0005  # mean fold ROC AUC this close counts as equal; the faster one wins

# The features added by the trajectory work, by group (the rest is what came before).
GROUPS = {
    "weekly trajectory": ("active_weeks_12w", "active_days_decline_12w", "weeks_fell_8w"),
    "monthly orders": ("order_months_12m", "orders_decline_12m"),
    "purchase cadence": ("order_interval_days_365d", "order_overdue_365d"),
    "pace against own history": (
        "active_days_pace_90d",
        "value_pace_90d",
        "spend_pace_365d",
        "ticket_pace_90d",
    ),
    "intensity": (
        "events_per_active_day_30d",
        "events_per_active_day_90d",
        "value_per_event_90d",
        "revenue_per_order_365d",
    ),
    "tenure-scaled counts": ("events_per_month_90d", "orders_per_month_365d"),
    "last use per event type": ("*_days_since_last",),
}


@dataclass
class Dataset:
    """One data set's labelled rows, how they split, its backtest folds and candidates."""

    name: str
    data: TrainingData
    label_days: int
    folds: list
    candidates: pd.DataFrame


def _members(group: tuple[str, ...], features: list[str]) -> list[str]:
    out = []
    for pattern in group:
        if pattern.startswith("*"):
            out += [f for f in features if f.endswith(pattern[1:])]
        elif pattern in features:
            out.append(pattern)
    return out


def load_dataset(name: str, synthetic_dir: Path) -> Dataset:
    """Build a data set's labelled rows through the pipeline, and its candidates."""
    path, folds = DATASETS[name]
    if path is None:
        WORK.mkdir(parents=True, exist_ok=True)
        data_dir = ensure_dataset(100_000, root=synthetic_dir)["customers"].parent
        path = WORK / "quality-synthetic.toml"
        path.write_text(SYNTHETIC_CONFIG.format(data=data_dir, as_of="2025-01-15", work=WORK))
    config = load_config(path)
    as_of = config.as_of
    tables, _ = validated_tables(config, as_of)
    data = training_data(config, tables)
    paths, _ = ingest_exports(config.exports, config.cache_dir, as_of)
    label_days = config.churn.lead_days + config.churn.horizon_days
    splits = selection_splits(data.split, label_days, folds)
    return Dataset(name, data, label_days, splits, candidate_features(paths, data.split.all))


def _layout(ds: Dataset, frame: pd.DataFrame, features: list[str]) -> FeatureLayout:
    train = frame[frame["cutoff"].isin(ds.data.split.train)]
    categorical = [f for f in features if f in ds.data.layout.categories]
    return FeatureLayout.from_frame(train, features, categorical)


def _logistic_folds(ds: Dataset, frame: pd.DataFrame, layout: FeatureLayout) -> float:
    aucs = []
    for split in ds.folds:
        train = frame[frame["cutoff"].isin(split.train)]
        test = frame[frame["cutoff"].isin(split.test)]
        p = predict_logistic(fit_logistic(train, layout), test, layout)
        aucs.append(roc_auc_score(test["churned"], p))
    return float(np.mean(aucs))


def score(ds: Dataset, params: dict, features: list[str], frame=None, logistic=False) -> dict:
    """Mean backtest ROC AUC of one setting on one data set, with the folds' details."""
    frame = ds.data.frame if frame is None else frame
    layout = _layout(ds, frame, features)
    started = time.perf_counter()
    folds = backtest_quality(frame, ds.folds, layout, {**DEFAULT_PARAMS, **params})
    out = {
        "roc_auc": round(mean_auc(folds), 4),
        "folds": [round(f.roc_auc, 4) for f in folds],
        "rounds": [f.rounds for f in folds],
        "seconds": round(time.perf_counter() - started, 1),
    }
    if logistic:
        out["logistic_roc_auc"] = round(_logistic_folds(ds, frame, layout), 4)
    return out


def sweep_params(datasets: list[Dataset], log) -> dict:
    """Coordinate descent from START: each parameter in turn (SWEEP's order) takes the value
    with the best mean ROC AUC over the data sets given the others' current values (near
    ties: the faster), and passes repeat until one changes nothing (at most MAX_PASSES).
    One parameter at a time from a fixed start misses settings that only pay together (a
    slower rate pays with randomised splits, not without); each setting is measured once."""
    rows: list[dict] = []
    measured: dict[tuple, dict] = {}
    features = {ds.name: list(ds.data.layout.features) for ds in datasets}

    def measure(params: dict, varied: str) -> dict:
        key = tuple(sorted(params.items()))
        if key in measured:
            return measured[key]
        per = {ds.name: score(ds, params, features[ds.name]) for ds in datasets}
        row = {
            "varied": varied,
            **params,
            "mean_roc_auc": round(float(np.mean([r["roc_auc"] for r in per.values()])), 4),
            "seconds": round(sum(r["seconds"] for r in per.values()), 1),
            "datasets": per,
        }
        rows.append(row)
        measured[key] = row
        log(f"params {varied:<18} {params} -> {row['mean_roc_auc']:.4f} ({row['seconds']} s)")
        return row

    start = measure(dict(START), "start")
    best, passes = start, 0
    while passes < MAX_PASSES:
        passes += 1
        before = best
        for key, values in SWEEP.items():
            current = {k: best[k] for k in START}
            tried = [measure({**current, key: v}, key) for v in values]
            best = _winner(tried)
        if best is before:
            break
    for row in rows:
        row["versus_start"] = paired(_all_folds(row), _all_folds(start))
    return {
        "start": START,
        "rows": rows,
        "passes": passes,
        "chosen": {k: best[k] for k in START},
    }


def paired(folds: list[float], reference: list[float]) -> dict:
    """Mean fold-by-fold difference to a reference setting, with its standard error."""
    diffs = np.asarray(folds) - np.asarray(reference)
    se = diffs.std(ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
    return {"diff": round(float(diffs.mean()), 4), "se": round(float(se), 4)}


def _all_folds(row: dict) -> list[float]:
    return [auc for per in row["datasets"].values() for auc in per["folds"]]


def _winner(rows: list[dict]) -> dict:
    """The highest mean ROC AUC; among those within NEAR_TIE of it, the fastest."""
    top = max(r["mean_roc_auc"] for r in rows)
    return min((r for r in rows if r["mean_roc_auc"] >= top - NEAR_TIE), key=lambda r: r["seconds"])


def _groups(ds: Dataset) -> dict[str, list[str]]:
    """The trajectory groups this data set has, by their features."""
    every = list(ds.data.layout.features)
    groups = {g: _members(p, every) for g, p in GROUPS.items()}
    return {g: m for g, m in groups.items() if m}


def _run_sets(ds: Dataset, params: dict, sets: dict, reference: str, log) -> list[dict]:
    frame = with_candidates(ds.data.frame, ds.candidates)
    rows = []
    for name, features in sets.items():
        row = {"set": name, "features": len(features)}
        row |= score(ds, params, features, frame, logistic=name in ("before", "all", "kept"))
        log(f"features {ds.name:<15} {name:<34} {row['roc_auc']:.4f} ({row['seconds']} s)")
        rows.append(row)
    base = next(r["folds"] for r in rows if r["set"] == reference)
    for row in rows:
        row[f"versus_{reference}"] = paired(row["folds"], base)
    return rows


def _effects(rounds: dict[str, list[dict]], prefix: str, reference: str) -> dict[str, float]:
    """Per group, the mean over data sets of (its set's mean fold ROC AUC minus the
    reference set's), from rows named `prefix` + group."""
    found: dict[str, list[float]] = {}
    for rows in rounds.values():
        for row in rows:
            if row["set"].startswith(prefix):
                group = row["set"][len(prefix) :]
                found.setdefault(group, []).append(row[f"versus_{reference}"]["diff"])
    return {g: round(float(np.mean(d)), 4) for g, d in found.items()}


def select_groups(datasets: list[Dataset], params: dict, log) -> dict:
    """Which trajectory groups earn their place. Round 1: each group left out of every
    feature in turn; it stays when leaving it out lowers the mean fold ROC AUC (averaged over
    the data sets that have it). Round 2: the kept groups, plus each other group and each
    candidate group (bench/candidates.py) in turn; one joins when adding it raises it."""
    first, second = {}, {}
    for ds in datasets:
        groups = _groups(ds)
        every = list(ds.data.layout.features)
        new = {f for m in groups.values() for f in m}
        sets = {"before": [f for f in every if f not in new], "all": every}
        sets |= {f"all but {g}": [f for f in every if f not in m] for g, m in groups.items()}
        first[ds.name] = _run_sets(ds, params, sets, "all", log)
    left_out = _effects(first, "all but ", "all")
    kept = [g for g, effect in left_out.items() if effect < 0]
    for ds in datasets:
        groups = _groups(ds)
        every = list(ds.data.layout.features)
        new = {f for m in groups.values() for f in m}
        base = [f for f in every if f not in new] + [f for g in kept for f in groups.get(g, [])]
        others = {g: m for g, m in groups.items() if g not in kept}
        frame_columns = set(with_candidates(ds.data.frame.head(1), ds.candidates).columns)
        others |= {
            f"{g} (candidate)": [c for c in cols if c in frame_columns]
            for g, cols in CANDIDATES.items()
        }
        sets = {"kept": base} | {f"kept plus {g}": base + m for g, m in others.items() if m}
        second[ds.name] = _run_sets(ds, params, sets, "kept", log)
    added = _effects(second, "kept plus ", "kept")
    joined = [g for g, effect in added.items() if effect > 0]
    return {
        "round_1": first,
        "left_out_effect": left_out,
        "round_2": second,
        "added_effect": added,
        "kept": kept,
        "joined": joined,
    }


def ceiling(ds: Dataset, params: dict) -> dict:
    """The observable ceiling on the test months: LightGBM regression on the simulator's true
    log-odds from every feature and candidate (trained on the training and validation
    cutoffs), against the model trained as `churn train` does and the truth itself."""
    frame = with_candidates(ds.data.frame, ds.candidates)
    split = ds.data.split
    extra = [c for cols in CANDIDATES.values() for c in cols if c in frame]
    everything = list(ds.data.layout.features) + extra
    known = frame[frame["cutoff"].isin(split.train + split.valid)]
    test = frame[frame["cutoff"].isin(split.test)]
    y = test["churned"].to_numpy()
    layout = _layout(ds, frame, everything)
    p = known["true_probability"].clip(1e-6, 1 - 1e-6)
    fitted = lgb.train(
        {"objective": "regression", "learning_rate": 0.03, "num_leaves": 31, "verbosity": -1,
         "min_child_samples": 50, "feature_fraction": 0.7, "num_threads": 2, "seed": 7},
        lgb.Dataset(layout.matrix(known), np.log(p / (1 - p))),
        num_boost_round=800,
    )  # fmt: skip
    observable = 1 / (1 + np.exp(-fitted.predict(layout.matrix(test))))
    data = ds.data
    train = frame[frame["cutoff"].isin(split.train)]
    valid = frame[frame["cutoff"].isin(split.valid)]
    model = train_churn_model(train, valid, data.layout, params={**DEFAULT_PARAMS, **params})
    logistic = predict_logistic(fit_logistic(train, data.layout), test, data.layout)
    scorers = {
        "observable ceiling": observable,
        "model": model.predict_proba(test),
        "logistic regression": logistic,
        "true probability": test["true_probability"].to_numpy(),
    }
    kept = ("roc_auc", "lift_at_10")
    return {
        name: {k: round(v, 4) for k, v in evaluate_scores(y, s).items() if k in kept}
        for name, s in scorers.items()
    }


def main(argv: list[str] | None = None) -> None:
    """Run the chosen steps on the chosen data sets; write bench/results/quality.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--steps", nargs="+", default=["params", "features", "ceiling"])
    parser.add_argument("--synthetic-dir", type=Path, default=DATA_ROOT)
    parser.add_argument("--params", type=json.loads, default=None, help="skip the sweep: JSON")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = _machine()

    def log(text: str) -> None:
        print(text, flush=True)

    def save() -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.with_suffix(".tmp").write_text(json.dumps(results, indent=2, default=str))
        os.replace(RESULTS.with_suffix(".tmp"), RESULTS)

    datasets = []
    for name in args.datasets:
        started = time.perf_counter()
        datasets.append(load_dataset(name, args.synthetic_dir))
        ds = datasets[-1]
        log(f"{name}: {len(ds.data.frame):,} rows, {len(ds.folds)} folds "
            f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
    params = args.params or results.get("params", {}).get("chosen", START)
    if "params" in args.steps:
        results["params"] = sweep_params(datasets, log) | {"datasets": args.datasets}
        params = results["params"]["chosen"]
        save()
    if "features" in args.steps:
        results["features"] = {"params": params} | select_groups(datasets, params, log)
        save()
    for ds in datasets:
        if "ceiling" in args.steps and "true_probability" in ds.data.frame:
            results["ceiling"] = {"dataset": ds.name, "params": params} | ceiling(ds, params)
            log(f"ceiling {json.dumps(results['ceiling'])}")
            save()


def _machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "lightgbm": lgb.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
