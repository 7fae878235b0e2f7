"""The nightly list on DuckDB and on Spark, side by side: `churn score` end to end.

One champion is trained with DuckDB on the 100k synthetic set (the score benchmark's config
and model name, in this benchmark's own store), then `churn score` runs on the measured set
once per engine, each in a fresh process with its own output folder: DuckDB (its default
threads), Spark `local[1]` and `local[2]`. Recorded per engine: wall time, the process tree's
peak resident memory (the Spark driver's JVM is a child of the Python process), the scorer's
own stage seconds, customers per second per core, and how the top of its list compares with
the DuckDB list's (Spark writes the first 10,000 rows as at_risk_top.csv, DuckDB the whole
list as at_risk.csv).
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import sys
from pathlib import Path
from typing import Any

from bench.child import run_limited, spark_env
from bench.score_bench import AS_OF, CONFIG, SCORE_AS_OF, stage_seconds

LISTS = {"duckdb": ("duckdb", 2), "spark-local-1": ("spark", 1), "spark-local-2": ("spark", 2)}
SPARK_SECTION = """
[engine]
backend = "spark"
master = "local[{cores}]"

[engine.conf]
"spark.driver.memory" = "6g"
"""


def list_config(data: Path, work: Path, name: str) -> Path:
    """The score benchmark's config for the set in `data`, writing to this engine's own
    output folder, on this engine."""
    engine, cores = LISTS[name]
    text = CONFIG.format(data=data, as_of=AS_OF, work=work)
    text = text.replace(f'output_dir = "{work}/outputs"', f'output_dir = "{work}/lists/{name}"')
    if engine == "spark":
        text += SPARK_SECTION.format(cores=cores)
    path = work / f"list-{name}.toml"
    path.write_text(text)
    return path


def train_champion(model_data: Path, work: Path, timeout: float) -> dict[str, Any]:
    """Train the champion every engine's list loads, on `model_data`, unless this benchmark's
    store already holds it."""
    done = work / "champion.trained"
    if done.exists():
        return {"status": "ok", "trained": "earlier"}
    config = work / "train.toml"
    config.write_text(CONFIG.format(data=model_data, as_of=AS_OF, work=work))
    run = _run([sys.executable, "-m", "pipeline", "train", "--config", str(config)], work, timeout)
    if run["status"] == "ok":
        done.write_text("bench-churn\n")
    return run


def measure_list(name: str, data: Path, work: Path, timeout: float) -> dict[str, Any]:
    """One engine's nightly list for the set in `data`: wall, tree peak RSS, stage seconds."""
    config = list_config(data, work, name)
    command = [sys.executable, "-m", "pipeline", "score", "--config", str(config)]
    run = _run([*command, "--as-of", SCORE_AS_OF], work, timeout)
    if run["status"] == "ok":
        stdout = (work / "run.out").read_text()
        customers = int(re.search(r"customers ([\d,]+):", stdout)[1].replace(",", ""))
        run |= {
            "engine": LISTS[name][0],
            "cores": LISTS[name][1],
            "customers_scored": customers,
            "customers_per_s_per_core": round(customers / run["wall_s"] / LISTS[name][1]),
            "stages_s": stage_seconds(stdout),
        }
    return run


def compare_top(name: str, work: Path, reference: str = "duckdb") -> dict[str, Any]:
    """How this engine's top of the list compares with the reference list's first rows: the
    same customers in the same order, tiers and probabilities, and how many rows differ in
    any cell (a reason's figure can round the other way when the engines' sums differ in the
    last bits)."""
    ours, theirs = _list_folder(work, name), _list_folder(work, reference)
    if ours is None or theirs is None:
        return {"compared": False}
    mine = ours / "at_risk_top.csv" if (ours / "at_risk_top.csv").exists() else ours / "at_risk.csv"
    with open(mine, newline="") as a, open(theirs / "at_risk.csv", newline="") as b:
        top = list(csv.DictReader(a))
        base = list(itertools.islice(csv.DictReader(b), len(top)))
    same = {
        key: [r[key] for r in top] == [r[key] for r in base]
        for key in ("customer_id", "risk_tier", "churn_probability")
    }
    return {
        "rows": len(top),
        "same_order": same["customer_id"],
        "same_tiers": same["risk_tier"],
        "same_probabilities": same["churn_probability"],
        "rows_with_any_difference": sum(x != y for x, y in zip(top, base, strict=True)),
    }


def _list_folder(work: Path, name: str) -> Path | None:
    folder = work / "lists" / name / f"as_of={SCORE_AS_OF}"
    return folder if folder.is_dir() else None


def _run(command: list[str], work: Path, timeout: float) -> dict[str, Any]:
    """Run a `churn` command in a fresh process: its status, wall time and tree peak RSS."""
    load = os.getloadavg()[0]
    env = spark_env()
    with open(work / "run.out", "w") as out, open(work / "run.err", "w") as err:
        child = run_limited(command, timeout, poll=0.5, tree=True, stdout=out, stderr=err, env=env)
    result: dict[str, Any] = {
        "wall_s": round(child.wall, 2),
        "peak_tree_rss_mb": child.peak_tree_rss_mb,
        "loadavg_1min_before": round(load, 2),
    }
    if child.timed_out:
        return {**result, "status": f"timeout after {timeout:g} s"}
    if child.returncode != 0:
        tail = (work / "run.err").read_text().strip().splitlines()[-2:]
        return {**result, "status": "failed: " + " | ".join(tail)}
    return {**result, "status": "ok"}
