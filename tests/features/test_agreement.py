"""The Ibis feature builder agrees with the plain pandas reference on random data.

Each case generates a few hundred customers with random events, tickets, purchases and survey
answers (nulls in every nullable column, customers missing from some tables, orphan rows, rows
exactly at each cutoff and exactly on every window edge), writes them as Parquet, and compares
`to_frame(build_features(...))` with `bench.pandas_reference.reference_features` column by column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.pandas_reference import reference_features
from features.build import build_features, resolve_spec, to_frame
from features.engines import open_tables
from features.exports.contract import ProfileColumns
from features.spec import FeatureSettings

CUTOFFS = [dt.date(2024, 4, 1), dt.date(2024, 5, 1), dt.datetime(2024, 5, 15, 12, 30)]
STAMPS = [pd.Timestamp(c) for c in CUTOFFS]
# Every window edge used by a feature (days before the cutoff), per table.
EDGES = {
    "engagement": (7, 30, 35, 60, 90),
    "support": (30, 90, 365),
    "purchases": (30, 45, 60, 90, 365),
    "surveys": (730,),
}
EVENT_TYPES = [
    "login",
    "Page View",
    "export.csv",
    "report",
    "invite",
    "api-call",
    "search",
    "billing",
    "settings",
    "rare type",
]
US = pd.Timedelta(microseconds=1)
RTOL = ATOL = 1e-9


def _stamps(rng: np.random.Generator, n: int, start: str, end: str) -> pd.Series:
    """n random microsecond timestamps in [start, end), a fifth of them at midnight."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    span = (hi - lo) // US
    stamps = lo + pd.to_timedelta(rng.integers(0, span, n), unit="us")
    midnight = rng.random(n) < 0.2
    return pd.Series(np.where(midnight, stamps.floor("D"), stamps)).astype("datetime64[us]")


def _edge_stamps(table: str) -> list[pd.Timestamp]:
    """Stamps exactly at each cutoff and on each window edge, and one microsecond either side."""
    stamps = []
    for cutoff in STAMPS:
        for days in (0, *EDGES[table]):
            edge = cutoff - pd.Timedelta(days=days)
            stamps += [edge, edge - US, edge + US]
    return stamps


def _owners(rng: np.random.Generator, ids: np.ndarray, n: int, share: float) -> np.ndarray:
    """Customer ids for n rows drawn from a random `share` of customers, plus a few orphans."""
    with_rows = rng.choice(ids, size=max(1, int(len(ids) * share)), replace=False)
    owners = rng.choice(with_rows, size=n).astype(object)
    owners[rng.random(n) < 0.01] = "orphan"
    return owners


def _maybe_null(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values = values.astype(object)
    values[rng.random(len(values)) < share] = None
    return values


def _random_exports(rng: np.random.Generator, n_customers: int) -> dict[str, pd.DataFrame]:
    ids = np.array([f"c{i:04d}" for i in rng.permutation(n_customers)])
    signup = _stamps(rng, n_customers, "2022-01-01", "2024-06-01")
    churned = signup + pd.to_timedelta(rng.integers(1, 400 * 86400, n_customers), unit="s")
    churned = churned.where(rng.random(n_customers) < 0.3)
    # Sign-ups and cancellations exactly at a cutoff, and sign-ups exactly 90 days before one.
    for i, cutoff in enumerate(STAMPS):
        signup[3 * i] = cutoff
        signup[3 * i + 1] = cutoff - pd.Timedelta(days=90)
        signup[3 * i + 2] = cutoff - pd.Timedelta(days=400)
        churned[3 * i + 2] = cutoff
    plans = np.array(["basic", "pro", "enterprise"])
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_at": signup,
            "churned_at": churned.astype("datetime64[us]"),
            "plan": _maybe_null(rng, rng.choice(plans, n_customers), 0.1),
            "seats": np.where(
                rng.random(n_customers) < 0.1,
                np.nan,
                rng.integers(1, 50, n_customers).astype(float),
            ),
        }
    )

    def rows(table: str, per_customer: float, share: float, start: str) -> pd.DataFrame:
        edges = _edge_stamps(table)
        n = int(n_customers * per_customer)
        stamps = pd.concat(
            [_stamps(rng, n, start, "2024-05-20"), pd.Series(edges)], ignore_index=True
        ).astype("datetime64[us]")
        return pd.DataFrame({"customer_id": _owners(rng, ids, len(stamps), share), "ts": stamps})

    events = rows("engagement", 40, 0.8, "2023-12-15")
    n = len(events)
    weights = 0.6 ** np.arange(len(EVENT_TYPES))
    events = pd.DataFrame(
        {
            "customer_id": events["customer_id"],
            "timestamp": events["ts"],
            "event_type": rng.choice(EVENT_TYPES, n, p=weights / weights.sum()),
            "value": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(10, n).round(2)),
        }
    )

    tickets = rows("support", 2, 0.6, "2023-03-01")
    n = len(tickets)
    resolved = tickets["ts"] + pd.to_timedelta(rng.exponential(48 * 3600e6, n).astype(int), "us")
    resolved = resolved.where(rng.random(n) > 0.25)
    # Some tickets resolved exactly at a cutoff: still open at that cutoff.
    at_cutoff = rng.random(n) < 0.03
    resolved[at_cutoff] = rng.choice(np.array(STAMPS, dtype="datetime64[us]"), at_cutoff.sum())
    resolved[at_cutoff & (resolved <= tickets["ts"])] = pd.NaT
    support = pd.DataFrame(
        {
            "customer_id": tickets["customer_id"],
            "opened_at": tickets["ts"],
            "resolved_at": resolved.astype("datetime64[us]"),
            "priority": _maybe_null(rng, rng.choice(["low", "normal", "high", "urgent"], n), 0.15),
            "channel": _maybe_null(rng, rng.choice(["email", "chat", "phone"], n), 0.2),
            "satisfaction": np.where(rng.random(n) < 0.4, np.nan, rng.integers(1, 6, n)),
        }
    )
    # The latest rated resolution is a feature: keep resolution times distinct per customer.
    clash = support["resolved_at"].notna() & support.duplicated(["customer_id", "resolved_at"])
    support = support.loc[~clash]

    bought = rows("purchases", 5, 0.7, "2023-03-01")
    n = len(bought)
    kinds = ["subscription", "invoice", "renewal", "addon", "add-on", "one_off"]
    purchases = pd.DataFrame(
        {
            "customer_id": bought["customer_id"],
            "timestamp": bought["ts"],
            "amount": np.where(rng.random(n) < 0.05, 0.0, rng.gamma(2, 40, n).round(2)),
            "discount": np.where(
                rng.random(n) < 0.3,
                np.nan,
                np.where(rng.random(n) < 0.5, 0.0, rng.gamma(1, 5, n).round(2)),
            ),
            "status": _maybe_null(
                rng, rng.choice(["paid", "failed", "refunded"], n, p=[0.75, 0.15, 0.1]), 0.05
            ),
            "kind": _maybe_null(rng, rng.choice(kinds, n), 0.1),
        }
    )
    purchases = purchases.drop_duplicates(["customer_id", "timestamp"])  # latest invoice

    answers = rows("surveys", 0.8, 0.5, "2022-03-01")
    surveys = pd.DataFrame(
        {
            "customer_id": answers["customer_id"],
            "answered_at": answers["ts"],
            "nps": rng.integers(0, 11, len(answers)).astype(float),
        }
    ).drop_duplicates(["customer_id", "answered_at"])  # latest answer is a feature

    return {
        "customers": customers,
        "engagement": events,
        "support": support,
        "purchases": purchases,
        "surveys": surveys,
    }


