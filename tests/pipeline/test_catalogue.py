"""The catalogue: `churn features --list` and docs/features.md follow the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.families.engagement import EVENT_TYPE_PLACEHOLDER
from features.registry import feature_catalogue
from features.spec import FeatureSpec
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
        text = feature.text(row[feature.name], row, typical=2.0, currency="EUR")
        assert text and "{" not in text and "n/a" not in text, feature.name
        if feature.describe_missing is not None:
            assert feature.text(None, row) == feature.describe_missing, feature.name


def test_every_risk_rule_compares_with_something_that_exists():
    """A rule naming another feature must name one the catalogue has; a renamed feature
    would otherwise silently switch its reasons off."""
    config = load_config(ROOT / "churn.toml")
    spec = FeatureSpec(config.features, ("login",), config.exports.profile)
    names = {f.name for f in feature_catalogue(spec)}
    for feature in feature_catalogue(spec):
        rule = feature.risk_rule()
        if rule is not None and isinstance(rule.than, str) and rule.than != "typical":
            assert rule.than in names, (feature.name, rule.than)
        for condition in rule.given if rule is not None else ():
            assert condition.column in names, (feature.name, condition.column)


def test_docs_at_risk_list_md_is_generated_from_the_list_code():
    from pipeline.score.list_guide import list_guide_markdown

    assert (ROOT / "docs" / "at-risk-list.md").read_text() == list_guide_markdown(), (
        "docs/at-risk-list.md is out of date: run `python -m pipeline.score.list_guide > "
        "docs/at-risk-list.md`"
    )


def test_every_feature_the_health_score_and_the_plays_refer_to_exists():
    """Renaming a feature must fail here, not silently switch the health score off; plays refer
    to reason topics, which must be topics some feature has."""
    from features.registry import reason_topics
    from models.baselines import HEALTH_SIGNALS
    from models.plays import DEFAULT_BY_TOPIC

    spec = FeatureSpec(event_types=("login",))
    names = {f.name for f in feature_catalogue(spec)}
    assert set(HEALTH_SIGNALS) <= names
    assert set(DEFAULT_BY_TOPIC) <= set(reason_topics(spec).values())


def test_the_documented_new_family_runs_point_in_time(tmp_path, monkeypatch):
    """The "adding a feature family" example in docs/features.md is real code: it declares
    features and builds them, counting only messages before the cutoff."""
    import re
    import types

    import pandas as pd

    from features.engines import open_tables
    from features.exports import contract
    from features.expressions import Cutoffs

    text = (ROOT / "docs" / "features.md").read_text()
    code, table = re.findall(r"```python\n(.*?)```", text, re.S)[:2]
    entries = eval("{" + table.split("\n", 1)[1] + "}", vars(contract))  # the doc's entry
    monkeypatch.setitem(contract.TABLES, "messages", entries["messages"])
    module = types.ModuleType("messages")
    exec(compile(code, "docs/features.md", "exec"), module.__dict__)
    family = module.FAMILY
    names = [f.name for f in family.declare(FeatureSpec())]
    assert names == ["messages_read_30d", "messages_read_90d"]
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "sent_at": pd.to_datetime(["2024-05-20", "2024-05-31", "2024-06-01", "2024-05-25"]),
            "read": [True, True, True, False],
        }
    )
    frame.to_parquet(tmp_path / "messages.parquet")
    rows = open_tables({"messages": tmp_path / "messages.parquet"})["messages"]
    from features.build import family_aggregates

    out = family_aggregates(
        family, rows, Cutoffs.of([pd.Timestamp("2024-06-01")]), FeatureSpec()
    ).execute()
    counts = dict(zip(out["customer_id"], out["messages_read_30d"], strict=True))
    assert counts == {"a": 2, "b": 0}  # the message sent on the cutoff day is not counted


@pytest.mark.parametrize("duckdb_words", [False, True])
def test_a_full_disk_where_no_step_names_it_is_still_one_line(
    tmp_path, monkeypatch, capsys, duckdb_words
):
    """The command's last resort: a full disk no step translated is one line, exit 4, whether
    the system said so (ENOSPC, naming the file) or a library in its own words."""
    import errno
    import os

    import duckdb

    target = tmp_path / "features.md"

    def full(self, *args, **kwargs):
        if duckdb_words:
            raise duckdb.IOException('IO Error: Could not write file "x": No space left on device')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", full)
    code = main(["features", "--markdown", str(target), "--config", str(ROOT / "churn.toml")])
    assert code == 4
    where = "a file this step writes" if duckdb_words else str(target)
    assert capsys.readouterr().err.splitlines() == [
        f"error: {where}: the disk is full; free space or set the folder to another disk "
        "([data] cache_dir, [scoring] output_dir, [report] output_dir, [tracking] store_dir), "
        "then re-run"
    ]
