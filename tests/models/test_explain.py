"""Reasons: the strongest risk-raising features per customer, at most two per family, in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.registry import render_description
from models.explain import explain, select_reasons

NAMES = ["events_7d", "events_30d", "active_days_30d", "open_tickets", "tickets_90d", "last_nps"]
FAMILIES = {
    "events_7d": "engagement",
    "events_30d": "engagement",
    "active_days_30d": "engagement",
    "open_tickets": "support",
    "tickets_90d": "support",
    # last_nps has no family: it is its own
}
TEMPLATES = {
    "events_7d": "{value:.0f} events in the last 7 days",
    "events_30d": "{value:.0f} events in the last 30 days, {events_7d:.0f} in the last 7",
    "active_days_30d": "active on {value:.0f} days ({segment})",
    "open_tickets": "{value:.0f} tickets open (of {tickets_90d:.0f})",
    "tickets_90d": "{value:.0f} tickets, {no_such_column} of them urgent",  # cannot be filled
    "last_nps": "last NPS {value:.0f} ({nps_category})",
}


def reference(contributions, values, templates, k=3, groups=None, per_group=2):
    """The plain per-row walk: strongest first, skip a family once it has `per_group`."""
    matrix = contributions.to_numpy()
    names = list(contributions.columns)
    records = values.to_dict("records")
    out = []
    for i, order in enumerate(np.argsort(-matrix, axis=1, kind="stable")):
        chosen, used = [], {}
        for j in order:
            if matrix[i, j] <= 0 or len(chosen) == k:
                break
            group = (groups or {}).get(names[j], names[j])
            if used.get(group, 0) >= per_group:
                continue
            used[group] = used.get(group, 0) + 1
            row = records[i]
            text = render_description(
                templates.get(names[j], names[j] + " = {value}"), names[j], row.get(names[j]), row
            )
            chosen.append((names[j], text))
        out.append(chosen)
    return out


def _fixture(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    # Few distinct values, so equal contributions (ties) and zeros are common.
    contributions = pd.DataFrame(
        rng.choice([-0.5, -0.1, 0.0, 0.1, 0.2, 0.5, 0.9], size=(n, len(NAMES))), columns=NAMES
    )
    values = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "events_7d": rng.integers(0, 5, n),
            "events_30d": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 40, n)),
            "active_days_30d": rng.choice([0.0, -0.0, 3.0, 12.5], n),
            "open_tickets": rng.integers(0, 3, n),
            "tickets_90d": rng.integers(0, 9, n),
            "last_nps": rng.choice([1.0, 9.0, np.nan], n),
            "nps_category": pd.Series(rng.choice(["detractor", "promoter", None], n)),
            # mixed Python types that compare equal but print differently
            "segment": pd.Series(rng.choice(np.array([1, 1.0, True, "a"], dtype=object), n)),
        }
    )
    return contributions, values


def _as_lists(reasons):
    return [
        [(reasons.names[j], reasons.texts[s][i]) for s, j in enumerate(row) if j >= 0]
        for i, row in enumerate(reasons.columns.tolist())
    ]


def test_reasons_equal_the_per_row_walk_on_random_customers():
    for seed in range(5):
        contributions, values = _fixture(seed)
        for groups in (FAMILIES, None):
            got = explain(contributions, values, TEMPLATES, k=3, groups=groups)
            assert _as_lists(got) == reference(contributions, values, TEMPLATES, 3, groups)
    texts = {t for slot in got.texts for t in slot}
    assert {"active on -0 days (1)", "active on 0 days (True)", "last NPS n/a (n/a)"} <= texts
    # a template naming a column the row does not have falls back to "name = value"
    assert any(t.startswith("tickets_90d = ") for t in texts)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 3),
    st.lists(st.lists(st.integers(-2, 3), min_size=6, max_size=6), min_size=1, max_size=30),
)
def test_selection_equals_the_per_row_walk_for_any_k_and_family_cap(k, per_group, rows):
    contributions = pd.DataFrame(np.array(rows, dtype=float) / 2, columns=NAMES)
    values = pd.DataFrame({name: np.zeros(len(rows)) for name in NAMES})
    columns, strength = select_reasons(contributions.to_numpy(), NAMES, k, FAMILIES, per_group)
    expected = reference(contributions, values, {}, k, FAMILIES, per_group)
    assert [[NAMES[j] for j in row if j >= 0] for row in columns.tolist()] == [
        [name for name, _ in row] for row in expected
    ]
    picked = np.take_along_axis(contributions.to_numpy(), np.maximum(columns, 0), axis=1)
    assert np.array_equal(np.where(columns >= 0, picked, 0.0), strength)


def test_at_most_two_reasons_come_from_one_family():
    # The three strongest are all engagement: the third reason is the best of another family.
    contributions = pd.DataFrame([[0.9, 0.8, 0.7, 0.1, 0.05, 0.0]], columns=NAMES)
    values = pd.DataFrame({name: [1.0] for name in NAMES})
    reasons = explain(contributions, values, TEMPLATES, k=3, groups=FAMILIES)
    assert reasons.features() == [["events_7d", "events_30d", "open_tickets"]]
    assert reasons.features() != explain(contributions, values, TEMPLATES, k=3).features()


def test_only_risk_raising_features_are_reasons_and_texts_fill_in():
    contributions = pd.DataFrame([[0.0, -0.3, 0.0, 0.4, 0.2, 0.0]], columns=NAMES)
    values = pd.DataFrame(
        {
            "events_7d": [2],
            "events_30d": [5.0],
            "active_days_30d": [1.0],
            "open_tickets": [2],
            "tickets_90d": [7],
            "last_nps": [np.nan],
        }
    )
    reasons = explain(contributions, values, TEMPLATES, k=3, groups=FAMILIES)
    assert reasons.features() == [["open_tickets", "tickets_90d"]]
    assert [t[0] for t in reasons.texts] == ["2 tickets open (of 7)", "tickets_90d = 7", ""]
    assert reasons.contributions.tolist() == [[0.4, 0.2, 0.0]]
