"""Shared fixtures: a small, valid export directory written as CSV, and its config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.scheduling import grouped_file_scheduling, misplaced, run_order

CONFIG = """
[data]
dir = "exports"
as_of = "2024-06-30"

[tables.customers.profile]
categorical = ["plan"]
numeric = ["seats"]
"""


def write_valid_exports(directory: Path) -> None:
    """Five customers with a little of everything, all valid."""
    directory.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "signup_at": ["2024-01-01", "2024-01-15", "2024-02-01", "2024-03-01", "2024-04-01"],
            "churned_at": ["", "2024-05-10", "", "", ""],
            "plan": ["pro", "basic", "pro", "business", "basic"],
            "seats": [3, 1, 5, 20, 1],
        }
    ).to_csv(directory / "customers.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c4"],
            "timestamp": [
                "2024-03-01 10:00:00",
                "2024-04-02T11:00:00",
                "2024-04-01",
                "1711965600",
                "1714557600000",
            ],
            "event_type": ["login", "export", "login", "login", "report"],
            "value": ["5", "", "3.5", "1", "2"],
        }
    ).to_csv(directory / "engagement.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "opened_at": ["2024-03-05 09:00:00", "2024-04-20 09:00:00"],
            "resolved_at": ["2024-03-06 09:00:00", ""],
            "priority": ["high", "normal"],
            "channel": ["email", "chat"],
            "satisfaction": ["2", ""],
        }
    ).to_csv(directory / "support.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "timestamp": ["2024-03-01", "2024-04-01", "2024-04-01"],
            "amount": ["49.0", "19.0", "49.0"],
            "discount": ["0", "", "5"],
            "status": ["paid", "failed", "paid"],
            "kind": ["subscription", "subscription", "addon"],
        }
    ).to_csv(directory / "purchases.csv", index=False)
    pd.DataFrame({"customer_id": ["c1"], "answered_at": ["2024-04-15"], "nps": ["9"]}).to_csv(
        directory / "surveys.csv", index=False
    )


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """A project folder holding churn.toml and a valid `exports/` directory."""
    write_valid_exports(tmp_path / "exports")
    (tmp_path / "churn.toml").write_text(CONFIG)
    return tmp_path


SPARK_PROJECT_CONFIG = """
[data]
dir = "exports"
as_of = "2025-11-01"

[tables.customers.profile]
categorical = ["plan", "country"]
numeric = ["seats", "monthly_fee", "loyalty_member"]

[tables.purchases]
file = "purchases.csv.gz"

[training]
cutoffs = 12
test_cutoffs = 1
valid_cutoffs = 2
backtest_folds = 0

[model]
name = "parity-churn"

[scoring]
capacity = 25
"""


TEST_SESSION_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.extraJavaOptions": (
        "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-SegmentedCodeCache "
        "-XX:ReservedCodeCacheSize=512m"
    ),
}
"""The test session's settings, for tiny data on a 2-core machine. Two shuffle partitions
instead of Spark's 200: every shuffle of a few thousand rows otherwise runs as hundreds of
tasks (Spark training on the parity project took 107 s with 200, 73 s with 2). The JVM
compiles with its quick compiler only and collects garbage on one thread: a test run is
short, and the optimising compiler's work never pays back (73 s -> 49 s). Its code cache is
one undivided 512 MB heap: with the default split, the small part that holds the JVM's call
adapters filled up after the Spark training, list parity and ingest files ran in one session
("Out of space in CodeCache for adapters"), and the JVM died mid-test."""


@pytest.fixture(scope="session")
def spark():
    """The test run's one Ibis PySpark connection (local[2], UTC): a session takes seconds
    to start, so every Spark test shares it. Skipped where pyspark is not installed; `make
    test` and CI install the spark extra, so there they run."""
    from features.engines import SPARK_INSTALL, spark_installed

    if not spark_installed():
        pytest.skip(f"pyspark is not installed (the spark extra: {SPARK_INSTALL})")
    from features.engines.spark.session import spark_connection

    con = spark_connection("local[2]", TEST_SESSION_CONF)
    yield con
    con._session.stop()


@pytest.fixture(scope="session")
def parity_project(tmp_path_factory) -> Path:
    """A project folder with a small simulated history (1,200 customers, 15 months) and a
    config for it, shared by the engine parity tests."""
    import datetime as dt

    from simulator import simulate_history, write_history

    root = tmp_path_factory.mktemp("parity")
    history = simulate_history(customers=1200, months=15, seed=11, end=dt.date(2025, 11, 1))
    write_history(history, root / "exports")
    (root / "churn.toml").write_text(SPARK_PROJECT_CONFIG)
    return root


HEAVY_FILES = ("tests/pipeline/test_team_server.py", "tests/pipeline/test_browser.py")
"""Files that start servers or a browser; with every test that starts a Spark session they
are marked `heavy`, which `make test-quick` leaves out (`make test` and CI run them all)."""


def pytest_collection_modifyitems(session, config, items) -> None:
    """The slowest work units first (tests/scheduling.py); the rest as collected. Tests on a
    Spark session, a server or a browser are marked `heavy`. A file using a shared session
    fixture outside the group of files that shares it stops the run."""
    root = Path(str(config.rootpath))

    def name(item) -> str:
        return Path(str(item.path)).relative_to(root).as_posix()

    for item in items:
        if "spark" in item.fixturenames or name(item) in HEAVY_FILES:
            item.add_marker(pytest.mark.heavy)
        why = misplaced(name(item), item.fixturenames)
        if why:
            raise pytest.UsageError(why)
    items.sort(key=lambda item: run_order(name(item)))  # stable: files keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With `--dist loadfile`, files sharing a session fixture go to one worker as one unit,
    and units go out in the collected order (tests/scheduling.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    return grouped_file_scheduling(config, log)
