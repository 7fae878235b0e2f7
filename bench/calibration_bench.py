"""Calibration in production, measured: for each of the last months of the exports as a
pseudo-production month M, the exports are cut to what they held on M (rows before M, no
cancellation after it), a model is trained on them exactly as `make train` would (no backtest
folds), and its list as of M is compared with what then happened in the horizon after M:
churners expected (the sum of the list's probabilities) against churners found, for the
registered model (refit on every labelled month) and for its evaluated twin (the model as it
was tested), with each one's ROC AUC on the month.

    python -m bench.calibration_bench [--config churn.toml] [--months 6] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.atomic import write_atomically
from features.engines import open_tables
from features.exports.ingest import ingest_exports
from models.evaluate import evaluate_scores
from models.pyfunc import ChurnModel
from pipeline import tracking
from pipeline.config import Config, load_config
from pipeline.datasets import data_span
from pipeline.report.data import outcomes
from pipeline.score.duckdb import list_as_of
from pipeline.train import run_training

RESULTS = Path(__file__).parent / "results" / "calibration.json"
TIME_COLUMNS = {"engagement": "timestamp", "support": "opened_at", "purchases": "timestamp",
                "surveys": "answered_at"}  # fmt: skip


def cut_exports(source: Path, target: Path, month: pd.Timestamp) -> None:
    """The sample's exports as they stood on `month`: event rows before it, customers who
    had signed up, cancellations after it not yet known, tickets not yet resolved open."""
    target.mkdir(parents=True, exist_ok=True)
    customers = pd.read_csv(source / "customers.csv", parse_dates=["signup_at", "churned_at"])
    customers = customers[customers["signup_at"] < month].copy()
    customers.loc[customers["churned_at"] >= month, "churned_at"] = pd.NaT
    customers.to_csv(target / "customers.csv", index=False, date_format="%Y-%m-%d")
    for name, file in (("engagement", "engagement.parquet"), ("support", "support.csv"),
                       ("purchases", "purchases.csv.gz"), ("surveys", "surveys.csv")):  # fmt: skip
        path = source / file
        frame = pd.read_parquet(path) if file.endswith("parquet") else pd.read_csv(path)
        at = pd.to_datetime(frame[TIME_COLUMNS[name]])
        frame = frame[at < month].copy()
        if name == "support":
            resolved = pd.to_datetime(frame["resolved_at"])
            frame.loc[resolved >= month, ["resolved_at", "satisfaction"]] = None
        if file.endswith("parquet"):
            frame.to_parquet(target / file, index=False)
        else:
            frame.to_csv(target / file, index=False)


def month_figures(config: Config, tables: dict, month: pd.Timestamp, model: ChurnModel) -> dict:
    """The list as of `month` from the full exports (point in time) against its outcome."""
    ranked = list_as_of(config, tables, month, model).ranked
    _, end = data_span(tables)
    known = outcomes(tables, month, definition=config.churn, end=end)
    graded = ranked.merge(known, on="customer_id")
    y = graded["churned"].to_numpy()
    p = graded["churn_probability"].to_numpy()
    expected, actual = float(p.sum()), int(y.sum())
    return {
        "expected": round(expected, 1),
        "actual": actual,
        "ratio": round(expected / actual, 3) if actual else None,
        "roc_auc": round(evaluate_scores(y, p)["roc_auc"], 4),
        "ece": round(evaluate_scores(y, p)["ece"], 4),
        "customers": len(graded),
    }


def one_month(config: Config, tables: dict, month: pd.Timestamp, work: Path) -> dict:
    """Train on the exports as they stood on `month`, then grade both models' lists."""
    folder = work / f"{month:%Y-%m}"
    cut_exports(Path(config.exports.directory), folder / "data", month)
    exports = dataclasses.replace(config.exports, directory=str(folder / "data"))
    training = dataclasses.replace(config.training, backtest_folds=0, truth_file="")
    store = dataclasses.replace(config.tracking, store_dir=str(folder / "mlruns"))
    cut = dataclasses.replace(
        config, exports=exports, training=training, tracking=store, as_of=month.date(),
        cache_dir=folder / "cache",
    )  # fmt: skip
    run_training(cut, month.date())
    tracking.open_store(store)
    registered = tracking.load_model(config.model.name, config.model.alias)[0]
    refit = registered.unwrap_python_model()
    twin = ChurnModel(refit.evaluated or refit.trained, refit.metadata)
    return {
        "month": f"{month:%Y-%m-%d}",
        "learned_through": refit.metadata.get("learned_through"),
        "refit": month_figures(config, tables, month, refit),
        "evaluated": month_figures(config, tables, month, twin),
    }


