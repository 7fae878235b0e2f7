"""How a list's reasons are chosen and worded: the feature declarations with the model's typical
values, percentiles and topics, the profile groups that churned materially more often, and
the days of history the exports hold."""

from __future__ import annotations

from dataclasses import replace

from features.describe import Risk
from features.registry import families, feature_catalogue, reason_topics
from features.spec import FeatureSpec
from models.drift import typical_values
from models.reason_rules import ReasonRule, ReasonSettings
from models.segments import risk_note
from pipeline.config import Config
from pipeline.score.common import Population, numeric_features


def reason_settings(
    config: Config,
    spec: FeatureSpec,
    metadata: dict,
    *,
    typical: dict[str, float],
    history_days: dict[str, float] | None = None,
) -> ReasonSettings:
    """How reasons are chosen and worded: the current feature declarations (with the
    configured actionable profile columns, a reason only for the groups that churned
    materially more often in training), the model's topics, the typical values and ranges
    (the model's training medians; today's for models saved without them), the days of each
    table the exports hold, the configured currency."""
    profile = replace(spec.profile, actionable=config.exports.profile.actionable)
    catalogue = feature_catalogue(replace(spec, profile=profile))
    tables = {f.name: f.table for f in families(spec) if f.table}
    spread = metadata.get("percentiles", {})
    rules = {
        f.name: ReasonRule.of(
            f, typical.get(f.name), tuple(spread.get(f.name, ())), tables.get(f.family)
        )
        for f in catalogue
    }
    segments = metadata.get("segment_risk", {})
    for column in profile.actionable:
        if column in rules:
            rules[column] = segment_rule(rules[column], segments.get(column))
    topics = metadata.get("topics") or reason_topics(spec)
    return ReasonSettings(
        rules,
        topics,
        per_topic=1,
        currency=config.features.currency,
        history_days=dict(history_days or {}),
    )


def segment_rule(rule: ReasonRule, risky: dict | None) -> ReasonRule:
    """An actionable profile column's rule: a reason only for the groups that churned
    materially more often than the rest in training (models/segments.py), worded with how
    much more; never one for a model saved without that measure."""
    if not risky:
        return replace(rule, risk=None)
    if risky["kind"] == "categorical":
        levels = risky["levels"]
        notes = {level: risk_note(stats) for level, stats in levels.items()}
        return replace(rule, risk=Risk("in", values=tuple(levels)), notes=notes)
    bands = risky["bands"]
    if not bands:
        return replace(rule, risk=None)
    band = max(bands, key=lambda b: bands[b]["ratio"])
    when = "lower" if band == "below" else "higher"
    note = f"{'below' if band == 'below' else 'above'} {risky[band]:,.0f}: "
    return replace(
        rule,
        risk=Risk(when, than=risky[band], lived=False),
        template=rule.template.replace("{note}", f" ({note}{risk_note(bands[band])})"),
    )


def population_reasons(config: Config, population: Population, metadata: dict) -> ReasonSettings:
    """`reason_settings` for a population's list: the model's typical values (today's
    medians for a model saved without them) and the days of history the exports hold."""
    typical = metadata.get("typical") or typical_values(
        population.features, numeric_features(metadata)
    )
    return reason_settings(
        config,
        population.spec,
        metadata,
        typical=typical,
        history_days=population.history_days,
    )
