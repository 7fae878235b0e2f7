"""How a list says its contact set was ranked: uplift asked for on a thin history falls back
to risk with the reason in the manifest; the Spark engine ranks by risk and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from features.engines import check_runner, open_tables
from features.exports.ingest import ingest_exports
from models.arms import CONTROL
from models.uplift import RISK, UPLIFT
from pipeline.config import load_config
from pipeline.score.contact_ranking import SPARK_REASON, graded_history, spark_contact_ranking
from tests.pipeline.conftest import FIRST_LIST, SECOND_LIST


def _manifest(project: Path, when: str) -> dict:
    return json.loads(
        (project / "outputs" / "at_risk" / f"as_of={when}" / "manifest.json").read_text()
    )


def test_uplift_on_a_thin_history_falls_back_to_risk_and_the_manifest_says_why(reported_project):
    config = load_config(reported_project / "churn.toml")
    assert config.contact.rank_by == UPLIFT
    first = _manifest(reported_project, FIRST_LIST)["contact"]["ranking"]
    assert (first["asked"], first["used"]) == (UPLIFT, RISK)
    assert first["reason"] == "uplift asked for but only 0 graded control customers (need 200)"
    # the second list reads the first one's contact set, graded by the data up to its date
    paths, _ = ingest_exports(
        config.exports, config.cache_dir, config.as_of, check_runner(config.engine)
    )  # typed once already: read from the cache
    history = graded_history(config, open_tables(paths), pd.Timestamp(SECOND_LIST))
    held_back = int((history["contact_arm"] == CONTROL).sum())
    assert set(history["as_of"]) == {pd.Timestamp(FIRST_LIST)} and 0 < held_back < 200
    second = _manifest(reported_project, SECOND_LIST)["contact"]["ranking"]
    assert second == {
        "asked": UPLIFT,
        "used": RISK,
        "reason": f"uplift asked for but only {held_back} graded control customers (need 200)",
        "effects": {},
    }


def test_spark_ranks_the_contact_set_by_risk_and_says_why(tmp_path):
    path = tmp_path / "churn.toml"
    path.write_text('[contact]\nrank_by = "uplift"\n')
    ranking = spark_contact_ranking(load_config(path))
    assert (ranking.asked, ranking.used) == (UPLIFT, RISK)
    assert ranking.reason == f"uplift asked for but {SPARK_REASON}"
    path.write_text("")
    assert spark_contact_ranking(load_config(path)).record()["asked"] == RISK
