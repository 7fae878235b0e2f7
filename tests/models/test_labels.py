"""Churn labels for both definitions, at the edges of the horizon and of the data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from features.build import cutoff_table
from features.errors import ConfigError
from models.labels import ChurnDefinition, eligible_customers, label_churn
from tests.tables import open_frames

CUTOFF = dt.datetime(2024, 3, 1)
END = dt.datetime(2024, 6, 1)


def _labels(tables, definition, cutoffs=(CUTOFF,), end=END) -> dict[str, int]:
    frame = label_churn(tables, cutoff_table(list(cutoffs)), definition, end).execute()
    return dict(zip(frame["customer_id"], frame["churned"].astype(int), strict=True))


@pytest.fixture
def contract_tables(tmp_path):
    day = pd.Timedelta(days=1)
    c = pd.Timestamp(CUTOFF)
    return open_frames(
        tmp_path,
        {
            "customers": [
                {"customer_id": "stays", "signup_at": "2023-01-01"},
                {
                    "customer_id": "last_day_in",
                    "signup_at": "2023-01-01",
                    "churned_at": c + 29 * day,
                },
                {
                    "customer_id": "first_day_out",
                    "signup_at": "2023-01-01",
                    "churned_at": c + 30 * day,
                },
                {"customer_id": "on_cutoff", "signup_at": "2023-01-01", "churned_at": c},
                {"customer_id": "before", "signup_at": "2023-01-01", "churned_at": c - day},
                {"customer_id": "new", "signup_at": c - 3 * day},
                {"customer_id": "future", "signup_at": c},
                {"customer_id": "in_lead", "signup_at": "2023-01-01", "churned_at": c + 5 * day},
            ],
            "engagement": [],
            "purchases": [],
        },
    )


def test_contractual_horizon_edges(contract_tables):
    labels = _labels(contract_tables, ChurnDefinition("contractual", horizon_days=30))
    assert labels == {
        "stays": 0,
        "last_day_in": 1,
        "first_day_out": 0,
        "on_cutoff": 1,
        "new": 0,
        "in_lead": 1,
    }


def test_lead_time_moves_the_window_and_drops_customers_gone_during_it(contract_tables):
    labels = _labels(contract_tables, ChurnDefinition("contractual", horizon_days=30, lead_days=7))
    # window [03-08, 04-07): in_lead (03-06) and on_cutoff left before anyone could act
    assert labels == {"stays": 0, "last_day_in": 1, "first_day_out": 1, "new": 0}


def test_minimum_tenure(contract_tables):
    labels = _labels(contract_tables, ChurnDefinition("contractual", min_tenure_days=7))
    assert "new" not in labels and "stays" in labels


def test_censored_at_the_end_of_the_data(contract_tables):
    definition = ChurnDefinition("contractual", horizon_days=30)
    exact = CUTOFF + dt.timedelta(days=30)
    assert _labels(contract_tables, definition, end=exact)  # window ends exactly at the end
    assert _labels(contract_tables, definition, end=exact - dt.timedelta(seconds=1)) == {}


def test_later_cutoffs_are_censored_while_earlier_ones_are_labelled(contract_tables):
    definition = ChurnDefinition("contractual", horizon_days=30)
    cutoffs = [CUTOFF, dt.datetime(2024, 5, 15)]
    frame = label_churn(contract_tables, cutoff_table(cutoffs), definition, END).execute()
    assert set(frame["cutoff"]) == {pd.Timestamp(CUTOFF)}


@pytest.fixture
def activity_tables(tmp_path):
    c = pd.Timestamp(CUTOFF)
    day = pd.Timedelta(days=1)
    events = [
        ("active", c - 3 * day),
        ("active", c + 10 * day),
        ("lapses_returns", c - 2 * day),
        ("lapses_returns", c + 25 * day),
        ("goes_quiet", c - 1 * day),
        ("goes_quiet", c + 31 * day),
        ("long_gone", c - 40 * day),
        ("buyer", c - 5 * day),
    ]
    purchases = [
        {"customer_id": "buyer", "timestamp": c + 3 * day, "amount": 10, "status": "paid"},
        {"customer_id": "goes_quiet", "timestamp": c + 3 * day, "amount": 10, "status": "failed"},
    ]
    return open_frames(
        tmp_path,
        {
            "customers": [
                {"customer_id": cid, "signup_at": "2023-01-01"}
                for cid in ("active", "lapses_returns", "goes_quiet", "long_gone", "buyer")
            ],
            "engagement": [
                {"customer_id": cid, "timestamp": ts, "event_type": "login"} for cid, ts in events
            ],
            "purchases": purchases,
        },
    )


def test_inactivity_definition(activity_tables):
    labels = _labels(activity_tables, ChurnDefinition("inactivity", horizon_days=30))
    # long_gone was already inactive for the whole horizon before the cutoff: not eligible;
    # a failed payment is not activity; a paid purchase is
    assert labels == {"active": 0, "lapses_returns": 0, "goes_quiet": 1, "buyer": 0}


def test_inactivity_sources_are_configurable(activity_tables):
    engagement_only = ChurnDefinition("inactivity", inactivity_sources=("engagement",))
    assert _labels(activity_tables, engagement_only)["buyer"] == 1


def test_eligible_population_for_scoring(activity_tables):
    frame = eligible_customers(
        activity_tables, cutoff_table([CUTOFF]), ChurnDefinition("inactivity")
    ).execute()
    assert sorted(frame["customer_id"]) == ["active", "buyer", "goes_quiet", "lapses_returns"]


def test_definition_rejects_nonsense():
    with pytest.raises(ValueError):
        ChurnDefinition("vibes")
    with pytest.raises(ValueError):
        ChurnDefinition(horizon_days=0)
    with pytest.raises(ValueError):
        ChurnDefinition("inactivity", inactivity_sources=("tickets",))


def test_inactivity_read_from_a_table_the_exports_lack_is_refused_by_name(activity_tables):
    purchases_only = {k: v for k, v in activity_tables.items() if k != "engagement"}
    definition = ChurnDefinition("inactivity")  # engagement and purchases, by default
    with pytest.raises(ConfigError) as caught:
        _labels(purchases_only, definition)
    message = str(caught.value)
    assert "[churn] inactivity_sources" in message and "no engagement table" in message
    assert "inactivity_sources = ['purchases']" in message
    only_purchases = ChurnDefinition("inactivity", inactivity_sources=("purchases",))
    # nobody paid in the 30 days before the cutoff, so nobody could lapse: no rows, no error
    assert _labels(purchases_only, only_purchases) == {}
