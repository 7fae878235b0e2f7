"""Ranking the contact set by who can be saved, and grading that ranking.

A call's worth is the churn it removes, not the churn it faces: a customer whose risk the
suggested play cannot touch is a wasted call however risky. Each play's effect is estimated
from graded lists (their contact arms against their randomised control groups,
models/saves.py) as the share of churn a call removed, each play's share shrunk towards the
pooled one by how noisy it is. The expected saved revenue of a call is then the revenue at
risk (probability x monthly revenue) times its play's share.

Those estimates are noisy: a 10% control group holds a few hundred customers a year, and in
80 simulated worlds (bench/saves_bench.py) ranking by them saved 19% fewer customers than
ranking by risk, while the true effects would have saved 74% more. So the ranking is used
only when asked for (`[contact] rank_by = "uplift"`) and only past a gate (`choose_ranking`):
enough graded customers in both arms and a pooled effect whose 95% interval excludes zero.
Otherwise the contact set stays ranked by risk, and the reason is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.arms import CONTACT, CONTROL, RANKINGS
from models.saves import OVERALL, Z95, measure_saves

RISK, UPLIFT = RANKINGS
ANY_PLAY = "*"
"""The effects' key for plays the graded lists did not hold (the pooled effect)."""


@dataclass(frozen=True)
class ContactRanking:
    """How the contact set is ordered: the ranking asked for and the one used (risk or
    uplift), why, and with uplift each play's estimated share of churn a call removes."""

    asked: str = RISK
    used: str = RISK
    reason: str = '[contact] rank_by = "risk" (the default)'
    effects: Mapping[str, float] = field(default_factory=dict)

    def record(self) -> dict:
        """The manifest's `contact.ranking`."""
        return {
            "asked": self.asked,
            "used": self.used,
            "reason": self.reason,
            "effects": {k: round(float(v), 4) for k, v in self.effects.items()},
        }

    def line(self) -> str:
        """The ranking in one line, for the summary."""
        return ranking_line(self.record())


def ranking_line(record: Mapping) -> str:
    """A manifest's `contact.ranking` in one line: which ranking was used and why."""
    order = "expected saved revenue (uplift)" if record["used"] == UPLIFT else "risk"
    return f"contact set ranked by {order}: {record['reason']}"


def fall_back(reason: str) -> ContactRanking:
    """Uplift asked for, risk used, for `reason`."""
    return ContactRanking(UPLIFT, RISK, f"uplift asked for but {reason}")


def relative_effects(graded: pd.DataFrame) -> dict[str, float]:
    """Each play's share of churn a call removed (control churn minus contact churn, over
    control churn), from graded contact sets (`measure_saves`' input), shrunk towards the
    pooled share by how noisy it is (empirical Bayes: each play's estimate weighs
    tau^2 / (tau^2 + its variance), tau^2 the spread between plays beyond their noise);
    ANY_PLAY holds the pooled share; never below zero."""
    measured = measure_saves(graded).set_index("group")
    control = measured["churn_control"].where(measured["churn_control"] > 0)
    share = (measured["difference"] / control).fillna(0.0)
    se = (measured["difference_high"] - measured["difference_low"]) / (2 * Z95) / control
    overall = float(share.get(OVERALL, 0.0))
    plays = measured[measured["kind"] == "play"]
    if plays.empty:
        return {ANY_PLAY: max(overall, 0.0)}
    estimate, variance = share[plays.index], (se[plays.index] ** 2).fillna(np.inf)
    finite = np.isfinite(variance)
    spread = float(np.var(estimate[finite])) if finite.sum() > 1 else 0.0
    tau2 = max(spread - float(variance[finite].mean()) if finite.any() else 0.0, 0.0)
    weight = (tau2 / (tau2 + variance)).fillna(0.0)
    shrunk = overall + weight * (estimate - overall)
    return {ANY_PLAY: max(overall, 0.0), **{p: max(float(v), 0.0) for p, v in shrunk.items()}}


def uplift_scores(risk: np.ndarray, plays: np.ndarray, effects: Mapping[str, float]) -> np.ndarray:
    """Expected saves of a call: `risk` (a probability, or revenue at risk for saved
    revenue) times the play's share of churn a call removes."""
    return np.asarray(risk, dtype=float) * np.array(
        [effects.get(p, effects[ANY_PLAY]) for p in plays], dtype=float
    )


