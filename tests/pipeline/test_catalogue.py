"""The catalogue: `churn features --list` and docs/features.md follow the registry."""

from __future__ import annotations

from pathlib import Path

from features.build import feature_catalogue
from features.engagement import EVENT_TYPE_PLACEHOLDER
from features.registry import FeatureSpec
from pipeline.catalogue import catalogue_markdown
from pipeline.cli import main
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_docs_features_md_is_generated_from_the_registry():
    config = load_config(ROOT / "churn.toml")
    expected = catalogue_markdown(config.exports.profile, config.features)
    assert (ROOT / "docs" / "features.md").read_text() == expected, (
        "docs/features.md is out of date: run `churn features --markdown docs/features.md`"
    )


def test_list_prints_every_feature_with_family_and_description(capsys):
    assert main(["features", "--list", "--config", str(ROOT / "churn.toml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    config = load_config(ROOT / "churn.toml")
    spec = FeatureSpec(config.features, (EVENT_TYPE_PLACEHOLDER,), config.exports.profile)
    names = [f.name for f in feature_catalogue(spec)]
    assert [line.split()[0] for line in lines] == names
    assert any("support" in line and "still open" in line for line in lines)


def test_every_feature_has_a_unique_name_and_a_description_that_renders():
    config = load_config(ROOT / "churn.toml")
    spec = FeatureSpec(config.features, ("login", "export"), config.exports.profile)
    catalogue = feature_catalogue(spec)
    names = [f.name for f in catalogue]
    assert len(names) == len(set(names))
    row = dict.fromkeys(names, 3.0)
    row["nps_category"] = "detractor"
    for feature in catalogue:
        text = feature.text(row[feature.name], row)
        assert text and "{" not in text and not text.startswith(feature.name + " ="), feature.name
