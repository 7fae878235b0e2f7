"""Purchases family: recency, frequency, monetary value, price changes, payment failures."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.describe import MIN_DROP, Given, Risk, steep_decline
from features.exports.contract import TIMELINES
from features.expressions import (
    age_days,
    count_where,
    days_before,
    days_known,
    ratio,
    when,
    within,
)
from features.family import Family, Source, Window
from features.periods import Periods, active_periods, fitted_change
from features.spec import Feature, FeatureSpec

TS = TIMELINES["purchases"]
# An invoice this much above the one 2-3 months before counts as a price rise (below it, a
# rounding or proration difference).
PRICE_RISE = 0.01
MONTHS = Periods(30, 12)  # the monthly trajectory: paid orders in each of the last 12 months
DECLINE = 0.5  # a fitted fall of half an order a month or more is a decline worth naming
OVERDUE = 1.5  # no order for half as long again as the customer's usual interval
# A recency is a risk only for a customer late against their own usual interval (a monthly
# payer 20 days after the invoice is on time); with no usual interval (fewer than two
# orders in the year), against the typical customer alone.
LATE = Given("order_overdue_365d", "above", OVERDUE, missing=True)


def _paid(t: ir.Table) -> ir.BooleanValue:
    return (t.status == "paid").fill_null(False)


def _orders(days: int):
    return lambda t: count_where(_paid(t) & within(t, TS, days))


ORDER_CAP = 10.0
"""Money counts each order at most this many times the customer's median paid order over
the year before the cutoff: one absurd amount (a typo, 1e12, kept with a warning) moves that
customer's figures by at most a few orders' worth, never a list's total by billions."""


def counted_amount(t: ir.Table) -> dict[str, ir.Value]:
    """Per joined row, the amount money features count (`counted`): the order's amount, at
    most ORDER_CAP times the customer's median paid order in the year before the cutoff."""
    year = _paid(t) & within(t, TS, 365)
    usual = when(year, t.amount).median().over(group_by=[t.customer_id, t.cutoff])
    return {"counted": ibis.least(t.amount, (usual * ORDER_CAP).fill_null(t.amount))}


def _revenue(days: int):
    return lambda t: t.counted.sum(where=_paid(t) & within(t, TS, days)).fill_null(0)


def _status_count(status: str, days: int):
    return lambda t: count_where((t.status == status).fill_null(False) & within(t, TS, days))


def _purchase(name: str, describe: str, days: int, **overrides) -> Feature:
    """A purchases feature over `days` with the family's defaults."""
    return FAMILY.feature(name, describe, window_days=days, **overrides)


TOTAL = {"history": "scale"}
"""A total over its window: scaled when the window reaches before the first exported day."""
PROBLEM = {"higher_is_riskier": True, "risk": Risk("higher", than=0)}
"""A count of problems: any is a risk."""
WINDOWS = (Window(30), Window(90), Window(365))


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every purchases feature; invoice and add-on kinds come from the spec's settings."""
    return [
        *_totals(),
        *_payments(spec),
        *_invoices(spec),
        _recency(),
        *_trajectory(),
    ]


def _totals() -> list[Feature]:
    """Paid orders and revenue over each window, and recent monthly revenue."""
    features = []
    for w in WINDOWS:
        features += [
            _purchase(f"orders_{w.suffix}", f"{{value:n:paid order}} {w.words}", w.days,
                      aggregate=_orders(w.days), typical=",.0f", **TOTAL),
            _purchase(f"revenue_{w.suffix}", f"{{value:money}} paid {w.words}", w.days,
                      kind="amount", aggregate=_revenue(w.days), typical="money", **TOTAL),
        ]  # fmt: skip
    monthly = _purchase("monthly_revenue", "recent monthly revenue {value:money}", 90,
                        kind="amount", derive=lambda r: r.revenue_90d / 3.0,
                        inputs=("revenue_90d",), typical="money")  # fmt: skip
    return [*features, monthly]


def _payments(spec: FeatureSpec) -> list[Feature]:
    """Failed payments and refunds, the discounted share of spend, add-on purchases."""
    addon_kinds = spec.settings.addon_kinds
    year = lambda t: _paid(t) & within(t, TS, 365)  # noqa: E731
    return [
        _purchase("failed_payments_30d", "{value:n:failed payment} in the last 30 days", 30,
                  aggregate=_status_count("failed", 30), **TOTAL, **PROBLEM),
        _purchase("failed_payments_90d", "{value:n:failed payment} in the last 90 days", 90,
                  aggregate=_status_count("failed", 90), **TOTAL, higher_is_riskier=True,
                  # a failure months ago that was paid since is no current risk: only a
                  # customer who also failed in the last 30 days has a payment problem now
                  risk=Risk("higher", than=0, given=(Given("failed_payments_30d", "above", 0),))),
        _purchase("refunds_90d", "{value:n:refund} in the last 90 days", 90,
                  aggregate=_status_count("refunded", 90), **TOTAL, **PROBLEM),
        _purchase("discount_share_365d", "{value:.0%} of the last year's spend was discounted",
                  365, kind="ratio", fill=None, higher_is_riskier=None,
                  aggregate=lambda t: ratio(t.discount.sum(where=year(t)),
                                            (t.amount + t.discount.fill_null(0)).sum(
                                                where=year(t)))),
        _purchase("addon_purchases_90d", "{value:n:add-on purchase} in the last 90 days", 90,
                  aggregate=lambda t: count_where(_paid(t) & t.kind.isin(addon_kinds).fill_null(
                      False) & within(t, TS, 90)), typical=",.0f", **TOTAL),
    ]  # fmt: skip


