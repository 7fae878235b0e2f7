"""Surveys family: the customer's latest NPS answer and how old it is."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.describe import Risk
from features.exports.contract import TIMELINES
from features.expressions import age_days
from features.family import Family, Source
from features.spec import Feature, FeatureSpec

LOOKBACK_DAYS = 730
TS = TIMELINES["surveys"]
PROMOTER_FROM, PASSIVE_FROM = 9, 7  # NPS: 9-10 promoters, 7-8 passives, 0-6 detractors


def nps_category(score: ir.NumericValue) -> ir.StringValue:
    """promoter (9-10), passive (7-8) or detractor (0-6); null without an answer."""
    return ibis.cases(
        (score >= PROMOTER_FROM, "promoter"),
        (score >= PASSIVE_FROM, "passive"),
        (score.notnull(), "detractor"),
        else_=ibis.null("string"),
    )


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Every survey feature."""
    return [
        FAMILY.feature(
            "last_nps",
            "gave an NPS of {value:.0f} (a detractor)",
            kind="score",
            window_days=LOOKBACK_DAYS,
            aggregate=lambda t: t.nps.argmax(t[TS]),
            higher_is_riskier=False,
            risk=Risk("lower", than=PASSIVE_FROM),
        ),
        FAMILY.feature(
            "nps_category",
            "NPS detractor (last score {last_nps:.0f})",
            kind="categorical",
            window_days=LOOKBACK_DAYS,
            derive=lambda r: nps_category(r.last_nps),
            inputs=("last_nps",),
            risk=Risk("in", values=("detractor",)),
        ),
        FAMILY.feature(
            "days_since_nps",
            "last NPS answer {value:.0f} days ago",
            kind="days",
            window_days=LOOKBACK_DAYS,
            aggregate=lambda t: age_days(t, TS).min(),
            higher_is_riskier=None,
        ),
    ]


FAMILY = Family(
    name="surveys",
    declare=declarations,
    source=Source("surveys", LOOKBACK_DAYS, columns=("nps",)),
    default_topic="nps",
)
