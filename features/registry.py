"""The registry: every feature family, in output order. The builder, the catalogue
(`churn features --list`, docs/features.md) and the reasons' topics read the families from
here; a new family is one module defining a `Family` and one line below."""

from __future__ import annotations

from features.families import engagement, profile, purchases, support, surveys
from features.family import Family
from features.spec import Feature, FeatureSpec

FAMILIES: tuple[Family, ...] = (
    engagement.FAMILY,
    support.FAMILY,
    purchases.FAMILY,
    surveys.FAMILY,
    profile.FAMILY,
)


def families(spec: FeatureSpec) -> list[Family]:
    """The families this spec uses, in output order (support and surveys only when the
    exports had them)."""
    return [family for family in FAMILIES if family.table is None or spec.has(family.table)]


def feature_catalogue(spec: FeatureSpec) -> list[Feature]:
    """Every feature the spec produces, in column order."""
    return [f for family in families(spec) for f in family.declare(spec)]


def reason_topics(spec: FeatureSpec) -> dict[str, str]:
    """What each feature's reason is about (e.g. "usage", "payment problems"). Per-customer
    reasons name one feature per topic, so the three slots say three different things."""
    return {
        f.name: family.topic_of(f.name) for family in families(spec) for f in family.declare(spec)
    }
