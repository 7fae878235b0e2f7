"""Purchases family: recency, frequency, monetary value, price changes, payment failures."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.describe import MIN_DROP, Given, Risk, steep_decline
from features.expressions import (
    age_days,
    count_where,
    days_before,
    days_known,
    ratio,
    when,
    within,
)
from features.family import Family, Source
from features.periods import Periods, active_periods, fitted_change
from features.spec import Feature, FeatureSpec

TS = "timestamp"
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


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every purchases feature; invoice and add-on kinds come from the spec's settings."""
    invoice_kinds = spec.settings.invoice_kinds
    addon_kinds = spec.settings.addon_kinds
    typical = "(typical customer: {typical:,.0f})"
    problem = {"higher_is_riskier": True, "risk": Risk("higher", than=0)}

    def invoice(t: ir.Table) -> ir.BooleanValue:
        return t.kind.isin(invoice_kinds).fill_null(False) & (t.status != "refunded")

    features = []
    for days in (30, 90, 365):
        features += [
            _purchase(
                f"orders_{days}d",
                f"{{value:n:paid order}} in the last {days} days {typical}",
                days,
                aggregate=_orders(days),
                **TOTAL,
            ),
            _purchase(
                f"revenue_{days}d",
                f"{{value:money}} paid in the last {days} days "
                "(typical customer: {typical:money})",
                days,
                kind="amount",
                aggregate=_revenue(days),
                **TOTAL,
            ),
        ]
    features += [
        _purchase(
            "monthly_revenue",
            "recent monthly revenue {value:money} (typical customer: {typical:money})",
            90,
            kind="amount",
            derive=lambda r: r.revenue_90d / 3.0,
            inputs=("revenue_90d",),
        ),
        _purchase(
            "failed_payments_30d",
            "{value:n:failed payment} in the last 30 days",
            30,
            aggregate=_status_count("failed", 30),
            **TOTAL,
            **problem,
        ),
        _purchase(
            "failed_payments_90d",
            "{value:n:failed payment} in the last 90 days",
            90,
            aggregate=_status_count("failed", 90),
            **TOTAL,
            higher_is_riskier=True,
            # a failure months ago that was paid since is no current risk: only a customer
            # who also failed in the last 30 days has a payment problem now
            risk=Risk("higher", than=0, given=(Given("failed_payments_30d", "above", 0),)),
        ),
        _purchase(
            "refunds_90d",
            "{value:n:refund} in the last 90 days",
            90,
            aggregate=_status_count("refunded", 90),
            **TOTAL,
            **problem,
        ),
        _purchase(
            "discount_share_365d",
            "{value:.0%} of the last year's spend was discounted",
            365,
            kind="ratio",
            aggregate=lambda t: ratio(
                t.discount.sum(where=_paid(t) & within(t, TS, 365)),
                (t.amount + t.discount.fill_null(0)).sum(where=_paid(t) & within(t, TS, 365)),
            ),
            fill=None,
            higher_is_riskier=None,
        ),
        _purchase(
            "addon_purchases_90d",
            f"{{value:n:add-on purchase}} in the last 90 days {typical}",
            90,
            aggregate=lambda t: count_where(
                _paid(t) & t.kind.isin(addon_kinds).fill_null(False) & within(t, TS, 90)
            ),
            **TOTAL,
        ),
        _purchase(
            "last_invoice_amount",
            "last invoice {value:money}",
            45,
            kind="amount",
            aggregate=lambda t: t.counted.argmax(t[TS], where=invoice(t) & within(t, TS, 45)),
            fill=None,
            higher_is_riskier=None,
        ),
        _purchase(
            "last_invoice_failed",
            "last invoice payment failed and is not yet paid",
            45,
            kind="flag",
            aggregate=lambda t: (
                (t.status.argmax(t[TS], where=invoice(t) & within(t, TS, 45)) == "failed")
                .fill_null(False)
                .cast("int8")
            ),
            **problem,
        ),
        _purchase(
            "invoice_amount_60_90d",
            "invoice amount 2-3 months ago {value:money}",
            90,
            kind="amount",
            aggregate=lambda t: t.amount.mean(where=invoice(t) & within(t, TS, 90, 60)),
            fill=None,
            higher_is_riskier=None,
        ),
        _purchase(
            "invoice_change",
            "invoice up {value:.0%} on 2-3 months ago "
            "({invoice_amount_60_90d:money} to {last_invoice_amount:money})",
            90,
            kind="ratio",
            derive=lambda r: ratio(r.last_invoice_amount, r.invoice_amount_60_90d) - 1.0,
            inputs=("last_invoice_amount", "invoice_amount_60_90d"),
            fill=None,
            higher_is_riskier=True,
            risk=Risk("higher", than=PRICE_RISE),
        ),
        _purchase(
            "days_since_last_purchase",
            "last paid order {value:n:day} ago (typical customer: {typical:n:day})",
            365,
            kind="days",
            aggregate=lambda t: age_days(t, TS).min(where=_paid(t)),
            fill=None,
            higher_is_riskier=True,
            risk=Risk("higher", given=(LATE,)),
            describe_missing="no paid order in the last 365 days",
        ),
    ]
    return features + _trajectory()


def _trajectory() -> list[Feature]:
    """Orders month by month, cadence (the usual interval between orders against the time
    since the last), pace against the customer's own year, order size and orders per month
    of tenure."""
    months = lambda t: MONTHS.rows(days_before(t, TS), _paid(t))  # noqa: E731
    year = lambda t: _paid(t) & within(t, TS, 365)  # noqa: E731
    return [
        _purchase("order_months_12m", "ordered in {value:n:month} of the last 12 (typical "
                  "customer: {typical:,.0f})", MONTHS.span,
                  aggregate=lambda t: active_periods(months(t)), history="whole"),
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
        _purchase("orders_per_month_365d", "{value:.1f} paid orders a month {since} (typical "
                  "customer: {typical:.1f})", 365, kind="amount", per_tenure=True,
                  inputs=("orders_365d", "signup_at"),
                  derive=lambda r: r.orders_365d * 30.0 / days_known(r, 365)),
    ]  # fmt: skip


FAMILY = Family(
    name="purchases",
    declare=declarations,
    source=Source("purchases", TS, 365, columns=("amount", "discount", "status", "kind")),
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
