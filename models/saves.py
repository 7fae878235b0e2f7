"""Did calling them help: churn among the contact set's contact arm against its randomised
control group, and the customers and revenue that difference saved, with 95% intervals.

The primary estimate is intention to treat: every customer put forward for a call counts in
the contact arm whether or not the log shows they were reached, so the comparison stays the
randomised one (customers who were hard to reach are not quietly dropped). Who was not
reached, and control customers contacted anyway, are counted apart.

Intervals:
- a difference of two churn rates: Newcombe's hybrid score interval (Wilson intervals of each
  rate, recombined), which keeps its coverage with few churners, where the textbook Wald
  interval does not;
- customers saved, summed over tiers (the strata of the draw): each tier's saves
  (difference x customers in its contact arm) and their interval limits recombined as a sum
  (the method of variance estimates recovery, MOVER), so the tiers' shares never have to
  match. Lists are pooled within a tier (every list holds back the same share of each tier,
  unless [contact] control_share changed): strata of one list and tier hold a handful of
  control customers, and MOVER over hundreds of such strata under-covers (measured on 20
  simulated worlds: 17 of 20 intervals held the true saves per list and tier, 20 of 20 per
  tier; bench/saves_bench.py);
- monthly revenue kept: the same for churned revenue per customer, with normal intervals of
  each mean.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.arms import CONTACT, CONTROL

Z95 = 1.959964
OVERALL = "all"


def wilson(churned: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a rate `churned / n` (0, 1 when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = churned / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def rate_difference(
    control: tuple[int, int], contact: tuple[int, int], z: float = Z95
) -> tuple[float, float, float]:
    """Churn among control minus churn among contacted (positive: the calls kept customers),
    with Newcombe's hybrid score interval. Each argument is (churners, customers)."""
    (c1, n1), (c2, n2) = control, contact
    p1, p2 = c1 / n1, c2 / n2
    l1, u1 = wilson(c1, n1, z)
    l2, u2 = wilson(c2, n2, z)
    d = p1 - p2
    return d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def _mean_interval(values: np.ndarray, other: np.ndarray, z: float) -> tuple[float, float]:
    """Difference of two means (values - other) and its normal half-width."""
    if len(values) == 0 or len(other) == 0:
        return 0.0, math.inf
    var = np.var(values, ddof=1) / len(values) if len(values) > 1 else 0.0
    var += np.var(other, ddof=1) / len(other) if len(other) > 1 else 0.0
    return float(values.mean() - other.mean()), z * math.sqrt(var)


def _stratum(part: pd.DataFrame, z: float) -> dict | None:
    """One stratum's counts, rates, rate difference, saves and revenue kept (None when an
    arm is empty: nothing to compare)."""
    control = part[part["contact_arm"] == CONTROL]
    contact = part[part["contact_arm"] == CONTACT]
    if control.empty or contact.empty:
        return None
    c1, n1 = int(control["churned"].sum()), len(control)
    c2, n2 = int(contact["churned"].sum()), len(contact)
    d, low, high = rate_difference((c1, n1), (c2, n2), z)
    lost = lambda f: (f["churned"] * f["monthly_revenue"]).to_numpy(dtype=float)  # noqa: E731
    rev, rev_half = _mean_interval(lost(control), lost(contact), z)
    return {
        "contact": n2,
        "control": n1,
        "churn_contact": c2 / n2,
        "churn_control": c1 / n1,
        "difference": d,
        "difference_low": low,
        "difference_high": high,
        "saved": d * n2,
        "saved_low": low * n2,
        "saved_high": high * n2,
        "revenue_kept": rev * n2,
        "revenue_half": rev_half * n2,
    }


def _combined(strata: list[dict], z: float) -> dict | None:
    """Strata summed: saves and revenue kept add up; their limits recombine as a sum
    (MOVER); the rates are the pooled ones, the difference is saves per contacted."""
    if not strata:
        return None
    saved = sum(s["saved"] for s in strata)
    down = math.sqrt(sum((s["saved"] - s["saved_low"]) ** 2 for s in strata))
    up = math.sqrt(sum((s["saved_high"] - s["saved"]) ** 2 for s in strata))
    n2 = sum(s["contact"] for s in strata)
    n1 = sum(s["control"] for s in strata)
    return {
        "contact": n2,
        "control": n1,
        "churn_contact": sum(s["churn_contact"] * s["contact"] for s in strata) / n2,
        "churn_control": sum(s["churn_control"] * s["control"] for s in strata) / n1,
        "difference": saved / n2,
        "difference_low": (saved - down) / n2,
        "difference_high": (saved + up) / n2,
        "saved": saved,
        "saved_low": saved - down,
        "saved_high": saved + up,
        "revenue_kept": sum(s["revenue_kept"] for s in strata),
        "revenue_half": math.sqrt(sum(s["revenue_half"] ** 2 for s in strata)),
    }


def measure_saves(graded: pd.DataFrame, z: float = Z95) -> pd.DataFrame:
    """Saves per group of the graded contact sets: overall, per tier and per suggested play.

    `graded` holds one row per customer of a graded list's contact set (several lists may be
    stacked): `as_of`, `risk_tier`, `contact_arm`, `suggested_play`, `monthly_revenue`,
    `churned` (0/1) and `reached` (the log shows a contact in the list's horizon). Each group
    is summed over its tiers (the strata of the draw, lists pooled). Columns: group,
    kind (overall / tier / play), the `_stratum` figures, not_reached (contact arm not in
    the log) and control_contacted (control customers the log shows contacted anyway)."""
    rows = []
    groups = [("overall", OVERALL, graded)]
    groups += [("tier", t, p) for t, p in graded.groupby("risk_tier", sort=False)]
    groups += [("play", p, f) for p, f in graded.groupby("suggested_play", sort=True)]
    for kind, name, part in groups:
        strata = [
            s
            for _, stratum in part.groupby("risk_tier", sort=True)
            if (s := _stratum(stratum, z)) is not None
        ]
        figures = _combined(strata, z)
        if figures is None:
            continue
        arm = part["contact_arm"]
        reached = part["reached"].astype(bool)
        rows.append(
            {
                "kind": kind,
                "group": str(name),
                **figures,
                "not_reached": int(((arm == CONTACT) & ~reached).sum()),
                "control_contacted": int(((arm == CONTROL) & reached).sum()),
            }
        )
    return pd.DataFrame(rows)


def lists_needed(overall: pd.Series, lists: int) -> int | None:
    """How many more lists like the graded ones the current effect needs before its 95%
    interval excludes zero (0: it already does; None: no saving is seen, so more lists
    would only narrow an interval around nothing). The interval narrows as one over the
    square root of the customers graded, who grow with the lists."""
    effect = float(overall["saved"])
    if overall["saved_low"] > 0:
        return 0
    if effect <= 0 or lists <= 0:
        return None
    half = effect - float(overall["saved_low"])
    return max(math.ceil(lists * ((half / effect) ** 2 - 1)), 1)
