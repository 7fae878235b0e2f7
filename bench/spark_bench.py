"""Benchmark of Spark beside DuckDB: the feature build (every family, one cutoff) and the
nightly list (`churn score` end to end, bench/spark_list_bench.py), in one run.

    python -m bench.spark_bench --data /path/to/bench/data/1000000 [--results path.json]
        [--engines duckdb-1 duckdb-2 spark-local-1 spark-local-2] [--timeout 900]
        [--conf spark.sql.files.maxPartitionBytes=8m ...]
        [--lists duckdb spark-local-1 spark-local-2] [--model-data bench/data/100000]

`--data` is a generated synthetic set (`bench/synthetic.py`, as `make bench` writes under
bench/data/<customers>/): read in place, never copied. Each engine runs in a fresh
subprocess (a Spark master is fixed for the life of its JVM): DuckDB with 1 and 2 threads,
Spark `local[1]` and `local[2]`. Each builds `build_features` for the set's end-of-year cutoff
twice and executes it to Arrow: the first run pays Spark's query planning and code generation
(a cold nightly job), the second shows a warm session. Spark's session start is timed apart.

Per-core throughput is customers per second of the warm run divided by the cores the engine
was given. Each engine's result is compared with DuckDB's (2 threads), sorted by customer:
the largest difference of any float and the number of differing non-float cells. The
1-minute load average before each run is recorded: figures compare only on an idle machine.
The nightly list's champion is trained on `--model-data` (default: the 100k set beside
`--data`); `--lists` with no engine leaves the list out. Results go to bench/results/spark.json
(or `--results`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.child import spark_env
from bench.score_bench import SCORE_AS_OF
from bench.spark_list_bench import LISTS, compare_top, measure_list, train_champion

RESULTS = Path(__file__).resolve().parent / "results" / "spark.json"
PROFILE = {"categorical": ["plan"], "numeric": ["seats"]}
ENGINES = {
    "duckdb-1": ("duckdb", 1),
    "duckdb-2": ("duckdb", 2),
    "spark-local-1": ("spark", 1),
    "spark-local-2": ("spark", 2),
}
REFERENCE = "duckdb-2"
RUNS = 2  # cold, then warm


def _connection(engine: str, cores: int, conf: dict[str, str]):
    from features.engines import duckdb_connection

    if engine == "duckdb":
        return duckdb_connection(threads=cores)
    from features.engines.spark.session import spark_connection

    return spark_connection(f"local[{cores}]", {"spark.driver.memory": "4g", **conf})


def run_child(name: str, data: Path, out: Path, conf: dict[str, str]) -> None:
    """One engine's measurement (child side): connect, resolve the spec, build twice."""
    import pyarrow.parquet as pq

    from bench.synthetic import dataset_paths, year_cutoffs
    from features.build import build_features, resolve_spec
    from features.engines import open_tables
    from features.exports.contract import ProfileColumns
    from features.spec import FeatureSettings

    engine, cores = ENGINES[name]
    began = time.perf_counter()
    con = _connection(engine, cores, conf)
    connected = time.perf_counter()
    tables = open_tables(dataset_paths(data), con)
    profile = ProfileColumns(tuple(PROFILE["categorical"]), tuple(PROFILE["numeric"]))
    spec = resolve_spec(tables, FeatureSettings(), profile)
    resolved = time.perf_counter()
    cutoff = [c.astype(dt.datetime) for c in year_cutoffs()[0]]
    walls = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = build_features(tables, cutoff, spec).to_pyarrow()
        walls.append(time.perf_counter() - start)
    pq.write_table(result.sort_by("customer_id"), out.with_suffix(".parquet"))
    out.write_text(
        json.dumps(
            {
                "engine": engine,
                "cores": cores,
                "connect_s": round(connected - began, 2),
                "resolve_spec_s": round(resolved - connected, 2),
                "cold_s": round(walls[0], 2),
                "warm_s": round(walls[-1], 2),
                "rows": result.num_rows,
                "columns": result.num_columns,
            }
        )
    )


def spawn(name: str, data: Path, folder: Path, timeout: float, conf: list[str]) -> dict[str, Any]:
    """Run one engine in a fresh interpreter; its figures, or why it failed."""
    out = folder / f"{name}.json"
    load = os.getloadavg()[0]
    env = spark_env()
    command = [sys.executable, "-m", "bench.spark_bench", "--child", name, "--data", str(data)]
    command += ["--out", str(out), "--conf", *conf]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout:g} s", "loadavg_1min_before": round(load, 2)}
    if done.returncode != 0 or not out.exists():
        tail = done.stderr.strip().splitlines()[-3:]
        return {"status": "failed: " + " | ".join(tail), "loadavg_1min_before": round(load, 2)}
    return {**json.loads(out.read_text()), "status": "ok", "loadavg_1min_before": round(load, 2)}


