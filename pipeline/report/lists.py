"""The report's sections about today's at-risk list: who and how much is at risk (by tier),
the plays and who to call first, and what changed since the earlier list. The `*_lines`
functions word the numbers for any count (none, some, all)."""

from __future__ import annotations

import pandas as pd

from features.describe import count
from models import list_plots as charts
from models.ranking import TIERS
from pipeline.report.data import Lists
from pipeline.report.html import Section, chart, table

LEFT = "left the list"
NOT_LISTED = "not on it"


AT_RISK = TIERS[:2]  # the tiers the team acts on; the low tier gets no play


def _money(value: float) -> str:
    return f"{value:,.0f}"


def contact_coverage(ranked: pd.DataFrame) -> float | None:
    """The share of the high and medium tiers' revenue at risk held by contact-set customers
    (None: those tiers hold no revenue at risk)."""
    at_risk = ranked[ranked["risk_tier"].isin(AT_RISK)]
    total = float(at_risk["revenue_at_risk"].sum())
    if total <= 0:
        return None
    covered = at_risk.loc[at_risk["contact_first"].astype(bool), "revenue_at_risk"].sum()
    return float(covered) / total


def _coverage_words(ranked: pd.DataFrame, at_risk: float) -> str:
    contacts = int(ranked["contact_first"].astype(bool).sum())
    covered = contact_coverage(ranked)
    if not contacts:
        return "no contact set"
    if covered is None:
        return f"the contact set holds {count(contacts, 'customer')}"
    if covered >= 0.9995:
        return f"the contact set covers all {_money(at_risk)}"
    return f"the contact set covers {covered:.0%} of these {_money(at_risk)}"


def at_risk_lines(ranked: pd.DataFrame, by: str | None, *, currency: str) -> tuple[str, str]:
    """The headline: customers at risk, then revenue at risk by tier with what the contact
    set covers of the high and medium tiers; and where that revenue sits by `by` (e.g.
    plan), tier by tier."""
    tiers = ranked["risk_tier"].value_counts()
    revenue = ranked.groupby("risk_tier")["revenue_at_risk"].sum()
    high, medium = int(tiers.get("high", 0)), int(tiers.get("medium", 0))
    at_risk = float(revenue.get("high", 0.0) + revenue.get("medium", 0.0))
    money = {t: _money(revenue.get(t, 0.0)) for t in TIERS}
    unit = f" ({currency})" if currency else ""
    if high + medium == 0:
        first = (
            f"None of the {count(len(ranked), 'customer')} is at risk (high or medium); "
            f"revenue at risk{unit} in the low tier: {money['low']}."
        )
    else:
        who = "All" if high + medium == len(ranked) else f"{high + medium:,} of"
        first = (
            f"{who} {count(len(ranked), 'customer')} are at risk (high {high:,}, medium "
            f"{medium:,}); revenue at risk{unit}: high {money['high']}, medium "
            f"{money['medium']} ({_coverage_words(ranked, at_risk)}), low {money['low']}."
        )
    return first, _where_line(ranked, by)


def _where_line(ranked: pd.DataFrame, by: str | None) -> str:
    """Where the revenue at risk sits: by `by` within the high and medium tiers, then within
    the low tier; without `by`, each tier's share of it all."""
    total = float(ranked["revenue_at_risk"].sum())
    if total <= 0:
        return "No customer has revenue at risk (no revenue on record)."
    if by is None:
        revenue = ranked.groupby("risk_tier")["revenue_at_risk"].sum()
        return (
            "Of all revenue at risk, "
            + ", ".join(f"the {t} tier holds {revenue.get(t, 0.0) / total:.0%}" for t in TIERS)
            + "."
        )
    key = ranked[by].astype(str)
    at_risk = ranked["risk_tier"].isin(AT_RISK)
    parts = []
    if ranked.loc[at_risk, "revenue_at_risk"].sum() > 0:
        groups = ranked[at_risk].groupby([key[at_risk], "risk_tier"])["revenue_at_risk"].sum()
        groups = groups.unstack(fill_value=0.0).reindex(columns=list(AT_RISK), fill_value=0.0)
        top = groups.sum(axis=1).sort_values(ascending=False, kind="stable")
        name = top.index[0]
        parts.append(
            f"in the high and medium tiers: {by} {name} ({_money(top.iloc[0])}: high "
            f"{_money(groups.loc[name, 'high'])}, medium {_money(groups.loc[name, 'medium'])})"
        )
    low = ~at_risk
    if ranked.loc[low, "revenue_at_risk"].sum() > 0:
        top = ranked[low].groupby(key[low])["revenue_at_risk"].sum()
        top = top.sort_values(ascending=False, kind="stable")
        parts.append(f"in the low tier: {by} {top.index[0]} ({_money(top.iloc[0])})")
    return "Most revenue at risk " + "; ".join(parts) + "."


def at_risk_section(ranked: pd.DataFrame, by: str | None, key: str, *, currency: str) -> Section:
    """Customers and revenue at risk by tier and by `by` (e.g. plan)."""
    return Section(
        "Customers and revenue at risk",
        (
            chart(f"{key}-customers-", charts.at_risk_figure, ranked, by, revenue=False),
            chart(f"{key}-revenue-", charts.at_risk_figure, ranked, by, revenue=True),
        ),
        at_risk_lines(ranked, by, currency=currency),
    )


CONTACT_COLUMNS = {
    "contact_order": "order",
    "customer_id": "customer",
    "churn_probability": "probability",
    "risk_tier": "tier",
    "revenue_at_risk": "revenue at risk",
    "suggested_play": "play (most urgent reason)",
    "reason_1": "strongest reason",
}
SHOWN_CONTACTS = 10


