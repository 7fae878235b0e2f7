"""The manifest of a list: what it is, in numbers (manifest.json beside the list)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from features.exports.freshness import TableFreshness
from models.ranking import COLUMNS, TIERS, ListSettings

PROFILE_COLUMN = (
    "profile column as the model reads it: text trimmed and lowercased (GB reads gb, a blank "
    "is empty), numbers as numbers (true/yes 1, false/no 0)"
)
"""What a configured profile column holds in the list. Text is lowercased when the exports
are typed, so that GB and gb are one value to the model; the list shows what the model used."""


@dataclass(frozen=True)
class ListFacts:
    """What the manifest says about one list besides its rows."""

    model: dict
    when: pd.Timestamp
    freshness: list[TableFreshness]
    contacts: dict
    changes: dict
    previous_as_of: pd.Timestamp | None
    drifted: tuple[dict[str, float], dict[str, float]]
    """Features beyond the PSI threshold, and apart those training never saw a whole window
    of (models/drift.py: `flagged_drift`)."""
    warnings: list[str]
    profile: list[str]
    currency: str
    settings: ListSettings | None = None
    """The list's settings: its tier thresholds and where they came from (`tier_rule`)."""


def _tables(facts: ListFacts) -> dict:
    return {
        f.table: {
            "latest": f"{f.last:%Y-%m-%d}",
            "days_before_as_of": f.days_before(facts.when),
            "usual_gap_days": f.usual_gap_days,
        }
        for f in facts.freshness
        if f.last is not None
    }


@dataclass(frozen=True)
class ListCounts:
    """A list's rows in numbers, counted by whichever engine holds them: customers, customers
    per tier and per play (most first, then by name), the revenue at risk."""

    customers: int
    tiers: dict[str, int]
    plays: dict[str, int]
    revenue_at_risk: float

    @classmethod
    def of(cls, ranked: pd.DataFrame) -> ListCounts:
        """The counts of a list held in memory."""
        tiers = ranked["risk_tier"].value_counts()
        plays = ranked["suggested_play"].value_counts()
        return cls(
            customers=len(ranked),
            tiers={t: int(tiers.get(t, 0)) for t in TIERS},
            plays=by_count({str(k): int(v) for k, v in plays.items()}),
            revenue_at_risk=float(ranked["revenue_at_risk"].sum()),
        )


def by_count(counts: dict[str, int]) -> dict[str, int]:
    """Counts most first, equal counts by name: one order whichever engine counted."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def list_manifest(facts: ListFacts, ranked: pd.DataFrame | ListCounts) -> dict:
    """The manifest as JSON-ready data: model, dates, freshness per table, counts per tier
    and play, revenue at risk, the contact set, changes, drift, warnings, the column guide."""
    counts = ListCounts.of(ranked) if isinstance(ranked, pd.DataFrame) else ranked
    latest = max(f.last for f in facts.freshness if f.last is not None)
    previous = facts.previous_as_of
    return {
        "model": facts.model,
        "as_of": f"{facts.when:%Y-%m-%d}",
        "latest_event": f"{latest:%Y-%m-%d}",
        "freshness_days": (facts.when.normalize() - latest.normalize()).days,
        "tables": _tables(facts),
        "customers": counts.customers,
        "tiers": counts.tiers,
        "tier_thresholds": (
            {"high": facts.settings.high_threshold, "medium": facts.settings.medium_threshold}
            if facts.settings
            else {}
        ),
        "tier_rule": facts.settings.tier_rule if facts.settings else "",
        "revenue_at_risk": round(counts.revenue_at_risk, 2),
        "currency": facts.currency,
        "contact": facts.contacts,
        "plays": counts.plays,
        "changes": {
            "previous_as_of": f"{previous:%Y-%m-%d}" if previous is not None else None,
            **facts.changes,
        },
        "drifted_features": {k: round(float(v), 4) for k, v in facts.drifted[0].items()},
        "drift_history_partial": {k: round(float(v), 4) for k, v in facts.drifted[1].items()},
        "warnings": facts.warnings,
        "columns": {**COLUMNS, **dict.fromkeys(facts.profile, PROFILE_COLUMN)},
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
