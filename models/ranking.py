"""The ranked at-risk list: probability, tier, revenue at risk, reasons, play, contact set, and
what changed since the previous list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from features.constraints import Number, OneOf, Optional, Whole
from features.families.purchases import ORDER_CAP
from models.arms import CONTROL, ArmDraw, arm_counts
from models.explain import explain
from models.plays import PlaySettings, suggest_plays
from models.reason_rules import ReasonSettings
from models.uplift import UPLIFT, ContactRanking, expected_saved_revenue

TIERS = ("high", "medium", "low")

COLUMNS: dict[str, str] = {
    "rank": "position by churn probability, 1 = most likely to churn",
    "customer_id": "the customer, as in the customer export",
    "churn_probability": "probability of churning in the horizon after the as-of date "
    "(calibrated: 0.2 means about 1 in 5 such customers churn), 4 decimals",
    "risk_tier": "high / medium / low: by default from 5x / 2x the odds of the churn rate "
    "the model was trained on (the summary and manifest state the thresholds), or the "
    "configured probability thresholds",
    "monthly_revenue": "what the customer is worth per month: the larger of recent paid "
    "revenue (the last 90 days / 3) and the last invoice, each order counted at most "
    f"{ORDER_CAP:g} times the customer's median paid order over the year (one absurd amount "
    "cannot inflate it), 2 decimals",
    "revenue_at_risk": "churn probability x monthly revenue x horizon / 30 days, 2 decimals",
    "reason_1": "the strongest reason this customer is at risk, in words (empty: none)",
    "reason_2": "the second reason, about a different topic",
    "reason_3": "the third reason, about a different topic",
    "reason_features": "the features behind the reasons, strongest first",
    "suggested_play": "the retention play of the most urgent topic among the reasons, not "
    "always the strongest reason's (low tier: no action)",
    "contact_first": "in the contact set the team can call today (capacity)",
    "contact_order": "order within the contact set: high tier first, then by revenue at risk "
    "(or by probability; or by expected saved revenue with [contact] rank_by = 'uplift', "
    "the manifest's contact.ranking says which)",
    "contact_arm": f"in the contact set: 'contact' (call them) or '{CONTROL}' (the randomised "
    "control group: no call, so what the calls bought can be measured); empty outside it",
    "previous_tier": "tier on the most recent earlier list (empty: not on it)",
    "previous_probability": "churn probability on the most recent earlier list",
    "new_in_tier": "the tier differs from the earlier list's (or the customer is new to it)",
}
"""The list's columns in plain words (the manifest and docs/at-risk-list.md carry it); the
configured profile columns follow `suggested_play` as the model reads them (text lowercased)."""


@dataclass(frozen=True)
class ListSettings:
    """Tiering and contact choices for one list, each declared once here with what it
    accepts (`CHECKS`: the [scoring] keys; the horizon comes from [churn]). `contact_floor`
    is the lowest probability worth a call (None: the medium threshold)."""

    high_threshold: float = 0.30
    medium_threshold: float = 0.10
    capacity: int = 0
    capacity_rank_by: Literal["revenue", "probability"] = "revenue"
    horizon_days: int = 30
    contact_floor: float | None = None
    tier_rule: str = ""
    """Where the thresholds came from, in words (set when scoring resolves them)."""
    contact_ranking: ContactRanking = ContactRanking()
    """Risk order, or expected saved revenue ([contact] rank_by, once past its gate: set
    when scoring resolves it, models/uplift.py)."""

    CHECKS: ClassVar[dict] = {
        "high_threshold": Number(0, 1, open_low=True),
        "medium_threshold": Number(0, 1, open_low=True),
        "capacity": Whole(0),
        "capacity_rank_by": OneOf(("revenue", "probability")),
        "contact_floor": Optional(Number(0, 1)),
    }

    @property
    def floor(self) -> float:
        return self.medium_threshold if self.contact_floor is None else self.contact_floor

    def cross_check(self) -> list[str]:
        """Rules between keys: the medium tier lies below the high one."""
        if self.medium_threshold >= self.high_threshold:
            return [
                f"medium_threshold {self.medium_threshold} must be below high_threshold "
                f"{self.high_threshold} (otherwise no customer is medium risk)"
            ]
        return []


TIER_MULTIPLES = (5.0, 2.0)
"""Default tiers: high from this many times the base rate, medium from this many."""
FIXED_TIERS = (0.30, 0.10)
"""Thresholds for models that carry no base rate (trained before tiers followed it)."""


def _times_odds(rate: float, multiple: float) -> float:
    """The probability whose odds are `multiple` times those of `rate`."""
    odds = multiple * rate / (1.0 - rate)
    return odds / (1.0 + odds)


def base_rate_tiers(
    base_rate: float | None,
    high: float | None,
    medium: float | None,
    multiples: tuple[float, float] = TIER_MULTIPLES,
) -> tuple[float, float, str]:
    """The list's thresholds and the rule they came from, in words: the configured ones when
    given; else `multiples` of the odds of the churn rate the model was trained on
    (`base_rate`, per horizon), so the tiers fit a business whose customers churn at 1% or
    at 40% a month (at a low rate 5x the odds is about 5x the rate: 3% gives 13%; at 36% it
    gives 74%, where 5x the rate would be impossible); else FIXED_TIERS."""
    if high is not None and medium is not None:
        return high, medium, f"configured thresholds (high >= {high:.2f}, medium >= {medium:.2f})"
    if base_rate is None or not 0 < base_rate < 1:
        h, m = FIXED_TIERS
        return h, m, f"fixed thresholds (high >= {h:.2f}, medium >= {m:.2f}): no base rate"
    h = round(_times_odds(base_rate, multiples[0]), 4)
    m = round(_times_odds(base_rate, multiples[1]), 4)
    return (
        h,
        m,
        (
            f"high >= {h:.1%}, medium >= {m:.1%}: {multiples[0]:g}x and {multiples[1]:g}x the "
            f"odds of the base rate {base_rate:.1%} the model was trained on"
        ),
    )


def tier_capture(churned: np.ndarray, probability: np.ndarray, high: float, medium: float) -> dict:
    """What tiers at these thresholds would hold of labelled rows: the share of customers in
    the high and medium tiers, and the share of churners they catch."""
    churned = np.asarray(churned, dtype=bool)
    tier = risk_tier(np.asarray(probability, dtype=float), high, medium)
    listed = tier != "low"
    churners = max(int(churned.sum()), 1)
    return {
        "high_threshold": high,
        "medium_threshold": medium,
        "high_share": float((tier == "high").mean()) if len(tier) else 0.0,
        "high_medium_share": float(listed.mean()) if len(tier) else 0.0,
        "high_capture": float((churned & (tier == "high")).sum() / churners),
        "high_medium_capture": float((churned & listed).sum() / churners),
    }


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


LIST_ORDER = (("churn_probability", False), ("revenue_at_risk", False), ("customer_id", True))
"""The list's order as (column, ascending): most likely to churn first, then the most revenue
at risk, then the customer id, so ties have one order on every engine."""

CONTACT_ORDER = (
    ("not_high", True),
    ("revenue_at_risk", False),
    ("churn_probability", False),
    ("customer_id", True),
)
"""The contact set's default order: high tier first, then revenue at risk (`not_high` is
risk_tier != "high")."""

UPLIFT_ORDER = (("expected_saved", False), *LIST_ORDER)
"""The contact set's order ranked by who can be saved: expected saved revenue, then risk."""

