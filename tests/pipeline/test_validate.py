"""`churn validate` reports churn per month under the configured definition, not only
cancellations: a shop without cancellation dates sees its inactivity churn."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.validate import summary_lines, validate_exports

CONFIG = """
[data]
dir = "exports"
as_of = "2024-06-30"

[churn]
kind = "inactivity"
horizon_days = 30
inactivity_sources = ["purchases"]
"""


def _shop(tmp_path: Path) -> Path:
    """Two customers: `a` orders on the 10th of every month to June, `b` stops after February."""
    exports = tmp_path / "exports"
    exports.mkdir()
    pd.DataFrame({"customer_id": ["a", "b"], "signup_at": ["2024-01-01", "2024-01-01"]}).to_csv(
        exports / "customers.csv", index=False
    )
    orders = [("a", f"2024-{m:02d}-10") for m in range(1, 7)] + [
        ("b", "2024-01-10"),
        ("b", "2024-02-10"),
    ]
    frame = pd.DataFrame(orders, columns=["customer_id", "timestamp"])
    frame.assign(amount=10.0, status="paid").to_csv(exports / "purchases.csv", index=False)
    (tmp_path / "churn.toml").write_text(CONFIG)
    return tmp_path / "churn.toml"


def test_inactivity_churn_per_month_counts_who_could_lapse_and_who_did(tmp_path):
    config = load_config(_shop(tmp_path))
    summary = validate_exports(config.exports, config.as_of, config.churn)
    # March: both ordered in February, only b lapses; April and May: only a could, and stays.
    # June is left out: its 30 days run past the last order (June 10th).
    assert summary.churn_by_month == [
        (dt.date(2024, 3, 1), 2, 1, 0.5),
        (dt.date(2024, 4, 1), 1, 0, 0.0),
        (dt.date(2024, 5, 1), 1, 0, 0.0),
    ]
    lines = summary_lines(summary)
    assert any(line.startswith("monthly churn (inactivity churn within 30 days") for line in lines)


def test_validate_prints_the_configured_definition_for_exports_without_usage(tmp_path, capsys):
    assert main(["validate", "--config", str(_shop(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "mean 16.7%, min 0.0%, max 50.0% over 3 months" in out
    assert "engagement" not in out and "support" not in out


def test_a_broken_export_stops_either_engine_with_the_same_line(export_dir, capsys, spark):
    # `spark`: the run's one session, which the Spark engine reuses (skipped without pyspark)
    # The Spark engine validates with the same rules as DuckDB, before any feature work: Spark
    # runs the same checks over the exports; only the example row is named by its customer
    # (Spark has no line numbers)
    customers = export_dir / "exports" / "customers.csv"
    customers.write_text(customers.read_text().replace("2024-02-01", "first of Feb"))
    duck = export_dir / "churn.toml"
    spark = export_dir / "spark.toml"
    spark.write_text(duck.read_text() + '\n[engine]\nbackend = "spark"\n')
    lines = []
    for config in (duck, spark):
        assert main(["score", "--config", str(config)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        lines.append([line for line in err if not line.startswith("warning")])
    assert len(lines[0]) == 1 and "e.g. line 4: 'first of Feb'" in lines[0][0]
    assert lines[1] == [lines[0][0].replace("line 4:", "customer_id 'c3':")]
    assert "customers.csv" in lines[0][0] and "signup_at" in lines[0][0]


def test_unchanged_exports_are_counted_once_per_definition(tmp_path, monkeypatch):
    config = load_config(_shop(tmp_path))
    cache = tmp_path / "cache"
    first = validate_exports(config.exports, config.as_of, config.churn, cache_dir=cache)

    def counted_again(*args, **kwargs):
        raise AssertionError("unchanged exports were counted again")

    monkeypatch.setattr("pipeline.validate.churn_by_month", counted_again)
    again = validate_exports(config.exports, config.as_of, config.churn, cache_dir=cache)
    assert again.churn_by_month == first.churn_by_month and again.report.replayed_from
    monkeypatch.undo()
    shorter = dataclasses.replace(config.churn, horizon_days=20)  # another definition counts
    other = validate_exports(config.exports, config.as_of, shorter, cache_dir=cache)
    assert other.churn_by_month != first.churn_by_month
