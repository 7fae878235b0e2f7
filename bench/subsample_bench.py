"""Benchmark: training on subsampled retained customer-months against training on all of them.

The 100k synthetic set's labelled rows are built once through the pipeline (the cutoffs of
bench/score_bench.py: 7 to train, 1 to validate and calibrate, 1 to test). LightGBM is then
trained as `churn train` does on every training row, and on every churner plus retained rows
kept at a forced rate (weighted 1 / rate), once per seed; the test month is never subsampled.
Each model's ROC AUC and expected calibration error on it are recorded, with the booster's
mean probability before calibration (the weights keep it at the churn rate; without them it
is inflated) and the training seconds. Targets (issue 14): subsampling costs <= 0.003 ROC AUC
and keeps ECE <= 0.01. Results go to bench/results/subsample.json.

    python -m bench.subsample_bench [--rate 0.3] [--seeds 1 2 3] [--data DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from bench.score_bench import AS_OF, CONFIG
from bench.synthetic import ensure_dataset
from models.evaluate import evaluate_scores
from models.experiment import LABEL
from models.subsample import matrix_bytes, subsample_negatives
from models.trainer import train_churn_model
from pipeline.config import load_config
from pipeline.train import TrainingData, training_data, validated_tables

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


def measure(data: TrainingData, rate: float, seed: int, *, weighted: bool = True) -> dict:
    """Train on the training rows kept at `rate` (all of them at 1.0) and score the test."""
    train, valid, test = (data.rows(part) for part in ("train", "valid", "test"))
    kept, weight, sample = subsample_negatives(train, LABEL, rate, seed=seed)
    started = time.perf_counter()
    model = train_churn_model(
        kept, valid, data.layout, seed=seed, weight=weight if weighted else None
    )
    seconds = time.perf_counter() - started
    y = test[LABEL].to_numpy()
    scores = evaluate_scores(y, model.predict_proba(test))
    features = len(data.layout.features)
    return {
        "rate": rate,
        "seed": seed,
        "weighted": weighted,
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
    full = measure(data, 1.0, args.seeds[0])
    print(f"full: {full}")
    subsampled = []
    for seed in args.seeds:
        subsampled.append(measure(data, args.rate, seed))
        print(f"rate {args.rate}, seed {seed}: {subsampled[-1]}")
    unweighted = measure(data, args.rate, args.seeds[0], weighted=False)
    print(f"rate {args.rate}, unweighted: {unweighted}")
    auc_cost = [full["roc_auc"] - s["roc_auc"] for s in subsampled]
    summary = {
        "rate": args.rate,
        "auc_cost_mean": round(float(np.mean(auc_cost)), 4),
        "auc_cost_max": round(float(np.max(auc_cost)), 4),
        "ece_max": max(s["ece"] for s in subsampled),
        "test_churn_rate": round(float(test[LABEL].mean()), 4),
        "train_s_full": full["train_s"],
        "train_s_subsampled_mean": round(float(np.mean([s["train_s"] for s in subsampled])), 1),
        "targets": {"auc_cost_at_most": AUC_COST_TARGET, "ece_at_most": ECE_TARGET},
    }
    summary["targets_met"] = bool(
        summary["auc_cost_max"] <= AUC_COST_TARGET and summary["ece_max"] <= ECE_TARGET
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
        "full": full,
        "subsampled": subsampled,
        "unweighted": unweighted,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, RESULTS)


if __name__ == "__main__":
    main()
