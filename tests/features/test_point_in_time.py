"""Point-in-time correctness: nothing at or after a cutoff may change that cutoff's features."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_features, to_frame
from features.exports.contract import ProfileColumns
from features.spec import FeatureSettings, FeatureSpec
from tests.tables import open_frames

CUTOFF = pd.Timestamp("2024-06-01")
SPEC = FeatureSpec(
    FeatureSettings(), ("login", "export", "report"), ProfileColumns(("plan",), ("seats",))
)
IDS = [f"c{i}" for i in range(12)]
_counter = itertools.count()


def base_history(seed: int = 3) -> dict[str, pd.DataFrame]:
    """A random history before (and a little after) the cutoff."""
    rng = np.random.default_rng(seed)
    start = CUTOFF - pd.Timedelta(days=400)

    def stamps(n: int) -> pd.Series:
        return start + pd.to_timedelta(rng.uniform(0, 400, n), unit="D").round("s")

    customers = pd.DataFrame(
        {
            "customer_id": IDS,
            "signup_at": stamps(len(IDS)) - pd.Timedelta(days=100),
            "churned_at": [None] * len(IDS),
            "plan": rng.choice(["basic", "pro"], len(IDS)),
            "seats": rng.integers(1, 10, len(IDS)).astype(float),
        }
    )
    n = 300
    engagement = pd.DataFrame(
        {
            "customer_id": rng.choice(IDS, n),
            "timestamp": stamps(n),
            "event_type": rng.choice(["login", "export", "report"], n),
            "value": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 30, n)),
        }
    )
    opened = stamps(30)
    support = pd.DataFrame(
        {
            "customer_id": rng.choice(IDS, 30),
            "opened_at": opened,
            "resolved_at": [
                o + pd.Timedelta(hours=float(h)) if r else None
                for o, h, r in zip(
                    opened, rng.uniform(1, 900, 30), rng.random(30) < 0.8, strict=True
                )
            ],
            "priority": rng.choice(["low", "high", "urgent"], 30),
            "satisfaction": rng.integers(1, 6, 30).astype(float),
        }
    )
    purchases = pd.DataFrame(
        {
            "customer_id": rng.choice(IDS, 60),
            "timestamp": stamps(60),
            "amount": rng.uniform(5, 100, 60).round(2),
            "discount": rng.uniform(0, 5, 60).round(2),
            "status": rng.choice(["paid", "paid", "failed", "refunded"], 60),
            "kind": rng.choice(["subscription", "addon"], 60),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": rng.choice(IDS, 15),
            "answered_at": stamps(15),
            "nps": rng.integers(0, 11, 15).astype(float),
        }
    )
    return {
        "customers": customers,
        "engagement": engagement,
        "support": support,
        "purchases": purchases,
        "surveys": surveys,
    }


def features_at_cutoff(tmp_path, frames) -> pd.DataFrame:
    tables = open_frames(tmp_path / f"h{next(_counter)}", frames)
    return to_frame(build_features(tables, [CUTOFF], SPEC))


later = st.floats(min_value=0, max_value=200).map(
    lambda d: CUTOFF + pd.Timedelta(days=d).round("s")
)
customer = st.sampled_from(IDS + ["new1", "new2"])

future_rows = st.fixed_dictionaries(
    {
        "engagement": st.lists(
            st.tuples(
                customer, later, st.sampled_from(["login", "export", "api"]), st.floats(0, 50)
            ),
            max_size=8,
        ),
        "support": st.lists(
            st.tuples(customer, later, st.sampled_from(["high", "low"]), st.integers(1, 5)),
            max_size=4,
        ),
        "purchases": st.lists(
            st.tuples(
                customer, later, st.floats(1, 900), st.sampled_from(["paid", "failed", "refunded"])
            ),
            max_size=4,
        ),
        "surveys": st.lists(st.tuples(customer, later, st.integers(0, 10)), max_size=3),
        "new_customers": st.lists(
            st.tuples(st.sampled_from(["new1", "new2"]), later),
            max_size=2,
            unique_by=lambda t: t[0],
        ),
        "cancel": st.lists(
            st.tuples(st.sampled_from(IDS), later), max_size=3, unique_by=lambda t: t[0]
        ),
        "resolve_open": st.lists(later, max_size=5),
    }
)


def with_future(base: dict[str, pd.DataFrame], rows: dict) -> dict[str, pd.DataFrame]:
    """The base history plus rows dated at or after the cutoff, and future facts about
    existing rows (a later cancellation, a later resolution of an open ticket)."""
    out = {k: v.copy() for k, v in base.items()}
    add = {
        "engagement": [
            dict(customer_id=c, timestamp=t, event_type=e, value=v)
            for c, t, e, v in rows["engagement"]
        ],
        "support": [
            dict(
                customer_id=c,
                opened_at=t,
                priority=p,
                satisfaction=s,
                resolved_at=t + pd.Timedelta(hours=5),
            )
            for c, t, p, s in rows["support"]
        ],
        "purchases": [
            dict(customer_id=c, timestamp=t, amount=a, discount=0.0, status=s, kind="addon")
            for c, t, a, s in rows["purchases"]
        ],
        "surveys": [
            dict(customer_id=c, answered_at=t, nps=float(n)) for c, t, n in rows["surveys"]
        ],
        "customers": [
            dict(customer_id=c, signup_at=t, plan="pro", seats=1.0)
            for c, t in rows["new_customers"]
        ],
    }
    for name, new in add.items():
        if new:
            out[name] = pd.concat([out[name], pd.DataFrame(new)], ignore_index=True)
    customers = out["customers"].set_index("customer_id")
    for cid, when in rows["cancel"]:
        customers.loc[cid, "churned_at"] = when
    out["customers"] = customers.reset_index()
    support = out["support"]
    still_open = support.index[support["resolved_at"].isna() & (support["opened_at"] < CUTOFF)]
    for index, when in zip(still_open, rows["resolve_open"], strict=False):
        support.loc[index, "resolved_at"] = when
    return out


BASE = base_history()


@pytest.fixture(scope="module")
def base_features(tmp_path_factory) -> pd.DataFrame:
    """The features of the history without any future row, built once for every example."""
    return features_at_cutoff(tmp_path_factory.mktemp("base"), BASE)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=future_rows)
def test_rows_at_or_after_the_cutoff_never_change_its_features(tmp_path, base_features, rows):
    after = features_at_cutoff(tmp_path, with_future(BASE, rows))
    pd.testing.assert_frame_equal(base_features, after)


def test_the_check_would_catch_a_row_just_before_the_cutoff(tmp_path, base_features):
    """The same comparison does see a change one second before the cutoff."""
    just_before = dict(BASE)
    row = {
        "customer_id": "c1",
        "timestamp": CUTOFF - pd.Timedelta(seconds=1),
        "event_type": "login",
        "value": 1.0,
    }
    just_before["engagement"] = pd.concat([BASE["engagement"], pd.DataFrame([row])])
    after = features_at_cutoff(tmp_path, just_before)
    changed = base_features.set_index("customer_id").compare(after.set_index("customer_id"))
    assert "events_7d" in changed.columns.get_level_values(0)
    assert set(changed.index) == {"c1"}
