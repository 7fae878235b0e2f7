"""Benchmark: training on subsampled retained customer-months against training on all of them.

The 100k synthetic set's labelled rows are built once through the pipeline (the cutoffs of
bench/score_bench.py: 7 to train, 1 to validate and calibrate, 1 to test). LightGBM is then
trained as `churn train` does on every training row, and on every churner plus retained rows
kept at a forced rate (weighted 1 / rate, without bagging: models/subsample.py), once per seed
each; the test month is never subsampled. Each model's ROC AUC and expected calibration error
on it are recorded, with the booster's mean probability before calibration (the weights keep
it at the churn rate; without them, `unweighted`, it is inflated) and the training seconds;
`with_bagging` keeps LightGBM's bagging on the subsample, the evidence for leaving it out.
Targets (issue 14): subsampling costs <= 0.003 ROC AUC (mean over seeds) and keeps ECE <= 0.01.
Results go to bench/results/subsample.json.

    python -m bench.subsample_bench [--rate 0.3] [--seeds 1 2 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

import numpy as np

from bench.atomic import write_atomically
from bench.score_bench import AS_OF, CONFIG
from bench.synthetic import ensure_dataset
from models.evaluate import evaluate_scores
from models.experiment import LABEL
from models.subsample import matrix_bytes, subsample_negatives, subsampled_params
from models.trainer import train_churn_model
from pipeline.config import load_config
from pipeline.train.data import TrainingData, training_data, validated_tables

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work"
RESULTS = ROOT / "results" / "subsample.json"
AUC_COST_TARGET = 0.003
ECE_TARGET = 0.01


def load_rows(data_dir: Path) -> TrainingData:
    """The 100k set's labelled feature rows and split, built through the pipeline."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "subsample-100000.toml"
    path.write_text(CONFIG.format(data=data_dir, as_of=AS_OF, work=WORK))
    config = load_config(path)
    tables, _ = validated_tables(config, config.as_of)
    return training_data(config, tables)


def measure(
    data: TrainingData, rate: float, seed: int, *, weighted: bool = True, bagging: bool = False
) -> dict:
    """Train on the training rows kept at `rate` (all of them at 1.0) as `churn train` does
    (or with LightGBM's bagging kept, or without the weights) and score the test month."""
    train, valid, test = (data.rows(part) for part in ("train", "valid", "test"))
    kept, weight, sample = subsample_negatives(train, LABEL, rate, seed=seed)
    params = None if bagging else subsampled_params(None, rate)
    started = time.perf_counter()
    model = train_churn_model(
        kept, valid, data.layout, seed=seed, params=params, weight=weight if weighted else None
    )
    seconds = time.perf_counter() - started
    y = test[LABEL].to_numpy()
    scores = evaluate_scores(y, model.predict_proba(test))
    features = len(data.layout.features)
    return {
        "rate": rate,
        "seed": seed,
        "weighted": weighted,
        "bagging": bagging or rate >= 1.0,
        "rows_kept": sample.kept,
        "matrix_mb": round(matrix_bytes(sample.kept, features) / 1024**2, 1),
        "roc_auc": round(scores["roc_auc"], 4),
        "ece": round(scores["ece"], 4),
        "raw_mean_probability": round(float(model.raw_probability(test).mean()), 4),
        "rounds": model.best_iteration,
        "train_s": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Build the rows once, train full and subsampled, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--data", type=Path, help="the 100k exports (default: bench/data)")
    args = parser.parse_args(argv)
    data_dir = args.data or ensure_dataset(100_000)["customers"].parent
    started = time.perf_counter()
    data = load_rows(data_dir)
    features_s = time.perf_counter() - started
    train, test = data.rows("train"), data.rows("test")
    runs: dict[str, list[dict]] = {"full": [], "subsampled": [], "with_bagging": []}
    for seed in args.seeds:
        runs["full"].append(measure(data, 1.0, seed))
        runs["subsampled"].append(measure(data, args.rate, seed))
        runs["with_bagging"].append(measure(data, args.rate, seed, bagging=True))
        for name, measured in runs.items():
            print(f"{name}, seed {seed}: {measured[-1]}")
    runs["unweighted"] = [measure(data, args.rate, args.seeds[0], weighted=False)]
    print(f"unweighted: {runs['unweighted'][0]}")

    def mean(name: str, key: str) -> float:
        return round(float(np.mean([r[key] for r in runs[name]])), 4)

    pairs = zip(runs["full"], runs["subsampled"], strict=True)
    paired = [f["roc_auc"] - s["roc_auc"] for f, s in pairs]
    summary = {
        "rate": args.rate,
        "seeds": args.seeds,
        "roc_auc_full_mean": mean("full", "roc_auc"),
        "roc_auc_subsampled_mean": mean("subsampled", "roc_auc"),
        "roc_auc_with_bagging_mean": mean("with_bagging", "roc_auc"),
        "auc_cost_mean": round(mean("full", "roc_auc") - mean("subsampled", "roc_auc"), 4),
        "auc_cost_paired_max": round(float(np.max(paired)), 4),
        "ece_full_max": max(r["ece"] for r in runs["full"]),
        "ece_subsampled_max": max(r["ece"] for r in runs["subsampled"]),
        "test_churn_rate": round(float(test[LABEL].mean()), 4),
        "raw_mean_probability_weighted": mean("subsampled", "raw_mean_probability"),
        "raw_mean_probability_unweighted": runs["unweighted"][0]["raw_mean_probability"],
        "train_s_full_mean": mean("full", "train_s"),
        "train_s_subsampled_mean": mean("subsampled", "train_s"),
        "matrix_mb_full": runs["full"][0]["matrix_mb"],
        "matrix_mb_subsampled": runs["subsampled"][0]["matrix_mb"],
        "targets": {"auc_cost_at_most": AUC_COST_TARGET, "ece_at_most": ECE_TARGET},
    }
    summary["targets_met"] = bool(
        summary["auc_cost_mean"] <= AUC_COST_TARGET and summary["ece_subsampled_max"] <= ECE_TARGET
    )
    print(f"summary: {summary}")
    payload = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "data": {
            "customers": 100_000,
            "train_rows": len(train),
            "train_churners": int(train[LABEL].sum()),
            "valid_rows": len(data.rows("valid")),
            "test_rows": len(test),
            "features": len(data.layout.features),
            "features_s": round(features_s, 1),
        },
        "summary": summary,
        **runs,
    }
    write_atomically(RESULTS, payload)


if __name__ == "__main__":
    main()
