"""Suggested retention plays: what the team does about the reasons that put a customer at risk.

One table maps a reason's topic ("payment problems", "usage", ...) to a play, in order of
urgency: a customer gets the play of the first topic in the table among their reasons (a failed
payment is fixed before usage is revived, even when falling usage is the stronger reason).
Low-risk customers get `low_tier` ("no action" by default): a play for everyone is a play for
no one. At-risk customers whose reasons map to no play get `default`. The table is
configuration (`[plays]`), with the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

DEFAULT_BY_TOPIC: dict[str, str] = {  # in order of urgency
    "payment problems": "billing follow-up",
    "open tickets": "support escalation",
    "price change": "price conversation",
    "support experience": "support follow-up",
    "nps": "NPS follow-up",
    "tenure": "onboarding help",
    "usage": "re-engagement campaign",
    "adoption": "feature education",
    "ticket volume": "support follow-up",
    "spend": "account review",
}

WHY: dict[str, str] = {
    "billing follow-up": "a payment failed: fix the card or invoice before it becomes a "
    "cancellation",
    "support escalation": "tickets still open: resolve them and follow up",
    "support follow-up": "slow, frequent or poorly rated support: call to put it right",
    "price conversation": "the invoice went up: explain the value or offer a plan that fits",
    "re-engagement campaign": "usage is falling: re-engage with what they used to value",
    "feature education": "uses few features: show the ones similar customers rely on",
    "onboarding help": "new customer: guided onboarding to reach first value",
    "NPS follow-up": "recent detractor: close the loop on their feedback",
    "account review": "buying less than before: review the account and its needs",
    "customer-success check-in": "at risk without a single driver: a check-in call",
    "no action": "low risk: nothing to do beyond the usual",
}
"""What each default play means, for the docs and the list's column guide."""


@dataclass(frozen=True)
class PlaySettings:
    """The topic -> play table, the play for at-risk customers none of whose reasons has
    one, and the play for the low tier."""

    by_topic: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_BY_TOPIC))
    default: str = "customer-success check-in"
    low_tier: str = "no action"


def suggest_plays(
    reason_columns: np.ndarray,
    topics: list[str],
    low_tier: np.ndarray,
    settings: PlaySettings,
) -> np.ndarray:
    """The play per customer. `reason_columns` is customers x reasons, each a position in
    `topics` (the topic of every feature), -1 where there is none; `low_tier` marks the
    customers who get `settings.low_tier`."""
    order = list(settings.by_topic)
    plays = [*settings.by_topic.values(), settings.default]
    # each feature's urgency (its topic's place in the table; unmapped last), looked up by
    # fancy indexing: no per-customer Python loop
    urgency = np.array([order.index(t) if t in order else len(order) for t in topics])
    urgency = np.append(urgency, len(order))  # position -1: no reason
    first = urgency[reason_columns].min(axis=1, initial=len(order))
    play = np.asarray(plays, dtype=object)[first]
    return np.where(np.asarray(low_tier, dtype=bool), settings.low_tier, play).astype(object)
