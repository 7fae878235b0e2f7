"""Churn labels as configuration: who counts as churned in the horizon after each cutoff.

Features read rows strictly before a cutoff; the label window starts at cutoff + lead time,
so no row can feed both. Customers whose label window runs past the end of the data are
censored (left out), never labelled as retained.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir

from features.constraints import OneOf, TextList, Whole
from features.errors import ConfigError, Problem
from features.population import active_customers

Definition = Literal["contractual", "inactivity"]
SOURCES = ("engagement", "purchases")
LABEL = "churned"
"""The label column: 1 when the customer churned in the window after the cutoff, else 0."""


@dataclass(frozen=True)
class ChurnDefinition:
    """What churn means for this business.

    contractual: the cancellation date (customers.churned_at) falls in the label window.
    inactivity: no qualifying activity (engagement events and/or paid purchases) in the window;
    a customer is only eligible if active in the `horizon_days` before the cutoff.
    The label window is [cutoff + lead_days, cutoff + lead_days + horizon_days).
    """

    kind: Definition = "contractual"
    horizon_days: int = 30
    lead_days: int = 0
    min_tenure_days: int = 0
    inactivity_sources: tuple[str, ...] = SOURCES

    CHECKS: ClassVar[dict] = {
        "kind": OneOf(("contractual", "inactivity")),
        "horizon_days": Whole(1, 3650),
        "lead_days": Whole(0, 3650),
        "min_tenure_days": Whole(0, 36500),
        "inactivity_sources": TextList(SOURCES, non_empty=True),
    }

    def __post_init__(self) -> None:
        if self.kind not in ("contractual", "inactivity"):
            raise ValueError(f"kind must be 'contractual' or 'inactivity', not {self.kind!r}")
        if self.horizon_days < 1 or self.lead_days < 0 or self.min_tenure_days < 0:
            raise ValueError("horizon_days must be >= 1; lead_days and min_tenure_days >= 0")
        bad = set(self.inactivity_sources) - set(SOURCES)
        if bad or not self.inactivity_sources:
            raise ValueError(f"inactivity_sources must be a non-empty subset of {SOURCES}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, saved with the model and compared at scoring time."""
        out = asdict(self)
        out["inactivity_sources"] = list(self.inactivity_sources)
        return out

    def window(self, cutoff: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The label window [start, end) for one cutoff."""
        start = cutoff + dt.timedelta(days=self.lead_days)
        return start, start + dt.timedelta(days=self.horizon_days)


def _activity(tables: dict[str, ir.Table], sources: tuple[str, ...]) -> ir.Table:
    absent = [s for s in sources if s not in tables]
    if absent:
        have = [s for s in SOURCES if s in tables]
        raise ConfigError(
            [
                Problem(
                    "[churn] inactivity_sources",
                    f"names {', '.join(absent)}, but the exports have no {' or '.join(absent)} "
                    f"table; activity can only be read from {', '.join(have) or 'nothing'} "
                    f"(e.g. inactivity_sources = {have!r})",
                )
            ]
        )
    parts = []
    if "engagement" in sources:
        parts.append(tables["engagement"].select("customer_id", at=tables["engagement"].timestamp))
    if "purchases" in sources:
        p = tables["purchases"]
        parts.append(p.filter(p.status == "paid").select("customer_id", at=p.timestamp))
    return parts[0] if len(parts) == 1 else parts[0].union(parts[1])


def eligible_customers(
    tables: dict[str, ir.Table], cutoffs: ir.Table, definition: ChurnDefinition
) -> ir.Table:
    """(customer_id, cutoff) pairs that can churn after the cutoff, by the definition."""
    c = active_customers(tables["customers"], cutoffs)
    c = c.filter(c.signup_at <= c.cutoff - ibis.interval(days=definition.min_tenure_days)).select(
        "customer_id", "cutoff"
    )
    if definition.kind == "contractual":
        return c
    act = _activity(tables, definition.inactivity_sources)
    recent = (
        act.join(
            cutoffs,
            [
                act.at < cutoffs.cutoff,
                act.at >= cutoffs.cutoff - ibis.interval(days=definition.horizon_days),
            ],
        )
        .select("customer_id", "cutoff")
        .distinct()
    )
    return c.join(recent, ["customer_id", "cutoff"]).select("customer_id", "cutoff")


def label_churn(
    tables: dict[str, ir.Table],
    cutoffs: ir.Table,
    definition: ChurnDefinition,
    data_end: dt.datetime,
) -> ir.Table:
    """(customer_id, cutoff, churned 0/1) for eligible customers whose window ends by data_end.

    Customers who cancel during the lead time (before the window opens) are left out:
    they are gone before anyone could act, so they are neither churned nor retained.
    """
    eligible = eligible_customers(tables, cutoffs, definition)
    start_offset = ibis.interval(days=definition.lead_days)
    end_offset = ibis.interval(days=definition.lead_days + definition.horizon_days)
    e = eligible.filter(eligible.cutoff + end_offset <= ibis.literal(data_end))
    if definition.kind == "contractual":
        cust = tables["customers"].select("customer_id", "churned_at")
        j = e.join(cust, "customer_id")
        j = j.filter(j.churned_at.isnull() | (j.churned_at >= j.cutoff + start_offset))
        churned = (j.churned_at.notnull() & (j.churned_at < j.cutoff + end_offset)).cast("int8")
        return j.select("customer_id", "cutoff", churned=churned)
    act = _activity(tables, definition.inactivity_sources)
    w = (
        act.join(
            cutoffs,
            [act.at >= cutoffs.cutoff + start_offset, act.at < cutoffs.cutoff + end_offset],
        )
        .select("customer_id", "cutoff")
        .distinct()
        .mutate(seen=ibis.literal(1, "int8"))
    )
    j = e.left_join(w, ["customer_id", "cutoff"])
    return j.select("customer_id", "cutoff", churned=(1 - j.seen.fill_null(0)).cast("int8"))


def without_contacted(
    labels: ir.Table, contacts: ir.Table, definition: ChurnDefinition
) -> ir.Table:
    """The labels no retention call could have changed: (customer, cutoff) rows where the
    contact log shows a contact between the cutoff and the end of the label window are left
    out. A customer who was called and stayed would otherwise teach the next model that their
    profile is safe, and the list would stop putting such customers forward; left out, the
    model learns churn as it is without a call (the control group and everyone not called
    still teach it), which is what the list's probability promises."""
    end = ibis.interval(days=definition.lead_days + definition.horizon_days)
    c = contacts.select(contacted_id="customer_id", contacted_at="contacted_at")
    touched = (
        labels.join(
            c,
            [
                labels.customer_id == c.contacted_id,
                c.contacted_at >= labels.cutoff,
                c.contacted_at < labels.cutoff + end,
            ],
        )
        .select("customer_id", "cutoff")
        .distinct()
    )
    return labels.anti_join(touched, ["customer_id", "cutoff"])
