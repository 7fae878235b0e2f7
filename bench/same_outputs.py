"""What a change to the code must not change: the sample's training summary, list and manifest.

Trains on data/sample and scores it, in a fresh folder and fresh processes, exactly as `make
train` and `make score` do, then writes one JSON of what a user sees: the training summary
(timings, addresses and run ids left out), every row of the list and its manifest (creation
time, run ids and paths left out) with a digest of each. Run it before and after a
refactoring and compare the two files:

    python -m bench.same_outputs --out before.json
    ... change the code ...
    python -m bench.same_outputs --out after.json
    python -m bench.same_outputs --compare before.json after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
VOLATILE_LINES = re.compile(r"^(time:|runs:|\[train\]|\[score\]|written:)")
VOLATILE_KEYS = {"created_at", "run_id", "folder", "sha256", "version_link"}


def _run(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env, text=True,
        capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout


def _stable(value):
    """A manifest without what differs from run to run (times, run ids, paths)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def outputs(work: Path) -> dict:
    """Train and score the sample in `work`; what the user sees, without what varies."""
    config = work / "churn.toml"
    text = (ROOT / "churn.toml").read_text()
    text = text.replace('dir = "data/sample"', f'dir = "{ROOT / "data" / "sample"}"')
    text = text.replace(
        'truth_file = "data/sample/truth', f'truth_file = "{ROOT / "data" / "sample" / "truth"}'
    )
    config.write_text(text)
    summary = _run(["train", "--config", str(config)], work)
    _run(["score", "--config", str(config)], work)
    folder = next((work / "outputs" / "at_risk").iterdir())
    rows = pd.read_parquet(folder / "at_risk.parquet")
    listed = rows.astype(str).to_csv(index=False)
    manifest = _stable(json.loads((folder / "manifest.json").read_text()))
    kept = [line for line in summary.splitlines() if not VOLATILE_LINES.match(line)]
    return {
        "training_summary": kept,
        "list_sha256": hashlib.sha256(listed.encode()).hexdigest(),
        "list_rows": len(rows),
        "list_columns": list(rows.columns),
        "manifest": manifest,
        "manifest_sha256": hashlib.sha256(
            json.dumps(manifest, sort_keys=True).encode()
        ).hexdigest(),
    }


def compare(before: dict, after: dict) -> list[str]:
    """The parts that differ, one line each (none: the same outputs)."""
    out = []
    for key in ("training_summary", "list_sha256", "list_rows", "list_columns"):
        if before[key] != after[key]:
            out.append(f"{key} differs")
    for key in sorted(set(before["manifest"]) | set(after["manifest"])):
        if before["manifest"].get(key) != after["manifest"].get(key):
            out.append(f"manifest[{key!r}] differs")
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the outputs, or compare two files of them (exit 1 when they differ)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path)
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        differences = compare(before, after)
        print("\n".join(differences) or "the same training summary, list and manifest")
        return 1 if differences else 0
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as folder:
        result = outputs(Path(folder))
    text = json.dumps(result, indent=1, default=str)
    if args.out:
        args.out.write_text(text)
    print(f"list {result['list_sha256'][:16]}, manifest {result['manifest_sha256'][:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
