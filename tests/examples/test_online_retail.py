"""The bundled real data set: UCI Online Retail invoices converted into the contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.validate import validate_exports

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online_retail"


def _converter():
    spec = importlib.util.spec_from_file_location("convert", EXAMPLE / "convert.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("config", ["churn.toml", "churn-30d.toml"])
def test_the_committed_exports_are_valid_purchases_only_with_inactivity_churn(config):
    loaded = load_config(EXAMPLE / config)
    summary = validate_exports(loaded.exports, loaded.as_of, loaded.churn)
    assert summary.report.problems == []
    assert set(summary.report.tables) == {"customers", "purchases"}
    assert summary.customers == 5881
    rates = [rate for *_, rate in summary.churn_by_month]
    assert len(rates) >= 19 and min(rates) > 0.2 and max(rates) < 0.8


def test_the_committed_exports_are_small_and_credit_their_source():
    size = sum(p.stat().st_size for p in (EXAMPLE / "data").iterdir())
    assert size < 2 * 1024 * 1024
    credit = (EXAMPLE / "SOURCE.md").read_text()
    assert "CC BY 4.0" in credit and "Chen" in credit and "UCI" in credit


def test_the_converter_reproduces_the_committed_exports(tmp_path):
    convert = _converter()
    if not (convert.SOURCE / convert.FIRST).exists():
        pytest.skip(f"the UCI files are not at {convert.SOURCE}")
    rows = convert.convert(convert.SOURCE, tmp_path)
    assert rows == {"customers": 5881, "purchases": 44680}
    for name in rows:
        fresh = pd.read_parquet(tmp_path / f"{name}.parquet")
        committed = pd.read_parquet(EXAMPLE / "data" / f"{name}.parquet")
        pd.testing.assert_frame_equal(fresh, committed)
    purchases = pd.read_parquet(tmp_path / "purchases.parquet")
    assert set(purchases["status"]) == {"paid", "refunded"} and (purchases["amount"] > 0).all()


def test_purchases_only_training_and_scoring_run_end_to_end(tmp_path, capsys):
    """Train and score on the real invoices with no usage, support or survey export."""
    config = tmp_path / "churn.toml"
    config.write_text(
        f"""
[data]
dir = "{EXAMPLE / "data"}"
as_of = "2011-12-09"

[tables.customers.profile]
categorical = ["country"]

[features]
currency = "GBP"

[churn]
kind = "inactivity"
horizon_days = 90
inactivity_sources = ["purchases"]

[training]
cutoffs = 12
test_cutoffs = 1
valid_cutoffs = 1
backtest_folds = 0

[model]
name = "retail-test"
"""
    )
    assert main(["train", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "LightGBM vs logistic regression on this data:" in out
    assert main(["score", "--config", str(config)]) == 0
    listed = pd.read_parquet(
        tmp_path / "outputs" / "at_risk" / "as_of=2011-12-09" / "at_risk.parquet"
    )
    assert len(listed) > 1000 and listed["reason_1"].notna().any()
    assert not listed.filter(like="reason_").stack().str.contains("n/a|nan").any()
