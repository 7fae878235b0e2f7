"""Adding a feature family over a new optional table takes three places: the table in the
contract (features/exports/contract.py), a module declaring the family, and one line in
features/registry.py. Here the three are made in the test (a `webinars` export of the
sessions customers attended) and everything else follows: the exports are checked and typed,
the spec knows the table, the builder reads it point in time, the catalogue words it, and
exports without it leave the family out."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features import registry
from features.build import build_features, resolve_spec, to_frame
from features.engines import open_tables
from features.exports import contract
from features.exports.contract import CUSTOMER_ID, ColumnSpec, ExportSource, TableSpec
from features.exports.ingest import ingest_exports
from features.expressions import count_where
from features.family import Family, Source, Window
from features.spec import FeatureSettings

CUTOFF = dt.datetime(2024, 4, 1)

# 1. the table in the contract
WEBINARS = TableSpec(
    "webinars",
    (CUSTOMER_ID, ColumnSpec("attended_at", "timestamp", not_null=True)),
    required=False,
    timeline="attended_at",
)


# 2. the family's module
def declarations(spec) -> list:
    w = Window(90)
    return [
        FAMILY.feature(
            "webinars_90d",
            "attended {value:n:webinar} in the last 90 days",
            window_days=w.days,
            aggregate=lambda t: count_where(w.holds(t, "attended_at")),
            history="scale",
            typical=",.0f",
        )
    ]


FAMILY = Family(
    name="webinars",
    declare=declarations,
    source=Source("webinars", lookback_days=90),
    defaults={"fill": 0, "higher_is_riskier": False},
)


@pytest.fixture
def with_webinars(monkeypatch):
    monkeypatch.setitem(contract.TABLES, "webinars", WEBINARS)  # 1
    monkeypatch.setattr(registry, "FAMILIES", (*registry.FAMILIES, FAMILY))  # 3


def _exports(folder, webinars: bool):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {"customer_id": ["a", "b"], "signup_at": ["2023-06-01", "2023-06-01"], "churned_at": ""}
    ).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame(
        {"customer_id": ["a", "b"], "timestamp": ["2024-03-01 10:00:00"] * 2, "amount": [9.0] * 2}
    ).to_csv(folder / "purchases.csv", index=False)
    if webinars:
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "b"],
                # the last one is at the cutoff: never read for it
                "attended_at": ["2024-02-01", "2024-03-20", "2024-04-01", "2023-11-01"],
            }
        ).to_csv(folder / "webinars.csv", index=False)
    return ExportSource(str(folder), {})


def test_a_family_over_a_new_optional_table_needs_three_places(tmp_path, with_webinars):
    source = _exports(tmp_path / "exports", webinars=True)
    paths, report = ingest_exports(source, tmp_path / "cache", CUTOFF.date())
    assert "webinars" in report.tables and report.tables["webinars"].rows == 4
    tables = open_tables(paths)
    spec = resolve_spec(tables, FeatureSettings(), contract.ProfileColumns())
    assert spec.has("webinars")
    got = to_frame(build_features(tables, [CUTOFF], spec)).set_index("customer_id")
    assert got.loc["a", "webinars_90d"] == 2 and got.loc["b", "webinars_90d"] == 0
    feature = next(f for f in registry.feature_catalogue(spec) if f.name == "webinars_90d")
    assert feature.text(2, typical=1) == (
        "attended 2 webinars in the last 90 days (typical customer: 1)"
    )
    assert registry.reason_topics(spec)["webinars_90d"] == "webinars"


def test_exports_without_the_new_table_leave_its_family_out(tmp_path, with_webinars):
    source = _exports(tmp_path / "exports", webinars=False)
    paths, _ = ingest_exports(source, tmp_path / "cache", CUTOFF.date())
    tables = open_tables(paths)
    spec = resolve_spec(tables, FeatureSettings(), contract.ProfileColumns())
    assert not spec.has("webinars")
    got = to_frame(build_features(tables, [CUTOFF], spec))
    assert "webinars_90d" not in got.columns and "orders_90d" in got.columns
