"""Suggested retention plays: transparent rules over a customer's reasons and segment.

The first rule that matches wins, so the order below is the priority order. Each rule reads
only feature values and the names of the customer's top reasons; README lists them. Rules are
evaluated for all customers at once (one boolean per customer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


class Customers:
    """What the rules read, for many customers at once: feature values, the names of each
    customer's top reasons, and whether each is high-value."""

    def __init__(
        self,
        frame: pd.DataFrame,
        reason_columns: np.ndarray,
        reason_names: list[str],
        high_value: np.ndarray,
    ):
        self.frame = frame
        self.reason_columns = reason_columns  # customers x k positions in reason_names, -1: none
        self.reason_names = reason_names
        self.high_value = np.asarray(high_value, dtype=bool)

    def num(self, name: str, default: float = 0.0) -> np.ndarray:
        """A feature as numbers; `default` where it is missing, not a number, or absent."""
        if name not in self.frame.columns:
            return np.full(len(self.frame), default)
        values = pd.to_numeric(self.frame[name], errors="coerce").astype(float).to_numpy()
        return np.where(np.isnan(values), default, values)

    def equals(self, name: str, value: Any) -> np.ndarray:
        """Whether a feature equals `value` (False where missing or absent)."""
        if name not in self.frame.columns:
            return np.zeros(len(self.frame), dtype=bool)
        return (self.frame[name] == value).fillna(False).to_numpy(dtype=bool)

    def reason(self, *prefixes: str) -> np.ndarray:
        """Whether any of the customer's reasons starts with one of `prefixes`."""
        hits = np.array([n.startswith(prefixes) for n in self.reason_names] + [False])
        return hits[self.reason_columns].any(axis=1)  # -1 looks up the trailing False


@dataclass(frozen=True)
class Play:
    """A named retention action and when it applies."""

    name: str
    applies: Callable[[Customers], np.ndarray]
    why: str


PLAYS: tuple[Play, ...] = (
    Play(
        "billing follow-up",
        lambda c: (c.num("failed_payments_30d") > 0) | c.reason("failed_payments"),
        "a recent payment failed: fix the card or invoice before it becomes a cancellation",
    ),
    Play(
        "personal call (account manager)",
        lambda c: c.high_value & (c.num("open_tickets") > 0),
        "high-value customer with support tickets still open",
    ),
    Play(
        "support escalation",
        lambda c: (
            (c.num("open_tickets") > 0)
            & c.reason(
                "open_tickets",
                "oldest_open",
                "resolution",
                "tickets",
                "satisfaction",
                "last_satisfaction",
                "high_priority",
            )
        ),
        "support problems drive the risk: resolve open tickets and follow up",
    ),
    Play(
        "onboarding help",
        lambda c: c.num("is_new_customer") >= 1,
        "new customer: guided onboarding to reach first value",
    ),
    Play(
        "price conversation",
        lambda c: (c.num("invoice_change") > 0.05) & c.reason("invoice_change", "last_invoice"),
        "invoice went up recently: explain the value or offer a plan that fits",
    ),
    Play(
        "re-engagement campaign",
        lambda c: (
            c.reason("events_", "active_days", "days_since_last_event", "activity_trend", "value_")
            | (c.num("activity_trend_30d", 1.0) < 0.7)
        ),
        "usage is fading: re-engage with what they used to value",
    ),
    Play(
        "feature education",
        lambda c: (c.num("event_types_90d", 99) <= 2) | c.reason("event_types"),
        "uses few features: show the ones similar customers rely on",
    ),
    Play(
        "NPS follow-up",
        lambda c: c.equals("nps_category", "detractor"),
        "recent detractor: close the loop on their feedback",
    ),
    Play(
        "customer-success check-in",
        lambda c: np.ones(len(c.frame), dtype=bool),
        "no single driver: a check-in call",
    ),
)


def suggest_plays(customers: Customers) -> np.ndarray:
    """The retention play per customer: the first rule in PLAYS that applies."""
    return np.select(
        [np.asarray(p.applies(customers), dtype=bool) for p in PLAYS],
        [p.name for p in PLAYS],
        default=PLAYS[-1].name,
    ).astype(object)


def suggest_play(row: dict[str, Any], reason_features: list[str], high_value: bool) -> str:
    """The retention play for one customer (a dict of feature values)."""
    names = list(dict.fromkeys(reason_features))
    customers = Customers(
        pd.DataFrame([row]),
        np.array([[names.index(n) for n in reason_features]], dtype=np.int64).reshape(1, -1),
        names,
        np.array([high_value]),
    )
    return str(suggest_plays(customers)[0])