def _invoices(spec: FeatureSpec) -> list[Feature]:
    """The last invoice (its amount, whether it failed) and its change on 2-3 months ago."""
    kinds = spec.settings.invoice_kinds

    def invoice(t: ir.Table) -> ir.BooleanValue:
        return t.kind.isin(kinds).fill_null(False) & (t.status != "refunded")

    last = lambda t, column: t[column].argmax(t[TS], where=invoice(t) & within(t, TS, 45))  # noqa: E731
    return [
        _purchase("last_invoice_amount", "last invoice {value:money}", 45, kind="amount",
                  aggregate=lambda t: last(t, "counted"), fill=None, higher_is_riskier=None),
        _purchase("last_invoice_failed", "last invoice payment failed and is not yet paid", 45,
                  kind="flag", aggregate=lambda t: (last(t, "status") == "failed").fill_null(
                      False).cast("int8"), **PROBLEM),
        _purchase("invoice_amount_60_90d", "invoice amount 2-3 months ago {value:money}", 90,
                  kind="amount", fill=None, higher_is_riskier=None,
                  aggregate=lambda t: t.amount.mean(where=invoice(t) & within(t, TS, 90, 60))),
        _purchase("invoice_change", "invoice up {value:.0%} on 2-3 months ago "
                  "({invoice_amount_60_90d:money} to {last_invoice_amount:money})", 90,
                  kind="ratio", derive=lambda r: ratio(r.last_invoice_amount,
                                                       r.invoice_amount_60_90d) - 1.0,
                  inputs=("last_invoice_amount", "invoice_amount_60_90d"), fill=None,
                  higher_is_riskier=True, risk=Risk("higher", than=PRICE_RISE)),
    ]  # fmt: skip


def _recency() -> Feature:
    """Days since the last paid order: a risk only when late against the customer's own
    usual interval (LATE)."""
    return _purchase(
        "days_since_last_purchase",
        "last paid order {value:n:day} ago",
        365,
        kind="days",
        aggregate=lambda t: age_days(t, TS).min(where=_paid(t)),
        fill=None,
        higher_is_riskier=True,
        risk=Risk("higher", given=(LATE,)),
        describe_missing="no paid order in the last 365 days",
        typical="n:day",
    )


def _trajectory() -> list[Feature]:
    """Orders month by month, cadence (the usual interval between orders against the time
    since the last), pace against the customer's own year, order size and orders per month
    of tenure."""
    months = lambda t: MONTHS.rows(days_before(t, TS), _paid(t))  # noqa: E731
    year = lambda t: _paid(t) & within(t, TS, 365)  # noqa: E731
    return [
        _purchase("order_months_12m", "ordered in {value:n:month} of the last 12", MONTHS.span,
                  aggregate=lambda t: active_periods(months(t)), history="whole",
                  typical=",.0f"),
        _purchase("orders_decline_12m", "orders trending down: {value:.1f} fewer paid orders "
                  "a month than a year ago", MONTHS.span, kind="amount",
                  aggregate=lambda t: -fitted_change(months(t)), higher_is_riskier=True,
                  risk=steep_decline("orders_decline_12m", DECLINE), history="whole"),
        _purchase("order_interval_days_365d", "orders usually every {value:n:day} (typical "
                  "customer: every {typical:n:day})", 365, kind="days", fill=None,
                  higher_is_riskier=True, aggregate=lambda t: ratio(
                      t[TS].max(where=year(t)).epoch_seconds()
                      - t[TS].min(where=year(t)).epoch_seconds(),
                      (count_where(year(t)) - 1) * 86400.0)),
        _purchase("order_overdue_365d", "orders usually every {order_interval_days_365d:n:day}, "
                  "none for {days_since_last_purchase:n:day}", 365, kind="ratio", fill=None,
                  inputs=("days_since_last_purchase", "order_interval_days_365d"),
                  derive=lambda r: ratio(r.days_since_last_purchase, r.order_interval_days_365d),
                  higher_is_riskier=True, risk=Risk("higher", than=OVERDUE)),
        # One add-on bought in June makes a steady payer's spend "fall": spend is a reason
        # only when the orders are late too
        _purchase("spend_pace_365d", "{revenue_90d:money} paid in the last 90 days, {value:.0%} "
                  "of their pace {since}", 365, kind="ratio", fill=None,
                  inputs=("revenue_90d", "revenue_365d", "signup_at"), per_tenure=True,
                  derive=lambda r: ratio(r.revenue_90d,
                                         r.revenue_365d * 90.0 / days_known(r, 365)),
                  risk=Risk("lower", 1.0 - MIN_DROP, given=(
                      Given("order_overdue_365d", "above", 1.0),))),
        _purchase("revenue_per_order_365d", "average paid order {value:money} over the last "
                  "year", 365, kind="amount", fill=None, higher_is_riskier=None,
                  inputs=("revenue_365d", "orders_365d"),
                  derive=lambda r: ratio(r.revenue_365d, r.orders_365d)),
        _purchase("orders_per_month_365d", "{value:.1f} paid orders a month {since}", 365,
                  kind="amount", per_tenure=True, typical=".1f",
                  inputs=("orders_365d", "signup_at"),
                  derive=lambda r: r.orders_365d * 30.0 / days_known(r, 365)),
    ]  # fmt: skip


FAMILY = Family(
    name="purchases",
    declare=declarations,
    source=Source("purchases", 365, columns=("amount", "discount", "status", "kind")),
    per_row=counted_amount,
    topics={
        "failed_payments": "payment problems",
        "last_invoice_failed": "payment problems",
        "refunds": "payment problems",
        "invoice_change": "price change",
        "invoice_amount_60_90d": "price change",
        "last_invoice_amount": "price change",
    },
    default_topic="spend",
    defaults={"fill": 0, "higher_is_riskier": False},
)
