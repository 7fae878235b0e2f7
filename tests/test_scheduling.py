"""The suite's work units (tests/scheduling.py) name files that exist, and a file using a
shared session fixture is kept with the files that share it."""

from __future__ import annotations

from pathlib import Path

from tests.scheduling import GROUPS, SLOWEST_FIRST, misplaced, run_order, work_unit

ROOT = Path(__file__).parents[1]


def test_every_unit_names_test_files_that_exist():
    for unit in SLOWEST_FIRST:
        assert unit in GROUPS or (ROOT / unit).is_file(), unit
    for paths in GROUPS.values():
        for path in paths:
            assert (ROOT / path).is_file(), path


def test_a_group_runs_as_one_unit_in_its_own_order_before_slower_ranked_files():
    spark = GROUPS["spark session"]
    assert {work_unit(p) for p in spark} == {"spark session"}
    assert work_unit("tests/models/test_split.py") == "tests/models/test_split.py"
    keys = [run_order(p) for p in spark]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert max(keys) < run_order("tests/pipeline/test_team_server.py")
    assert run_order("tests/pipeline/test_datasets.py") < run_order("tests/models/test_split.py")


def test_a_file_using_a_shared_fixture_outside_its_group_is_named():
    assert misplaced("tests/features/test_spark_parity.py", ["spark", "tmp_path"]) is None
    why = misplaced("tests/models/test_split.py", ["tmp_path", "reported_project"])
    assert why is not None and why.startswith("tests/models/test_split.py uses the ")
    assert "GROUPS['reported project']" in why
    assert misplaced("tests/models/test_split.py", ["tmp_path"]) is None
