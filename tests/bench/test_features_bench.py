"""The benchmark's hand-written DuckDB floor computes the same engagement aggregates as the
builder, so the builder-over-floor ratios compare equal work."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from bench.features_bench import floor_sql
from bench.synthetic import generate, year_cutoffs
from features import build
from features.build import resolve_spec
from features.engines import open_tables
from features.exports.contract import ProfileColumns
from features.expressions import Cutoffs
from features.families import engagement
from features.spec import FeatureSettings


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    directory = tmp_path_factory.mktemp("synthetic")
    generate(400, directory, seed=3)
    paths = {p.stem: p for p in directory.glob("*.parquet")}
    tables = open_tables(paths)
    spec = resolve_spec(tables, FeatureSettings(top_event_types=5), ProfileColumns())
    return paths, tables, spec


def _builder(tables, spec, cutoffs: list[dt.datetime]) -> pd.DataFrame:
    expr = build.family_aggregates(
        engagement.FAMILY, tables["engagement"], Cutoffs.of(cutoffs), spec
    )
    return expr.to_pandas()


def _floor(paths, spec, cutoffs: list[dt.datetime], tuned: bool) -> pd.DataFrame:
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    sql = floor_sql(paths["engagement"], cutoffs, list(spec.event_types), tuned)
    return con.sql(sql).df()


@pytest.mark.parametrize("twelve", [False, True], ids=["one cutoff", "twelve cutoffs"])
@pytest.mark.parametrize("tuned", [False, True], ids=["plain", "tuned"])
def test_floor_matches_builder_engagement(synthetic, twelve, tuned):
    paths, tables, spec = synthetic
    one, many = year_cutoffs()
    cutoffs = [pd.Timestamp(c).to_pydatetime() for c in (many if twelve else one)]
    ours = _builder(tables, spec, cutoffs)
    floor = _floor(paths, spec, cutoffs, tuned)
    keys = ["customer_id", "cutoff"]
    shared = sorted(set(floor.columns) & set(ours.columns) - set(keys))
    assert len(shared) >= 25 and "days_since_last_event" in shared
    assert len(floor) == len(ours) > 200
    floor["cutoff"] = pd.to_datetime(floor["cutoff"]).dt.tz_localize(None).astype("datetime64[us]")
    ours["cutoff"] = pd.to_datetime(ours["cutoff"]).dt.tz_localize(None).astype("datetime64[us]")
    merged = ours.merge(floor, on=keys, suffixes=("", "_floor"), validate="one_to_one")
    assert len(merged) == len(ours)
    for column in shared:
        np.testing.assert_allclose(
            merged[column].astype(float),
            merged[f"{column}_floor"].astype(float),
            rtol=1e-9,
            err_msg=column,
        )


def test_sets_read_from_another_folder_are_never_generated_there(tmp_path):
    from bench.synthetic import half_month_cutoffs, read_dataset

    with pytest.raises(FileNotFoundError, match="no synthetic set"):
        read_dataset(400, tmp_path)
    assert list(tmp_path.iterdir()) == []
    generate(50, tmp_path / "50", seed=0)
    (tmp_path / "50" / "meta.json").write_text('{"n_customers": 50, "seed": 0, "format": 0}')
    with pytest.raises(FileNotFoundError):
        read_dataset(50, tmp_path)  # generated differently: refused, not regenerated
    cutoffs = half_month_cutoffs()
    assert len(cutoffs) == 24 == len(set(cutoffs)) and cutoffs == sorted(cutoffs)
