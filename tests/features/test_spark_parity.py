"""The Spark engine computes the same features and labels as DuckDB from the same typed
exports: one set of Ibis declarations, two engines (local[2] here, one session per run)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features.build import build_features, cutoff_table, resolve_spec, to_frame
from features.engines import open_tables
from features.engines.spark.session import is_local, session_conf
from features.exports.ingest import ingest_exports
from models.labels import ChurnDefinition, label_churn
from pipeline.config import load_config
from pipeline.datasets import data_span
from tests.tables import assert_same_table


@pytest.fixture(scope="module")
def engines(parity_project, spark):
    """The history's typed tables opened on DuckDB and on Spark, the config and the spec."""
    config = load_config(parity_project / "churn.toml")
    paths, _ = ingest_exports(config.exports, config.cache_dir, config.as_of)
    duck, sparked = open_tables(paths), open_tables(paths, spark)
    spec = resolve_spec(duck, config.features, config.exports.profile)
    return config, duck, sparked, spec


def test_spark_and_duckdb_build_the_same_feature_table(engines):
    config, duck, sparked, spec = engines
    start, end = data_span(duck)
    assert (start, end) == data_span(sparked)
    cutoffs = list(pd.date_range("2025-01-01", "2025-10-01", freq="MS"))
    on_duckdb = to_frame(build_features(duck, cutoffs, spec))
    on_spark = to_frame(build_features(sparked, cutoffs, spec))
    assert len(on_duckdb) > 7000 and on_duckdb.shape[1] > 100  # a real table, every family
    assert resolve_spec(sparked, config.features, config.exports.profile) == spec
    assert_same_table(on_duckdb, on_spark)


@pytest.mark.parametrize(
    "definition",
    [
        ChurnDefinition(kind="contractual", horizon_days=30),
        ChurnDefinition(kind="inactivity", horizon_days=45, lead_days=7, min_tenure_days=30),
    ],
    ids=["contractual", "inactivity"],
)
def test_spark_and_duckdb_give_the_same_labels(engines, definition):
    _, duck, sparked, _ = engines
    cutoffs = list(pd.date_range("2025-01-01", "2025-09-01", freq="MS"))
    end = dt.datetime(2025, 11, 1)
    on_duckdb = label_churn(duck, cutoff_table(cutoffs), definition, end).to_pandas()
    on_spark = label_churn(sparked, cutoff_table(cutoffs), definition, end).to_pandas()
    assert on_duckdb["churned"].sum() > 20  # churners to tell apart, not only zeros
    assert_same_table(on_duckdb, on_spark)


def test_a_local_master_binds_to_the_loopback_and_every_session_is_in_utc():
    local = session_conf("local[2]", {"spark.sql.session.timeZone": "Europe/Paris"})
    assert local["spark.driver.bindAddress"] == "127.0.0.1"
    assert local["spark.sql.session.timeZone"] == "UTC"
    cluster = session_conf("yarn", {"spark.executor.memory": "4g"})
    assert "spark.driver.bindAddress" not in cluster
    assert cluster["spark.executor.memory"] == "4g"
    assert [is_local(m) for m in ("local", "local[*]", "local[4,2]", "yarn", "k8s://x")] == [
        True,
        True,
        True,
        False,
        False,
    ]
