"""Training and the nightly list on the Spark engine: the same labelled rows as DuckDB, and,
through the same registered model, the same ranked list (order, tiers, reasons), which on
Spark is scored on the executors and written as Parquet partitioned by tier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.outputs import read_list_file
from pipeline.train.data import training_data, validated_tables
from tests.tables import assert_same_table

AS_OF = "2025-11-01"
EARLIER = "2025-10-01"


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


def _manifest(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.pop("created_at")
    # the same warnings; their examples name rows by line on DuckDB and by customer on Spark,
    # which has no row order (docs/spark.md, "Validation on Spark")
    manifest["warnings"] = [w.split(", e.g. ")[0] for w in manifest.get("warnings", [])]
    return manifest


def test_the_list_scored_on_spark_matches_the_duckdb_list(configs):
    """Scored, ranked and written by Spark (the model on the executors), two dates running so
    the second is compared with the first: the same rows in the same order as DuckDB's, the
    same manifest, and the CSVs of the contact set and the top of the list."""
    duck, twin = configs
    assert main(["-q", "train", "--config", str(duck)]) == 0
    for as_of in (EARLIER, AS_OF):
        assert main(["-q", "score", "--config", str(duck), "--as-of", as_of]) == 0
        assert main(["-q", "score", "--config", str(twin), "--as-of", as_of]) == 0
    root = duck.parent / "outputs"
    duck_folder = root / "at_risk" / f"as_of={AS_OF}"
    spark_folder = root / "spark" / f"as_of={AS_OF}"
    on_duckdb, on_spark = read_list_file(duck_folder), read_list_file(spark_folder)
    assert len(on_duckdb) > 500 and on_duckdb["risk_tier"].nunique() > 1
    assert on_duckdb["previous_tier"].notna().sum() > 500  # compared with the earlier list
    assert list(on_spark.columns) == list(on_duckdb.columns)
    assert on_spark["customer_id"].tolist() == on_duckdb["customer_id"].tolist()
    for column in ("rank", "risk_tier", "suggested_play", "contact_first", "previous_tier"):
        assert on_spark[column].tolist() == on_duckdb[column].tolist(), column
    for column in ("reason_1", "reason_2", "reason_3", "new_in_tier"):
        assert on_spark[column].tolist() == on_duckdb[column].tolist(), column
    assert [list(r) for r in on_spark["reason_features"]] == [
        list(r) for r in on_duckdb["reason_features"]
    ]
    for column in ("churn_probability", "revenue_at_risk", "previous_probability"):
        assert np.allclose(on_spark[column], on_duckdb[column], atol=1e-9, equal_nan=True), column
    assert _manifest(spark_folder) == _manifest(duck_folder)
    # the full list is Parquet partitioned by tier; people get the contacts and the top as CSV
    tiers = {p.name for p in (spark_folder / "at_risk.parquet").iterdir() if p.is_dir()}
    assert tiers == {f"risk_tier={t}" for t in on_duckdb["risk_tier"].unique()}
    contacts = pd.read_csv(spark_folder / "contacts.csv", dtype={"customer_id": str})
    chosen = on_duckdb[on_duckdb["contact_first"]].sort_values("contact_order")
    assert 0 < len(contacts) <= 25
    assert contacts["customer_id"].tolist() == chosen["customer_id"].tolist()
    top = (spark_folder / "at_risk_top.csv").read_bytes()
    assert top == (duck_folder / "at_risk.csv").read_bytes()  # the whole list is under 10,000
