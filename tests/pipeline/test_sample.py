"""The committed sample: valid against the contract, churn in the intended band, truth apart."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import load_config
from pipeline.validate import validate_exports

ROOT = Path(__file__).resolve().parents[2]


def test_committed_sample_is_valid_with_realistic_monthly_churn():
    config = load_config(ROOT / "churn.toml")
    summary = validate_exports(config.exports, None)
    assert summary.report.fatal == []
    # The simulator draws event times to the second, so a few events repeat exactly or with
    # another value in the same second: counted as duplicates, far below the 1% tolerance.
    events = summary.report.tables["engagement"].rows
    for warning in summary.report.warnings:
        assert warning.file == "engagement.parquet" and "duplicate" in warning.message
        assert warning.count < 0.001 * events
    assert summary.customers == 5000
    rates = [rate for *_, rate in summary.churn_by_month]
    assert len(rates) == 24
    assert min(rates) >= 0.02 and max(rates) <= 0.06
    assert summary.report.tables["engagement"].rows > 1_000_000


def test_truth_is_not_a_configured_export():
    config = load_config(ROOT / "churn.toml")
    files = {source.file for source in config.exports.tables.values()}
    assert not any("truth" in f for f in files)
    assert Path(config.training.truth_file).exists()
    size = sum(p.stat().st_size for p in (ROOT / "data" / "sample").rglob("*") if p.is_file())
    assert size < 15 * 1024 * 1024
