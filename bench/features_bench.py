"""Benchmark of the feature builder on synthetic exports: wall time and peak memory.

    python -m bench.features_bench [--sizes 100000 1000000] [--repeat 3] [--timeout 900]
        [--memory-limit 12GB] [--prelude candidate.py] [--results path.json]
        [--data-root /path/to/bench/data]

Every measurement runs in a fresh subprocess, so its peak RSS (from `os.wait4`, the child's
own rusage) is its own. Measured per size, all with the result fully materialised as Arrow:

- `all_1`, `all_12`, `all_24`: `build_features` for every family, one cutoff (end of the
  year), twelve monthly cutoffs and twenty-four half-monthly ones (a year of history holds
  only twelve monthly ones); wall = building the expressions plus executing them, one query
  per cutoff batch, into Parquet files on disk as training does (`write_batches`), so the
  peak RSS is the builder's, not that of every row held at once.
- `engagement_builder`: the engagement family alone, one cutoff: the builder's own
  per-family query (`build.family_aggregates`: `Family.joined` + the declared
  aggregates grouped by customer and cutoff), without the customer spine, fills and ratios.
- `engagement_floor`: the same engagement aggregates as one hand-written DuckDB SQL query
  straight over the Parquet file (no Ibis), cutoff as a literal, COUNT(DISTINCT) as usual.
- `engagement_floor_tuned`: the same, hand-tuned to avoid COUNT(DISTINCT) (see `floor_sql`).
- `engagement_floor_tuned_12`: the tuned query for the twelve cutoffs in one query sharing
  one scan (each event joined to every cutoff whose window holds it): how far a hand-written
  query gets from sharing the scan, the yardstick for `all_12` over `all_1`.
- `write_floor_12`, `write_floor_24`: the yardstick for `all_12` and `all_24`: writing as
  many feature rows as 12 or 24 cutoffs give (copies of one cutoff's, built untimed first),
  one sorted Parquet file a cutoff as `write_batches` writes a batch; nothing computed. A
  plan for many cutoffs cannot take less than writing its rows.
- `pandas_all_1` (sizes up to 100k only): `bench.pandas_reference`, all families, one cutoff;
  wall includes reading the Parquet files into pandas, as the engine's wall includes its scan.

The feature spec is resolved once per size (in its own subprocess, timed as `resolve_spec`)
and passed to the other measurements. The 1-minute load average before each run is recorded:
the figures are only comparable on an otherwise idle machine. Results are written atomically
to `bench/results/features.json` (or `--results`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import runpy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.atomic import write_atomically
from bench.child import run_limited

RESULTS = Path(__file__).resolve().parent / "results" / "features.json"
PROFILE = {"categorical": ["plan"], "numeric": ["seats"]}
PANDAS_MAX_SIZE = 100_000  # the plain pandas reference is only run up to this size
KINDS = (
    "all_1",
    "all_12",
    "all_24",
    "engagement_builder",
    "engagement_floor",
    "engagement_floor_tuned",
    "engagement_floor_tuned_12",
    "write_floor_12",
    "write_floor_24",
)
REPEAT_UNDER_S = 60.0  # measurements slower than this on their first run are not repeated


# ---------------------------------------------------------------- measurements (child side)


def _spec(spec_dict: dict[str, Any]):
    from features.spec import FeatureSpec

    return FeatureSpec.from_dict(spec_dict)


def _cutoffs(kind: str) -> list[dt.datetime]:
    from bench.synthetic import half_month_cutoffs, year_cutoffs

    one, twelve = year_cutoffs()
    chosen = {"all_12": twelve, "all_24": half_month_cutoffs()}.get(kind, one)
    return [c.astype(dt.datetime) for c in chosen]


def measure_resolve_spec(paths: dict[str, Path]) -> dict[str, Any]:
    """Resolve the feature spec (top event types) over the engagement table."""
    from features.build import resolve_spec
    from features.engines import open_tables
    from features.exports.contract import ProfileColumns
    from features.spec import FeatureSettings

    tables = open_tables(paths)
    began = time.perf_counter()
    spec = resolve_spec(
        tables,
        FeatureSettings(),
        ProfileColumns(tuple(PROFILE["categorical"]), tuple(PROFILE["numeric"])),
    )
    return {
        "wall": time.perf_counter() - began,
        "rows": len(spec.event_types),
        "spec": spec.to_dict(),
    }


def _tables(paths: dict[str, Path], memory_limit: str | None) -> dict:
    from features.engines import duckdb_connection, open_tables

    return open_tables(paths, duckdb_connection(memory_limit=memory_limit))


def measure_builder(
    paths: dict[str, Path], spec_dict: dict[str, Any], kind: str, memory_limit: str | None
) -> dict:
    """`build_features` over every family for 1, 12 or 24 cutoffs, executed into Parquet
    files in the cutoff batches training uses (`feature_queries`: one query for small data,
    one cutoff a query at 1M customers, reading rollups computed once), as `churn train`
    streams them."""
    import pyarrow.parquet as pq

    from features.build import feature_queries, write_batches

    tables = _tables(paths, memory_limit)
    spec = _spec(spec_dict)
    cutoffs = _cutoffs(kind)
    began = time.perf_counter()
    customers = int(tables["customers"].count().execute())
    batches = feature_queries(tables, cutoffs, spec, customers)
    exprs = [query for _, query in batches]
    built = time.perf_counter()  # includes computing the rollups shared by the batches
    with tempfile.TemporaryDirectory(prefix="batches-", dir=".") as folder:
        written = write_batches(exprs, Path(folder))
        done = time.perf_counter()
        metadata = [pq.read_metadata(b.path) for b in written]
    return {
        "wall": done - began,
        "build_expr": built - began,
        "execute": done - built,
        "rows": sum(m.num_rows for m in metadata),
        "columns": metadata[0].num_columns,
        "cutoffs": len(cutoffs),
        "queries": len(batches),
    }


def measure_write_floor(
    paths: dict[str, Path], spec_dict: dict[str, Any], kind: str, memory_limit: str | None
) -> dict:
    """The yardstick for `all_12` and `all_24`: only writing as many feature rows as 12 or 24
    cutoffs give, nothing computed. One cutoff's rows are built first (not timed), then
    written once per cutoff with the cutoff moved back 15 days each time, one sorted Parquet
    file a cutoff, the way `write_batches` writes a batch (`order_by(ROW_ORDER).to_parquet`)."""
    import ibis
    import pyarrow.parquet as pq

    from features.build import ROW_ORDER, build_features

    tables = _tables(paths, memory_limit)
    con = tables["customers"]._find_backend()
    cutoffs = len(_cutoffs(kind.replace("write_floor", "all")))
    with tempfile.TemporaryDirectory(prefix="floor-", dir=".") as folder:
        one = Path(folder) / "one.parquet"
        build_features(tables, _cutoffs("all_1"), _spec(spec_dict)).to_parquet(one)
        rows = con.read_parquet(str(one))
        written = []
        began = time.perf_counter()
        for k in range(cutoffs):
            moved = rows.mutate(cutoff=rows.cutoff - ibis.interval(days=15 * k))
            written.append(Path(folder) / f"batch-{k:04d}.parquet")
            moved.order_by(list(ROW_ORDER)).to_parquet(written[-1])
        done = time.perf_counter()
        metadata = [pq.read_metadata(path) for path in written]
    return {
        "wall": done - began,
        "rows": sum(m.num_rows for m in metadata),
        "columns": metadata[0].num_columns,
        "cutoffs": cutoffs,
    }


def engagement_expr(tables: dict, cutoffs: list[dt.datetime], spec_dict: dict[str, Any]):
    """The engagement family's grouped query, built by the builder's own per-family step.

    This is exactly the expression `build_features` left-joins onto the customer spine for
    engagement (its `_family_aggregates`), so it follows any change to how families are built.
    """
    from features import build
    from features.expressions import Cutoffs
    from features.families import engagement

    cut = Cutoffs.of(cutoffs)
    return build.family_aggregates(engagement.FAMILY, tables["engagement"], cut, _spec(spec_dict))


def measure_engagement_builder(
    paths: dict[str, Path], spec_dict: dict[str, Any], memory_limit: str | None
) -> dict:
    """The engagement family alone through Ibis, one cutoff, executed to Arrow."""
    tables = _tables(paths, memory_limit)
    began = time.perf_counter()
    result = engagement_expr(tables, _cutoffs("all_1"), spec_dict).to_pyarrow()
    return {
        "wall": time.perf_counter() - began,
        "rows": result.num_rows,
        "columns": result.num_columns,
    }


def _sql_quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def floor_sql(
    parquet: Path, cutoffs: list[dt.datetime], event_types: list[str], tuned: bool
) -> str:
    """Hand-written DuckDB SQL for the engagement aggregates at one or more cutoffs.

    The plain form counts active days and event types with COUNT(DISTINCT ...) FILTER, as
    one would first write it. The tuned form avoids DISTINCT: active days from a bitmask of
    day offsets (two BIGINT words, bit_count), event types as the number of the spec's types
    seen plus a COUNT(DISTINCT) over only the rows of other types. Both give equal results.
    One cutoff is a literal; several share one scan of the file, each event joined to every
    cutoff whose 90-day window holds it (the best a single hand-written query can share).
    """
    from features.spec import column_safe

    stamps = [f"TIMESTAMP '{cutoff:%Y-%m-%d %H:%M:%S}'" for cutoff in cutoffs]
    c = stamps[0] if len(stamps) == 1 else "k.cutoff"
    window = f"timestamp >= {c} - INTERVAL 90 DAY AND timestamp < {c}"
    scan = f"read_parquet({_sql_quoted(str(parquet))})"
    # source: the rows with their cutoff; row_filter: the rows' window (in the join when several);
    # keys: the grouping; output: the grouping as selected (cutoff named for the join below).
    if len(stamps) == 1:
        source, row_filter, keys = scan, f"WHERE {window}", "customer_id"
        output = f"customer_id, {c} AS cutoff"
    else:
        values = ", ".join(f"({s})" for s in stamps)
        source = f"{scan} AS e\nJOIN (VALUES {values}) AS k(cutoff) ON {window}"
        row_filter, keys, output = "WHERE TRUE", "customer_id, k.cutoff", "customer_id, k.cutoff"

    def since(days: int) -> str:
        return f"timestamp >= {c} - INTERVAL {days} DAY"

    def between(days: int, after: int) -> str:
        return f"{since(days)} AND timestamp < {c} - INTERVAL {after} DAY"

    def where(condition: str) -> str:
        return f" FILTER (WHERE {condition})" if condition else ""

    def active_days(name: str, condition: str) -> str:
        if not tuned:
            return f"count(DISTINCT timestamp::DATE){where(condition)} AS {name}"
        offset = f"date_diff('day', timestamp::DATE, ({c})::DATE)"
        low = f"CASE WHEN {offset} < 63 THEN 1::BIGINT << {offset} ELSE 0::BIGINT END"
        high = f"CASE WHEN {offset} >= 63 THEN 1::BIGINT << ({offset} - 63) ELSE 0::BIGINT END"
        return (
            f"coalesce(bit_count(bit_or({low}){where(condition)}), 0) + "
            f"coalesce(bit_count(bit_or({high}){where(condition)}), 0) AS {name}"
        )

    columns = [
        f"count(*) FILTER (WHERE {since(7)}) AS events_7d",
        f"count(*) FILTER (WHERE {since(30)}) AS events_30d",
        "count(*) AS events_90d",
        f"count(*) FILTER (WHERE {between(60, 30)}) AS events_30_60d",
        f"count(*) FILTER (WHERE {between(90, 60)}) AS events_60_90d",
        f"count(*) FILTER (WHERE {between(35, 7)}) AS events_7_35d",
        active_days("active_days_7d", since(7)),
        active_days("active_days_30d", since(30)),
        active_days("active_days_30_60d", between(60, 30)),
        active_days("active_days_60_90d", between(90, 60)),
        active_days("active_days_90d", ""),
        f"coalesce(sum(value) FILTER (WHERE {since(30)}), 0) AS value_30d",
        "coalesce(sum(value), 0) AS value_90d",
        f"(epoch({c}) - epoch(max(timestamp))) / 86400 AS days_since_last_event",
    ]
    if not tuned:
        columns += [
            f"count(DISTINCT event_type) FILTER (WHERE {since(30)}) AS event_types_30d",
            "count(DISTINCT event_type) AS event_types_90d",
        ]
    for event_type in event_types:
        for days in (7, 30, 90):
            columns.append(
                f"count(*) FILTER (WHERE {since(days)} AND event_type = "
                f"{_sql_quoted(event_type)}) AS {column_safe(event_type)}_events_{days}d"
            )
    body = ",\n  ".join(columns)
    main = f"SELECT {output},\n  {body}\nFROM {source}\n{row_filter}\nGROUP BY {keys}"
    if not tuned:
        return main
    known = ", ".join(_sql_quoted(e) for e in event_types) or "NULL"

    def seen(days: int) -> str:
        terms = [f"({column_safe(e)}_events_{days}d > 0)::BIGINT" for e in event_types]
        return " + ".join(terms or ["0"])

    others = (
        f"SELECT {output}, count(DISTINCT event_type) FILTER (WHERE {since(30)}) AS o30, "
        f"count(DISTINCT event_type) AS o90\nFROM {source}\n"
        f"{row_filter} AND event_type NOT IN ({known})\nGROUP BY {keys}"
    )
    return (
        f"SELECT m.*, {seen(30)} + coalesce(o.o30, 0) AS event_types_30d,\n"
        f"  {seen(90)} + coalesce(o.o90, 0) AS event_types_90d\n"
        f"FROM ({main}) AS m\nLEFT JOIN ({others}) AS o USING (customer_id, cutoff)"
    )


def measure_engagement_floor(
    paths: dict[str, Path],
    spec_dict: dict[str, Any],
    tuned: bool,
    memory_limit: str | None,
    cutoffs: str = "all_1",
) -> dict:
    """The engagement aggregates as one hand-written DuckDB query, to Arrow."""
    import duckdb

    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    if memory_limit:
        con.sql(f"SET memory_limit = '{memory_limit}'")
    query = floor_sql(paths["engagement"], _cutoffs(cutoffs), spec_dict["event_types"], tuned)
    began = time.perf_counter()
    result = con.sql(query).to_arrow_table()
    return {
        "wall": time.perf_counter() - began,
        "rows": result.num_rows,
        "columns": result.num_columns,
    }


def measure_pandas(paths: dict[str, Path], spec_dict: dict[str, Any]) -> dict:
    """The pandas reference, every family, one cutoff, including reading the Parquet files."""
    import pandas as pd

    from bench.pandas_reference import reference_features

    spec = _spec(spec_dict)
    began = time.perf_counter()
    frames = {name: pd.read_parquet(path) for name, path in paths.items()}
    read = time.perf_counter()
    result = reference_features(frames, _cutoffs("all_1"), spec)
    done = time.perf_counter()
    return {
        "wall": done - began,
        "read": read - began,
        "compute": done - read,
        "rows": len(result),
        "columns": result.shape[1],
    }


def run_child(kind: str, size: int, spec_path: Path | None, out: Path, options: dict) -> None:
    """Entry point of a measurement subprocess: measure `kind` and write its JSON to `out`.

    `options`: `memory_limit` (DuckDB setting, None for DuckDB's default) and `prelude` (a
    Python file run first, e.g. to try a candidate change to the feature code unedited).
    """
    from bench.synthetic import read_dataset

    if options.get("prelude"):
        runpy.run_path(options["prelude"], run_name="__bench_prelude__")
    limit = options.get("memory_limit")
    root = options.get("data_root")
    paths = read_dataset(size, Path(root) if root else None)
    spec_dict = json.loads(spec_path.read_text()) if spec_path else {}
    if kind == "resolve_spec":
        result = measure_resolve_spec(paths)
    elif kind in ("all_1", "all_12", "all_24"):
        result = measure_builder(paths, spec_dict, kind, limit)
    elif kind in ("write_floor_12", "write_floor_24"):
        result = measure_write_floor(paths, spec_dict, kind, limit)
    elif kind == "engagement_builder":
        result = measure_engagement_builder(paths, spec_dict, limit)
    elif kind in ("engagement_floor", "engagement_floor_tuned"):
        result = measure_engagement_floor(paths, spec_dict, kind.endswith("tuned"), limit)
    elif kind == "engagement_floor_tuned_12":
        result = measure_engagement_floor(paths, spec_dict, True, limit, "all_12")
    elif kind == "pandas_all_1":
        result = measure_pandas(paths, spec_dict)
    else:
        raise ValueError(f"unknown measurement {kind!r}")
    out.write_text(json.dumps(result))


# ---------------------------------------------------------------- orchestration (parent side)


def spawn(
    kind: str, size: int, spec_path: Path | None, workdir: Path, options: dict, timeout: float
) -> dict[str, Any]:
    """Run one measurement in a fresh Python process; add its peak RSS and process wall.

    The child runs in `workdir`, so anything DuckDB spills (an in-memory database's default
    temp directory is ./.tmp) is removed with it. A child still running after `timeout`
    seconds is killed and reported as timed out, with its peak RSS so far.
    """
    out = workdir / f"{kind}-{size}-{time.monotonic_ns()}.json"
    command = [
        sys.executable,
        "-m",
        "bench.features_bench",
        "--child",
        kind,
        "--size",
        str(size),
        "--out",
        str(out),
        "--options",
        json.dumps(options),
    ]
    if spec_path is not None:
        command += ["--spec", str(spec_path)]
    repo = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])),
    }
    load = os.getloadavg()[0]  # other work on the machine skews the figures: record it
    err_path = out.with_suffix(".err")
    with open(err_path, "w") as err:
        child = run_limited(command, timeout, cwd=workdir, env=env, stderr=err)
    elapsed = child.wall
    if child.timed_out:
        result: dict[str, Any] = {"wall": elapsed, "rows": None, "status": "timeout"}
    elif child.returncode != 0:
        lines = [line for line in err_path.read_text().splitlines() if line.strip()]
        error = next(
            (line for line in reversed(lines) if "Error" in line or "Exception" in line),
            lines[-1] if lines else f"exit code {child.returncode}",
        )
        result = {"wall": elapsed, "rows": None, "status": f"error: {error.strip()[:300]}"}
    else:
        result = {**json.loads(out.read_text()), "status": "ok"}
    result["peak_rss_mb"] = child.peak_rss_mb
    result["process_wall"] = round(elapsed, 3)
    result["loadavg_1min_before"] = round(load, 2)
    return result


def measure(
    kind: str,
    size: int,
    spec_path: Path | None,
    workdir: Path,
    options: dict,
    timeout: float,
    repeat: int,
) -> list[dict[str, Any]]:
    """`repeat` runs of one measurement, or one when the first is slow or did not finish."""
    runs = [spawn(kind, size, spec_path, workdir, options, timeout)]
    if runs[0]["status"] != "ok" or runs[0]["wall"] > REPEAT_UNDER_S:
        return runs
    runs += [spawn(kind, size, spec_path, workdir, options, timeout) for _ in range(repeat - 1)]
    return runs


def summarise(runs: list[dict[str, Any]], events: int) -> dict[str, Any]:
    """Median wall and largest peak RSS over repeats, with engagement rows per second.

    `status` is "ok", "timeout" (wall is then a lower bound) or "error: ..." (the run
    failed after `wall` seconds, e.g. DuckDB out of memory).
    """
    wall = statistics.median(r["wall"] for r in runs)
    status = next((r["status"] for r in runs if r["status"] != "ok"), "ok")
    return {
        "wall_s": round(wall, 3),
        "status": status,
        "wall_runs_s": [round(r["wall"], 3) for r in runs],
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "rows_out": runs[0]["rows"],
        "events_per_s": round(events / wall) if status == "ok" else None,
        "runs": runs,
    }


def machine() -> dict[str, Any]:
    """The machine and library versions the figures were measured with."""
    import duckdb
    import ibis
    import pandas as pd
    import pyarrow as pa

    with open("/proc/meminfo") as meminfo:
        total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {
        "cpu_count": os.cpu_count(),
        "total_ram_gb": round(total_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "ibis": ibis.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def ratios(sizes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Derived ratios: 12 vs 1 cutoff, builder vs floors (engagement), pandas vs builder.

    A ratio involving a timed-out measurement is a bound and says so (">" or "<"); one
    involving a failed measurement is None.
    """

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | str | None:
        value = round(a["wall_s"] / b["wall_s"], 2)
        if a["status"].startswith("error") or b["status"].startswith("error"):
            return None
        if a["status"] == "timeout" and b["status"] == "timeout":
            return None
        if a["status"] == "timeout":
            return f">{value}"
        if b["status"] == "timeout":
            return f"<{value}"
        return value

    pairs = {
        "cutoffs_12_over_1": ("all_12", "all_1"),
        "cutoffs_24_over_1": ("all_24", "all_1"),
        "engagement_builder_over_floor": ("engagement_builder", "engagement_floor"),
        "engagement_builder_over_tuned_floor": ("engagement_builder", "engagement_floor_tuned"),
        "floor_12_over_1": ("engagement_floor_tuned_12", "engagement_floor_tuned"),
        "pandas_over_builder": ("pandas_all_1", "all_1"),
        "write_floor_12_over_1": ("write_floor_12", "all_1"),
        "write_floor_24_over_1": ("write_floor_24", "all_1"),
    }
    return {
        size: {name: ratio(m[a], m[b]) for name, (a, b) in pairs.items() if a in m and b in m}
        for size, m in sizes.items()
    }


