"""Profile family: tenure, the new-customer flag, and the configured customer-table columns.

Profile columns are the customer table as exported (a snapshot), not a history: a column
that changes over time (e.g. plan) reflects its exported value at every cutoff.
"""

from __future__ import annotations

from features.registry import Feature, FeatureSpec, age_days

FAMILY = "profile"
# What each feature's reason is about (name prefix -> topic; the rest: the column itself).
TOPICS = {"tenure_days": "tenure", "is_new_customer": "tenure"}
DEFAULT_TOPIC = None


def declarations(spec: FeatureSpec) -> list[Feature]:
    """Tenure, new-customer flag, then each configured categorical and numeric profile column."""
    f = FAMILY
    new_days = spec.settings.new_customer_days
    features = [
        Feature(
            "tenure_days",
            f,
            "customer for {value:.0f} days",
            kind="days",
            derive=lambda r: age_days(r, "signup_at"),
            higher_is_riskier=False,
        ),
        Feature(
            "is_new_customer",
            f,
            f"new customer (first {new_days} days)",
            kind="flag",
            window_days=new_days,
            derive=lambda r: (age_days(r, "signup_at") < new_days).cast("int8"),
            higher_is_riskier=True,
        ),
    ]
    for column in spec.profile.categorical:
        features.append(
            Feature(
                column,
                f,
                f"{column.replace('_', ' ')}: {{value}}",
                kind="categorical",
                derive=lambda r, c=column: r[c].cast("string"),
            )
        )
    for column in spec.profile.numeric:
        features.append(
            Feature(
                column,
                f,
                f"{column.replace('_', ' ')}: {{value:,.0f}}",
                kind="amount",
                derive=lambda r, c=column: r[c].cast("float64"),
            )
        )
    return features