def _disagreements(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    """One line per column whose values differ (numbers within tolerance, nulls in place)."""
    problems = []
    for column in want.columns:
        g, w = got[column], want[column]
        g_null, w_null = g.isna().to_numpy(), w.isna().to_numpy()
        numeric = pd.api.types.is_numeric_dtype(g) and pd.api.types.is_numeric_dtype(w)
        if numeric:
            gv, wv = g.to_numpy(dtype=float), w.to_numpy(dtype=float)
            close = np.isclose(gv, wv, rtol=RTOL, atol=ATOL) | (g_null & w_null)
            bad = ~close | (g_null != w_null)
        elif pd.api.types.is_datetime64_any_dtype(w):
            bad = (g.to_numpy() != w.to_numpy()) & ~(g_null & w_null)
        else:
            same = g.astype(object).to_numpy() == w.astype(object).to_numpy()
            bad = (g_null != w_null) | (~same & ~(g_null & w_null))
        if bad.any():
            rows = np.flatnonzero(bad)
            i = rows[0]
            problems.append(
                f"{column}: {len(rows)} rows differ, e.g. {got.customer_id[i]} at "
                f"{got.cutoff[i]}: builder {g.iloc[i]!r}, reference {w.iloc[i]!r}"
            )
    return problems


@pytest.mark.parametrize(
    ("seed", "settings", "with_surveys"),
    [
        (1, FeatureSettings(), True),
        (2, FeatureSettings(), True),
        (3, FeatureSettings(top_event_types=3, new_customer_days=30), True),
        (4, FeatureSettings(), False),
    ],
)
def test_builder_matches_pandas_reference(tmp_path: Path, seed, settings, with_surveys):
    rng = np.random.default_rng(seed)
    exports = _random_exports(rng, n_customers=300)
    if not with_surveys:
        del exports["surveys"]
    paths = {}
    for name, frame in exports.items():
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    tables = open_tables(paths)
    spec = resolve_spec(tables, settings, ProfileColumns(("plan",), ("seats",)))

    got = to_frame(build_features(tables, CUTOFFS, spec))
    frames = {name: pd.read_parquet(path) for name, path in paths.items()}
    want = reference_features(frames, CUTOFFS, spec)

    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 300
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert (got["cutoff"] == want["cutoff"]).all()
    assert not _disagreements(got, want), "\n".join(_disagreements(got, want))
    # The data really exercises the features: counts, gaps and every null kind occur.
    assert (want["events_7d"] > 0).any() and (want["events_90d"] == 0).any()
    assert want["last_invoice_amount"].notna().any() and want["open_tickets"].gt(0).any()
    assert want["days_since_last_ticket"].isna().any()
    # ... and so does the trajectory: rising and falling weeks and months, cadences, paces
    for column in ("active_days_decline_12w", "orders_decline_12m"):
        assert (want[column] > 0).any() and (want[column] < 0).any(), column
    for column in ("order_overdue_365d", "ticket_pace_90d", "value_per_event_90d"):
        assert want[column].notna().any() and want[column].isna().any(), column
