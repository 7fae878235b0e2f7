"""Tests for the seeded subscription-history simulator."""

from __future__ import annotations

import datetime
import gzip
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from simulator import simulate_history, write_history
from simulator.mechanism import HAZARD_TERMS, Hazard

END = datetime.date(2026, 11, 1)
SMALL = {"customers": 600, "months": 12, "end": END}

EXPECTED_COLUMNS = {
    "customers": [
        "customer_id",
        "signup_at",
        "churned_at",
        "plan",
        "country",
        "acquisition_channel",
        "seats",
        "monthly_fee",
        "loyalty_member",
    ],
    "engagement": ["customer_id", "timestamp", "event_type", "value"],
    "support": [
        "customer_id",
        "ticket_id",
        "opened_at",
        "resolved_at",
        "priority",
        "channel",
        "satisfaction",
    ],
    "purchases": ["customer_id", "order_id", "timestamp", "amount", "discount", "status", "kind"],
    "surveys": ["customer_id", "answered_at", "nps"],
    "truth": ["customer_id", "month_start", "churn_probability"],
    "truth_terms": ["customer_id", "month_start", *HAZARD_TERMS],
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return simulate_history(seed=7, **SMALL)


@pytest.fixture(scope="module")
def labelled(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Truth rows with the realised outcome: cancelled within the calendar month."""
    truth = tables["truth"].merge(
        tables["customers"][["customer_id", "signup_at", "churned_at"]], on="customer_id"
    )
    next_start = truth["month_start"] + pd.DateOffset(months=1)
    churned = truth["churned_at"].notna()
    truth["churned"] = (
        churned & (truth["churned_at"] >= truth["month_start"]) & (truth["churned_at"] < next_start)
    )
    return truth


def test_tables_have_contract_columns(tables: dict[str, pd.DataFrame]) -> None:
    assert set(tables) == set(EXPECTED_COLUMNS)
    for name, columns in EXPECTED_COLUMNS.items():
        assert list(tables[name].columns) == columns, name
        assert len(tables[name]) > 0, name


def test_customer_attributes(tables: dict[str, pd.DataFrame]) -> None:
    customers = tables["customers"]
    assert len(customers) == SMALL["customers"]
    assert customers["customer_id"].is_unique
    assert customers["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert set(customers["plan"]) == {"basic", "pro", "business"}
    assert set(customers["acquisition_channel"]) == {
        "organic",
        "paid_search",
        "referral",
        "partner",
        "sales",
    }
    assert 3 <= customers["country"].nunique() <= 10
    assert (customers["seats"] >= 1).all()
    assert (customers["monthly_fee"] > 0).all()
    assert set(customers["loyalty_member"]) == {0, 1}
    window_start = pd.Timestamp(END) - pd.DateOffset(months=SMALL["months"])
    before = customers["signup_at"] < window_start
    assert 0.3 < before.mean() < 0.7
    assert customers["signup_at"].min() >= window_start - pd.Timedelta(days=731)
    churned = customers.dropna(subset=["churned_at"])
    assert (churned["churned_at"] > churned["signup_at"]).all()


def test_event_types_and_values(tables: dict[str, pd.DataFrame]) -> None:
    events = tables["engagement"]
    counts = events["event_type"].astype(str).value_counts()
    assert len(counts) == 8
    assert counts.max() > 10 * counts.min()
    has_value = events["event_type"].astype(str).isin(["login", "page_view"])
    assert events.loc[has_value, "value"].notna().all()
    assert (events.loc[has_value, "value"] >= 0).all()
    assert events.loc[~has_value, "value"].isna().all()
    breadth = events.groupby("customer_id", observed=True)["event_type"].nunique()
    assert breadth.min() <= 4 and breadth.max() >= 7


def test_support_and_purchase_semantics(tables: dict[str, pd.DataFrame]) -> None:
    support = tables["support"]
    assert support["ticket_id"].is_unique
    assert set(support["priority"]) <= {"low", "normal", "high", "urgent"}
    assert set(support["channel"]) <= {"email", "chat", "phone"}
    resolved = support["resolved_at"].notna()
    assert (support.loc[resolved, "resolved_at"] > support.loc[resolved, "opened_at"]).all()
    assert support.loc[~resolved, "satisfaction"].isna().all()
    rated = support["satisfaction"].dropna()
    assert rated.between(1, 5).all() and 0.2 < len(rated) / resolved.sum() < 0.8

    purchases = tables["purchases"]
    assert purchases["order_id"].is_unique
    assert (purchases["amount"] > 0).all() and (purchases["discount"] >= 0).all()
    assert set(purchases["status"]) == {"paid", "failed", "refunded"}
    assert set(purchases["kind"]) == {"subscription", "addon"}
    assert 0.01 < (purchases["status"] == "failed").mean() < 0.12

    nps = tables["surveys"]["nps"]
    assert nps.between(0, 10).all() and nps.nunique() >= 6


def test_price_rise_reaches_invoices_and_fees(tables: dict[str, pd.DataFrame]) -> None:
    customers = tables["customers"]
    invoices = (
        tables["purchases"]
        .query("kind == 'subscription'")
        .merge(customers[["customer_id", "plan", "seats"]], on="customer_id")
    )
    per_seat = ((invoices["amount"] + invoices["discount"]) / invoices["seats"]).round(2)
    pro = invoices["plan"] == "pro"
    assert set(per_seat[~pro & (invoices["plan"] == "basic")]) == {12.0}
    assert set(per_seat[pro]) == {39.0, 46.8}
    first_new_price = invoices.loc[pro & (per_seat == 46.8), "timestamp"].min()
    last_old_price = invoices.loc[pro & (per_seat == 39.0), "timestamp"].max()
    assert last_old_price < first_new_price
    active_pro = customers[(customers["plan"] == "pro") & customers["churned_at"].isna()]
    assert np.allclose(active_pro["monthly_fee"], 46.8 * active_pro["seats"])


def test_same_seed_same_tables_and_other_seed_differs(tables: dict[str, pd.DataFrame]) -> None:
    again = simulate_history(seed=7, **SMALL)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[name])
    other = simulate_history(seed=8, **SMALL)
    assert not tables["customers"].equals(other["customers"])
    assert not tables["truth"]["churn_probability"].equals(other["truth"]["churn_probability"])


def test_nothing_at_or_after_end(tables: dict[str, pd.DataFrame]) -> None:
    end = pd.Timestamp(END)
    for name, frame in tables.items():
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                assert (frame[column].dropna() < end).all(), (name, column)


def test_no_activity_outside_customer_lifetime(tables: dict[str, pd.DataFrame]) -> None:
    life = tables["customers"].set_index("customer_id")[["signup_at", "churned_at"]]
    far = pd.Timestamp("2100-01-01")
    for name, column in [
        ("engagement", "timestamp"),
        ("purchases", "timestamp"),
        ("surveys", "answered_at"),
        ("support", "opened_at"),
    ]:
        frame = tables[name]
        ids = frame["customer_id"].astype(str)
        signup = life["signup_at"].reindex(ids).to_numpy()
        churn = life["churned_at"].fillna(far).reindex(ids).to_numpy()
        stamps = frame[column].to_numpy()
        assert (stamps >= signup).all(), name
        assert (stamps < churn).all(), name


def test_monthly_churn_rate_is_plausible(labelled: pd.DataFrame) -> None:
    rate = labelled.groupby("month_start")["churned"].mean()
    assert len(rate) == SMALL["months"]
    assert 0.02 <= rate.mean() <= 0.06
    assert rate.min() >= 0.005 and rate.max() <= 0.10


def test_truth_covers_active_customers_and_ranks_churners(
    tables: dict[str, pd.DataFrame], labelled: pd.DataFrame
) -> None:
    p = labelled["churn_probability"]
    assert ((p > 0) & (p < 1)).all()
    assert not labelled.duplicated(["customer_id", "month_start"]).any()
    customers = tables["customers"]
    far = pd.Timestamp("2100-01-01")
    for month_start, rows in labelled.groupby("month_start"):
        active = customers[
            (customers["signup_at"] < month_start)
            & (customers["churned_at"].fillna(far) >= month_start)
        ]
        assert set(rows["customer_id"]) == set(active["customer_id"])
    means = labelled.groupby("churned")["churn_probability"].mean()
    assert means[True] > 1.5 * means[False]


def test_engagement_falls_before_churn(
    tables: dict[str, pd.DataFrame], labelled: pd.DataFrame
) -> None:
    events = tables["engagement"][["customer_id", "timestamp"]].copy()
    events["customer_id"] = events["customer_id"].astype(str)
    rows = labelled[
        (labelled["month_start"] >= labelled["month_start"].min() + pd.Timedelta(days=60))
        & (labelled["month_start"] - labelled["signup_at"] >= pd.Timedelta(days=60))
    ]
    counts = []
    for month_start, group in rows.groupby("month_start"):
        window = events[
            (events["timestamp"] >= month_start - pd.Timedelta(days=60))
            & (events["timestamp"] < month_start)
        ]
        per_customer = window.groupby("customer_id").size()
        counts.append(
            group.assign(events=per_customer.reindex(group["customer_id"]).fillna(0).to_numpy())
        )
    joined = pd.concat(counts)
    mean_events = joined.groupby("churned")["events"].mean()
    assert mean_events[True] < 0.8 * mean_events[False]


def test_hazard_terms_add_up_to_the_true_probability(tables: dict[str, pd.DataFrame]) -> None:
    """The written terms are the causes of the written probability: the intercept plus their
    sum, through the hazard's link, gives it back (to the terms' rounding)."""
    truth, terms = tables["truth"], tables["truth_terms"]
    assert terms[["customer_id", "month_start"]].equals(truth[["customer_id", "month_start"]])
    hazard = Hazard()
    logit = hazard.intercept + terms[list(HAZARD_TERMS)].sum(axis=1).to_numpy()
    p = hazard.base_hazard + (1 - hazard.base_hazard) / (1 + np.exp(-logit))
    assert np.abs(p - truth["churn_probability"].to_numpy()).max() < 1e-3
    # every term moves someone's risk (none is a constant column)
    assert (terms[list(HAZARD_TERMS)].std() > 0).all()
    # the price rise only ever raises risk, a loyalty membership only ever lowers it
    assert (terms["price_rise"] >= 0).all() and (terms["price_rise"] > 0).any()
    assert (terms["loyalty"] <= 0).all() and (terms["loyalty"] < 0).any()


def test_write_history_files(tables: dict[str, pd.DataFrame], tmp_path) -> None:
    out = tmp_path / "sample"
    paths = write_history(tables, out)
    assert paths["truth"] == out / "truth" / "churn_probability.csv.gz"
    assert {p.name for p in out.iterdir()} == {
        "customers.csv",
        "engagement.parquet",
        "support.csv",
        "purchases.csv.gz",
        "surveys.csv",
        "truth",
    }
    assert sorted(p.name for p in (out / "truth").iterdir()) == [
        "churn_probability.csv.gz",
        "hazard_terms.csv.gz",
    ]

    customers = pd.read_csv(out / "customers.csv", dtype=str, keep_default_na=False)
    assert list(customers.columns) == EXPECTED_COLUMNS["customers"]
    assert customers["signup_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(customers.loc[customers["churned_at"] != "", "churned_at"].str.len()) == {10}
    assert (customers["churned_at"] == "").sum() == tables["customers"]["churned_at"].isna().sum()

    support = pd.read_csv(out / "support.csv", dtype=str, keep_default_na=False)
    assert support["opened_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert set(support.loc[support["satisfaction"] != "", "satisfaction"]) <= set("12345")

    purchases = pd.read_csv(out / "purchases.csv.gz", parse_dates=["timestamp"])
    assert len(purchases) == len(tables["purchases"])

    schema = pq.read_schema(out / "engagement.parquet")
    assert pa.types.is_timestamp(schema.field("timestamp").type)
    assert pa.types.is_dictionary(schema.field("event_type").type)
    engagement = pq.read_table(out / "engagement.parquet")
    assert engagement.num_rows == len(tables["engagement"])

    with gzip.open(paths["truth"], "rt") as handle:
        truth = pd.read_csv(handle)
    assert np.array_equal(
        truth["churn_probability"].to_numpy(), tables["truth"]["churn_probability"].to_numpy()
    )


def test_written_files_are_byte_identical_for_same_seed(tmp_path) -> None:
    first = write_history(
        simulate_history(seed=11, customers=200, months=6, end=END), tmp_path / "a"
    )
    second = write_history(
        simulate_history(seed=11, customers=200, months=6, end=END), tmp_path / "b"
    )
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    assert not [p for p in (tmp_path / "a").rglob("*.tmp")]


def test_write_history_replaces_stale_plain_copy(tables: dict[str, pd.DataFrame], tmp_path) -> None:
    (tmp_path / "purchases.csv").write_text("stale\n")
    write_history(tables, tmp_path)
    assert not (tmp_path / "purchases.csv").exists()
    with pytest.raises(ValueError, match="truth"):
        write_history({k: v for k, v in tables.items() if k != "truth"}, tmp_path)


def test_csv_round_trip_keeps_customers(tables: dict[str, pd.DataFrame], tmp_path) -> None:
    write_history(tables, tmp_path)
    text = (tmp_path / "customers.csv").read_text()
    back = pd.read_csv(io.StringIO(text), parse_dates=["signup_at", "churned_at"])
    expected = tables["customers"]
    assert back["customer_id"].tolist() == expected["customer_id"].tolist()
    assert (back["signup_at"].to_numpy() == expected["signup_at"].to_numpy()).all()
    assert np.allclose(back["monthly_fee"], expected["monthly_fee"])