def plays_lines(ranked: pd.DataFrame) -> tuple[str, str]:
    """The plays reading: the contact set (what it covers of the high and medium tiers'
    revenue at risk, and how many of it the table shows); the most common play."""
    contacts = int(ranked["contact_first"].astype(bool).sum())
    covered = contact_coverage(ranked)
    if not contacts:
        first = (
            "No contact set: [scoring] capacity is 0 or no customer is at or above the contact "
            "floor."
        )
    else:
        shown = (
            f"the first {SHOWN_CONTACTS} are below"
            if contacts > SHOWN_CONTACTS
            else ("it is below" if contacts == 1 else "all are below")
        )
        covers = (
            f" covering {covered:.0%} of the high and medium tiers' revenue at risk"
            if covered is not None
            else ""
        )
        first = f"The contact set holds {count(contacts, 'customer')}{covers}; {shown}."
    at_risk = ranked[ranked["risk_tier"].isin(AT_RISK)]
    plays = at_risk["suggested_play"].value_counts()
    if plays.empty:
        return first, "No customer is at risk today: no play to suggest."
    if len(plays) == 1:
        return (
            first,
            f"Every customer at risk ({len(at_risk):,}) gets the same play: {plays.index[0]}.",
        )
    return (
        first,
        f"Most common play: {plays.index[0]} ({count(plays.iloc[0], 'customer')} at risk).",
    )


def plays_section(ranked: pd.DataFrame, key: str, *, currency: str = "") -> Section:
    """Customers per play, and who to call first."""
    contacts = ranked[ranked["contact_first"].astype(bool)]
    first = contacts.sort_values("contact_order").head(SHOWN_CONTACTS)[list(CONTACT_COLUMNS)]
    first = first.rename(columns=CONTACT_COLUMNS)
    return Section(
        "Plays and who to call first",
        (chart(key, charts.plays_figure, ranked, currency),),
        plays_lines(ranked),
        table(first, formats={"probability": ".2f", "revenue at risk": ",.2f"})
        if len(first)
        else None,
    )


def transitions(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Customers from each tier of the earlier list (or none) to today's tier (or gone)."""
    was = before.set_index(before["customer_id"].astype(str))["risk_tier"]
    is_ = now.set_index(now["customer_id"].astype(str))["risk_tier"]
    everyone = was.index.union(is_.index)
    frame = pd.DataFrame(
        {"before": was.reindex(everyone).fillna(NOT_LISTED), "now": is_.reindex(everyone)}
    )
    frame["now"] = frame["now"].fillna(LEFT)
    matrix = pd.crosstab(frame["before"], frame["now"])
    return matrix.reindex(index=[*TIERS, NOT_LISTED], columns=[*TIERS, LEFT], fill_value=0)


def _are(n: int) -> str:
    return "is" if n == 1 else "are"


def _still_listed(gone: int, left: int) -> str:
    """Of `left` customers who left the high tier, how many are still on the list."""
    if gone == 0:
        return "all still on the list" if left > 1 else "still on the list"
    if gone == left:
        return "all of them gone from the list" if left > 1 else "gone from the list"
    return f"{gone:,} of them gone from the list"


def changes_lines(matrix: pd.DataFrame, when: pd.Timestamp) -> tuple[str, str]:
    """The changes reading from the tier-to-tier `transitions` matrix: who is newly high
    risk and who left the high tier (and the list); who joined and who left the list."""
    newly = int(matrix.loc[[t for t in TIERS if t != "high"] + [NOT_LISTED], "high"].sum())
    was_high = int(matrix.loc["high"].sum())
    left_high = int(matrix.loc["high", ["medium", "low", LEFT]].sum())
    gone = int(matrix.loc["high", LEFT])
    since = f"Since the list of {when:%Y-%m-%d}:"
    if newly:
        first = f"{since} {count(newly, 'customer')} {_are(newly)} newly high risk"
    else:
        first = f"{since} no customer is newly high risk"
    every = (
        "the one high-risk customer of the earlier list"
        if was_high == 1
        else f"all {was_high:,} high-risk customers of the earlier list"
    )
    if not was_high:
        first += "; the earlier list had no high-risk customer."
    elif not left_high:
        first += f"; {every} still {_are(was_high)}."
    else:
        who = (
            every
            if left_high == was_high
            else f"{left_high:,} of its {was_high:,} high-risk customers"
        )
        first += f"; {who} left the high tier ({_still_listed(gone, left_high)})."
    new = int(matrix.loc[NOT_LISTED].sum())
    dropped, before = int(matrix[LEFT].sum()), int(matrix.drop(index=NOT_LISTED).to_numpy().sum())
    joined = (
        f"{count(new, 'customer')} {_are(new)} new to the list"
        if new
        else "No customer is new to the list"
    )
    if dropped == 0:
        return first, f"{joined}; every customer on the earlier list is on today's."
    if dropped == before:
        return first, f"{joined}; none of the earlier list's customers is on today's."
    return first, (
        f"{joined}; {dropped:,} of the earlier list's {before:,} {_are(dropped)} not on today's."
    )


def changes_section(lists: Lists, key: str) -> Section:
    """What changed since the earlier list."""
    title = "What changed since the last list"
    if lists.earlier is None:
        return Section(title, missing="no earlier list to compare with")
    (when, before), (_, now) = lists.earlier, lists.latest
    matrix = transitions(now, before)
    return Section(title, (chart(key, charts.changes_figure, matrix),), changes_lines(matrix, when))
