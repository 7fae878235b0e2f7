"""Shared fixtures: a small, valid export directory written as CSV, and its config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

CONFIG = """
[data]
dir = "exports"
as_of = "2024-06-30"

[tables.customers.profile]
categorical = ["plan"]
numeric = ["seats"]
"""


def write_valid_exports(directory: Path) -> None:
    """Five customers with a little of everything, all valid."""
    directory.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "signup_at": ["2024-01-01", "2024-01-15", "2024-02-01", "2024-03-01", "2024-04-01"],
            "churned_at": ["", "2024-05-10", "", "", ""],
            "plan": ["pro", "basic", "pro", "business", "basic"],
            "seats": [3, 1, 5, 20, 1],
        }
    ).to_csv(directory / "customers.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c4"],
            "timestamp": [
                "2024-03-01 10:00:00",
                "2024-04-02T11:00:00",
                "2024-04-01",
                "1711965600",
                "1714557600000",
            ],
            "event_type": ["login", "export", "login", "login", "report"],
            "value": ["5", "", "3.5", "1", "2"],
        }
    ).to_csv(directory / "engagement.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "opened_at": ["2024-03-05 09:00:00", "2024-04-20 09:00:00"],
            "resolved_at": ["2024-03-06 09:00:00", ""],
            "priority": ["high", "normal"],
            "channel": ["email", "chat"],
            "satisfaction": ["2", ""],
        }
    ).to_csv(directory / "support.csv", index=False)
    pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "timestamp": ["2024-03-01", "2024-04-01", "2024-04-01"],
            "amount": ["49.0", "19.0", "49.0"],
            "discount": ["0", "", "5"],
            "status": ["paid", "failed", "paid"],
            "kind": ["subscription", "subscription", "addon"],
        }
    ).to_csv(directory / "purchases.csv", index=False)
    pd.DataFrame({"customer_id": ["c1"], "answered_at": ["2024-04-15"], "nps": ["9"]}).to_csv(
        directory / "surveys.csv", index=False
    )


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """A project folder holding churn.toml and a valid `exports/` directory."""
    write_valid_exports(tmp_path / "exports")
    (tmp_path / "churn.toml").write_text(CONFIG)
    return tmp_path
