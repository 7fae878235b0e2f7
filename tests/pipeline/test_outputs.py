"""At-risk lists are written whole or not at all, one folder per date, under a lock."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from features.errors import EXIT_FAULT, EXIT_REFUSED, Fault, Refusal
from pipeline import outputs
from pipeline.outputs import ListLocked, date_lock, partition_dir, previous_list, write_list

DAY1, DAY2 = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-02")
REPO = Path(__file__).resolve().parents[2]


def _ranked(n: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "customer_id": [f"{tag}{i}" for i in range(n)],
            "reason_features": [["events_30d"]] * n,
        }
    )


def test_lists_of_other_dates_are_never_touched(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "a"), manifest={"run": 1})
    write_list(tmp_path, DAY2, _ranked(2, "b"), manifest={"run": 2})
    day1 = pd.read_parquet(partition_dir(tmp_path, DAY1) / "at_risk.parquet")
    assert list(day1["customer_id"]) == ["a0", "a1", "a2"]
    assert json.loads((partition_dir(tmp_path, DAY2) / "manifest.json").read_text()) == {"run": 2}
    csv = pd.read_csv(partition_dir(tmp_path, DAY1) / "at_risk.csv")
    assert csv.loc[0, "reason_features"] == '["events_30d"]'


def test_the_csv_reads_back_as_the_list_with_reasons_as_json(tmp_path):
    ranked = pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "customer_id": ["007", "b", "c"],
            "churn_probability": [0.123456789012345, 1e-7, 0.5],
            "reason_1": ["active days: 2, vs 14 before", 'said "too pricey"', ""],
            "reason_features": [["events_30d", "open_tickets"], [], ["events_30d", "open_tickets"]],
            "contact_first": [True, False, False],
            "contact_order": pd.array([1, pd.NA, pd.NA], dtype="Int64"),
        }
    )
    write_list(tmp_path, DAY1, ranked, manifest={"run": 1})
    csv = pd.read_csv(
        partition_dir(tmp_path, DAY1) / "at_risk.csv",
        dtype={"customer_id": str, "contact_order": "Int64"},
        keep_default_na=False,
        na_values={"contact_order": [""]},
    )
    assert list(csv.columns) == list(ranked.columns)
    assert [json.loads(v) for v in csv["reason_features"]] == list(ranked["reason_features"])
    expected = ranked.drop(columns="reason_features")
    pd.testing.assert_frame_equal(csv.drop(columns="reason_features"), expected, check_dtype=False)
    back = pd.read_parquet(partition_dir(tmp_path, DAY1) / "at_risk.parquet")
    assert [list(v) for v in back["reason_features"]] == list(ranked["reason_features"])


def test_rerunning_a_date_replaces_its_list_whole(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    write_list(tmp_path, DAY1, _ranked(1, "new"), manifest={"run": 2})
    folder = partition_dir(tmp_path, DAY1)
    assert list(pd.read_parquet(folder / "at_risk.parquet")["customer_id"]) == ["new0"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".as_of")) == [
        ".replaced",  # the replaced list, kept since it differs
        folder.name,
    ]


def test_a_failure_mid_write_leaves_the_previous_list_intact(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})

    def crash(staging):
        assert (staging / "at_risk.parquet").exists()  # the new list was half written
        raise OSError("disk full")

    with pytest.raises(Fault, match="disk full"):
        write_list(tmp_path, DAY1, _ranked(5, "new"), manifest={"run": 2}, write_hook=crash)
    folder = partition_dir(tmp_path, DAY1)
    assert list(pd.read_parquet(folder / "at_risk.parquet")["customer_id"]) == [
        "old0",
        "old1",
        "old2",
    ]
    assert json.loads((folder / "manifest.json").read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".staging")] == []


def test_two_scorers_cannot_write_the_same_date(tmp_path):
    with date_lock(tmp_path, DAY1):
        with pytest.raises(ListLocked, match="another scorer"), date_lock(tmp_path, DAY1):
            pass
        with date_lock(tmp_path, DAY2):  # another date is free
            pass
    with date_lock(tmp_path, DAY1):  # released afterwards
        pass


# A scorer killed (SIGKILL: no cleanup runs) after moving the date's list out, before moving
# the new one in; the two-rename swap is forced, since the atomic exchange has no such gap.
KILLED_SCORER = """
import os, signal, sys
from pathlib import Path
import pandas as pd
from pipeline import outputs
outputs.swap._exchange_dirs = lambda a, b: False
ranked = pd.DataFrame({"rank": [1, 2], "customer_id": ["new0", "new1"]})
outputs.write_list(
    Path(sys.argv[1]), pd.Timestamp(sys.argv[2]), ranked, manifest={"run": "killed"},
    swap_hook=lambda final: os.kill(os.getpid(), signal.SIGKILL),
)
"""


def _kill_between_renames(output_dir: Path, as_of: pd.Timestamp) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_SCORER, str(output_dir), f"{as_of:%Y-%m-%d}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    names = sorted(p.name.split("-as_of=")[0] for p in output_dir.iterdir() if p.is_dir())
    # The date's folder is gone, as after a real kill; its list was kept before the swap.
    assert names == [".replaced", ".retired", ".staging"]


def _hidden_leftovers(output_dir: Path) -> list[str]:
    return sorted(p.name for p in output_dir.glob(".*-as_of=*"))


def _assert_complete(folder: Path, ids: list[str], manifest: dict) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [
        "at_risk.csv",
        "at_risk.parquet",
        "manifest.json",
    ]
    assert list(pd.read_parquet(folder / "at_risk.parquet")["customer_id"]) == ids
    assert list(pd.read_csv(folder / "at_risk.csv")["customer_id"]) == ids
    assert json.loads((folder / "manifest.json").read_text()) == manifest


def test_a_kill_between_the_renames_is_repaired_by_the_next_write_of_that_date(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    _kill_between_renames(tmp_path, DAY1)
    assert not partition_dir(tmp_path, DAY1).exists()

    write_list(tmp_path, DAY1, _ranked(1, "next"), manifest={"run": 3})
    _assert_complete(partition_dir(tmp_path, DAY1), ["next0"], {"run": 3})
    assert _hidden_leftovers(tmp_path) == []


def test_a_kill_between_the_renames_is_repaired_by_a_write_of_another_date(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    _kill_between_renames(tmp_path, DAY1)

    write_list(tmp_path, DAY2, _ranked(2, "b"), manifest={"run": 3})
    # A plain read of the killed date finds its previous list, whole.
    _assert_complete(partition_dir(tmp_path, DAY1), ["old0", "old1", "old2"], {"run": 1})
    _assert_complete(partition_dir(tmp_path, DAY2), ["b0", "b1"], {"run": 3})
    assert _hidden_leftovers(tmp_path) == []


def test_leftovers_of_a_date_being_written_by_a_live_run_are_left_alone(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    _kill_between_renames(tmp_path, DAY1)
    before = _hidden_leftovers(tmp_path)

    with date_lock(tmp_path, DAY1):  # a live run of DAY1
        write_list(tmp_path, DAY2, _ranked(2, "b"), manifest={"run": 3})
        assert _hidden_leftovers(tmp_path) == before
        assert not partition_dir(tmp_path, DAY1).exists()
    write_list(tmp_path, DAY2, _ranked(2, "b"), manifest={"run": 4})  # DAY1 is free now
    _assert_complete(partition_dir(tmp_path, DAY1), ["old0", "old1", "old2"], {"run": 1})


def test_trouble_repairing_another_date_does_not_stop_this_dates_list(tmp_path, caplog):
    stale = tmp_path / f".staging-{partition_dir(tmp_path, DAY1).name}-0badc0de"
    stale.mkdir()
    (tmp_path / f".{partition_dir(tmp_path, DAY1).name}.lock").mkdir()  # its lock cannot open
    with caplog.at_level("WARNING", logger="pipeline.outputs"):
        write_list(tmp_path, DAY2, _ranked(1, "b"), manifest={"run": 1})
    _assert_complete(partition_dir(tmp_path, DAY2), ["b0"], {"run": 1})
    assert stale.exists() and "could not repair" in caplog.text


def test_a_stale_staging_folder_is_removed(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    stale = tmp_path / f".staging-{partition_dir(tmp_path, DAY1).name}-0badc0de"
    stale.mkdir()
    (stale / "at_risk.parquet").write_bytes(b"half a file")
    half_kept = tmp_path / ".replaced" / partition_dir(tmp_path, DAY1).name / ".partial-0badc0de"
    half_kept.mkdir(parents=True)

    write_list(tmp_path, DAY1, _ranked(1, "new"), manifest={"run": 2})
    assert not stale.exists() and not half_kept.exists()
    _assert_complete(partition_dir(tmp_path, DAY1), ["new0"], {"run": 2})


def test_the_scorer_holding_the_date_lock_can_write_that_date(tmp_path):
    with date_lock(tmp_path, DAY1):  # as `churn score` does around the write
        write_list(tmp_path, DAY1, _ranked(1, "a"), manifest={"run": 1})
    _assert_complete(partition_dir(tmp_path, DAY1), ["a0"], {"run": 1})


def test_a_write_refuses_while_another_run_holds_the_date(tmp_path):
    locked, release = threading.Event(), threading.Event()

    def other_scorer():
        with date_lock(tmp_path, DAY1):
            locked.set()
            release.wait(10)

    other = threading.Thread(target=other_scorer)
    other.start()
    try:
        assert locked.wait(10)
        with pytest.raises(ListLocked, match="another scorer") as refused:
            write_list(tmp_path, DAY1, _ranked(1, "a"), manifest={"run": 1})
        assert isinstance(refused.value, Refusal) and refused.value.exit_code == EXIT_REFUSED
    finally:
        release.set()
        other.join()
    assert not partition_dir(tmp_path, DAY1).exists()


def _one_line_fault(raised: pytest.ExceptionInfo, path: Path, advice: str) -> None:
    assert raised.value.exit_code == EXIT_FAULT
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"{path}: ") and advice in line


def test_an_output_path_that_is_a_file_is_a_fault(tmp_path):
    output = tmp_path / "at_risk"
    output.write_text("not a folder")
    with pytest.raises(Fault) as raised:
        write_list(output, DAY1, _ranked(1, "a"), manifest={"run": 1})
    _one_line_fault(raised, output, "is a file where a folder is needed")
    assert output.read_text() == "not a folder"


def test_an_output_path_under_a_file_is_a_fault(tmp_path):
    blocker = tmp_path / "outputs"
    blocker.write_text("not a folder")
    with pytest.raises(Fault) as raised:
        write_list(blocker / "at_risk", DAY1, _ranked(1, "a"), manifest={"run": 1})
    _one_line_fault(raised, blocker, "move it away or set [scoring].output_dir to a folder")


def test_a_date_folder_that_is_a_file_is_a_fault_and_other_dates_stay(tmp_path):
    write_list(tmp_path, DAY1, _ranked(2, "a"), manifest={"run": 1})
    partition_dir(tmp_path, DAY2).write_text("stray")
    with pytest.raises(Fault) as raised:
        write_list(tmp_path, DAY2, _ranked(1, "b"), manifest={"run": 2})
    _one_line_fault(raised, partition_dir(tmp_path, DAY2), "is a file, not a list folder")
    assert partition_dir(tmp_path, DAY2).read_text() == "stray"
    _assert_complete(partition_dir(tmp_path, DAY1), ["a0", "a1"], {"run": 1})


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes into read-only folders; the EACCES tests below cover it"
)
def test_a_read_only_output_folder_is_a_fault_and_keeps_earlier_lists(tmp_path):
    output = tmp_path / "at_risk"
    write_list(output, DAY1, _ranked(2, "a"), manifest={"run": 1})
    output.chmod(0o555)
    try:
        with pytest.raises(Fault) as raised:
            write_list(output, DAY2, _ranked(1, "b"), manifest={"run": 2})
    finally:
        output.chmod(0o755)
    _one_line_fault(raised, output, "fix the folder's permissions")
    _assert_complete(partition_dir(output, DAY1), ["a0", "a1"], {"run": 1})
    assert not partition_dir(output, DAY2).exists()


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.ENOSPC, "the disk is full; free space"),
        (errno.EACCES, "fix the folder's permissions"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EIO, "check the disk"),
    ],
)
def test_an_os_error_while_writing_is_a_fault_and_keeps_the_previous_list(tmp_path, code, advice):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})

    def fail(staging):
        raise OSError(code, os.strerror(code), str(staging / "at_risk.csv"))

    with pytest.raises(Fault) as raised:
        write_list(tmp_path, DAY1, _ranked(5, "new"), manifest={"run": 2}, write_hook=fail)
    _one_line_fault(raised, tmp_path, advice)
    assert os.strerror(code) in str(raised.value)
    _assert_complete(partition_dir(tmp_path, DAY1), ["old0", "old1", "old2"], {"run": 1})
    assert _hidden_leftovers(tmp_path) == []


def test_a_disk_error_between_the_renames_puts_the_previous_list_back(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.swap, "_exchange_dirs", lambda a, b: False)
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})

    def fail(final):
        assert not final.exists()  # the old list is out, the new one not yet in
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with pytest.raises(Fault, match="Input/output error"):
        write_list(tmp_path, DAY1, _ranked(5, "new"), manifest={"run": 2}, swap_hook=fail)
    _assert_complete(partition_dir(tmp_path, DAY1), ["old0", "old1", "old2"], {"run": 1})
    assert _hidden_leftovers(tmp_path) == []


def _kept(output_dir: Path, as_of: pd.Timestamp) -> list[Path]:
    return sorted((output_dir / ".replaced" / partition_dir(output_dir, as_of).name).iterdir())


def test_rescoring_with_a_different_list_keeps_the_replaced_one(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    before = dt.datetime.now(dt.UTC)
    write_list(tmp_path, DAY1, _ranked(3, "new"), manifest={"run": 2})

    (kept,) = _kept(tmp_path, DAY1)
    when = dt.datetime.strptime(kept.name, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)
    assert before <= when <= dt.datetime.now(dt.UTC)
    _assert_complete(kept, ["old0", "old1", "old2"], {"run": 1})
    _assert_complete(partition_dir(tmp_path, DAY1), ["new0", "new1", "new2"], {"run": 2})
    assert list(tmp_path.glob(".replaced/*/.partial-*")) == []


def test_an_identical_rerun_keeps_nothing_extra(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "same"), manifest={"run": 1})
    write_list(tmp_path, DAY1, _ranked(3, "same"), manifest={"run": 2})
    assert not (tmp_path / ".replaced").exists()
    _assert_complete(partition_dir(tmp_path, DAY1), ["same0", "same1", "same2"], {"run": 2})


def test_a_replaced_folder_without_a_csv_is_kept_too(tmp_path):
    folder = partition_dir(tmp_path, DAY1)
    folder.mkdir()
    (folder / "at_risk.parquet").write_bytes(b"from an older writer")
    write_list(tmp_path, DAY1, _ranked(1, "new"), manifest={"run": 2})
    (kept,) = _kept(tmp_path, DAY1)
    assert (kept / "at_risk.parquet").read_bytes() == b"from an older writer"


def test_every_different_rescore_is_kept_in_time_order(tmp_path):
    for run, tag in enumerate(["a", "b", "b", "c"]):
        write_list(tmp_path, DAY1, _ranked(2, tag), manifest={"run": run})
    kept = _kept(tmp_path, DAY1)
    assert [json.loads((k / "manifest.json").read_text()) for k in kept] == [{"run": 0}, {"run": 2}]
    _assert_complete(partition_dir(tmp_path, DAY1), ["c0", "c1"], {"run": 3})


def test_a_killed_rescore_keeps_the_replaced_list_once(tmp_path):
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    _kill_between_renames(tmp_path, DAY1)  # kept the old list, then died mid-swap
    write_list(
        tmp_path, DAY1, _ranked(2, "new"), manifest={"run": 3}
    )  # puts it back, then replaces it

    (kept,) = _kept(tmp_path, DAY1)
    _assert_complete(kept, ["old0", "old1", "old2"], {"run": 1})
    _assert_complete(partition_dir(tmp_path, DAY1), ["new0", "new1"], {"run": 3})


def _can_exchange(tmp_path: Path) -> bool:
    a, b = tmp_path / "probe-a", tmp_path / "probe-b"
    a.mkdir()
    b.mkdir()
    (a / "from-a").touch()
    swapped = outputs.swap._exchange_dirs(a, b)
    assert swapped == (b / "from-a").exists()  # either swapped whole or not at all
    shutil.rmtree(a)
    shutil.rmtree(b)
    return swapped


def test_a_rescore_exchanges_the_folders_in_one_step_where_the_system_can(tmp_path, monkeypatch):
    if not _can_exchange(tmp_path):
        pytest.skip("no renameat2(RENAME_EXCHANGE) here; the two-rename swap is tested above")
    write_list(tmp_path, DAY1, _ranked(3, "old"), manifest={"run": 1})
    final = partition_dir(tmp_path, DAY1)
    rename = os.rename

    def no_gap(source, target, *args, **kwargs):
        assert Path(source) != final and Path(target) != final, "the date's folder moved out"
        return rename(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "rename", no_gap)
    write_list(tmp_path, DAY1, _ranked(2, "new"), manifest={"run": 2})
    _assert_complete(final, ["new0", "new1"], {"run": 2})
    (kept,) = _kept(tmp_path, DAY1)
    _assert_complete(kept, ["old0", "old1", "old2"], {"run": 1})
    assert _hidden_leftovers(tmp_path) == []


PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\tstarts with a tab",
    "\rstarts with a carriage return",
    "\nstarts with a line feed",
    "  =1+1",  # spaces first: some spreadsheets strip them before looking
    "\u00a0@SUM(1)",  # a no-break space first
    "\uff1d1+1",  # a full-width equals sign
]
HARMLESS = ["a=b", "x-1", "'=already text", "", " plain", "1e5"]


def _csv_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "at_risk.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_formula_payloads_are_quoted_in_the_csv_and_raw_in_the_parquet(tmp_path):
    n = len(PAYLOADS)
    ranked = pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "customer_id": [f"c{i}" for i in range(n)],
            "reason_1": PAYLOADS[::-1],
            "plan": pd.Categorical(PAYLOADS),  # categorical text is text too
            "reason_features": [[p] for p in PAYLOADS],
        }
    )
    folder = write_list(tmp_path, DAY1, ranked, manifest={"run": 1})

    escaped = ["'" + p for p in PAYLOADS]
    rows = _csv_rows(folder)
    assert [r["reason_1"] for r in rows] == escaped[::-1]
    assert [r["plan"] for r in rows] == escaped
    # The JSON of a list starts with "[", so the spreadsheet sees text; the payload stays inside.
    assert [json.loads(r["reason_features"]) for r in rows] == [[p] for p in PAYLOADS]
    back = pd.read_csv(folder / "at_risk.csv", dtype=str, keep_default_na=False)
    assert list(back["plan"]) == escaped
    raw = pd.read_parquet(folder / "at_risk.parquet")
    assert list(raw["reason_1"]) == PAYLOADS[::-1] and list(raw["plan"]) == PAYLOADS


def test_ids_and_plays_the_contact_log_repeats_are_written_exactly(tmp_path):
    """The team copies customer_id and suggested_play into the contact log the report reads
    back: a quote in front would make "+4915..." another customer."""
    ids = ["+4915112345", "-7", "=c1", "@c2"]
    ranked = pd.DataFrame(
        {
            "rank": range(1, 5),
            "customer_id": ids,
            "suggested_play": ["-call", "=call", "+call", "@call"],
            "country": ids,
        }
    )
    folder = write_list(tmp_path, DAY1, ranked, manifest={"run": 1})
    rows = _csv_rows(folder)
    assert [r["customer_id"] for r in rows] == ids
    assert [r["suggested_play"] for r in rows] == ["-call", "=call", "+call", "@call"]
    assert [r["country"] for r in rows] == ["'" + i for i in ids]


def test_text_with_formula_signs_later_in_the_cell_is_left_as_it_is(tmp_path):
    ranked = pd.DataFrame({"rank": range(1, len(HARMLESS) + 2), "reason_1": HARMLESS + [None]})
    folder = write_list(tmp_path, DAY1, ranked, manifest={"run": 1})
    assert [r["reason_1"] for r in _csv_rows(folder)] == HARMLESS + [""]


def test_negative_numbers_in_numeric_columns_stay_numbers(tmp_path):
    ranked = pd.DataFrame(
        {
            "rank": [1, 2],
            "customer_id": ["c1", "c2"],
            "plan": ["-7", "pro"],  # text, even when it looks like a number
            "churn_probability": [0.5, 0.25],
            "monthly_revenue": [-12.5, 30.0],  # a refund month
            "seat_change": [-3, 2],
            "contact_order": pd.array([-1, pd.NA], dtype="Int64"),
        }
    )
    folder = write_list(tmp_path, DAY1, ranked, manifest={"run": 1})
    lines = (folder / "at_risk.csv").read_text().splitlines()
    assert lines[1] == '1,"c1","\'-7",0.5,-12.5,-3,-1'
    back = pd.read_csv(folder / "at_risk.csv")
    assert list(back["monthly_revenue"]) == [-12.5, 30.0]
    assert list(back["seat_change"]) == [-3, 2]
    assert back["monthly_revenue"].dtype == float and back["seat_change"].dtype == int


def test_owasp_examples_come_out_as_owasp_escapes_them(tmp_path):
    ranked = pd.DataFrame({"reason_1": ['=1+2";=1+2', "=1+2'\" ;,=1+2"]})
    folder = write_list(tmp_path, DAY1, ranked, manifest={"run": 1})
    assert (folder / "at_risk.csv").read_text().splitlines() == [
        '"reason_1"',
        '"\'=1+2"";=1+2"',
        '"\'=1+2\'"" ;,=1+2"',
    ]


def _scored(tag: str, n: int = 2) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "customer_id": [f"{tag}{i}" for i in range(n)],
            "churn_probability": [0.9 - i / 10 for i in range(n)],
            "risk_tier": ["high"] * n,
            "reason_1": ["active days: 2, vs 14 before"] * n,
            "reason_features": [["events_30d"]] * n,
        }
    )


def test_previous_list_is_the_latest_strictly_earlier_date(tmp_path):
    for day, tag in [("2026-10-30", "oct30"), ("2026-10-31", "oct31"), ("2026-11-02", "nov2")]:
        write_list(tmp_path, pd.Timestamp(day), _scored(tag), manifest={"run": day})

    when, previous = previous_list(tmp_path, pd.Timestamp("2026-11-02"))
    assert when == pd.Timestamp("2026-10-31")
    assert list(previous.columns) == ["customer_id", "risk_tier", "churn_probability"]
    assert list(previous["customer_id"]) == ["oct310", "oct311"]
    assert list(previous["churn_probability"]) == [0.9, 0.8]
    # Any time on the later day still counts the day itself as not earlier.
    assert previous_list(tmp_path, pd.Timestamp("2026-11-02 18:30"))[0] == pd.Timestamp(
        "2026-10-31"
    )
    assert previous_list(tmp_path, pd.Timestamp("2026-11-03"))[0] == pd.Timestamp("2026-11-02")


def test_previous_list_is_none_without_an_earlier_list(tmp_path):
    assert previous_list(tmp_path / "never-written", DAY2) is None
    write_list(tmp_path, DAY2, _scored("b"), manifest={"run": 1})
    assert previous_list(tmp_path, DAY2) is None
    assert previous_list(tmp_path, DAY1) is None


def test_previous_list_ignores_hidden_staging_replaced_and_misnamed_folders(tmp_path):
    write_list(tmp_path, pd.Timestamp("2026-10-01"), _scored("real"), manifest={"run": 1})
    write_list(tmp_path, DAY1, _scored("a"), manifest={"run": 2})
    write_list(tmp_path, DAY1, _scored("b"), manifest={"run": 3})  # keeps the first under .replaced
    shutil.move(partition_dir(tmp_path, DAY1), tmp_path / ".staging-as_of=2026-11-01-0badc0de")
    shutil.copytree(
        partition_dir(tmp_path, pd.Timestamp("2026-10-01")), tmp_path / "as_of=2026-13-45"
    )
    (tmp_path / "as_of=2026-10-31").write_text("a file, not a list")

    when, previous = previous_list(tmp_path, DAY2)
    assert when == pd.Timestamp("2026-10-01")
    assert list(previous["customer_id"]) == ["real0", "real1"]


def test_a_corrupt_previous_list_falls_back_to_an_older_one_with_a_warning(tmp_path, caplog):
    days = [pd.Timestamp(d) for d in ("2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31")]
    for day in days:
        write_list(tmp_path, day, _scored(f"d{day.day}"), manifest={"run": str(day)})
    (partition_dir(tmp_path, days[3]) / "at_risk.parquet").write_bytes(b"not parquet")
    (partition_dir(tmp_path, days[2]) / "at_risk.parquet").unlink()
    pd.DataFrame({"customer_id": ["x"]}).to_parquet(
        partition_dir(tmp_path, days[1]) / "at_risk.parquet"
    )

    with caplog.at_level("WARNING", logger="pipeline.outputs"):
        when, previous = previous_list(tmp_path, DAY1)
    assert when == days[0]
    assert list(previous["customer_id"]) == ["d280", "d281"]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    skipped = [str(partition_dir(tmp_path, d)) for d in reversed(days[1:])]  # newest first
    assert [w.split(": cannot read the list")[0] for w in warned] == skipped
    assert all("\n" not in w for w in warned)


def test_previous_list_is_none_when_every_earlier_list_is_unreadable(tmp_path, caplog):
    write_list(tmp_path, DAY1, _scored("a"), manifest={"run": 1})
    (partition_dir(tmp_path, DAY1) / "at_risk.parquet").write_bytes(b"")
    with caplog.at_level("WARNING", logger="pipeline.outputs"):
        assert previous_list(tmp_path, DAY2) is None
    assert "cannot read the list" in caplog.text


def test_previous_list_is_none_when_the_folder_cannot_be_listed(tmp_path, monkeypatch, caplog):
    write_list(tmp_path, DAY1, _scored("a"), manifest={"run": 1})

    def denied(self):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    with caplog.at_level("WARNING", logger="pipeline.outputs"):
        assert previous_list(tmp_path, DAY2) is None
    assert f"{tmp_path}: cannot list the folder (Permission denied)" in caplog.text


def test_reason_lists_in_the_csv_are_the_json_of_the_lists(tmp_path):
    lists = [
        ["events_30d", "open_tickets"],
        [],
        None,
        ['said "too pricey"', "back\\slash", "a, b"],
        ["café", "日本"],
        [""],
        ["events_30d", "open_tickets"],
    ]
    # A control character or a null element takes the json.dumps path; the rest is vectorised.
    for extra in ([["line\nbreak"]], [[None, "x"]], []):
        ranked = pd.DataFrame({"rank": range(1, len(lists) + len(extra) + 1)})
        ranked["reason_features"] = lists + extra
        folder = write_list(tmp_path, DAY1, ranked, manifest={"run": 1})
        cells = [r["reason_features"] for r in _csv_rows(folder)]
        assert [json.loads(c) if c else None for c in cells] == lists + extra
        ascii_only = [0, 1, 3, 5]
        assert [cells[i] for i in ascii_only] == [json.dumps(lists[i]) for i in ascii_only]


def test_lists_split_across_chunks_and_slices_encode_like_whole_ones():
    from pipeline.outputs.files import _lists_as_json

    lists = [["a", "b"], None, [], ['q"uote'], ["x"], ["a", "b"]]
    whole = pa.table({"l": pa.array(lists)})
    pieces = pa.table(
        {"l": pa.chunked_array([pa.array(lists[:2]), pa.array([["pad"]] + lists[2:])[1:]])}
    )
    expected = [None if v is None else json.dumps(v) for v in lists]
    assert _lists_as_json(whole)["l"].to_pylist() == expected
    assert _lists_as_json(pieces)["l"].to_pylist() == expected
    assert _lists_as_json(whole.slice(2, 3))["l"].to_pylist() == expected[2:5]
