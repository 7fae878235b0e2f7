"""Purchases family: recency, frequency, monetary value, price changes, payment failures."""

from __future__ import annotations

import ibis.expr.types as ir

from features.registry import (
    Cutoffs,
    Feature,
    FeatureSpec,
    age_days,
    count_where,
    join_lookback,
    ratio,
    within,
)

FAMILY = "purchases"
# What each feature's reason is about (name prefix -> topic; the rest: "spend").
TOPICS = {
    "failed_payments": "payment problems",
    "last_invoice_failed": "payment problems",
    "refunds": "payment problems",
    "invoice_change": "price change",
    "invoice_amount_60_90d": "price change",
    "last_invoice_amount": "price change",
}
DEFAULT_TOPIC = "spend"
TABLE = "purchases"
LOOKBACK_DAYS = 365
TS = "timestamp"


def _paid(t: ir.Table) -> ir.BooleanValue:
    return (t.status == "paid").fill_null(False)


def _orders(days: int):
    return lambda t: count_where(_paid(t) & within(t, TS, days))


def _revenue(days: int):
    return lambda t: t.amount.sum(where=_paid(t) & within(t, TS, days)).fill_null(0)


def _status_count(status: str, days: int):
    return lambda t: count_where((t.status == status).fill_null(False) & within(t, TS, days))


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every purchases feature; invoice and add-on kinds come from the spec's settings."""
    f = FAMILY
    invoice_kinds = spec.settings.invoice_kinds
    addon_kinds = spec.settings.addon_kinds

    def invoice(t: ir.Table) -> ir.BooleanValue:
        return t.kind.isin(invoice_kinds).fill_null(False) & (t.status != "refunded")

    features = []
    for days in (30, 90, 365):
        features += [
            Feature(
                f"orders_{days}d",
                f,
                f"{{value:.0f}} paid orders in the last {days} days",
                window_days=days,
                aggregate=_orders(days),
                fill=0,
                higher_is_riskier=False,
            ),
            Feature(
                f"revenue_{days}d",
                f,
                f"{{value:,.0f}} paid in the last {days} days",
                kind="amount",
                window_days=days,
                aggregate=_revenue(days),
                fill=0,
                higher_is_riskier=False,
            ),
        ]
    features += [
        Feature(
            "monthly_revenue",
            f,
            "recent monthly revenue {value:,.0f}",
            kind="amount",
            window_days=90,
            derive=lambda r: r.revenue_90d / 3.0,
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "failed_payments_30d",
            f,
            "{value:.0f} failed payments in the last 30 days",
            window_days=30,
            aggregate=_status_count("failed", 30),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "failed_payments_90d",
            f,
            "{value:.0f} failed payments in the last 90 days",
            window_days=90,
            aggregate=_status_count("failed", 90),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "refunds_90d",
            f,
            "{value:.0f} refunds in the last 90 days",
            window_days=90,
            aggregate=_status_count("refunded", 90),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "discount_share_365d",
            f,
            "{value:.0%} of the last year's spend was discounted",
            kind="ratio",
            window_days=365,
            aggregate=lambda t: ratio(
                t.discount.sum(where=_paid(t) & within(t, TS, 365)),
                (t.amount + t.discount.fill_null(0)).sum(where=_paid(t) & within(t, TS, 365)),
            ),
            higher_is_riskier=None,
        ),
        Feature(
            "addon_purchases_90d",
            f,
            "{value:.0f} add-on purchases in the last 90 days",
            window_days=90,
            aggregate=lambda t: count_where(
                _paid(t) & t.kind.isin(addon_kinds).fill_null(False) & within(t, TS, 90)
            ),
            fill=0,
            higher_is_riskier=False,
        ),
        Feature(
            "last_invoice_amount",
            f,
            "last invoice {value:,.2f}",
            kind="amount",
            window_days=45,
            aggregate=lambda t: t.amount.argmax(t[TS], where=invoice(t) & within(t, TS, 45)),
            higher_is_riskier=None,
        ),
        Feature(
            "last_invoice_failed",
            f,
            "last invoice payment failed and is not yet paid",
            kind="flag",
            window_days=45,
            aggregate=lambda t: (
                (t.status.argmax(t[TS], where=invoice(t) & within(t, TS, 45)) == "failed")
                .fill_null(False)
                .cast("int8")
            ),
            fill=0,
            higher_is_riskier=True,
        ),
        Feature(
            "invoice_amount_60_90d",
            f,
            "invoice amount 2-3 months ago {value:,.2f}",
            kind="amount",
            window_days=90,
            aggregate=lambda t: t.amount.mean(where=invoice(t) & within(t, TS, 90, 60)),
            higher_is_riskier=None,
        ),
        Feature(
            "invoice_change",
            f,
            "invoice changed {value:+.0%} vs 2-3 months ago "
            "({invoice_amount_60_90d:,.2f} to {last_invoice_amount:,.2f})",
            kind="ratio",
            window_days=90,
            derive=lambda r: ratio(r.last_invoice_amount, r.invoice_amount_60_90d) - 1.0,
            higher_is_riskier=True,
        ),
        Feature(
            "days_since_last_purchase",
            f,
            "last paid order {value:.0f} days ago",
            kind="days",
            window_days=365,
            aggregate=lambda t: age_days(t, TS).min(where=_paid(t)),
            higher_is_riskier=True,
        ),
    ]
    return features


def joined(purchases: ir.Table, cutoffs: Cutoffs) -> ir.Table:
    """Purchases in the year before each cutoff, joined to that cutoff."""
    columns = ("customer_id", TS, "amount", "discount", "status", "kind")
    return join_lookback(purchases.select(*columns), cutoffs, TS, LOOKBACK_DAYS)
