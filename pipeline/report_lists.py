"""The report's sections about the at-risk lists: today's list (who and how much is at risk,
the plays, what changed) and whether the earlier lists came true."""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from models import report_plots as charts
from models.labels import ChurnDefinition
from models.outcomes import (
    CONTACT_SET,
    WHOLE_LIST,
    gradable,
    grade_list,
    horizon_end,
    production_calibration,
)
from models.ranking import TIERS
from pipeline.report_data import LIST_COLUMNS, Lists, outcomes, read_list
from pipeline.report_html import Section, svg, table

LEFT = "left the list"
NOT_LISTED = "not on it"


def at_risk_section(ranked: pd.DataFrame, by: str | None, key: str, *, currency: str) -> Section:
    """Customers and revenue at risk by tier and by `by` (e.g. plan)."""
    tiers = ranked["risk_tier"].value_counts()
    risk = ranked.groupby(ranked[by].astype(str) if by else ranked["risk_tier"])
    top = risk["revenue_at_risk"].sum().sort_values(ascending=False)
    high = ranked[ranked["risk_tier"] == "high"]
    return Section(
        "Customers and revenue at risk",
        svg(charts.at_risk_figure(ranked, by), key),
        (
            f"{tiers.get('high', 0) + tiers.get('medium', 0):,} of {len(ranked):,} customers "
            f"are at risk (high {tiers.get('high', 0):,}, medium {tiers.get('medium', 0):,}); "
            f"revenue at risk {ranked['revenue_at_risk'].sum():,.0f} {currency}".rstrip()
            + ".",
            f"Most revenue at risk: {by or 'tier'} {top.index[0]} ({top.iloc[0]:,.0f}); the "
            f"high tier alone holds {high['revenue_at_risk'].sum():,.0f}.",
        ),
    )


CONTACT_COLUMNS = {
    "contact_order": "order",
    "customer_id": "customer",
    "churn_probability": "probability",
    "risk_tier": "tier",
    "revenue_at_risk": "revenue at risk",
    "suggested_play": "play",
    "reason_1": "strongest reason",
}