def choose_ranking(graded: pd.DataFrame, *, asked: str, min_graded: int) -> ContactRanking:
    """The gate: uplift only when asked for, when the graded contact sets hold at least
    `min_graded` customers in each arm, and when the calls' pooled saving has a 95% interval
    above zero (otherwise the play effects are noise, and risk is used, with the reason)."""
    if asked != UPLIFT:
        return ContactRanking()
    arms = graded["contact_arm"] if not graded.empty else pd.Series([], dtype=object)
    for arm, words in ((CONTROL, "control"), (CONTACT, "contacted")):
        n = int((arms == arm).sum())
        if n < min_graded:
            return fall_back(f"only {n:,} graded {words} customers (need {min_graded:,})")
    measured = measure_saves(graded).set_index("group")
    if OVERALL not in measured.index:
        return fall_back("no tier of the graded lists had customers in both arms")
    overall = measured.loc[OVERALL]
    if overall["saved_low"] <= 0:
        return fall_back(
            f"the calls' saving is not beyond chance yet ({overall['saved']:,.1f} customers "
            f"saved, 95% interval {overall['saved_low']:,.1f} to {overall['saved_high']:,.1f})"
        )
    effects = relative_effects(graded)
    return ContactRanking(
        UPLIFT,
        UPLIFT,
        f"the calls removed {effects[ANY_PLAY]:.0%} of churn ({overall['saved']:,.1f} "
        f"customers saved, 95% interval {overall['saved_low']:,.1f} to "
        f"{overall['saved_high']:,.1f}) over {int(overall['control']):,} graded control and "
        f"{int(overall['contact']):,} contacted customers",
        effects,
    )


def expected_saved_revenue(rows: pd.DataFrame, effects: Mapping[str, float]) -> pd.Series:
    """Per customer (`revenue_at_risk`, `suggested_play`): the revenue at risk a call with
    the suggested play is expected to keep."""
    saved = uplift_scores(rows["revenue_at_risk"], rows["suggested_play"].to_numpy(), effects)
    return pd.Series(saved, index=rows.index)


def order_share(graded: pd.DataFrame) -> pd.Series:
    """Each graded customer's place in their list's contact set as a share (1/n to 1), by
    `contact_order`: the order the list's ranking gave."""
    order = graded["contact_order"].astype(float)
    return order / order.groupby(graded["as_of"]).transform("max")


QINI_STEPS = 10
"""The cumulative-saves curve is read at tenths of the contact set."""


def ranking_grades(graded: pd.DataFrame, k: float = 0.5) -> dict | None:
    """How well the contact order picked who could be saved, from graded contact sets with
    `contact_order`: customers saved per customer put forward in the first `k` of each
    list's contact set and in the rest (95% intervals), and a Qini figure: the mean, over
    tenths of the contact set, of the customers the first tenths saved beyond what a random
    order would (their share of the whole saving); positive when the order front-loads the
    saves. None when the first part or the rest lacks customers in both arms."""
    share = order_share(graded)
    first, rest = _overall(graded[share <= k]), _overall(graded[share > k])
    if first is None or rest is None:
        return None
    whole = _overall(graded)
    total = float(whole["saved"]) if whole is not None else 0.0
    gaps = []
    for step in range(1, QINI_STEPS + 1):
        top = _overall(graded[share <= step / QINI_STEPS])
        if top is not None:
            gaps.append(float(top["saved"]) - step / QINI_STEPS * total)
    return {
        "k": k,
        "first": _per_customer(first),
        "rest": _per_customer(rest),
        "qini": float(np.mean(gaps)) if gaps else math.nan,
        "saved": total,
    }


def _overall(part: pd.DataFrame) -> pd.Series | None:
    measured = measure_saves(part) if not part.empty else pd.DataFrame()
    if measured.empty or OVERALL not in set(measured["group"]):
        return None
    return measured.set_index("group").loc[OVERALL]


def _per_customer(overall: pd.Series) -> dict:
    return {
        "contact": int(overall["contact"]),
        "control": int(overall["control"]),
        "difference": float(overall["difference"]),
        "low": float(overall["difference_low"]),
        "high": float(overall["difference_high"]),
    }
