"""Surveys family: the customer's latest NPS answer and how old it is."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.registry import Cutoffs, Feature, FeatureSpec, age_days, join_lookback

FAMILY = "surveys"
TABLE = "surveys"
LOOKBACK_DAYS = 730
TS = "answered_at"


def nps_category(score: ir.NumericValue) -> ir.StringValue:
    """promoter (9-10), passive (7-8) or detractor (0-6); null without an answer."""
    return ibis.cases(
        (score >= 9, "promoter"),
        (score >= 7, "passive"),
        (score.notnull(), "detractor"),
        else_=ibis.null("string"),
    )


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every survey feature."""
    f = FAMILY
    return [
        Feature(
            "last_nps",
            f,
            "last NPS {value:.0f} ({nps_category})",
            kind="score",
            window_days=LOOKBACK_DAYS,
            aggregate=lambda t: t.nps.argmax(t[TS]),
            higher_is_riskier=False,
        ),
        Feature(
            "nps_category",
            f,
            "NPS category: {value}",
            kind="categorical",
            window_days=LOOKBACK_DAYS,
            derive=lambda r: nps_category(r.last_nps),
        ),
        Feature(
            "days_since_nps",
            f,
            "last NPS answer {value:.0f} days ago",
            kind="days",
            window_days=LOOKBACK_DAYS,
            aggregate=lambda t: age_days(t, TS).min(),
            higher_is_riskier=None,
        ),
    ]


def joined(surveys: ir.Table, cutoffs: Cutoffs) -> ir.Table:
    """Survey answers in the two years before each cutoff, joined to that cutoff."""
    return join_lookback(surveys.select("customer_id", TS, "nps"), cutoffs, TS, LOOKBACK_DAYS)