LIST_BATCH_ROWS = 100_000
"""Customers worded at once: explaining a row takes a few feature-wide arrays beside its
contributions, so a million customers are done in batches (the rows do not depend on each
other) and only the finished columns are held together."""

MONEY = ("monthly_revenue", "revenue_at_risk")
"""Rounded to 2 decimals once the list is ordered (the order uses the unrounded values)."""


def list_rows(
    features: pd.DataFrame,
    probability: np.ndarray,
    contributions: pd.DataFrame,
    *,
    reasons: ReasonSettings,
    plays: PlaySettings,
    settings: ListSettings,
    profile_columns: list[str],
) -> pd.DataFrame:
    """The list's per-customer columns for these rows, in the rows' order, not ranked:
    probability (rounded to 4 decimals, so tiers and the order follow the value the list
    shows), tier, money (unrounded), reasons, play and the profile columns. Each row depends
    only on itself, so any batch of customers can be done anywhere (Spark does it per batch
    on its executors)."""
    probability = np.round(np.asarray(probability, dtype=float), 4)
    frame = features.reset_index(drop=True)
    value = monthly_value(frame)
    at_risk = probability * value.to_numpy() * settings.horizon_days / 30.0
    explained = explain(contributions, frame, reasons)
    tier = risk_tier(probability, settings.high_threshold, settings.medium_threshold)
    topics = [reasons.topics.get(n, n) for n in explained.names]
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "churn_probability": probability,
            "risk_tier": tier,
            "monthly_revenue": value.to_numpy(),
            "revenue_at_risk": at_risk,
            **{f"reason_{i + 1}": explained.texts[i] for i in range(reasons.k)},
            "reason_features": explained.features(),
            "suggested_play": suggest_plays(explained.columns, topics, tier == "low", plays),
            **{c: frame[c].to_numpy() for c in profile_columns if c in frame.columns},
        }
    )


