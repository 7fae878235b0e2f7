"""Purchases family: recency, frequency, monetary value, price changes, payment failures."""

from __future__ import annotations

import ibis.expr.types as ir

from features.describe import Risk
from features.expressions import age_days, count_where, ratio, within
from features.family import Family, Source
from features.spec import Feature, FeatureSpec

TS = "timestamp"
# An invoice this much above the one 2-3 months before counts as a price rise (below it, a
# rounding or proration difference).
PRICE_RISE = 0.01


def _paid(t: ir.Table) -> ir.BooleanValue:
    return (t.status == "paid").fill_null(False)


def _orders(days: int):
    return lambda t: count_where(_paid(t) & within(t, TS, days))


def _revenue(days: int):
    return lambda t: t.amount.sum(where=_paid(t) & within(t, TS, days)).fill_null(0)


def _status_count(status: str, days: int):
    return lambda t: count_where((t.status == status).fill_null(False) & within(t, TS, days))


def _purchase(name: str, describe: str, days: int, **overrides) -> Feature:
    """A purchases feature over `days` with the family's defaults."""
    return FAMILY.feature(name, describe, window_days=days, **overrides)


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
            ),
            _purchase(
                f"revenue_{days}d",
                f"{{value:money}} paid in the last {days} days "
                "(typical customer: {typical:money})",
                days,
                kind="amount",
                aggregate=_revenue(days),
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
            **problem,
        ),
        _purchase(
            "failed_payments_90d",
            "{value:n:failed payment} in the last 90 days",
            90,
            aggregate=_status_count("failed", 90),
            **problem,
        ),
        _purchase(
            "refunds_90d",
            "{value:n:refund} in the last 90 days",
            90,
            aggregate=_status_count("refunded", 90),
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
        ),
        _purchase(
            "last_invoice_amount",
            "last invoice {value:money}",
            45,
            kind="amount",
            aggregate=lambda t: t.amount.argmax(t[TS], where=invoice(t) & within(t, TS, 45)),
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
            describe_missing="no paid order in the last 365 days",
        ),
    ]
    return features


FAMILY = Family(
    name="purchases",
    declare=declarations,
    source=Source("purchases", TS, 365, columns=("amount", "discount", "status", "kind")),
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
