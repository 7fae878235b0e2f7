"""The report's sections on whether the earlier lists came true: each list whose horizon has
passed, graded per tier and for the contact set against what happened after its date, and its
calibration in production. The `*_line(s)` functions word the numbers for any count."""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from features.describe import count
from models import list_plots as charts
from models.labels import ChurnDefinition
from models.outcomes import (
    CONTACT_SET,
    WHOLE_LIST,
    gradable,
    grade_list,
    horizon_end,
    production_calibration,
)
from pipeline.report.data import ARM_COLUMNS, LIST_COLUMNS, Lists, outcomes, read_list
from pipeline.report.html import Section, chart, notes, table


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
        listed = read_list(folder, columns=list(LIST_COLUMNS), optional=ARM_COLUMNS)
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
        (
            chart(f"{key}-groups-", charts.came_true_figure, latest.reset_index()),
            chart(f"{key}-lists-", charts.lists_true_figure, whole),
        ),
        (tiers_line(latest_date, latest), drift_line(latest.loc[WHOLE_LIST], drift)),
        _grades_table(grades) + _waiting_note(waiting, definition),
    )


def tiers_line(when: pd.Timestamp, latest: pd.DataFrame) -> str:
    """How the latest graded list's high tier and contact set did (`latest`: grade_list's
    rows indexed by group)."""
    high, contacts = latest.loc["high"], latest.loc[CONTACT_SET]
    churners = int(latest.loc[WHOLE_LIST, "churned"])
    contact = (
        f"the contact set's precision was {contacts['precision']:.1%} "
        f"({int(contacts['churned']):,} of {int(contacts['customers']):,} churned)"
        if contacts["customers"]
        else "there was no contact set"
    )
    if not high["customers"]:
        return f"The list of {when:%Y-%m-%d} had no high-risk customer; {contact}."
    tier = (
        f"The list of {when:%Y-%m-%d}: its high tier churned at {high['precision']:.1%} "
        f"(predicted {high['predicted_rate']:.1%})"
    )
    if not churners:
        return f"{tier}; no customer on the list churned; {contact}."
    caught = int(high["churned"])
    return (
        f"{tier}, capturing {caught:,} of the {count(churners, 'churner')} "
        f"({high['capture']:.0%}); {contact}."
    )


def drift_line(whole: pd.Series, drift: list) -> str:
    """The whole list's churners expected against found, or the drift warning."""
    if drift:
        dates = ", ".join(f"{w:%Y-%m-%d}" for w, _ in drift)
        return (
            f"Warning: predicted and actual churn drift apart (lists of {dates}: beyond the "
            "99% chance interval by more than a fifth); retrain or check the exports."
        )
    return (
        f"Whole list: {count(whole['expected'], 'churner')} expected, {int(whole['churned']):,} "
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
    return notes([f"Not yet graded: {words}."] if words else [])


def calibration_lines(bins: pd.DataFrame, when: pd.Timestamp) -> tuple[str, str]:
    """The calibration reading from `production_calibration`'s equal-size groups."""
    riskiest = bins.iloc[-1]
    if len(bins) == 1:
        first = f"The list of {when:%Y-%m-%d} as one group: predicted"
    else:
        first = (
            f"The list of {when:%Y-%m-%d} in {len(bins)} equal groups by probability: the "
            "riskiest group was predicted"
        )
    first += f" {riskiest['predicted']:.1%} and churned at {riskiest['observed']:.1%}."
    gaps = (bins["observed"] - bins["predicted"]).abs()
    diagonal = "points on the diagonal mean a predicted 20% is a real 20%."
    if round(gaps.max(), 3) == 0:
        return first, f"Every group churned as predicted; {diagonal}"
    worst = bins.loc[gaps.idxmax()]
    return first, (
        f"Largest gap: predicted {worst['predicted']:.1%} against {worst['observed']:.1%} "
        f"({count(worst['customers'], 'customer')}); {diagonal}"
    )


def calibration_section(graded: dict, key: str) -> Section:
    """The latest graded list's calibration in production."""
    title = "Calibration in production"
    if not graded:
        return Section(title, missing="no list whose horizon has passed yet")
    when = max(graded)
    bins = production_calibration(*graded[when], bins=10)
    if bins.empty:
        return Section(title, missing=f"no customer of the list of {when:%Y-%m-%d} was graded")
    return Section(
        title,
        (chart(key, charts.production_calibration_figure, bins),),
        calibration_lines(bins, when),
    )
