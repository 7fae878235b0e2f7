"""A project trained once for the report's tests: a small simulated history, a model, lists
as of two dates a month apart, and the retention report as of the later one.

One plan, one country, one event type and one logged play carry names that mean something
to a spreadsheet, to mathtext, to Markdown and to HTML (`=`, `$`, `\\`, `<script>`): every
step must show them as text (tests/pipeline/test_hostile_names.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
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

[contact]
rank_by = "uplift"  # asked for on a history far too thin: the lists say why they use risk
"""
FIRST_LIST, SECOND_LIST = "2025-10-01", "2025-11-01"
# Lower case and trimmed: the exports' profile text is typed that way, and the list shows it.
HOSTILE_PLAN = "=pro_$10_$20\\ <script>alert(1)</script>"  # mathtext would raise on it
HOSTILE_COUNTRY = "=nl <script>x</script> $5\\"
HOSTILE_EVENT = "=export $x\\y$ <script>"
HOSTILE_PLAY = "<script>alert('play')</script> =call $1\\"
RENAMED = {"plan": ("pro", HOSTILE_PLAN), "country": ("NL", HOSTILE_COUNTRY)}


def with_hostile_names(history: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The simulated exports with a plan, a country and an event type renamed (RENAMED,
    HOSTILE_EVENT); the simulation itself is unchanged."""
    customers = history["customers"].copy()
    for column, (old, new) in RENAMED.items():
        customers[column] = customers[column].astype(str).replace(old, new)
    engagement = history["engagement"].copy()
    engagement["event_type"] = engagement["event_type"].astype(str).replace("export", HOSTILE_EVENT)
    return history | {"customers": customers, "engagement": engagement}


@pytest.fixture(scope="session")
def reported_project(tmp_path_factory) -> Path:
    """The project folder, after `train`, `score` as of both dates and `report`; between the
    lists the team logged its calls (`log_calls`). What the commands printed on stderr is in
    stderr.txt."""
    root = tmp_path_factory.mktemp("reported")
    history = simulate_history(customers=1200, months=15, seed=11, end=dt.date(2025, 11, 1))
    write_history(with_hostile_names(history), root / "exports")
    config = root / "churn.toml"
    config.write_text(REPORT_CONFIG)
    told = io.StringIO()  # what the commands print on stderr, kept in stderr.txt
    with contextlib.redirect_stderr(told):
        assert main(["-q", "train", "--config", str(config)]) == 0
        assert main(["-q", "score", "--config", str(config), "--as-of", FIRST_LIST]) == 0
        log_calls(root)
        assert main(["-q", "score", "--config", str(config), "--as-of", SECOND_LIST]) == 0
        assert main(["-q", "report", "--config", str(config)]) == 0
    (root / "stderr.txt").write_text(told.getvalue())
    return root


NOT_REACHED, CONTROL_CALLED = 3, 1


def log_calls(root: Path) -> pd.DataFrame:
    """The contact log after the first list: its contact arm called the next day, but for
    NOT_REACHED customers the team could not reach, plus CONTROL_CALLED control customers
    called by mistake, whose play the log names HOSTILE_PLAY. Returns the first list's
    contact set."""
    listed = read_list_file(root / "outputs" / "at_risk" / f"as_of={FIRST_LIST}")
    chosen = listed[listed["contact_first"]]
    called = chosen[chosen["contact_arm"] == CONTACT].iloc[NOT_REACHED:]
    mistaken = chosen[chosen["contact_arm"] == CONTROL].iloc[:CONTROL_CALLED]
    logged = pd.concat([called, mistaken])
    pd.DataFrame(
        {
            "customer_id": logged["customer_id"],
            "contacted_at": "2025-10-02 10:00:00",
            "play": [*called["suggested_play"], *[HOSTILE_PLAY] * len(mistaken)],
            "channel": "phone",
        }
    ).to_csv(root / "exports" / "contacts.csv", index=False)
    return chosen


def report_path(project: Path) -> Path:
    """Where the report as of the later list is written."""
    return project / "outputs" / "reports" / f"as_of={SECOND_LIST}" / "report.html"
