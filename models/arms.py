"""The randomised control group of every contact set: who is held back so that what the calls
bought can be measured.

Comparing contacted customers with everyone else measures the list, not the calls (the
contacted are the riskiest). So a share of each contact set is drawn at random and marked
"control: do not contact"; churn among them against churn among the rest of the set is the
effect of being put forward for a call (intention to treat), per tier, play and overall.

The draw is reproducible and stable:
- each customer's draw is a hash of the seed, the list's date and the customer id, so the
  same inputs give the same arms on every engine and every re-run;
- it is stratified by tier: within each tier the share is held (rounded), the customers
  with the smallest draws going to the control group;
- a customer who was in an earlier list's contact set less than a horizon ago keeps the arm
  they had there (a control customer called a week later would spoil both lists), and those
  kept arms count towards their tier's share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from features.constraints import Number, OneOf, Whole

CONTACT = "contact"
CONTROL = "control: do not contact"
ARMS = (CONTACT, CONTROL)
RANKINGS = ("risk", "uplift")
"""How the contact set can be ranked: by risk, or by expected saved revenue (models/uplift.py)."""


@dataclass(frozen=True)
class ContactSettings:
    """[contact]: the share of each contact set held back as a control group (0: none), the
    seed of the draw, and how the contact set is ranked: by risk, or by expected saved
    revenue ("uplift", models/uplift.py) once at least `uplift_min_graded` graded customers
    are in each arm and the calls' saving is beyond chance."""

    control_share: float = 0.10
    seed: int = 7
    rank_by: str = "risk"
    uplift_min_graded: int = 200

    CHECKS: ClassVar[dict] = {
        "control_share": Number(0, 0.5),
        "seed": Whole(0, 2**31 - 1),
        "rank_by": OneOf(RANKINGS),
        "uplift_min_graded": Whole(1),
    }


def draws(customer_ids: pd.Series, *, seed: int, as_of: pd.Timestamp) -> np.ndarray:
    """Each customer's uniform draw in [0, 1) from the seed, the date and the id: the same
    on every machine and engine (a hash, not a random stream that depends on row order)."""
    day = f"{pd.Timestamp(as_of):%Y-%m-%d}"
    out = np.empty(len(customer_ids), dtype=float)
    for i, customer in enumerate(customer_ids.astype(str)):
        digest = hashlib.blake2b(f"{seed}|{day}|{customer}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / 2.0**64
    return out


def assign_arms(
    contact_set: pd.DataFrame,
    settings: ContactSettings,
    *,
    as_of: pd.Timestamp,
    kept: Mapping[str, str] | None = None,
) -> pd.Series:
    """The arm of each customer of the contact set (`customer_id`, `risk_tier`), indexed like
    it: CONTROL or CONTACT. `kept` maps customers to the arm an earlier list within the
    horizon gave them; they keep it."""
    ids = contact_set["customer_id"].astype(str)
    kept = kept or {}
    arm = ids.map(lambda c: kept.get(c)).astype(object)
    u = pd.Series(draws(ids, seed=settings.seed, as_of=as_of), index=contact_set.index)
    for _, members in contact_set.groupby("risk_tier", sort=False).groups.items():
        in_tier = arm.loc[members]
        target = int(round(settings.control_share * len(members)))
        need = max(target - int((in_tier == CONTROL).sum()), 0)
        free = in_tier.index[in_tier.isna()]
        chosen = u.loc[free].sort_values(kind="stable").index[:need]
        arm.loc[chosen] = CONTROL
    return arm.fillna(CONTACT)


@dataclass(frozen=True)
class ArmDraw:
    """Everything one list's draw depends on: the settings, the list's date and the arms
    earlier lists within the horizon gave (customer id -> arm)."""

    settings: ContactSettings
    as_of: pd.Timestamp
    kept: Mapping[str, str] = field(default_factory=dict)

    def arms(self, contact_set: pd.DataFrame) -> pd.Series:
        """The arm of each customer of `contact_set` (`customer_id`, `risk_tier`)."""
        return assign_arms(contact_set, self.settings, as_of=self.as_of, kept=self.kept)


def arm_counts(arms: pd.Series, tiers: pd.Series) -> dict[str, dict[str, int]]:
    """Per tier and overall, how many customers of the contact set are in each arm."""
    table = pd.crosstab(tiers, arms).reindex(columns=list(ARMS), fill_value=0)
    out = {
        str(tier): {"contact": int(row[CONTACT]), "control": int(row[CONTROL])}
        for tier, row in table.iterrows()
    }
    out["all"] = {
        "contact": int((arms == CONTACT).sum()),
        "control": int((arms == CONTROL).sum()),
    }
    return out