def print_table(sizes: dict[str, dict[str, Any]], derived: dict[str, Any]) -> None:
    """A small human-readable table of the summaries and ratios."""
    print(
        f"{'size':>9} {'measurement':<24} {'wall s':>9} {'peak MB':>8} {'rows':>9} "
        f"{'events/s':>12} {'load':>5}"
    )
    for size, measurements in sizes.items():
        for kind, m in measurements.items():
            mark = {"ok": "", "timeout": ">"}.get(m["status"], "!")
            wall = f"{mark}{m['wall_s']:.2f}"
            rate = "-" if m["events_per_s"] is None else f"{m['events_per_s']:,}"
            load = max(r["loadavg_1min_before"] for r in m["runs"])
            print(
                f"{size:>9} {kind:<24} {wall:>9} {m['peak_rss_mb']:>8.0f} "
                f"{m['rows_out'] or '-':>9} {rate:>12} {load:>5.1f}"
            )
    for size, r in derived.items():
        print(size, ", ".join(f"{k} = {v}" for k, v in r.items()))
    problems = [
        (size, kind, m["status"])
        for size, measurements in sizes.items()
        for kind, m in measurements.items()
        if m["status"] != "ok"
    ]
    if problems:
        print("'>': timed out (wall is a lower bound); '!': failed after wall seconds")
    for size, kind, status in problems:
        print(f"{size} {kind}: {status}")