def order_list(rows: pd.DataFrame, settings: ListSettings) -> pd.DataFrame:
    """`list_rows` in LIST_ORDER with `rank` first, the contact set marked, money rounded."""
    keys, ascending = zip(*LIST_ORDER, strict=True)
    out = rows.sort_values(list(keys), ascending=list(ascending), kind="stable")
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = mark_contacts(out, settings)
    return out.round(dict.fromkeys(MONEY, 2))


def rank_customers(
    features: pd.DataFrame,
    probability: np.ndarray,
    contributions: pd.DataFrame,
    *,
    reasons: ReasonSettings,
    plays: PlaySettings,
    settings: ListSettings,
    profile_columns: list[str],
    batch_rows: int = LIST_BATCH_ROWS,
) -> pd.DataFrame:
    """One row per customer, highest probability first, with everything the team acts on
    (columns in COLUMNS, then the profile columns): `list_rows`, `batch_rows` customers at a
    time to bound memory, put in order (`order_list`)."""
    batches = [
        list_rows(
            features.iloc[start : start + batch_rows],
            probability[start : start + batch_rows],
            contributions.iloc[start : start + batch_rows],
            reasons=reasons,
            plays=plays,
            settings=settings,
            profile_columns=profile_columns,
        )
        for start in range(0, max(len(features), 1), batch_rows)
    ]
    rows = batches[0] if len(batches) == 1 else pd.concat(batches, ignore_index=True)
    return order_list(rows, settings)


def mark_contacts(ranked: pd.DataFrame, settings: ListSettings) -> pd.DataFrame:
    """Flag up to `capacity` customers to contact first, among those at or above the contact
    floor: by default high tier first, then the most revenue at risk (probability x monthly
    revenue, the revenue a successful call saves); with `capacity_rank_by = "probability"`,
    in pure risk order; when the settings' contact ranking is uplift, by expected saved
    revenue (revenue at risk x the suggested play's estimated effect), then by risk."""
    out = ranked.copy(deep=False)  # copy-on-write: the new columns leave `ranked` as it is
    out["contact_first"] = False
    out["contact_order"] = pd.array([pd.NA] * len(out), dtype="Int64")
    candidates = out[out["churn_probability"] >= settings.floor]
    if settings.capacity <= 0 or candidates.empty:
        return out
    if settings.contact_ranking.used == UPLIFT:
        keys, ascending = (list(t) for t in zip(*UPLIFT_ORDER, strict=True))
        saved = expected_saved_revenue(candidates, settings.contact_ranking.effects)
        ordered = candidates[keys[1:]].assign(expected_saved=saved)
    elif settings.capacity_rank_by == "probability":
        keys, ascending = (list(t) for t in zip(*LIST_ORDER, strict=True))
        ordered = candidates[keys]
    else:
        keys, ascending = (list(t) for t in zip(*CONTACT_ORDER, strict=True))
        ordered = candidates[keys[1:]].assign(not_high=candidates["risk_tier"] != "high")
    order = ordered.sort_values(keys, ascending=ascending, kind="stable").index
    order = order[: settings.capacity]
    out.loc[order, "contact_first"] = True
    out.loc[order, "contact_order"] = np.arange(1, len(order) + 1)
    return out


