"""Rows appended to an export checked clean before: only they are checked, and the verdict and
typed copy are exactly those a full check of the grown export gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.errors import UserError
from features.exports.ingest import ingest_exports
from pipeline.config import load_config


def _append_lines(project: Path, table: str, *lines: str) -> None:
    with (project / "exports" / f"{table}.csv").open("a") as out:
        out.writelines(f"{line}\n" for line in lines)


def _ingest(project: Path, cache: str):
    config = load_config(project / "churn.toml")
    return ingest_exports(config.exports, project / cache, config.as_of)


def _findings(report) -> list[tuple]:
    return [(p.file, p.message, p.column, p.count, p.examples, p.fatal) for p in report.problems]


def _rows(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _incremental_and_full(project: Path, grow) -> tuple:
    """Ingest, grow the exports, ingest again in the same cache, and check the grown exports
    afresh in another cache: both results."""
    _ingest(project, "cache")
    grow(project)
    return _ingest(project, "cache"), _ingest(project, "fresh-cache")


def _same(incremental, full) -> None:
    (paths, report), (full_paths, full_report) = incremental, full
    assert _findings(report) == _findings(full_report)
    assert report.tables == full_report.tables
    for name, path in paths.items():
        pd.testing.assert_frame_equal(_rows(path), _rows(full_paths[name]))


def test_a_clean_day_appended_is_checked_alone_and_matches_a_full_check(export_dir, monkeypatch):
    calls = []
    from features.exports import ingest

    real = ingest.check_table
    monkeypatch.setattr(
        ingest, "check_table", lambda runner, name, *a: calls.append(name) or real(runner, name, *a)
    )
    _ingest(export_dir, "cache")
    assert "engagement" in calls
    calls.clear()
    _append_lines(
        export_dir, "engagement", "c3,2024-06-01 08:00:00,login,2", "c5,2024-06-02,report,"
    )
    _append_lines(export_dir, "support", "c3,2024-06-03 09:00:00,,normal,email,5")
    paths, report = _ingest(export_dir, "cache")
    assert {"engagement", "support"} <= set(report.appended)
    assert "engagement" not in calls and "support" not in calls  # only customers checked whole
    monkeypatch.undo()
    full = _ingest(export_dir, "fresh-cache")
    _same((paths, report), full)
    assert report.tables["engagement"].rows == 7
    assert paths["engagement"].is_dir()  # the earlier part linked, the new day beside it


def test_an_appended_duplicate_of_an_old_row_is_caught_naming_both_lines(export_dir):
    _ingest(export_dir, "cache")
    _append_lines(export_dir, "engagement", "c1,2024-06-01 08:00:00,login,1")
    _append_lines(export_dir, "engagement", "c1,2024-03-01 10:00:00,login,5")  # line 2 again
    with pytest.raises(UserError, match="1 exact duplicate rows.*line 2 = line 8"):
        _ingest(export_dir, "cache")


@pytest.mark.parametrize(
    "lines",
    [
        ["c2,2024-06-01 08:00:00,login,1", "c3,not a date,login,1"],  # a rule broken on line 8
        ["c2,2024-06-01 08:00:00,login,1", "c9,2024-06-01 09:00:00,login,1"],  # unknown customer
        ["c4,2024-06-01 08:00:00,login,1", "c4,2024-06-01 08:00:00,login,1"],  # within the day
    ],
    ids=["rule", "orphan", "new-duplicate"],
)
def test_appended_rows_with_findings_give_exactly_the_full_checks_verdict(export_dir, lines):
    def grow(project: Path) -> None:
        _append_lines(project, "engagement", *lines)

    try:
        incremental = _incremental_and_full(export_dir, grow)
    except UserError as error:  # fatal either way: the same lines
        with pytest.raises(UserError) as full:
            _ingest(export_dir, "fresh-cache")
        assert str(full.value) == str(error)
        return
    _same(*incremental)
    assert incremental[0][1].warnings


def test_an_appended_outlier_is_judged_against_the_whole_column(export_dir):
    stamps = pd.date_range("2024-04-01", periods=400, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    events = pd.DataFrame(
        {"customer_id": "c1", "timestamp": stamps, "event_type": "login", "value": "2"}
    )
    events.to_csv(export_dir / "exports" / "engagement.csv", index=False)

    def grow(project: Path) -> None:
        _append_lines(project, "engagement", "c3,2024-06-01 08:00:00,login,3")
        _append_lines(project, "engagement", "c5,2024-06-02 08:00:00,login,900000")

    incremental = _incremental_and_full(export_dir, grow)
    _same(*incremental)
    assert any("99th percentile" in p.message for p in incremental[0][1].warnings)


def test_a_new_customer_makes_earlier_orphans_count_again(export_dir):
    toml = export_dir / "churn.toml"
    toml.write_text(toml.read_text().replace("[data]", "[data]\nmax_orphan_share = 0.5"))
    _append_lines(export_dir, "engagement", "c6,2024-06-01 08:00:00,login,1")
    _, first = _ingest(export_dir, "cache")
    assert first.tables["engagement"].orphans == 1  # not clean: checked whole next time
    _append_lines(export_dir, "customers", "c6,2024-05-20,,basic,1")
    _append_lines(export_dir, "engagement", "c6,2024-06-02 08:00:00,login,1")
    paths, report = _ingest(export_dir, "cache")
    assert "engagement" not in report.appended and report.tables["engagement"].orphans == 0
    assert (pd.read_parquet(paths["engagement"])["customer_id"] == "c6").sum() == 2


def test_a_row_rewritten_in_place_is_not_taken_for_an_append(export_dir):
    def grow(project: Path) -> None:
        path = project / "exports" / "engagement.csv"
        path.write_text(path.read_text().replace("login,5", "login,6") + "c2,2024-06-01,a,1\n")

    incremental = _incremental_and_full(export_dir, grow)
    assert "engagement" not in incremental[0][1].appended
    _same(*incremental)


def test_a_new_part_in_a_parquet_folder_is_checked_alone(export_dir):
    folder = export_dir / "exports" / "engagement.parquet"
    folder.mkdir()
    frame = pd.read_csv(export_dir / "exports" / "engagement.csv", dtype=str)
    (export_dir / "exports" / "engagement.csv").unlink()
    first = frame.assign(timestamp="2024-04-0" + pd.Series(range(1, 6)).astype(str) + " 10:00:00")
    pq.write_table(pa.Table.from_pandas(first, preserve_index=False), folder / "day-1.parquet")

    def grow(project: Path) -> None:
        new = first.assign(
            timestamp="2024-05-02 09:00:00", customer_id=["c1", "c2", "c3", "c4", "c5"]
        )
        pq.write_table(pa.Table.from_pandas(new, preserve_index=False), folder / "day-2.parquet")

    incremental = _incremental_and_full(export_dir, grow)
    assert "engagement" in incremental[0][1].appended
    _same(*incremental)


def test_an_appended_day_is_checked_again_in_full_after_the_cache_is_cleared(export_dir):
    _ingest(export_dir, "cache")
    shutil.rmtree(export_dir / "cache")
    _append_lines(export_dir, "engagement", "c3,2024-06-01 08:00:00,login,2")
    _, report = _ingest(export_dir, "cache")
    assert report.appended == {} and report.tables["engagement"].rows == 6


def test_tolerated_findings_add_up_across_the_append_as_in_a_full_check(export_dir):
    stamps = pd.date_range("2024-04-01", periods=300, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    events = pd.DataFrame(
        {"customer_id": "c1", "timestamp": stamps, "event_type": "login", "value": "2"}
    )
    pd.concat([events, events.iloc[[5]]]).to_csv(
        export_dir / "exports" / "engagement.csv", index=False
    )
    _append_lines(export_dir, "purchases", "c3,2024-04-02,49.0,0,,subscription")

    def grow(project: Path) -> None:
        _append_lines(project, "engagement", "c3,2024-06-01 08:00:00,login,3")
        _append_lines(project, "engagement", "c3,2024-06-01 08:00:00,login,3")  # left out too
        _append_lines(project, "purchases", "c1,2024-05-01,49.0,0,,subscription")

    incremental = _incremental_and_full(export_dir, grow)
    paths, report = incremental[0]
    assert {"engagement", "purchases"} <= set(report.appended)
    _same(*incremental)
    lines = [p.line() for p in report.warnings]
    # the earlier pair first, then the appended one, numbered in the whole file
    assert any(
        "2 exact duplicate rows" in x and "line 7 = line 302; line 303 = line 304" in x
        for x in lines
    )
    assert any("2 rows with empty status" in x and "line 5: None; line 6: None" in x for x in lines)
    assert len(pd.read_parquet(paths["engagement"])) == 301
    # another night: only engagement grows; purchases, unchanged, keeps its recorded finding
    shutil.rmtree(export_dir / "fresh-cache")
    _append_lines(export_dir, "engagement", "c2,2024-06-02 08:00:00,login,1")
    again = _ingest(export_dir, "cache"), _ingest(export_dir, "fresh-cache")
    assert {"engagement", "purchases"} <= set(again[0][1].appended)
    _same(*again)
