"""The report's section on whether contacting customers helped: each graded list's contact set,
its contact arm against its randomised control group (models/saves.py), with who the contact
log shows reached. The `*_line(s)` functions word the numbers for any count."""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd

from features.describe import count
from models import list_plots as charts
from models.arms import CONTACT
from models.labels import ChurnDefinition
from models.outcomes import horizon_end
from models.plays import PlaySettings
from models.saves import OVERALL, lists_needed, measure_saves
from models.uplift import ranking_grades
from pipeline.report.data import ARM_COLUMNS
from pipeline.report.html import Section, chart, notes, table

CONTACT_SET_COLUMNS = ("customer_id", "risk_tier", *ARM_COLUMNS)


@dataclass(frozen=True)
class Saves:
    """The graded contact sets stacked (models/saves.py `measure_saves` reads them), how many
    lists they came from, and what the contact log said that the lists did not expect."""

    graded: pd.DataFrame
    lists: int
    logged: bool  # the exports hold a contact log
    unknown_plays: dict[str, int]  # plays in the log that [plays] does not name


def contact_log(tables: dict[str, ir.Table]) -> pd.DataFrame | None:
    """The contact log (customer_id, contacted_at, play), or None when not exported."""
    if "contacts" not in tables:
        return None
    return tables["contacts"].select("customer_id", "contacted_at", "play").execute()


def known_plays(plays: PlaySettings) -> set[str]:
    """Every play the configuration can suggest."""
    return {*plays.by_topic.values(), plays.default, plays.low_tier}


def graded_contact_sets(
    graded: dict[pd.Timestamp, tuple[pd.DataFrame, pd.DataFrame]],
    log: pd.DataFrame | None,
    *,
    definition: ChurnDefinition,
    plays: PlaySettings,
) -> Saves:
    """The contact sets of the graded lists that drew a control group, each customer with
    their outcome (`graded`: list date -> (list, outcomes)) and whether the log shows them
    contacted within the list's horizon (each list as `graded_lists` read it once, with its
    ARM_COLUMNS when it has them)."""
    parts = []
    for when, (listed, outcome) in sorted(graded.items()):
        if "contact_arm" not in listed or listed["contact_arm"].isna().all():
            continue  # written before lists drew a control group
        chosen = listed.loc[listed["contact_arm"].notna(), list(CONTACT_SET_COLUMNS)]
        chosen = chosen.merge(outcome[["customer_id", "churned"]], on="customer_id")
        reached = set()
        if log is not None:
            end = pd.Timestamp(horizon_end(when, definition))
            inside = log[(log["contacted_at"] >= when) & (log["contacted_at"] < end)]
            reached = set(inside["customer_id"].astype(str))
        parts.append(
            chosen.assign(as_of=when, reached=chosen["customer_id"].astype(str).isin(reached))
        )
    columns = [*CONTACT_SET_COLUMNS, "churned", "as_of", "reached"]
    stacked = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    unknown: dict[str, int] = {}
    if log is not None:
        names = log["play"].astype(str)
        known = {play.lower() for play in known_plays(plays)}  # the log's text is read lowercased
        counts = names[~names.str.lower().isin(known)].value_counts()
        unknown = {str(k): int(v) for k, v in counts.items()}
    return Saves(stacked, len(parts), log is not None, unknown)


def saves_lines(overall: pd.Series, lists: int, currency: str) -> tuple[str, str]:
    """The reading: churn in each arm and the customers and revenue saved with intervals;
    then whether that is beyond chance, or how many more lists would tell."""
    money = f"{overall['revenue_kept']:,.0f} {currency}".strip()
    first = (
        f"Across {count(lists, 'graded list')}, {overall['churn_contact']:.1%} of the "
        f"{int(overall['contact']):,} customers put forward for a call churned against "
        f"{overall['churn_control']:.1%} of the {int(overall['control']):,} held back: "
        f"customers saved {overall['saved']:,.1f} (95% interval {overall['saved_low']:,.1f} "
        f"to {overall['saved_high']:,.1f}); monthly revenue kept {money} "
        f"(+/- {overall['revenue_half']:,.0f})."
    )
    needed = lists_needed(overall, lists)
    if needed == 0:
        second = "The saving is beyond chance: the interval excludes zero."
    elif needed is None:
        second = (
            "No saving is seen so far: the customers called churned at least as often as "
            "those held back (the interval still spans "
            f"{overall['saved_low']:,.1f} to {overall['saved_high']:,.1f}); look at the plays."
        )
    else:
        second = (
            "Not yet beyond chance: at this effect about "
            f"{count(needed, 'more list')} like these would tell (intention to treat: every "
            "customer put forward counts, reached or not)."
        )
    return first, second


