"""Data a model cannot learn from is refused before training, with the numbers that are short."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from pipeline.cli import main
from simulator import simulate_history, write_history

CONFIG = """
[data]
dir = "exports"
as_of = "2025-11-01"

[tables.purchases]
file = "purchases.csv.gz"

[training]
cutoffs = 12
test_cutoffs = 1
valid_cutoffs = 2
backtest_folds = 0
"""


def _project(tmp_path: Path, customers: int, months: int, change=None) -> Path:
    tables = simulate_history(customers, months, seed=3, end=dt.date(2025, 11, 1))
    if change is not None:
        tables = change(tables)
    write_history(tables, tmp_path / "exports")
    (tmp_path / "churn.toml").write_text(CONFIG)
    return tmp_path / "churn.toml"


def _no_cancellations(tables: dict) -> dict:
    return {**tables, "customers": tables["customers"].assign(churned_at=pd.NaT)}


def _one_customer(tables: dict) -> dict:
    keep = tables["customers"]["customer_id"].iloc[0]
    return {
        name: frame[frame["customer_id"] == keep] if "customer_id" in frame else frame
        for name, frame in tables.items()
    }


def _train(config: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["train", "--config", str(config)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("customers", "months", "change", "message"),
    [
        (
            300,
            15,
            _no_cancellations,
            "no churner at all in the history under [churn] kind = 'contractual'",
        ),
        (40, 15, None, "too few churners to train and judge a model"),
        (40, 15, _one_customer, "among"),
        (300, 5, None, "gradable monthly cutoffs"),
    ],
    ids=["no-churner", "few-customers", "single-customer", "short-history"],
)
def test_untrainable_data_is_refused_before_training(
    tmp_path, capsys, customers, months, change, message
):
    code, err = _train(_project(tmp_path, customers, months, change), capsys)
    assert code == 3, err
    assert message in err and "Traceback" not in err
    # one line for the refusal, after the lines of the stages that finished before it
    problems = [
        line for line in err.strip().splitlines() if not line.startswith(("[train] ", "warning: "))
    ]
    assert len(problems) == 1
    assert not (tmp_path / "mlruns").exists()  # refused before any run was logged


def _training_data(rows: int, churners: int, features: int):
    from models.matrix import FeatureLayout
    from models.split import TimeSplit
    from pipeline.train.data import TrainingData

    cutoff = pd.Timestamp("2025-01-01")
    frame = pd.DataFrame({"cutoff": cutoff, "churned": [1] * churners + [0] * (rows - churners)})
    split = TimeSplit((cutoff,), (pd.Timestamp("2025-02-01"),), (pd.Timestamp("2025-03-01"),))
    layout = FeatureLayout(tuple(f"f{i}" for i in range(features)), {})
    return TrainingData(None, frame, split, layout, cutoff, cutoff)


def test_the_rate_is_all_rows_within_the_budget_and_what_fits_beyond_it():
    from pipeline.config import TrainingSettings
    from pipeline.train.data import training_negative_rate
    from pipeline.train.memory import HELD_COPIES, machine_memory_gb, memory_budget_gb

    data = _training_data(100_000, 5_000, 100)  # 40 MB of float32
    assert training_negative_rate(TrainingSettings(memory_gb=1.0), data) == 1.0
    rate = training_negative_rate(TrainingSettings(memory_gb=0.06), data)  # 64 MB
    assert 0 < rate < 1
    # the rows held fill the budget's share left for their copies
    held = (5_000 + rate * 95_000) * 100 * 4
    assert held * HELD_COPIES == pytest.approx(0.06 * 1024**3)
    assert training_negative_rate(TrainingSettings(memory_gb=0.02, negative_rate=0.7), data) == 0.7
    assert memory_budget_gb(TrainingSettings()) == pytest.approx(0.25 * machine_memory_gb())
    assert 0.1 < machine_memory_gb() < 100_000


def test_a_subsampled_training_says_so_and_logs_the_rate_and_rows_kept(tmp_path, capsys):
    config = _project(tmp_path, 900, 15)
    config.write_text(config.read_text() + "negative_rate = 0.5\n")
    capsys.readouterr()
    assert main(["train", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "retained customer-months at rate 0.5, weighted 2" in out, out
    from pipeline import tracking
    from pipeline.config import load_config

    tracking.open_store(load_config(config).tracking)
    run = mlflow.search_runs(experiment_names=["churn"], output_format="list")[0]
    params = run.data.params
    assert params["training.negative_rate_used"] == "0.5"
    assert int(params["rows.train_kept"]) < int(params["rows.train"])
    kept = int(out.split("training rows: ")[1].split(" of ")[0].replace(",", ""))
    assert kept == int(params["rows.train_kept"])
    # the rows line counts every customer-month of the history, thinned or not
    listed = int(out.split("rows: ")[1].split(" customer-months")[0].replace(",", ""))
    assert listed == sum(int(params[f"rows.{part}"]) for part in ("train", "valid", "test"))


def test_a_part_sampled_to_at_most_k_rows_is_a_seeded_subset_in_order():
    data = _training_data(10_000, 500, 3)
    sampled = data.rows("train", at_most=1_000)
    assert len(sampled) == 1_000 and sampled.index.is_monotonic_increasing
    assert sampled.index.isin(data.frame.index).all()
    assert sampled.index.equals(data.rows("train", at_most=1_000).index)  # the same draw
    assert 0 < sampled["churned"].sum() < 1_000
    assert data.rows("train", at_most=20_000).index.equals(data.frame.index)
    assert data.rows("valid", at_most=5).empty