def with_arms(ranked: pd.DataFrame, draw: ArmDraw) -> pd.DataFrame:
    """The list with `contact_arm`: each contact-set customer's arm (models/arms.py), empty
    (None) outside the contact set."""
    out = ranked.drop(columns=["contact_arm"], errors="ignore")
    chosen = out["contact_first"].to_numpy(dtype=bool)
    arm = pd.Series([None] * len(out), index=out.index, dtype=object)
    if chosen.any():
        arm[chosen] = draw.arms(out.loc[chosen, ["customer_id", "risk_tier"]])
    out.insert(int(out.columns.get_loc("contact_order")) + 1, "contact_arm", arm)
    return out


def arm_summary(contact_set: pd.DataFrame, draw: ArmDraw | None) -> dict[str, Any]:
    """The control group in numbers: the share asked for, how many of the contact set are to
    be called and how many held back, overall and per tier (`contact_set`: its
    `risk_tier` and `contact_arm`)."""
    if draw is None or "contact_arm" not in contact_set:
        return {}
    counts = arm_counts(contact_set["contact_arm"], contact_set["risk_tier"])
    return {
        "control_share": draw.settings.control_share,
        "to_call": counts["all"]["contact"],
        "control": counts["all"]["control"],
        "arms_by_tier": {t: c for t, c in counts.items() if t != "all"},
    }


def contact_summary(
    ranked: pd.DataFrame, settings: ListSettings, draw: ArmDraw | None = None
) -> dict[str, Any]:
    """Who the contact set covers and who it leaves out, and why, in numbers; with the
    draw, how many of it are held back as the control group."""
    contacts = ranked["contact_first"].to_numpy(dtype=bool)
    high = (ranked["risk_tier"] == "high").to_numpy()
    above_floor = int((ranked["churn_probability"] >= settings.floor).sum())
    total = float(ranked["revenue_at_risk"].sum())
    covered = float(ranked.loc[contacts, "revenue_at_risk"].sum())
    return {
        "capacity": int(settings.capacity),
        "rank_by": settings.capacity_rank_by,
        "ranking": settings.contact_ranking.record(),
        "floor": float(settings.floor),
        "contacts": int(contacts.sum()),
        "above_floor": above_floor,
        "high_tier": int(high.sum()),
        "high_tier_outside": int((high & ~contacts).sum()),
        "revenue_at_risk": round(covered, 2),
        "share_of_revenue_at_risk": round(covered / total, 4) if total > 0 else 0.0,
        **arm_summary(ranked.loc[contacts], draw),
    }


def compare_with_previous(ranked: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """The list with `previous_tier`, `previous_probability` and `new_in_tier` from the most
    recent earlier list (`customer_id`, `risk_tier`, `churn_probability`; None: there is none,
    and every customer is new to their tier)."""
    out = ranked.copy(deep=False)
    if previous is None:
        previous = pd.DataFrame(columns=["customer_id", "risk_tier", "churn_probability"])
    before = (
        previous.assign(customer_id=previous["customer_id"].astype(str))
        .drop_duplicates("customer_id")
        .set_index("customer_id")
    )
    ids = out["customer_id"].astype(str)
    tier = ids.map(before["risk_tier"].astype(object)).astype(object)
    out["previous_tier"] = tier.where(tier.notna(), None)
    out["previous_probability"] = ids.map(before["churn_probability"].astype(float))
    out["new_in_tier"] = (out["previous_tier"] != out["risk_tier"]).to_numpy(dtype=bool)
    return out


def tier_changes(ranked: pd.DataFrame, previous: pd.DataFrame | None) -> dict[str, int]:
    """How many customers are newly high risk, and how many left the high tier (lower tier
    now, or no longer on the list: cancelled or inactive), against the earlier list."""
    if previous is None:
        return {}
    now_high = set(ranked.loc[ranked["risk_tier"] == "high", "customer_id"].astype(str))
    was_high = set(previous.loc[previous["risk_tier"] == "high", "customer_id"].astype(str))
    still_listed = set(ranked["customer_id"].astype(str))
    return {
        "newly_high": len(now_high - was_high),
        "left_high": len(was_high - now_high),
        "left_high_not_listed": len(was_high - still_listed),
        "still_high": len(now_high & was_high),
    }