def _notes(saves: Saves, overall: pd.Series) -> str:
    lines = []
    if not saves.logged:
        lines.append(
            "No contact log in the exports: everyone put forward counts as contacted. Export "
            "whom the team called as the contacts table to see who was reached."
        )
    elif overall["not_reached"] or overall["control_contacted"]:
        lines.append(
            f"{int(overall['not_reached']):,} of the {int(overall['contact']):,} customers "
            "put forward were not in the contact log (not reached; still counted as put "
            f"forward); {int(overall['control_contacted']):,} of the "
            f"{int(overall['control']):,} held back were contacted anyway (this dilutes the "
            "difference)."
        )
    if saves.unknown_plays:
        lines.append(_unknown_words(saves.unknown_plays) + ".")
    return notes(lines)


def _unknown_words(unknown: dict[str, int]) -> str:
    """The logged plays [plays] does not name, with how many contacts each (up to five)."""
    if not unknown:
        return ""
    named = ", ".join(f"{k} ({v:,})" for k, v in list(unknown.items())[:5])
    return f"Contacts naming a play [plays] does not know: {named}"


def saves_table(saves: pd.DataFrame) -> str:
    """Per group: customers in each arm, churn in each, and the saves with their interval."""
    shown = saves[["kind", "group", "contact", "control", "churn_contact", "churn_control"]]
    shown = shown.assign(
        saved=saves["saved"], low=saves["saved_low"], high=saves["saved_high"],
        revenue=saves["revenue_kept"], not_reached=saves["not_reached"],
    )  # fmt: skip
    formats = {"contact": ",", "control": ",", "churn_contact": ".1%", "churn_control": ".1%"}
    formats |= {"saved": ",.1f", "low": ",.1f", "high": ",.1f", "revenue": ",.0f"}
    return table(shown, formats=formats)


def saves_section(saves: Saves, key: str, *, currency: str = "") -> Section:
    """Churn among customers called against the control group, per tier, play and overall."""
    title = "Did contacting them help"
    if saves.graded.empty:
        unknown = _unknown_words(saves.unknown_plays)
        return Section(
            title,
            missing=(
                "no graded list with a control group yet: lists hold back part of the contact "
                "set ([contact] control_share) and are graded once their horizon has passed"
                + (f"; {unknown[0].lower()}{unknown[1:]}" if unknown else "")
            ),
        )
    measured = measure_saves(saves.graded)
    if measured.empty or OVERALL not in set(measured["group"]):
        return Section(title, missing="no tier had customers in both arms to compare")
    overall = measured.set_index("group").loc[OVERALL]
    called = int((saves.graded["contact_arm"] == CONTACT).sum())
    if not called:
        return Section(title, missing="every customer of the contact sets was held back")
    return Section(
        title,
        (chart(key, charts.saves_figure, measured),),
        (*saves_lines(overall, saves.lists, currency), ranking_grade_line(saves.graded)),
        saves_table(measured) + _notes(saves, overall),
    )


def ranking_grade_line(graded: pd.DataFrame) -> str:
    """How well the contact order picked who could be saved (models/uplift.py,
    `ranking_grades`): saves per 100 put forward in the first half of each contact set and in
    the rest, with 95% intervals, and the Qini figure."""
    grades = ranking_grades(graded) if "contact_order" in graded else None
    if grades is None:
        return (
            "The contact order is not graded: the first half of the contact sets or the rest "
            "has no tier with customers in both arms."
        )
    first, rest = grades["first"], grades["rest"]
    per100 = lambda g: (  # noqa: E731
        f"{100 * g['difference']:,.1f} (95% interval {100 * g['low']:,.1f} to "
        f"{100 * g['high']:,.1f})"
    )
    return (
        "The contact order (each list's own: by risk, or by expected saved revenue when its "
        "manifest's contact.ranking says uplift): per 100 put forward, the first half of the "
        f"contact sets saved {per100(first)}, the rest {per100(rest)}; Qini "
        f"{grades['qini']:+,.1f} customers "
        "(the mean, over tenths of the contact sets, of the customers saved beyond a random "
        "order; positive: the order put those who could be saved first)."
    )


def saves_metrics(graded: pd.DataFrame) -> dict[str, float]:
    """One graded list's saves as MLflow metrics (overall and per tier)."""
    measured = measure_saves(graded)
    metrics: dict[str, float] = {}
    for row in measured[measured["kind"] != "play"].itertuples():
        name = "all" if row.group == OVERALL else row.group
        for field in ("saved", "saved_low", "saved_high", "churn_contact", "churn_control"):
            metrics[f"saves.{name}.{field}"] = float(getattr(row, field))
        metrics[f"saves.{name}.revenue_kept"] = float(row.revenue_kept)
    return metrics
