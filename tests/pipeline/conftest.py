"""A project trained once for the report's tests: a small simulated history, a model, lists
as of two dates a month apart, and the retention report as of the later one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.cli import main
from simulator import simulate_history, write_history

REPORT_CONFIG = """
[data]
dir = "exports"
as_of = "2025-11-01"

[tables.customers.profile]
categorical = ["plan", "country", "acquisition_channel"]
numeric = ["seats", "loyalty_member"]
actionable = ["plan"]

[tables.purchases]
file = "purchases.csv.gz"

[churn]
kind = "contractual"
horizon_days = 30

[training]
cutoffs = 12
test_cutoffs = 1
valid_cutoffs = 2
backtest_folds = 0

[model]
name = "report-churn"

[scoring]
capacity = 40
"""
FIRST_LIST, SECOND_LIST = "2025-10-01", "2025-11-01"


@pytest.fixture(scope="session")
def reported_project(tmp_path_factory) -> Path:
    """The project folder, after `train`, `score` as of both dates and `report`."""
    root = tmp_path_factory.mktemp("reported")
    history = simulate_history(customers=1200, months=15, seed=11, end=dt.date(2025, 11, 1))
    write_history(history, root / "exports")
    config = root / "churn.toml"
    config.write_text(REPORT_CONFIG)
    assert main(["-q", "train", "--config", str(config)]) == 0
    for day in (FIRST_LIST, SECOND_LIST):
        assert main(["-q", "score", "--config", str(config), "--as-of", day]) == 0
    assert main(["-q", "report", "--config", str(config)]) == 0
    return root


def report_path(project: Path) -> Path:
    """Where the report as of the later list is written."""
    return project / "outputs" / "reports" / f"as_of={SECOND_LIST}" / "report.html"
