"""Data a model cannot learn from is refused before training, with the numbers that are short."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
