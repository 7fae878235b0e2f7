"""Profile family: tenure, the new-customer flag, and the configured customer-table columns.

Profile columns are the customer table as exported (a snapshot), not a history: a column
that changes over time (e.g. plan) reflects its exported value at every cutoff.
"""

from __future__ import annotations

from features.describe import Risk
from features.expressions import age_days
from features.family import Family
from features.spec import Feature, FeatureSpec


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Tenure, new-customer flag, then each configured categorical and numeric profile column
    (a reason only when the configuration marks it actionable, and then only for a group
    that churned materially more often in training: models/segments.py, which fills
    `{note}`)."""
    new_days = spec.settings.new_customer_days

    def risk(column: str) -> Risk | None:
        return Risk("any") if column in spec.profile.actionable else None

    features = [
        FAMILY.feature(
            "tenure_days",
            "customer for {value:n:day}",
            typical="n:day",
            kind="days",
            derive=lambda r: age_days(r, "signup_at"),
            inputs=("signup_at",),
            higher_is_riskier=False,
        ),
        FAMILY.feature(
            "is_new_customer",
            f"new customer (first {new_days} days): signed up {{tenure_days:n:day}} ago",
            kind="flag",
            window_days=new_days,
            derive=lambda r: (age_days(r, "signup_at") < new_days).cast("int8"),
            inputs=("signup_at",),
            higher_is_riskier=True,
            risk=Risk("higher", than=0),
        ),
    ]
    columns = [(c, "categorical", "string", "{value}") for c in spec.profile.categorical]
    columns += [(c, "amount", "float64", "{value:,.0f}") for c in spec.profile.numeric]
    for column, kind, cast, shown in columns:
        features.append(
            FAMILY.feature(
                column,
                f"{_label(column)}: {shown}{{note}}",
                kind=kind,
                derive=lambda r, c=column, t=cast: r[c].cast(t),
                inputs=(column,),
                risk=risk(column),
            )
        )
    return features


def _label(column: str) -> str:
    """A column name as reasons show it (braces would break the template)."""
    return column.replace("_", " ").replace("{", "(").replace("}", ")")


FAMILY = Family(
    name="profile",
    declare=declarations,
    topics={"tenure_days": "tenure", "is_new_customer": "tenure"},
    default_topic=None,  # every profile column is its own topic
)