def plays_section(ranked: pd.DataFrame, key: str, *, currency: str = "") -> Section:
    """Customers per play, and who to call first."""
    contacts = ranked[ranked["contact_first"].astype(bool)]
    at_risk = ranked[ranked["risk_tier"].isin(TIERS[:2])]
    plays = at_risk["suggested_play"].value_counts()
    total = ranked["revenue_at_risk"].sum()
    share = contacts["revenue_at_risk"].sum() / total if total else 0.0
    first = contacts.sort_values("contact_order").head(10)[list(CONTACT_COLUMNS)]
    first = first.rename(columns=CONTACT_COLUMNS)
    return Section(
        "Plays and who to call first",
        svg(charts.plays_figure(ranked, currency), key),
        (
            f"The contact set holds {len(contacts):,} customers covering {share:.0%} of the "
            "revenue at risk; the first ten are below.",
            f"Most common play: {plays.index[0]} ({plays.iloc[0]:,} customers at risk)."
            if len(plays)
            else "No customer is at risk today.",
        ),
        table(first, formats={"probability": ".2f", "revenue at risk": ",.2f"}),
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


def changes_section(lists: Lists, key: str) -> Section:
    """What changed since the earlier list."""
    title = "What changed since the last list"
    if lists.earlier is None:
        return Section(title, missing="no earlier list to compare with")
    (when, before), (_, now) = lists.earlier, lists.latest
    matrix = transitions(now, before)
    newly = int(matrix.loc[[t for t in TIERS if t != "high"] + [NOT_LISTED], "high"].sum())
    left_high = int(matrix.loc["high", ["medium", "low", LEFT]].sum())
    return Section(
        title,
        svg(charts.changes_figure(matrix), key),
        (
            f"Since the list of {when:%Y-%m-%d}: {newly:,} customers are newly high risk and "
            f"{left_high:,} left the high tier ({int(matrix.loc['high', LEFT]):,} of them are "
            "no longer customers).",
            f"{int(matrix.loc[NOT_LISTED].sum()):,} customers are new to the list; "
            f"{int(matrix[LEFT].sum()):,} on the earlier list are not on today's.",
        ),
    )


def graded_lists(
    lists: Lists, tables: dict[str, ir.Table], *, definition: ChurnDefinition, data_end
) -> tuple[dict[pd.Timestamp, tuple[pd.DataFrame, pd.DataFrame]], list[pd.Timestamp]]:
    """Each earlier list whose horizon has passed, with its outcomes (only what happened
    after its date); and the dates of those still waiting."""
    graded, waiting = {}, []
    for when, folder in lists.folders:
        if not gradable(when, definition, data_end):
            waiting.append(when)
            continue
        listed = read_list(folder, columns=list(LIST_COLUMNS))
        if listed is not None:
            graded[when] = (listed, outcomes(tables, when, definition=definition, end=data_end))
    return graded, waiting


def _waiting_words(waiting: list[pd.Timestamp], definition: ChurnDefinition) -> str:
    return "; ".join(
        f"the list of {w:%Y-%m-%d} is graded once its horizon ends on "
        f"{horizon_end(w, definition):%Y-%m-%d}"
        for w in waiting[-2:]
    )


def came_true_section(
    graded: dict, waiting: list, key: str, *, definition: ChurnDefinition
) -> Section:
    """Precision and capture of each tier and the contact set, predicted against actual."""
    title = "Tiers and the contact set against what happened"
    if not graded:
        why = _waiting_words(waiting, definition) or "no at-risk list has been written yet"
        return Section(title, missing=f"no list whose horizon has passed: {why}")
    grades = {when: grade_list(*pair) for when, pair in graded.items()}
    latest_date = max(grades)
    latest = grades[latest_date].set_index("group")
    whole = pd.DataFrame(
        [{"as_of": w, **g.set_index("group").loc[WHOLE_LIST]} for w, g in grades.items()]
    )
    drift = [(w, g) for w, g in grades.items() if g.set_index("group").loc[WHOLE_LIST, "drift"]]
    return Section(
        title,
        svg(charts.came_true_figure(latest.reset_index(), whole), key),
        (_tiers_line(latest_date, latest), _drift_line(latest.loc[WHOLE_LIST], drift)),
        _grades_table(grades) + _waiting_note(waiting, definition),
    )


def _tiers_line(when: pd.Timestamp, latest: pd.DataFrame) -> str:
    high, contacts = latest.loc["high"], latest.loc[CONTACT_SET]
    contact = (
        f"the contact set's precision was {contacts['precision']:.1%}"
        if contacts["customers"]
        else "there was no contact set"
    )
    if not high["customers"]:
        return f"The list of {when:%Y-%m-%d} had no high-risk customer; {contact}."
    captured = "none" if pd.isna(high["capture"]) else f"{high['capture']:.0%}"
    return (
        f"The list of {when:%Y-%m-%d}: its high tier churned at {high['precision']:.1%} "
        f"(predicted {high['predicted_rate']:.1%}), capturing {captured} of the churners; "
        f"{contact}."
    )


def _drift_line(whole: pd.Series, drift: list) -> str:
    if drift:
        dates = ", ".join(f"{w:%Y-%m-%d}" for w, _ in drift)
        return (
            f"Warning: predicted and actual churn drift apart (lists of {dates}: beyond the "
            "99% chance interval by more than a fifth); retrain or check the exports."
        )
    return (
        f"Whole list: {whole['expected']:,.0f} churners expected, {whole['churned']:,} "
        "churned: within what chance allows."
    )


def _grades_table(grades: dict) -> str:
    frame = pd.concat([g.assign(list=f"{w:%Y-%m-%d}") for w, g in grades.items()])
    frame = frame[["list", "group", "customers", "expected", "churned"]].assign(
        predicted=frame["predicted_rate"], precision=frame["precision"], capture=frame["capture"]
    )
    formats = {"customers": ",", "expected": ",.1f", "churned": ",", "predicted": ".1%"}
    formats |= {"precision": ".1%", "capture": ".0%"}
    return table(frame, formats=formats)


def _waiting_note(waiting: list, definition) -> str:
    words = _waiting_words(waiting, definition)
    return f'<p class="missing">Not yet graded: {words}.</p>' if words else ""


def calibration_section(graded: dict, key: str) -> Section:
    """The latest graded list's calibration in production."""
    title = "Calibration in production"
    if not graded:
        return Section(title, missing="no list whose horizon has passed yet")
    when = max(graded)
    bins = production_calibration(*graded[when], bins=10)
    worst = bins.loc[(bins["observed"] - bins["predicted"]).abs().idxmax()]
    return Section(
        title,
        svg(charts.production_calibration_figure(bins), key),
        (
            f"The list of {when:%Y-%m-%d} in ten equal groups by probability: the riskiest "
            f"tenth was predicted {bins['predicted'].iloc[-1]:.1%} and churned at "
            f"{bins['observed'].iloc[-1]:.1%}.",
            f"Largest gap: predicted {worst['predicted']:.1%} against {worst['observed']:.1%} "
            f"({int(worst['customers']):,} customers); points on the diagonal mean a predicted "
            "20% is a real 20%.",
        ),
    )
