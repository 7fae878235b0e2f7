"""Benchmark: the nightly scorer end to end (validate, features, predict, reasons, write).

`churn train` is measured at each `--train-sizes` (`train_100000`, `train_1000000`: 24
monthly cutoffs asked for, backtest on, the default memory budget): wall time, peak RSS, rows,
cutoffs and test ROC AUC, or, when it outlasts `--train-timeout`, the stage it had reached.
Then one champion is trained on the 100k synthetic set (`scoring_model_train`) and `churn
score` runs on the 100k and 1M sets, each in a fresh process, recording wall time, peak RSS
and the scorer's own stage timings: with new exports, with the same exports again, and the
night one day is appended to exports checked the night before (`new_day_appended`: the event
tables as folders of daily Parquet parts). Results go to bench/results/score.json.

    python -m bench.score_bench [--sizes 100000 1000000] [--train-sizes 100000 1000000]
        [--only-train] [--train-timeout 1800] [--data-root /path/to/bench/data]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.atomic import write_atomically
from bench.child import run_limited
from bench.synthetic import EXPORTS_CONFIG, read_dataset

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work"
RESULTS = ROOT / "results" / "score.json"
AS_OF = "2025-01-15"  # the export date: the synthetic year ends on 2024-12-31
# The nightly list is scored the day after the synthetic year's last events, as a nightly run
# on fresh exports is: two weeks later the scorer rightly refuses the data as stale.
SCORE_AS_OF = "2025-01-01"

CONFIG = (
    EXPORTS_CONFIG
    + """
[training]
cutoffs = 9
test_cutoffs = 1
valid_cutoffs = 1
backtest_folds = 0

[model]
name = "bench-churn"

[scoring]
output_dir = "{work}/outputs"
capacity = 1000

[tracking]
store_dir = "{work}/mlruns"
"""
)


# `churn train` at scale: every monthly cutoff the history holds up to 24 (one synthetic
# year holds 9 gradable ones after the warm-up), the backtest on, the default memory budget;
# its own model name and store, so the scoring measurements keep the 100k champion.
TRAIN_CONFIG = (
    EXPORTS_CONFIG
    + """
[training]
cutoffs = 24
test_cutoffs = 1
valid_cutoffs = 1
backtest_folds = 4

[model]
name = "bench-churn-train-{n}"

[tracking]
store_dir = "{work}/mlruns-train-{n}"
"""
)


def write_config(n_customers: int, root: Path | None = None, template: str = CONFIG) -> Path:
    """A config pointing the pipeline at one synthetic set (read from `root` when given)."""
    data = read_dataset(n_customers, root)["customers"].parent
    WORK.mkdir(parents=True, exist_ok=True)
    name = "churn" if template is CONFIG else "train"
    path = WORK / f"{name}-{n_customers}.toml"
    path.write_text(template.format(data=data, as_of=AS_OF, work=WORK, n=n_customers))
    return path


# A fresh wrapper process per measurement, so RUSAGE_CHILDREN holds only that command's peak.
WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(r.returncode)"
)


def run_measured(command: list[str]) -> dict:
    """Run a command in a fresh process; its wall time, peak RSS, output, and the 1-minute
    load average before it (other work on the machine inflates the wall time)."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, cwd=ROOT.parent
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    peak_kb = int(re.findall(r"peak_kb (\d+)", done.stderr)[-1])
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "loadavg_1min_before": round(load, 2),
        "stdout": done.stdout,
    }


