"""A retention team in the simulated world: each month it calls the customers a list would put
forward, holds back a randomised control group as the lists do, and its calls change churn by
a true, known amount that depends on why the customer is at risk.

- **Who is put forward**: at each month start, the active customers a list would rank
  highest, a fixed share of them: ranked by the hazard's terms the exports show (`SEEN`:
  payments, tickets, tenure, plan, seats, loyalty, price rise, adoption), not by the latent
  health, onboarding quality, frailty or noise a list can only guess at; tiers by that
  probability as the lists tier (0.30 / 0.10).
- **The control group**: drawn with the pipeline's own draw (models/arms.py): the seed, the
  month's first day and the customer id.
- **Who is reached**: a share of the contact arm (`reach`); the others are not in the log.
- **What a call does**: the team plays the play of the customer's strongest cause (failed
  payments: billing follow-up; tickets: support escalation; a price rise: price
  conversation; a new account: onboarding help; falling usage: re-engagement campaign). The
  call removes a share of that cause's log-odds (`EFFECTS`: large for a failed payment, small
  for falling usage); a share of customers (`decided`) have made up their minds and no call
  changes anything.
- **What is true**: each customer put forward, their arm, whether reached and decided, the
  probability without and with the call, and whether the call saved them (common random
  numbers: the one uniform draw that decides churn is compared with both probabilities).
"""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pandas as pd

from models.arms import CONTACT, CONTROL, ContactSettings, assign_arms
from simulator import mechanism as mech

EFFECTS: dict[str, tuple[tuple[str, ...], float]] = {
    "billing follow-up": (("failed_recovered", "failed_unrecovered"), 0.8),
    "support escalation": (
        ("open_ticket", "slow_ticket", "low_satisfaction", "recent_tickets"),
        0.5,
    ),
    "price conversation": (("price_rise",), 0.5),
    "onboarding help": (("tenure_early", "onboarding"), 0.35),
    "re-engagement campaign": (("health", "health_trend", "breadth"), 0.1),
}
"""Each play: the hazard terms it acts on and the share of their positive log-odds a reached
call removes (a billing fix removes most of a failed payment's risk; a nudge barely moves a
customer whose use of the product has faded)."""
SEEN = (
    "tenure_early", "breadth", "seats", "plan", "loyalty", "recent_tickets", "open_ticket",
    "slow_ticket", "low_satisfaction", "failed_recovered", "failed_unrecovered", "price_rise",
)  # fmt: skip
"""The hazard terms whose causes the exports record (the others are latent)."""
CHECK_IN = "customer-success check-in"  # no cause stands out: the call changes nothing
LIST_PLAYS: dict[str, tuple[tuple[str, ...], float]] = {
    **EFFECTS,
    "support follow-up": EFFECTS["support escalation"],
    "NPS follow-up": (("low_satisfaction",), 0.3),
}
"""What each play a list suggests (the pipeline's default plays, models/plays.py) truly does
when the team follows the lists: the hazard terms it acts on and the share of their positive
log-odds a reached call removes. A play acts only on its own causes: a billing follow-up for
a customer whose usage fell removes nothing. A play not named here changes nothing."""
CHANNELS = ("phone", "email")
TIERS = ((0.30, "high"), (0.10, "medium"))


@dataclasses.dataclass(frozen=True)
class ContactPolicy:
    """The team's policy: from which month of the window it follows the lists, the share of
    active customers put forward each month, the control share and seed of the draw, the share
    of the contact arm reached and the share of customers no call can keep."""

    first_month: int = 12
    put_forward: float = 0.05
    control_share: float = 0.10
    seed: int = 7
    reach: float = 0.8
    decided: float = 0.4
    strength: float = 1.0
    """Multiplies every play's effect (tests use a strong team to see what it does to
    training labels)."""
    lists: dict[pd.Timestamp, pd.DataFrame] | None = dataclasses.field(default=None, compare=False)
    """When given, the team follows these lists instead of its own list-like ranking: in the
    month a list is dated, it calls that list's contact set (`contact_arm`), keeps its control
    group back and plays its `suggested_play` (what the play truly does: LIST_PLAYS); in a
    month with no list it calls nobody."""


