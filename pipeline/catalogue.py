"""The feature catalogue as text: `churn features --list` and docs/features.md."""

from __future__ import annotations

from features.build import feature_catalogue
from features.contract import ProfileColumns
from features.engagement import EVENT_TYPE_PLACEHOLDER
from features.registry import Feature, FeatureSettings, FeatureSpec


def _catalogue(profile: ProfileColumns, settings: FeatureSettings) -> list[Feature]:
    spec = FeatureSpec(settings, (EVENT_TYPE_PLACEHOLDER,), profile, has_surveys=True)
    return feature_catalogue(spec)


def _window(feature: Feature) -> str:
    return f"{feature.window_days}d" if feature.window_days else "-"


def catalogue_lines(profile: ProfileColumns, settings: FeatureSettings) -> list[str]:
    """One line per feature: name, family, window, description template."""
    rows = _catalogue(profile, settings)
    width = max(len(f.name) for f in rows)
    return [f"{f.name:<{width}}  {f.family:<10}  {_window(f):>5}  {f.describe}" for f in rows]


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
        "| feature | family | window | kind | fill | description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in _catalogue(profile, settings):
        fill = "null" if f.fill is None else f"{f.fill:g}"
        describe = f.describe.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {f.family} | {_window(f)} | {f.kind} | {fill} | {describe} |")
    return "\n".join(lines) + "\n"
