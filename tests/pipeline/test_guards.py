"""Refusals before a list is written: a model needs every table it was trained with."""

from __future__ import annotations

import pytest

from features.errors import Refusal
from features.exports.contract import ExportSource
from features.spec import FeatureSpec
from pipeline.config import Config
from pipeline.score.guards import check_tables

CONFIG = Config(exports=ExportSource("exports", {}))


@pytest.mark.parametrize("table", ["engagement", "support", "surveys"])
def test_a_model_trained_with_an_optional_table_is_refused_when_the_exports_lose_it(table):
    spec = FeatureSpec()  # trained with every table
    present = {"customers": object(), "purchases": object(), "engagement": object()}
    present |= {"support": object(), "surveys": object()}
    check_tables(CONFIG, spec, present)
    del present[table]
    with pytest.raises(Refusal, match=f"trained with {table} features; the exports have no"):
        check_tables(CONFIG, spec, present)


def test_a_purchases_only_model_scores_purchases_only_exports():
    spec = FeatureSpec(tables=("purchases",))
    check_tables(CONFIG, spec, {"customers": object(), "purchases": object()})
