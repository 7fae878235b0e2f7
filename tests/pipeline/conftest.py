"""A project trained once for the report's tests: a small simulated history, a model, lists
as of two dates a month apart, and the retention report as of the later one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from models.arms import CONTACT, CONTROL
from pipeline.cli import main
from pipeline.outputs import read_list_file
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
    """The project folder, after `train`, `score` as of both dates and `report`; between the
    lists the team logged its calls (`log_calls`)."""
    root = tmp_path_factory.mktemp("reported")
    history = simulate_history(customers=1200, months=15, seed=11, end=dt.date(2025, 11, 1))
    write_history(history, root / "exports")
    config = root / "churn.toml"
    config.write_text(REPORT_CONFIG)
    assert main(["-q", "train", "--config", str(config)]) == 0
    assert main(["-q", "score", "--config", str(config), "--as-of", FIRST_LIST]) == 0
    log_calls(root)
    assert main(["-q", "score", "--config", str(config), "--as-of", SECOND_LIST]) == 0
    assert main(["-q", "report", "--config", str(config)]) == 0
    return root


NOT_REACHED, CONTROL_CALLED = 3, 1


def log_calls(root: Path) -> pd.DataFrame:
    """The contact log after the first list: its contact arm called the next day, but for
    NOT_REACHED customers the team could not reach, plus CONTROL_CALLED control customers
    called by mistake. Returns the first list's contact set."""
    listed = read_list_file(root / "outputs" / "at_risk" / f"as_of={FIRST_LIST}")
    chosen = listed[listed["contact_first"]]
    called = chosen[chosen["contact_arm"] == CONTACT].iloc[NOT_REACHED:]
    mistaken = chosen[chosen["contact_arm"] == CONTROL].iloc[:CONTROL_CALLED]
    logged = pd.concat([called, mistaken])
    pd.DataFrame(
        {
            "customer_id": logged["customer_id"],
            "contacted_at": "2025-10-02 10:00:00",
            "play": logged["suggested_play"],
            "channel": "phone",
        }
    ).to_csv(root / "exports" / "contacts.csv", index=False)
    return chosen


def report_path(project: Path) -> Path:
    """Where the report as of the later list is written."""
    return project / "outputs" / "reports" / f"as_of={SECOND_LIST}" / "report.html"
