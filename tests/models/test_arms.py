"""The contact set's control group: reproducible, stratified by tier, independent of risk,
and stable within a horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.arms import CONTACT, CONTROL, ArmDraw, ContactSettings, assign_arms
from models.ranking import ListSettings, order_list, risk_tier, with_arms

DAY = pd.Timestamp("2026-11-01")


def _contact_set(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    probability = rng.beta(2, 8, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "churn_probability": probability,
            "risk_tier": risk_tier(probability, 0.3, 0.1),
        }
    )


def test_the_draw_is_reproducible_and_changes_with_the_date_and_seed():
    contacts = _contact_set(500)
    settings = ContactSettings(control_share=0.1, seed=7)
    first = assign_arms(contacts, settings, as_of=DAY)
    assert first.equals(assign_arms(contacts.sample(frac=1, random_state=1), settings, as_of=DAY)
                        .reindex(contacts.index))  # fmt: skip
    other_day = assign_arms(contacts, settings, as_of=DAY + pd.Timedelta(days=31))
    other_seed = assign_arms(contacts, ContactSettings(control_share=0.1, seed=8), as_of=DAY)
    assert not first.equals(other_day)
    assert not first.equals(other_seed)


def test_each_tier_holds_its_share_of_control_customers():
    contacts = _contact_set(997)
    arms = assign_arms(contacts, ContactSettings(control_share=0.15), as_of=DAY)
    for tier, members in contacts.groupby("risk_tier").groups.items():
        control = int((arms.loc[members] == CONTROL).sum())
        assert control == round(0.15 * len(members)), tier
    assert set(arms) == {CONTACT, CONTROL}


def test_the_control_group_is_not_chosen_by_risk():
    contacts = _contact_set(4000, seed=11)
    arms = assign_arms(contacts, ContactSettings(control_share=0.2), as_of=DAY)
    p = contacts["churn_probability"]
    gap = p[arms == CONTROL].mean() - p[arms == CONTACT].mean()
    spread = p.std() * np.sqrt(1 / (arms == CONTROL).sum() + 1 / (arms == CONTACT).sum())
    assert abs(gap) < 4 * spread


def test_customers_keep_the_arm_an_earlier_list_gave_them_and_it_counts_to_the_share():
    contacts = _contact_set(200)
    settings = ContactSettings(control_share=0.1)
    first = assign_arms(contacts, settings, as_of=DAY)
    kept = dict(zip(contacts["customer_id"], first, strict=True))
    later = assign_arms(contacts, settings, as_of=DAY + pd.Timedelta(days=7), kept=kept)
    assert later.equals(first)  # a fresh draw on the later date would differ
    assert not assign_arms(contacts, settings, as_of=DAY + pd.Timedelta(days=7)).equals(first)


def test_no_control_share_draws_no_control_group():
    arms = assign_arms(_contact_set(300), ContactSettings(control_share=0.0), as_of=DAY)
    assert (arms == CONTACT).all()


def test_the_list_marks_arms_inside_the_contact_set_only():
    rows = _contact_set(600).assign(revenue_at_risk=1.0)
    ranked = order_list(rows, ListSettings(capacity=100))
    listed = with_arms(ranked, ArmDraw(ContactSettings(control_share=0.1), DAY))
    inside = listed["contact_first"]
    assert listed.loc[~inside, "contact_arm"].isna().all()
    assert listed.loc[inside, "contact_arm"].isin([CONTACT, CONTROL]).all()
    assert (listed.loc[inside, "contact_arm"] == CONTROL).sum() >= 9
    assert (
        list(listed.columns).index("contact_arm") == list(listed.columns).index("contact_order") + 1
    )
