"""The feature catalogue as text: `churn features --list` and docs/features.md."""

from __future__ import annotations

from features.describe import TYPICAL, TYPICAL_MARGIN
from features.exports.contract import ProfileColumns
from features.families.engagement import EVENT_TYPE_PLACEHOLDER
from features.registry import feature_catalogue
from features.spec import Feature, FeatureSettings, FeatureSpec


def _catalogue(profile: ProfileColumns, settings: FeatureSettings) -> list[Feature]:
    spec = FeatureSpec(settings, (EVENT_TYPE_PLACEHOLDER,), profile)
    return feature_catalogue(spec)


def _window(feature: Feature) -> str:
    return f"{feature.window_days}d" if feature.window_days else "-"


def reason_when(feature: Feature) -> str:
    """When the feature can be a customer's reason, in words (docs/features.md)."""
    rule = feature.risk_rule()
    if rule is None:
        return "never"
    if rule.when == "any":
        return "whenever it raises the risk (actionable)"
    if rule.when == "in":
        return "value is " + " or ".join(rule.values)
    way = "above" if rule.when == "higher" else "below"
    if rule.than == TYPICAL:
        than = f"the typical customer's by over {TYPICAL_MARGIN:.0%}"
    elif isinstance(rule.than, str):
        than = f"`{rule.than}`"
    else:
        than = f"{rule.than:g}"
    scaled = f"x{rule.scale:g} " if rule.scale != 1 else ""
    text = f"{scaled}{way} {than}"
    if feature.describe_missing:
        text += f"; or missing: {feature.describe_missing}"
    return text


def catalogue_lines(profile: ProfileColumns, settings: FeatureSettings) -> list[str]:
    """One line per feature: name, family, window, description template."""
    rows = _catalogue(profile, settings)
    width = max(len(f.name) for f in rows)
    return [f"{f.name:<{width}}  {f.family:<10}  {_window(f):>5}  {f.describe}" for f in rows]


ADDING_A_FAMILY = """
## Adding a feature family

A family over a new export takes three places: the table in `TABLES`
(features/exports/contract.py, with its time column as `timeline`), one module under
`features/families/` that defines a `Family` (features/family.py), and one line in `FAMILIES`
(features/registry.py); tests/features/test_adding_a_family.py does exactly this. Say a
product exports in-app messages (`messages.csv`: customer_id, sent_at, read):

```python
# features/families/messages.py
from features.expressions import count_where
from features.family import Family, Source, Window
from features.spec import Feature, FeatureSpec

WINDOWS = (Window(30), Window(90))


def declarations(spec: FeatureSpec) -> list[Feature]:
    return [
        FAMILY.feature(
            f"messages_read_{w.suffix}",
            "{value:n:message} read " + w.words,
            window_days=w.days,
            aggregate=lambda t, w=w: count_where(w.holds(t, "sent_at") & t.read),
        )
        for w in WINDOWS
    ]


FAMILY = Family(
    name="messages",
    declare=declarations,
    source=Source("messages", lookback_days=90, columns=("read",)),
    default_topic="messaging",
    defaults={"fill": 0, "higher_is_riskier": False},
)
```

and in the contract:

```python
# features/exports/contract.py, in TABLES
"messages": TableSpec(
    "messages",
    (
        CUSTOMER_ID,
        ColumnSpec("sent_at", "timestamp", not_null=True),
        ColumnSpec("read", "number"),
    ),
    required=False,
    timeline="sent_at",
),
```

The exports are then checked and typed like every other table. The builder joins each
message to every cutoff it precedes (never at or after one), groups once per family, and the
catalogue, the docs, the reasons (with their risk rules and topics) and the point-in-time
tests follow.
A derived feature names what it reads in `inputs`; a window is stated once as a `Window`.

An aggregate that decomposes is declared as a structured object instead of a lambda, e.g.
distinct active days as `ActiveDays.in_window(w, "sent_at")` (features/rollup.py; it reads
the `days_before` column a family adds with `per_row`, as engagement's does). It is still
called on the joined rows for one cutoff, and a build over several midnight cutoffs reads it
instead from a per-customer rollup computed once for all of them.
"""


def catalogue_markdown(profile: ProfileColumns, settings: FeatureSettings) -> str:
    """The catalogue as a Markdown document (docs/features.md is generated from this)."""
    lines = [
        "# Feature catalogue",
        "",
        "Generated from the feature registry by `churn features --markdown docs/features.md`;",
        "a test keeps it in sync. Every feature of a (customer, cutoff) row is computed only",
        "from rows strictly before the cutoff. Windows are `[cutoff - N days, cutoff)`.",
        f"`{EVENT_TYPE_PLACEHOLDER}` stands for each of the {settings.top_event_types} most",
        "frequent event types in the training data. Counts are 0 for a customer without",
        "history; other values are empty (null) when unknown.",
        "",
        "A feature is one of a customer's reasons only when it pushes that customer's risk up",
        "and its value is a risk by the rule in the last column (a promoter's NPS or rising",
        "usage never is). `{typical}` is the median over the training rows; `{value:n:order}`",
        "writes a count with its noun in agreement, `{value:money}` an amount with the",
        "configured currency.",
        "",
        "| feature | family | window | kind | fill | description | a reason when |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in _catalogue(profile, settings):
        fill = "null" if f.fill is None else f"{f.fill:g}"
        describe = f.describe.replace("|", "\\|")
        when = reason_when(f).replace("|", "\\|")
        lines.append(
            f"| `{f.name}` | {f.family} | {_window(f)} | {f.kind} | {fill} | {describe} | {when} |"
        )
    return "\n".join(lines) + "\n" + ADDING_A_FAMILY
