"""Plays: the most urgent of a customer's reasons decides; the low tier gets no action."""

from __future__ import annotations

import numpy as np

from models.plays import DEFAULT_BY_TOPIC, WHY, PlaySettings, suggest_plays

TOPICS = ["usage", "payment problems", "plan", "adoption"]


def test_the_most_urgent_topic_among_the_reasons_wins_not_the_strongest_reason():
    reasons = np.array(
        [
            [0, 1, -1],  # usage strongest, then a failed payment: billing first
            [0, 3, -1],  # usage before adoption in the urgency order
            [3, -1, -1],
            [2, -1, -1],  # a topic with no play: the default
            [-1, -1, -1],  # at risk without a reason: the default
        ]
    )
    plays = suggest_plays(reasons, TOPICS, np.zeros(5, dtype=bool), PlaySettings())
    assert list(plays) == [
        "billing follow-up",
        "re-engagement campaign",
        "feature education",
        "customer-success check-in",
        "customer-success check-in",
    ]


def test_low_tier_customers_get_the_low_tier_play_whatever_their_reasons():
    reasons = np.array([[1, -1], [1, -1]])
    low = np.array([True, False])
    settings = PlaySettings(low_tier="monitor")
    assert list(suggest_plays(reasons, TOPICS, low, settings)) == ["monitor", "billing follow-up"]


def test_the_table_is_configuration():
    settings = PlaySettings({"plan": "plan review", "usage": "usage call"}, default="call")
    reasons = np.array([[0, 2], [1, -1]])
    plays = suggest_plays(reasons, TOPICS, np.zeros(2, dtype=bool), settings)
    assert list(plays) == ["plan review", "call"]  # plan comes first in this table


def test_every_default_play_is_explained():
    assert set(DEFAULT_BY_TOPIC.values()) | {"customer-success check-in", "no action"} <= set(WHY)
