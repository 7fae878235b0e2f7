"""Suggested retention plays: transparent rules over a customer's reasons and segment.

The first rule that matches wins, so the order below is the priority order. Each rule reads
only feature values and the names of the customer's top reasons; README lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Play:
    """A named retention action and when it applies."""

    name: str
    applies: Callable[[dict[str, Any], set[str], bool], bool]
    why: str


def _num(row: dict[str, Any], name: str, default: float = 0.0) -> float:
    value = row.get(name)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return default if value != value else value


def _reason_in(reasons: set[str], *prefixes: str) -> bool:
    return any(r.startswith(prefixes) for r in reasons)


PLAYS: tuple[Play, ...] = (
    Play(
        "billing follow-up",
        lambda r, why, hv: _num(r, "failed_payments_30d") > 0 or _reason_in(why, "failed_payments"),
        "a recent payment failed: fix the card or invoice before it becomes a cancellation",
    ),
    Play(
        "personal call (account manager)",
        lambda r, why, hv: hv and _num(r, "open_tickets") > 0,
        "high-value customer with support tickets still open",
    ),
    Play(
        "support escalation",
        lambda r, why, hv: (
            _num(r, "open_tickets") > 0
            and _reason_in(
                why,
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
        lambda r, why, hv: _num(r, "is_new_customer") >= 1,
        "new customer: guided onboarding to reach first value",
    ),
    Play(
        "price conversation",
        lambda r, why, hv: (
            _num(r, "invoice_change") > 0.05 and _reason_in(why, "invoice_change", "last_invoice")
        ),
        "invoice went up recently: explain the value or offer a plan that fits",
    ),
    Play(
        "re-engagement campaign",
        lambda r, why, hv: (
            _reason_in(
                why, "events_", "active_days", "days_since_last_event", "activity_trend", "value_"
            )
            or _num(r, "activity_trend_30d", 1.0) < 0.7
        ),
        "usage is fading: re-engage with what they used to value",
    ),
    Play(
        "feature education",
        lambda r, why, hv: _num(r, "event_types_90d", 99) <= 2 or _reason_in(why, "event_types"),
        "uses few features: show the ones similar customers rely on",
    ),
    Play(
        "NPS follow-up",
        lambda r, why, hv: r.get("nps_category") == "detractor",
        "recent detractor: close the loop on their feedback",
    ),
    Play("customer-success check-in", lambda r, why, hv: True, "no single driver: a check-in call"),
)


def suggest_play(row: dict[str, Any], reason_features: list[str], high_value: bool) -> str:
    """The retention play for one customer: the first rule in PLAYS that applies."""
    reasons = set(reason_features)
    return next(p.name for p in PLAYS if p.applies(row, reasons, high_value))
