"""What travels with the model besides the booster: the feature set, its words and topics, the churn
definition, and the training distribution of each feature (typical values, percentiles, drift
bins, active shares, the profile groups that churn more often), read from the months whose
whole window the exports hold."""

from __future__ import annotations

import pandas as pd

from features.describe import QUANTILE_STEPS
from features.registry import feature_catalogue, reason_topics
from features.spec import FeatureSpec
from models.drift import active_shares, percentiles, reference_profile, typical_values
from models.experiment import LABEL
from models.matrix import FeatureLayout
from models.segments import segment_risks
from models.subsample import (
    WEIGHT,
)
from pipeline.config import Config


def model_metadata(
    spec: FeatureSpec,
    config: Config,
    layout: FeatureLayout,
    *,
    train_rows: pd.DataFrame,
    whole_from: dict[str, pd.Timestamp] | None = None,
) -> dict:
    """What travels with the model: feature set, descriptions, churn definition, and the
    training distribution of each feature (for drift monitoring and the typical customer
    at scoring time), read per feature from the months whose whole window the exports hold
    (`whole_from`: the first such cutoff per feature; features/coverage.py)."""
    catalogue = feature_catalogue(spec)
    numeric = [f for f in layout.features if f not in layout.categories]
    profile, typical, spread, active, partial = {}, {}, {}, {}, []
    for rows, names, whole in profile_groups(train_rows, list(layout.features), whole_from or {}):
        partial += [] if whole else names
        kept = [n for n in names if n in numeric]
        profile |= reference_profile(rows, kept, [n for n in names if n in layout.categories])
        typical |= typical_values(rows, kept)
        spread |= percentiles(rows, kept, QUANTILE_STEPS)
        active |= active_shares(rows, kept)
    return {
        "features": list(layout.features),
        "categories": {k: list(v) for k, v in layout.categories.items()},
        "descriptions": {f.name: f.describe for f in catalogue},
        "families": {f.name: f.family for f in catalogue},
        "topics": reason_topics(spec),
        "feature_spec": spec.to_dict(),
        "churn_definition": config.churn.to_dict(),
        "reference_profile": {f: profile[f] for f in layout.features if f in profile},
        "typical": typical,
        "percentiles": spread,
        "segment_risk": segment_risks(
            train_rows, list(spec.profile.categorical), list(spec.profile.numeric), LABEL, WEIGHT
        ),
        "active_share": active,
        "partial_history": sorted(partial),
    }


MIN_PROFILE_ROWS = 1_000
"""Fewer training rows than this with a feature's whole window held: its distribution is
read from every training row instead (a short export)."""


def profile_groups(
    rows: pd.DataFrame, names: list[str], whole_from: dict[str, pd.Timestamp]
) -> list[tuple[pd.DataFrame, list[str], bool]]:
    """The training rows each feature's distribution is read from, grouped: the cutoffs from
    the first whose whole window the exports hold (all rows for a feature without one, or
    when those cutoffs hold fewer than MIN_PROFILE_ROWS, and then the group says the rows
    did not hold the whole window: False)."""
    groups: dict[pd.Timestamp | None, list[str]] = {}
    for name in names:
        groups.setdefault(whole_from.get(name), []).append(name)
    out = []
    for first, members in groups.items():
        part = rows if first is None else rows[rows["cutoff"] >= first]
        whole = len(part) >= MIN_PROFILE_ROWS
        out.append((part if whole else rows, members, whole))
    return out


PROFILE_ROWS = 200_000
"""The training distribution saved with the model (drift bins, typical values, active shares)
is read from at most this many training rows, a seeded random sample: its deciles and
medians are settled long before, and at a million customers the months hold millions."""
