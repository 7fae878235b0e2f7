"""How the suite's test files are shared between pytest-xdist workers (`make test`: `-n auto
--dist loadfile`): a work unit is a file, or a group of files that build the same expensive
session fixture, and the units go out slowest first."""

from __future__ import annotations

from typing import Any

GROUPS = {
    "spark session": (
        "tests/pipeline/test_spark_training_and_scoring.py",
        "tests/features/test_ingest_on_spark.py",
        "tests/pipeline/test_validate.py",
        "tests/features/test_spark_parity.py",
        "tests/pipeline/test_spark_list.py",
        "tests/features/test_spark_sql.py",
    ),
    "reported project": (
        "tests/pipeline/test_hostile_names.py",
        "tests/pipeline/test_browser.py",
        "tests/pipeline/test_retention_report.py",
        "tests/pipeline/test_contact_ranking.py",
        "tests/pipeline/test_list_guide.py",
    ),
}
"""Files run on one worker, one after the other, in this order (slowest first, so the quick
ones fill the end), because they share a session fixture a worker builds once:
- "spark session": the `spark` fixture (tests/conftest.py). Apart, each worker would start a
  JVM, and two local[2] sessions at once on the 2-core machine ran the Spark training test in
  265 s instead of 80 s.
- "reported project": `reported_project` (tests/pipeline/conftest.py), a trained project with
  two lists and a report, about 35 s to build.
FIXTURE_GROUPS says which fixture puts a file in which group; a file using one outside its
group stops the run (`check_groups`)."""

FIXTURE_GROUPS = {"spark": "spark session", "reported_project": "reported project"}

SLOWEST_FIRST = (
    "spark session",
    "tests/pipeline/test_team_server.py",
    "reported project",
    "tests/features/test_point_in_time.py",
    "tests/features/test_coverage.py",
    "tests/pipeline/test_end_to_end.py",
    "tests/features/test_rollup.py",
    "tests/features/test_agreement.py",
    "tests/pipeline/test_training_with_contacts.py",
    "tests/features/test_cache.py",
    "tests/pipeline/test_train.py",
    "tests/pipeline/test_datasets.py",
)
"""Work units that take longest (`pytest --durations`), sent first, so the two workers finish
together instead of one idling while the other runs a long unit sent last. The Spark group
alone is about half of what one worker does."""

_GROUP_OF = {path: group for group, paths in GROUPS.items() for path in paths}


def work_unit(path: str) -> str:
    """The unit a test file (its path from the repository root) runs in: its group, else
    the file itself."""
    return _GROUP_OF.get(path, path)


def run_order(path: str) -> tuple[int, int]:
    """A sort key for test files: slowest unit first (the rest after, as collected), and
    within a group in the group's order."""
    unit = work_unit(path)
    rank = SLOWEST_FIRST.index(unit) if unit in SLOWEST_FIRST else len(SLOWEST_FIRST)
    within = GROUPS[unit].index(path) if unit in GROUPS else 0
    return rank, within


def misplaced(path: str, fixtures: list[str]) -> str | None:
    """Why a test file using `fixtures` is outside the group those fixtures need, if it is."""
    for fixture, group in FIXTURE_GROUPS.items():
        if fixture in fixtures and work_unit(path) != group:
            return (
                f"{path} uses the `{fixture}` fixture: add it to GROUPS[{group!r}] "
                "in tests/scheduling.py"
            )
    return None


def grouped_file_scheduling(config: Any, log: Any) -> Any:
    """xdist's `loadfile` scheduling with GROUPS as single units, in the collected order
    (xdist would otherwise reorder units by their number of tests, most first)."""
    from xdist.scheduler import LoadFileScheduling

    class GroupedFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid.split("::", 1)[0])

    config.option.loadscopereorder = False
    return GroupedFileScheduling(config, log)