def truth_figures(config: Config, tables: dict, month: pd.Timestamp) -> dict | None:
    """The same comparison for the simulator's true probabilities (the sample's truth file):
    how close a perfect model's expected churners come to the churners found, the noise
    floor of the target (None without a truth file)."""
    if not config.training.truth_file or not Path(config.training.truth_file).exists():
        return None
    truth = pd.read_csv(config.training.truth_file, parse_dates=["month_start"])
    truth = truth[truth["month_start"] == month]
    _, end = data_span(tables)
    known = outcomes(tables, month, definition=config.churn, end=end)
    graded = truth.merge(known, on="customer_id")
    expected, actual = float(graded["churn_probability"].sum()), int(graded["churned"].sum())
    return {
        "expected": round(expected, 1),
        "actual": actual,
        "ratio": round(expected / actual, 3) if actual else None,
        "roc_auc": round(
            evaluate_scores(graded["churned"], graded["churn_probability"])["roc_auc"], 4
        ),
    }


def summary(rows: list[dict], key: str) -> dict:
    """Within 15% in how many months, and the mean absolute error of expected / actual."""
    ratios = np.array([r[key]["ratio"] for r in rows if r[key]["ratio"] is not None])
    return {
        "within_15pct": int((np.abs(ratios - 1) <= 0.15).sum()),
        "months": len(ratios),
        "mean_abs_error": round(float(np.mean(np.abs(ratios - 1))), 4),
        "mean_roc_auc": round(float(np.mean([r[key]["roc_auc"] for r in rows])), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("churn.toml"))
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    started = time.perf_counter()
    paths, _ = ingest_exports(config.exports, config.cache_dir, config.as_of)
    tables = open_tables(paths)
    _, end = data_span(tables)
    horizon = pd.Timedelta(days=config.churn.lead_days + config.churn.horizon_days)
    last = (end - horizon).to_period("M").to_timestamp()
    months = [last - pd.DateOffset(months=k) for k in range(args.months - 1, -1, -1)]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for month in months:
            rows.append(one_month(config, tables, pd.Timestamp(month), Path(work)))
            r = rows[-1]
            print(
                f"{r['month']}: refit expected {r['refit']['expected']} vs "
                f"{r['refit']['actual']} (AUC {r['refit']['roc_auc']}); evaluated twin "
                f"{r['evaluated']['expected']} (AUC {r['evaluated']['roc_auc']})",
                flush=True,
            )
    for row in rows:
        row["truth"] = truth_figures(config, tables, pd.Timestamp(row["month"]))
    result = {
        "what": "pseudo-production calibration (bench/calibration_bench.py)",
        "config": str(args.config),
        "refit": summary(rows, "refit"),
        "evaluated": summary(rows, "evaluated"),
        **({"truth": summary(rows, "truth")} if rows and rows[0]["truth"] else {}),
        "seconds": round(time.perf_counter() - started, 1),
        "by_month": rows,
    }
    print(json.dumps({k: result[k] for k in ("refit", "evaluated", "truth") if k in result}))
    if args.write:
        write_atomically(RESULTS, result)
        print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