def run_training(command: list[str], timeout: float) -> dict:
    """Run `churn train` in a fresh process: wall time and peak RSS (the child's own rusage),
    rows, cutoffs and the model's test ROC AUC from its summary; stopped after `timeout`
    seconds, with the stage it had reached (its last progress line) and its peak RSS."""
    WORK.mkdir(parents=True, exist_ok=True)
    out, err = WORK / "train.out", WORK / "train.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        child = run_limited(
            command, timeout, poll=0.5, stdout=stdout, stderr=stderr, cwd=ROOT.parent
        )
    text, errors = out.read_text(), err.read_text()
    result: dict = {"wall_s": round(child.wall, 2), "peak_rss_mb": child.peak_rss_mb}
    stages = [line for line in errors.splitlines() if line.startswith("[train] ")]
    if child.timed_out or child.returncode != 0:
        result["status"] = f"stopped after {timeout:.0f} s" if child.timed_out else "failed"
        result["stages_done"] = stages
        result["last_output"] = errors.strip().splitlines()[-3:]
        return result
    rows = re.search(r"rows: ([\d,]+) customer-months over (\d+) cutoffs", text)
    auc = re.search(r"^LightGBM model\s+([\d.]+)", text, re.MULTILINE)
    result |= {
        "status": "ok",
        "rows": int(rows[1].replace(",", "")),
        "cutoffs": int(rows[2]),
        "test_roc_auc": float(auc[1]),
        "stages_s": stage_seconds(text),
        "summary": [line for line in text.splitlines() if line.startswith(("rows:", "training"))],
    }
    return result


def stage_seconds(stdout: str) -> dict[str, float]:
    """The scorer's 'time: stage 1.2s, ...' line as a dict."""
    line = next(x for x in stdout.splitlines() if x.startswith("time: "))
    return {k: float(v) for k, v in re.findall(r"(\w+) ([\d.]+)s", line)}


# The nightly run with one new day: the event exports as folders of Parquet parts (as daily
# partitions arrive), yesterday's run having checked every day before this one.
NEW_DAY = "2024-12-31"


def split_new_day(data: Path, target: Path, day: str = NEW_DAY) -> dict[str, Path]:
    """A copy of a synthetic set at `target` whose event tables are folders of Parquet parts
    holding every row before `day` (the customer table linked as it is), and the rows of `day`
    kept aside, one file per table, to be added as each folder's next part."""
    import duckdb

    from features.exports.contract import TABLES

    shutil.rmtree(target, ignore_errors=True)
    (target / "new-day").mkdir(parents=True)
    con = duckdb.connect()
    aside = {}
    for name in ("engagement", "support", "purchases", "surveys"):
        source, stamp = data / f"{name}.parquet", TABLES[name].timeline
        folder = target / f"{name}.parquet"
        folder.mkdir()
        rows = f"SELECT * FROM read_parquet('{source}')"
        con.sql(f"COPY ({rows} WHERE {stamp} < DATE '{day}') TO '{folder / 'part-0.parquet'}'")
        aside[name] = target / "new-day" / f"{name}.parquet"
        con.sql(f"COPY ({rows} WHERE {stamp} >= DATE '{day}') TO '{aside[name]}'")
    os.link(data / "customers.parquet", target / "customers.parquet")
    return aside


def measure_new_day(n: int, root: Path | None, churn: list[str]) -> dict:
    """`churn score` the night a day is appended to exports checked the night before: the
    split copy checked once by `churn validate` (yesterday), the day's parts added, scored."""
    data = read_dataset(n, root)["customers"].parent
    target = WORK / "new-day" / str(n)
    aside = split_new_day(data, target)
    config = WORK / f"churn-new-day-{n}.toml"
    config.write_text(CONFIG.format(data=target, as_of=AS_OF, work=WORK, n=n))
    clear_cache()
    yesterday = run_measured([*churn, "validate", "--config", str(config)])
    for name, part in aside.items():
        os.replace(part, target / f"{name}.parquet" / "part-1.parquet")
    today = run_measured([*churn, "score", "--config", str(config), "--as-of", SCORE_AS_OF])
    shutil.rmtree(WORK / "new-day", ignore_errors=True)
    return {
        "wall_s": today["wall_s"],
        "peak_rss_mb": today["peak_rss_mb"],
        "stages_s": stage_seconds(today["stdout"]),
        "loadavg_1min_before": today["loadavg_1min_before"],
        "yesterday_validate_s": yesterday["wall_s"],
    }


