"""The column guide (docs/at-risk-list.md, the manifest) names every column of a real list,
and says truly what its profile columns hold. The list is one the report's project scored
(tests/pipeline/conftest.py), so no model is trained for this."""

from __future__ import annotations

import json
import re

import pandas as pd

from models.ranking import COLUMNS
from pipeline.config import load_config
from pipeline.score.list_guide import list_guide_markdown
from pipeline.score.manifest import PROFILE_COLUMN
from tests.pipeline.conftest import FIRST_LIST, SECOND_LIST


def _folder(project, day):
    return project / "outputs" / "at_risk" / f"as_of={day}"


def test_the_guide_names_every_column_of_the_list_and_no_other(reported_project):
    guide = set(re.findall(r"^\| `([a-z_0-9]+)` \|", list_guide_markdown(), flags=re.M))
    profile = set(load_config(reported_project / "churn.toml").exports.profile.all)
    for day in (FIRST_LIST, SECOND_LIST):  # without and with an earlier list to compare with
        listed = pd.read_parquet(_folder(reported_project, day) / "at_risk.parquet")
        header = pd.read_csv(_folder(reported_project, day) / "at_risk.csv", nrows=0)
        assert list(header.columns) == list(listed.columns)
        assert set(listed.columns) - profile == guide, day  # the rest are profile columns
        assert set(listed.columns) & profile == profile
        manifest = json.loads((_folder(reported_project, day) / "manifest.json").read_text())
        assert set(manifest["columns"]) == set(listed.columns)
        assert {manifest["columns"][c] for c in profile} == {PROFILE_COLUMN}
    assert guide == set(COLUMNS)


def test_profile_text_is_trimmed_and_lowercased_as_the_guide_says(reported_project):
    """The simulator exports countries as GB, US, ...: the list shows gb, us, ..."""
    listed = pd.read_parquet(_folder(reported_project, SECOND_LIST) / "at_risk.parquet")
    exported = pd.read_csv(reported_project / "exports" / "customers.csv", dtype=str)
    country = exported.set_index("customer_id")["country"]
    shown = listed.set_index("customer_id")["country"]
    assert (country.reindex(shown.index).str.strip().str.lower() == shown).all()
    assert (country.reindex(shown.index) != shown).any()  # the export's own values differ
    guide = list_guide_markdown()
    assert "trimmed and lowercased" in guide and "trimmed and lowercased" in PROFILE_COLUMN
    assert "as exported." not in guide
