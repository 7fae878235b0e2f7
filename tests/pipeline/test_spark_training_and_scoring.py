"""Training and the nightly list on the Spark engine: the same labelled rows as DuckDB, and,
through the same registered model, the same ranked list (order, tiers, reasons)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.train import training_data, validated_tables
from tests.tables import assert_same_table

AS_OF = "2025-11-01"


@pytest.fixture(scope="module")
def configs(parity_project: Path, spark) -> tuple[Path, Path]:
    """The project's DuckDB config and a Spark twin writing its lists elsewhere (the Spark
    session is the run's own, which the engine reuses)."""
    duck = parity_project / "churn.toml"
    twin = parity_project / "spark.toml"
    twin.write_text(
        duck.read_text() + 'output_dir = "outputs/spark"\n\n[engine]\nbackend = "spark"\n'
    )
    return duck, twin


def test_training_on_spark_reads_the_same_labelled_rows(configs):
    duck, twin = configs
    duck_config, spark_config = load_config(duck), load_config(twin)
    on_duckdb = training_data(duck_config, validated_tables(duck_config, duck_config.as_of)[0])
    tables, _ = validated_tables(spark_config, spark_config.as_of)
    assert type(tables["customers"]._find_backend()).__module__.startswith("ibis.backends.pyspark")
    on_spark = training_data(spark_config, tables)
    assert on_spark.split == on_duckdb.split and on_spark.spec == on_duckdb.spec
    assert on_spark.layout == on_duckdb.layout
    assert_same_table(on_duckdb.frame, on_spark.frame)


def test_the_list_scored_from_spark_features_matches_the_duckdb_list(configs):
    duck, twin = configs
    assert main(["-q", "train", "--config", str(duck)]) == 0
    assert main(["-q", "score", "--config", str(duck), "--as-of", AS_OF]) == 0
    assert main(["-q", "score", "--config", str(twin), "--as-of", AS_OF]) == 0
    root = duck.parent / "outputs"
    on_duckdb = pd.read_parquet(root / "at_risk" / f"as_of={AS_OF}" / "at_risk.parquet")
    on_spark = pd.read_parquet(root / "spark" / f"as_of={AS_OF}" / "at_risk.parquet")
    assert len(on_duckdb) > 500 and on_duckdb["risk_tier"].nunique() > 1
    assert on_spark["customer_id"].tolist() == on_duckdb["customer_id"].tolist()
    for column in ("rank", "risk_tier", "reason_1", "suggested_play", "contact_first"):
        assert on_spark[column].tolist() == on_duckdb[column].tolist(), column
    assert np.allclose(on_spark["churn_probability"], on_duckdb["churn_probability"], atol=1e-9)