def clear_cache() -> None:
    """Forget the typed-Parquet copies, so the next run ingests the exports afresh."""
    shutil.rmtree(WORK / "cache", ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Train once, score every size, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--train-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--train-timeout", type=float, default=1800.0)
    parser.add_argument(
        "--only-train",
        action="store_true",
        help="only the --train-sizes runs (no scoring)",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="read the synthetic sets from this folder (never written) instead of bench/data",
    )
    args = parser.parse_args(argv)
    root = args.data_root
    churn = [sys.executable, "-m", "pipeline"]
    # Each run replaces the entries it measures and keeps the others (`--train-sizes` with no
    # size measures the scorer alone).
    results = json.loads(RESULTS.read_text())["results"] if RESULTS.exists() else {}
    for n in args.train_sizes:
        config = write_config(n, root, TRAIN_CONFIG)
        trained = run_training([*churn, "train", "--config", str(config)], args.train_timeout)
        results[f"train_{n}"] = {**trained, "cutoffs_asked": 24, "backtest_folds": 4}
        print(f"train {n:,}: {trained}")
    if args.only_train:
        write_results(results)
        return
    # The champion every scoring run loads: 9 cutoffs, no backtest. Recorded apart from the
    # `train_<n>` benchmarks above, which train as `churn train` does by default.
    train = run_measured([*churn, "train", "--config", str(write_config(100_000, root))])
    results["scoring_model_train"] = {k: v for k, v in train.items() if k != "stdout"}
    for n in args.sizes:
        # The first run meets new exports (full checks and the typed-Parquet copy), as a
        # nightly run does after each export; the second finds them cached (a re-run, or a
        # second list the same day) and replays their recorded verdict. Both are recorded.
        config = write_config(n, root)
        clear_cache()
        score = [*churn, "score", "--config", str(config), "--as-of", SCORE_AS_OF]
        first = run_measured(score)
        measured = run_measured(score)
        # `churn validate` on the same, unchanged exports: the verdict recorded by the runs
        # above is replayed, nothing is checked again.
        validate = run_measured([*churn, "validate", "--config", str(config)])
        customers = int(re.search(r"customers ([\d,]+):", measured["stdout"])[1].replace(",", ""))
        results[str(n)] = {
            "wall_s": measured["wall_s"],
            "peak_rss_mb": measured["peak_rss_mb"],
            "customers_scored": customers,
            "customers_per_s": round(customers / measured["wall_s"]),
            "loadavg_1min_before": measured["loadavg_1min_before"],
            "stages_s": stage_seconds(measured["stdout"]),
            "validate_unchanged_s": validate["wall_s"],
            "new_exports": {
                "wall_s": first["wall_s"],
                "peak_rss_mb": first["peak_rss_mb"],
                "stages_s": stage_seconds(first["stdout"]),
                "loadavg_1min_before": first["loadavg_1min_before"],
            },
        }
        results[str(n)]["new_day_appended"] = measure_new_day(n, root, churn)
        new_exports = results[str(n)]["new_exports"]
        print(
            f"{n:>9,} customers, new exports: {first['wall_s']:.1f}s wall, "
            f"{first['peak_rss_mb']:.0f} MB peak RSS, stages {new_exports['stages_s']}"
        )
        print(
            f"{n:>9,} customers, cached: {measured['wall_s']:.1f}s wall, "
            f"{measured['peak_rss_mb']:.0f} MB peak RSS, stages {results[str(n)]['stages_s']}"
        )
        print(f"{n:>9,} customers, churn validate on unchanged exports: {validate['wall_s']:.1f}s")
        day = results[str(n)]["new_day_appended"]
        print(
            f"{n:>9,} customers, one new day appended: {day['wall_s']:.1f}s wall, "
            f"{day['peak_rss_mb']:.0f} MB peak RSS, stages {day['stages_s']}"
        )
    write_results(results)


def write_results(results: dict) -> None:
    """The results with the machine they were measured on, written atomically."""
    payload = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "results": results,
    }
    write_atomically(RESULTS, payload)


if __name__ == "__main__":
    main()