def compare(result: Path, reference: Path) -> dict[str, Any]:
    """How the result differs from the reference: the largest float difference (absolute, and
    relative to max(|value|, 1)) and its column, and the differing non-float cells."""
    import numpy as np
    import pyarrow.parquet as pq

    ours, theirs = pq.read_table(result).to_pandas(), pq.read_table(reference).to_pandas()
    if list(ours.columns) != list(theirs.columns) or len(ours) != len(theirs):
        return {"same_shape": False}
    worst, largest, relative, cells = None, 0.0, 0.0, 0
    for column in ours.columns:
        a, b = ours[column], theirs[column]
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            x, y = a.to_numpy(float), b.to_numpy(float)
            both = ~(np.isnan(x) | np.isnan(y))
            cells += int((np.isnan(x) != np.isnan(y)).sum())
            if both.any():
                gap = np.abs(x[both] - y[both])
                largest = max(largest, float(gap.max()))
                share = float((gap / np.maximum(np.abs(y[both]), 1.0)).max())
                if share > relative:
                    worst, relative = column, share
        elif a.dtype.kind == "M" or b.dtype.kind == "M":
            cells += int((a.astype("datetime64[us]") != b.astype("datetime64[us]")).sum())
        else:
            cells += int(((a != b) & ~(a.isna() & b.isna())).sum())
    return {
        "same_shape": True,
        "max_float_difference": largest,
        "max_relative_difference": relative,
        "column_of_max_relative": worst,
        "differing_cells": cells,
    }


def nightly_lists(data: Path, model_data: Path, names: list[str], timeout: float) -> dict:
    """`churn score` on each engine for the set in `data`, with a champion trained on
    `model_data`; each list's top compared with DuckDB's."""
    work = Path(__file__).resolve().parent / "work" / "spark-lists"
    work.mkdir(parents=True, exist_ok=True)
    data, model_data = data.resolve(), model_data.resolve()  # configs resolve from their folder
    print(f"nightly list: training the champion on {model_data}", flush=True)
    champion = train_champion(model_data, work, timeout)
    if champion["status"] != "ok":
        return {"champion": champion}
    shutil.rmtree(work / "lists", ignore_errors=True)
    runs: dict[str, Any] = {"champion": champion, "as_of": SCORE_AS_OF}
    for name in ["duckdb"] + [n for n in names if n != "duckdb"]:
        print(f"{name}: the nightly list for {data}", flush=True)
        runs[name] = measure_list(name, data, work, timeout)
        if name != "duckdb" and runs[name]["status"] == "ok":
            runs[name]["top_versus_duckdb"] = compare_top(name, work)
        print(f"  {json.dumps(runs[name])}", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    """Measure the engines, compare their tables with DuckDB's, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a generated synthetic set")
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--conf", nargs="*", default=[], metavar="KEY=VALUE", help="Spark settings to add"
    )
    parser.add_argument("--lists", nargs="*", choices=list(LISTS), default=list(LISTS))
    parser.add_argument("--model-data", type=Path, help="the set the list's champion learns")
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child, args.data, args.out, dict(c.split("=", 1) for c in args.conf))
        return 0
    meta = json.loads((args.data / "meta.json").read_text())
    customers = int(meta["n_customers"])
    names = [REFERENCE] + [n for n in args.engines if n != REFERENCE]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            print(f"{name}: building features for {customers:,} customers", flush=True)
            runs[name] = spawn(name, args.data, Path(folder), args.timeout, args.conf)
            run = runs[name]
            if run["status"] == "ok":
                run["customers_per_s_per_core"] = round(customers / run["warm_s"] / run["cores"])
                if name != REFERENCE and runs[REFERENCE]["status"] == "ok":
                    run["versus_duckdb"] = compare(
                        Path(folder) / f"{name}.parquet", Path(folder) / f"{REFERENCE}.parquet"
                    )
            print(f"  {json.dumps(run)}", flush=True)
    model_data = args.model_data or args.data.parent / "100000"
    lists = nightly_lists(args.data, model_data, args.lists, args.timeout) if args.lists else {}
    results = {
        "what": "build_features, all families, one cutoff, executed to Arrow",
        "spark_conf": args.conf,
        "customers": customers,
        "rows": meta.get("rows"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "engines": runs,
        "nightly_list": lists,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    partial = args.results.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=2) + "\n")
    partial.replace(args.results)
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
