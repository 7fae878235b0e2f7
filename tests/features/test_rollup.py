"""The rollup plan gives the direct plan's features, and is chosen only where it is exact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from features.build import build_features, feature_queries, plan_rollups, resolve_spec, to_frame
from features.engines import open_tables
from features.exports.contract import ProfileColumns
from features.exports.ingest import ingest_exports
from features.expressions import Cutoffs
from features.spec import FeatureSettings, FeatureSpec
from pipeline.config import load_config
from tests.tables import open_frames

ROOT = Path(__file__).resolve().parents[2]
# Monthly cutoffs over the sample's history, and a run of weekly ones: cutoffs a week apart
# put their windows' edges on every bit position of the rollup's words.
SAMPLE_CUTOFFS = [
    *pd.date_range("2024-03-01", "2026-10-01", freq="MS"),
    *pd.date_range("2025-01-03", "2025-04-01", freq="7D"),
]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    config = load_config(ROOT / "churn.toml")
    paths, _ = ingest_exports(config.exports, tmp_path_factory.mktemp("cache"), None)
    tables = open_tables(paths)
    return tables, resolve_spec(tables, config.features, config.exports.profile)


def test_the_sample_over_many_cutoffs_has_the_same_features_on_both_plans(sample):
    tables, spec = sample
    planned = plan_rollups(tables, Cutoffs.of(SAMPLE_CUTOFFS), spec)
    assert set(planned) == {"engagement"}  # else this compares the direct plan with itself
    direct = to_frame(build_features(tables, SAMPLE_CUTOFFS, spec, rollups={}))
    rolled = to_frame(build_features(tables, SAMPLE_CUTOFFS, spec))
    assert len(direct) > 50_000
    pd.testing.assert_frame_equal(rolled, direct)


def test_batches_reading_one_computed_rollup_give_the_one_query_features(sample):
    tables, spec = sample
    cutoffs = SAMPLE_CUTOFFS[-12:]
    whole = to_frame(build_features(tables, cutoffs, spec, rollups={}))
    queries = feature_queries(tables, cutoffs, spec, customers=5_000, max_pairs=20_000)
    assert len(queries) == 3
    batched = to_frame([query for _, query in queries])
    pd.testing.assert_frame_equal(batched, whole)


SPEC = FeatureSpec(FeatureSettings(), ("login",), ProfileColumns((), ()))
CUTOFFS = [dt.datetime(2024, 6, 1), dt.datetime(2024, 7, 1), dt.datetime(2024, 9, 1)]
US = dt.timedelta(microseconds=1)


def _edge_events() -> list[dict]:
    """Events on the edges the rollup's days must respect: at each cutoff and later the
    same day (never read for it), exactly 90 days before (read) and a microsecond earlier
    (not read), and a week of daily events across the rollup's 63-day word edges."""
    events = []
    for cutoff in CUTOFFS:
        for at in (cutoff, cutoff + dt.timedelta(hours=5), cutoff - dt.timedelta(days=90)):
            events.append({"customer_id": "a", "timestamp": at, "event_type": "login"})
        edge = cutoff - dt.timedelta(days=90) - US
        events.append({"customer_id": "b", "timestamp": edge, "event_type": "login"})
    start = CUTOFFS[0] - dt.timedelta(days=90)
    for day in range(0, 190, 3):
        at = start + dt.timedelta(days=day, hours=day % 24)
        events.append({"customer_id": "c", "timestamp": at, "event_type": "x"})
    return events


def test_rows_on_day_and_window_edges_count_alike_on_both_plans(tmp_path):
    customers = [{"customer_id": c, "signup_at": "2023-01-01", "churned_at": None} for c in "abcd"]
    frames = {
        "customers": customers,
        "engagement": _edge_events(),
        "purchases": [
            {
                "customer_id": "a",
                "timestamp": "2024-05-01",
                "amount": 1.0,
                "discount": 0.0,
                "status": "paid",
                "kind": "addon",
            }
        ],
    }
    tables = open_frames(tmp_path, frames)
    spec = FeatureSpec(
        FeatureSettings(), ("login",), ProfileColumns((), ()), tables=("engagement", "purchases")
    )
    assert plan_rollups(tables, Cutoffs.of(CUTOFFS), spec)
    direct = to_frame(build_features(tables, CUTOFFS, spec, rollups={}))
    rolled = to_frame(build_features(tables, CUTOFFS, spec))
    pd.testing.assert_frame_equal(rolled, direct)
    for customer in "abc":  # and both count the days of the rows in [cutoff - 90 days, cutoff)
        stamps = [e["timestamp"] for e in _edge_events() if e["customer_id"] == customer]
        expected = [
            len({s.date() for s in stamps if c - dt.timedelta(days=90) <= s < c}) for c in CUTOFFS
        ]
        assert rolled[rolled.customer_id == customer].active_days_90d.tolist() == expected


@pytest.mark.parametrize(
    "cutoffs",
    [
        [dt.datetime(2024, 6, 1)],  # one cutoff: its rows are read once either way
        [dt.datetime(2024, 6, 1), dt.datetime(2024, 7, 1, 12, 30)],  # edges inside a day
    ],
    ids=["one cutoff", "a cutoff not at midnight"],
)
def test_the_direct_plan_is_kept_where_a_rollup_does_not_pay_or_is_not_exact(tmp_path, cutoffs):
    frames = {"customers": [{"customer_id": "a", "signup_at": "2023-01-01"}]}
    tables = open_frames(tmp_path, {**frames, "engagement": _edge_events()})
    assert plan_rollups(tables, Cutoffs.of(cutoffs), SPEC) == {}