def main(argv: list[str] | None = None) -> None:
    """CLI: run every measurement for the given sizes, write and print the results."""
    parser = argparse.ArgumentParser(description="Feature builder benchmark")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help=f"runs per measurement (1 when the first takes > {REPEAT_UNDER_S} s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before a measurement is killed and reported as timed out",
    )
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory_limit for the engine runs (default: DuckDB's own)",
    )
    parser.add_argument(
        "--prelude",
        type=Path,
        default=None,
        help="Python file each measurement runs first (to try a change)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON output path")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="read the synthetic sets from this folder (never written) instead of bench/data",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[*KINDS, "pandas_all_1"],
        default=None,
        help="run only these measurements (ratios need all_1, all_12, ...)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--options", type=json.loads, default={}, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child, args.size, args.spec, args.out, args.options)
        return

    from bench.synthetic import read_dataset

    options = {
        "memory_limit": args.memory_limit,
        "prelude": str(args.prelude.resolve()) if args.prelude else None,
        "data_root": str(args.data_root.resolve()) if args.data_root else None,
    }
    settings = {
        "repeat": args.repeat,
        "repeat_under_s": REPEAT_UNDER_S,
        "timeout_s": args.timeout,
        **options,
        "cutoffs_1": [str(c) for c in _cutoffs("all_1")],
        "cutoffs_12": [str(c) for c in _cutoffs("all_12")],
        "cutoffs_24": [str(c) for c in _cutoffs("all_24")],
    }
    sizes: dict[str, dict[str, Any]] = {}
    datasets: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="features-bench-") as tmp:
        workdir = Path(tmp)
        for size in args.sizes:
            paths = read_dataset(size, args.data_root)
            meta = json.loads((paths["customers"].parent / "meta.json").read_text())
            datasets[str(size)] = meta
            events = meta["rows"]["engagement"]
            root_only = {"data_root": options["data_root"]}
            spec_run = spawn("resolve_spec", size, None, workdir, root_only, args.timeout)
            spec_path = workdir / f"spec-{size}.json"
            spec_path.write_text(json.dumps(spec_run.pop("spec")))
            measured = {"resolve_spec": summarise([spec_run], events)}
            kinds = [*KINDS, *(["pandas_all_1"] if size <= PANDAS_MAX_SIZE else [])]
            kinds = [k for k in kinds if args.only is None or k in args.only]
            for kind in kinds:
                repeat = 1 if kind == "pandas_all_1" else args.repeat
                runs = measure(kind, size, spec_path, workdir, options, args.timeout, repeat)
                measured[kind] = summarise(runs, events)
                print(
                    f"{size} {kind}: {measured[kind]['wall_runs_s']} s, "
                    f"{measured[kind]['peak_rss_mb']:.0f} MB",
                    file=sys.stderr,
                )
            sizes[str(size)] = measured
            # Written after every size, so a long run's figures survive an interruption.
            write_atomically(
                args.results,
                {
                    "machine": machine(),
                    "settings": settings,
                    "datasets": datasets,
                    "measurements": sizes,
                    "ratios": ratios(sizes),
                },
            )
    print_table(sizes, ratios(sizes))


if __name__ == "__main__":
    main()
