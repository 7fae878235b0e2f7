"""The typed cache: safe for runs sharing it, damaged copies rebuilt, unwritable folders faults."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from features.errors import Fault
from features.exports.cache import MANIFEST, export_fingerprint
from features.exports.ingest import ingest_exports
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample():
    return load_config(ROOT / "churn.toml")


def test_a_truncated_cached_part_is_rebuilt_with_a_warning(sample, tmp_path, caplog):
    paths, _ = ingest_exports(sample.exports, tmp_path, None)
    whole = pd.read_parquet(paths["purchases"])
    data = paths["purchases"].read_bytes()
    paths["purchases"].write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="features.exports.cache"):
        again, _ = ingest_exports(sample.exports, tmp_path, None)
    assert "purchases" in caplog.text and "rebuilding" in caplog.text
    pd.testing.assert_frame_equal(pd.read_parquet(again["purchases"]), whole)


def test_a_part_changed_in_place_is_not_served(sample, tmp_path):
    paths, _ = ingest_exports(sample.exports, tmp_path, None)
    whole = pd.read_parquet(paths["customers"])
    whole.iloc[:10].to_parquet(paths["customers"])  # readable, but not what was written
    again, _ = ingest_exports(sample.exports, tmp_path, None)
    assert len(pd.read_parquet(again["customers"])) == len(whole)


def test_a_manifest_without_digests_is_rebuilt(sample, tmp_path):
    paths, _ = ingest_exports(sample.exports, tmp_path, None)
    manifest = paths["customers"].parent / MANIFEST
    manifest.write_text(json.dumps({"tables": {}}))  # as an earlier version wrote it
    again, _ = ingest_exports(sample.exports, tmp_path, None)
    assert "parts" in json.loads((again["customers"].parent / MANIFEST).read_text())


def test_runs_sharing_an_empty_cache_at_once_all_succeed_with_one_copy(tmp_path):
    cache = tmp_path / "cache"
    probe = (
        "import sys, pandas as pd; from pathlib import Path;"
        "from pipeline.config import load_config;"
        "from features.exports.ingest import ingest_exports;"
        f"c = load_config(Path({str(ROOT / 'churn.toml')!r}));"
        f"p, _ = ingest_exports(c.exports, Path({str(cache)!r}), None);"
        "print(len(pd.read_parquet(p['engagement'])))"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", probe], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in results]
    assert len({out for out, _ in results}) == 1, results
    assert [p.name for p in cache.iterdir()] == [export_fingerprint(load_config(
        ROOT / "churn.toml").exports, None)]  # fmt: skip


def test_a_cache_folder_that_cannot_be_written_is_a_fault_naming_it(sample, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(Fault) as fault:
        ingest_exports(sample.exports, blocker / "cache", None)
    line = str(fault.value)
    assert "cannot write the typed cache" in line and "a-file" in line and "\n" not in line


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
        OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)),
        OSError('IO Error: Could not write file "x": No space left on device'),  # DuckDB's
    ],
)
def test_a_full_disk_under_the_cache_is_one_line_saying_so(export_dir, monkeypatch, capsys, error):
    from features.exports.runners import DuckDBRunner
    from pipeline.cli import main

    def full(self, select_sql, location):
        raise error

    monkeypatch.setattr(DuckDBRunner, "write_parquet", full)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["-q", "score", "--config", str(export_dir / "churn.toml")]) == 4
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {export_dir / '.churn' / 'cache'}: the disk ")
    assert ("quota is used up" if error.errno == errno.EDQUOT else "the disk is full") in line
    assert "[data] cache_dir" in line and "OSError" not in line
