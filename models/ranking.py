"""The ranked at-risk list: probability, tier, revenue at risk, reasons, play, contact set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.explain import explain
from models.plays import Customers, suggest_plays

HIGH_VALUE_QUANTILE = 0.8  # top 20% by monthly revenue count as high-value customers


@dataclass(frozen=True)
class ListSettings:
    """Tiering and capacity choices for one list."""

    high_threshold: float = 0.30
    medium_threshold: float = 0.10
    capacity: int = 0
    capacity_rank_by: str = "revenue"  # or "probability"
    horizon_days: int = 30


def risk_tier(probability: np.ndarray, high: float, medium: float) -> np.ndarray:
    """high / medium / low by probability thresholds."""
    return np.where(probability >= high, "high", np.where(probability >= medium, "medium", "low"))


def monthly_value(frame: pd.DataFrame) -> pd.Series:
    """What a customer is worth per month: the larger of recent paid revenue and the last
    invoice billed (a failed payment should not make a customer look cheap); the profile's
    monthly fee where neither is known."""
    zero = pd.Series(0.0, index=frame.index)
    paid = frame.get("monthly_revenue", zero).astype(float).fillna(0.0)
    billed = frame.get("last_invoice_amount", zero).astype(float).fillna(0.0)
    value = np.maximum(paid, billed)
    if "monthly_fee" in frame.columns:
        value = value.where(value > 0, frame["monthly_fee"].astype(float))
    return value.fillna(0.0)


def rank_customers(
    features: pd.DataFrame,
    probability: np.ndarray,
    contributions: pd.DataFrame,
    templates: dict[str, str],
    profile_columns: list[str],
    settings: ListSettings,
    groups: dict[str, str] | None = None,
    per_group: int = 2,
) -> pd.DataFrame:
    """One row per customer, highest probability first, with everything the team acts on.

    `groups` (feature -> topic or family) with `per_group` caps how many of a customer's three
    reasons come from one group."""
    frame = features.reset_index(drop=True)
    value = monthly_value(frame)
    at_risk = probability * value.to_numpy() * settings.horizon_days / 30.0
    reasons = explain(contributions, frame, templates, k=3, groups=groups, per_group=per_group)
    high_value_line = value.quantile(HIGH_VALUE_QUANTILE) if len(value) else 0.0
    high_value = ((value > 0) & (value >= high_value_line)).to_numpy()
    plays = suggest_plays(Customers(frame, reasons.columns, reasons.names, high_value))
    out = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "churn_probability": probability,
            "risk_tier": risk_tier(probability, settings.high_threshold, settings.medium_threshold),
            "monthly_revenue": value.to_numpy(),
            "revenue_at_risk": at_risk,
            **{f"reason_{i + 1}": reasons.texts[i] for i in range(3)},
            "reason_features": reasons.features(),
            "suggested_play": plays,
            **{c: frame[c].to_numpy() for c in profile_columns if c in frame.columns},
        }
    )
    out = out.sort_values(
        ["churn_probability", "revenue_at_risk", "customer_id"],
        ascending=[False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return mark_contacts(out, settings.capacity, settings.capacity_rank_by)


def mark_contacts(ranked: pd.DataFrame, capacity: int, rank_by: str) -> pd.DataFrame:
    """Flag the `capacity` customers to contact first, by revenue at risk or probability."""
    out = ranked.copy(deep=False)  # copy-on-write: the new columns leave `ranked` as it is
    out["contact_first"] = False
    out["contact_order"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if capacity <= 0 or out.empty:
        return out
    key = "revenue_at_risk" if rank_by == "revenue" else "churn_probability"
    keys = [key, "churn_probability", "customer_id"]
    order = (
        out[list(dict.fromkeys(keys))]  # sort the keys only, not every column
        .sort_values(keys, ascending=[False, False, True], kind="stable")
        .index[:capacity]
    )
    out.loc[order, "contact_first"] = True
    out.loc[order, "contact_order"] = np.arange(1, len(order) + 1)
    return out