def _plays(terms: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's play (that of their strongest cause) and the log-odds a reached call
    removes."""
    plays = list(EFFECTS)
    strength = np.column_stack(
        [sum(np.maximum(terms[t], 0.0) for t in EFFECTS[p][0]) for p in plays]
    ) if plays else np.zeros((n, 0))  # fmt: skip
    best = strength.argmax(axis=1)
    strongest = strength[np.arange(n), best]
    removed = strongest * np.array([EFFECTS[p][1] for p in plays])[best]
    play = np.where(strongest > 0, np.array(plays, dtype=object)[best], CHECK_IN)
    return play, np.where(strongest > 0, removed, 0.0)


def call_outcomes(
    terms: dict[str, np.ndarray], hazard: mech.Hazard, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For customers with these hazard terms: the probability a list sees (the terms in SEEN
    alone), the true probability, the true probability had a call acted on them, their play
    and the log-odds the call removes (`strength` times EFFECTS)."""
    n = len(terms["noise"])
    seen = {t: (v if t in SEEN else np.zeros_like(v)) for t, v in terms.items()}
    visible = mech.churn_probability(seen, hazard)
    p0 = mech.churn_probability(terms, hazard)
    play, removed = _plays(terms, n)
    removed = removed * strength
    would = mech.churn_probability({**terms, "noise": terms["noise"] - removed}, hazard)
    return visible, p0, would, play, removed


def _tiers(p: np.ndarray) -> np.ndarray:
    (high, h), (medium, m) = TIERS
    return np.where(p >= high, h, np.where(p >= medium, m, "low"))


@dataclasses.dataclass
class Contacts:
    """Rows of the contact log and of its truth, collected month by month."""

    log: list[pd.DataFrame] = dataclasses.field(default_factory=list)
    truth: list[pd.DataFrame] = dataclasses.field(default_factory=list)


def _listed(
    frame: pd.DataFrame,
    ids: np.ndarray,
    terms: dict[str, np.ndarray],
    hazard: mech.Hazard,
    strength: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """From a list's contact set: the active customers it names (positions in `ids`), their
    tier, arm and play, and their probability had a reached call acted on them."""
    contact_set = frame[frame["contact_arm"].notna()]
    where = pd.Series(np.arange(len(ids)), index=ids)
    named = contact_set[contact_set["customer_id"].isin(where.index)]
    chosen = where[named["customer_id"]].to_numpy()
    order = np.argsort(chosen, kind="stable")
    named, chosen = named.iloc[order], chosen[order]
    play = named["suggested_play"].astype(str).to_numpy(dtype=object)
    removed = np.zeros(len(ids))
    for name, (acts_on, share) in LIST_PLAYS.items():
        mine = chosen[play == name]
        cause = sum(np.maximum(terms[t][mine], 0.0) for t in acts_on)
        removed[mine] = cause * share * strength
    would = mech.churn_probability({**terms, "noise": terms["noise"] - removed}, hazard)
    tiers = named["risk_tier"].astype(str).to_numpy(dtype=object)
    return chosen, tiers, named["contact_arm"].to_numpy(dtype=object), play, would[chosen]


def apply_contacts(
    policy: ContactPolicy,
    month: int,
    start: datetime.date,
    active: np.ndarray,
    terms: dict[str, np.ndarray],
    hazard: mech.Hazard,
    draws: tuple[np.ndarray, np.ndarray],
    customer_ids: np.ndarray,
    contacts: Contacts,
) -> np.ndarray:
    """The month's probability of each active customer after the team's calls (unchanged
    for everyone not reached, in the control group or decided), recording the log and the
    truth. `draws` are the probability without a call (`mech.churn_probability` of `terms`)
    and the uniform draw that decides churn (churn when the draw < probability)."""
    p0, u = draws
    as_of = pd.Timestamp(start)
    if policy.lists is not None:
        listed = policy.lists.get(as_of)
        if listed is None or len(active) == 0:
            return p0
        ids = customer_ids[active]
        chosen, tiers, arm, play, would = _listed(listed, ids, terms, hazard, policy.strength)
        ids = ids[chosen]
    else:
        if month < policy.first_month or len(active) == 0:
            return p0
        visible, _, would_all, play_all, _ = call_outcomes(terms, hazard, policy.strength)
        k = max(int(round(policy.put_forward * len(active))), 1)
        chosen = np.sort(np.argsort(-visible, kind="stable")[:k])
        ids = customer_ids[active[chosen]]
        tiers = _tiers(visible[chosen])
        frame = pd.DataFrame({"customer_id": ids, "risk_tier": tiers})
        settings = ContactSettings(control_share=policy.control_share, seed=policy.seed)
        arm = assign_arms(frame, settings, as_of=as_of).to_numpy()
        play, would = play_all[chosen], would_all[chosen]
    return _call(policy, month, as_of, (p0, u), (chosen, ids, tiers, arm, play, would), contacts)


def _call(
    policy: ContactPolicy,
    month: int,
    as_of: pd.Timestamp,
    draws: tuple[np.ndarray, np.ndarray],
    put_forward: tuple[np.ndarray, ...],
    contacts: Contacts,
) -> np.ndarray:
    """Reach, decide and record the calls to the customers put forward (positions `chosen`
    among the active, their ids, tiers, arms, plays and probabilities had a call acted)."""
    p0, u = draws
    chosen, ids, tiers, arm, play, would = put_forward
    k = len(chosen)
    rng = np.random.default_rng([policy.seed, month])
    reached = (arm == CONTACT) & (rng.random(k) < policy.reach)
    decided = rng.random(k) < policy.decided
    acts = reached & ~decided
    p1 = np.where(acts, would, p0[chosen])
    p = p0.copy()
    p[chosen] = p1
    effect = (p0[chosen] - would) * policy.reach * (1 - policy.decided)
    contacts.truth.append(
        pd.DataFrame(
            {
                "customer_id": ids,
                "month_start": as_of,
                "risk_tier": tiers,
                "contact_arm": arm,
                "play": play,
                "reached": reached,
                "decided": decided,
                "probability_without_call": p0[chosen],
                "probability": p1,
                "expected_effect": effect,
                "churned": u[chosen] < p1,
                "saved": (u[chosen] >= p1) & (u[chosen] < p0[chosen]),
            }
        )
    )
    hours = rng.integers(8, 18, k)
    contacts.log.append(
        pd.DataFrame(
            {
                "customer_id": ids[reached],
                "contacted_at": as_of + pd.to_timedelta(hours[reached], unit="h"),
                "play": play[reached],
                "channel": np.array(CHANNELS)[rng.integers(0, 2, k)][reached],
                "outcome": "talked",
            }
        )
    )
    return p


CONTACT_COLUMNS = ("customer_id", "contacted_at", "play", "channel", "outcome")


def contact_tables(contacts: Contacts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contact log (by time) and its truth (by month and customer)."""
    empty = pd.DataFrame(columns=list(CONTACT_COLUMNS)).astype({"contacted_at": "datetime64[ns]"})
    log = pd.concat(contacts.log, ignore_index=True) if contacts.log else empty
    log = log.sort_values(["contacted_at", "customer_id"], kind="stable", ignore_index=True)
    truth = pd.concat(contacts.truth, ignore_index=True) if contacts.truth else pd.DataFrame()
    return log, truth


__all__ = ["CONTROL", "ContactPolicy", "Contacts", "apply_contacts", "contact_tables"]
