"""Benchmark: `churn report` on the bundled sample (target: under 10 s on an idle machine, the
file under 3 MB).

Trains a model on data/sample through the real `churn train` (no backtest: the report does
not read it), scores two dates a month apart so the "did the lists come true" part has a list
to grade, then runs `churn report` three times, each in a fresh process, recording wall time,
peak RSS, the 1-minute load average before it (other work on the machine inflates the wall
time) and the CPU seconds it and other processes used meanwhile, the report's own stage
timings and the file's size. Then starts `churn ui` three times on the same store and records
how long each took to print its address (it prints it once the server answers; target 15 s).
Results go to bench/results/report.json.

    python -m bench.report_bench [--reuse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import resource
import statistics
import sys
from pathlib import Path

from bench.atomic import write_atomically
from bench.score_bench import ROOT, run_measured, stage_seconds

WORK = ROOT / "work" / "report"
RESULTS = ROOT / "results" / "report.json"
SAMPLE = ROOT.parent / "data" / "sample"
AS_OF, EARLIER = "2026-11-01", "2026-10-01"

CONFIG = """
[data]
dir = "{data}"
as_of = "{as_of}"
cache_dir = "{work}/cache"

[tables.customers.profile]
categorical = ["plan", "country", "acquisition_channel"]
numeric = ["seats", "loyalty_member"]
actionable = ["plan"]

[features]
value_label = "minutes of use"
currency = "EUR"

[training]
backtest_folds = 0

[scoring]
output_dir = "{work}/outputs/at_risk"

[report]
output_dir = "{work}/outputs/reports"

[tracking]
store_dir = "{work}/mlruns"
"""


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (Linux /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and waiting for I/O
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def measured_report(config: Path) -> dict:
    """One `churn report` in a fresh process (`run_measured`), with the CPU seconds it used
    and those other processes used meanwhile: the load average lags, and on a shared 2-core
    machine a job on the other core takes the one the exports' check runs on."""
    busy, used = busy_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_measured([sys.executable, "-m", "pipeline", "report", "--config", str(config)])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    others = max(0.0, busy_seconds() - busy - own)
    return {**run, "own_cpu_s": round(own, 2), "others_cpu_s": round(others, 2)}


def measured_ui(config: Path) -> dict:
    """Seconds from launching `churn ui` to it printing the runs table's address (the server
    answers by then), with the 1-minute load average before; the server is stopped after."""
    import socket
    import subprocess
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "pipeline", "ui", "--config", str(config)]
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    answered = None
    try:
        for line in process.stdout:
            if "Ctrl-C" in line:
                answered = round(time.monotonic() - started, 2)
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"answer_s": answered, "loadavg_1min_before": round(load, 2)}


def main(argv: list[str] | None = None) -> None:
    """Train and score once (or, with --reuse, keep an earlier run's model and lists), time
    three reports, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the model and lists of an earlier run: time the reports alone (a 30 s "
        "window, easier to find idle on a shared machine than the 2 minutes with training)",
    )
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    config = WORK / "churn.toml"
    config.write_text(CONFIG.format(data=SAMPLE, as_of=AS_OF, work=WORK))
    churn = [sys.executable, "-m", "pipeline", "-q"]
    lists = [WORK / "outputs" / "at_risk" / f"as_of={day}" for day in (EARLIER, AS_OF)]
    if not (args.reuse and all(folder.is_dir() for folder in lists)):
        run_measured([*churn, "train", "--config", str(config)])
        for day in (EARLIER, AS_OF):
            run_measured([*churn, "score", "--config", str(config), "--as-of", day])
    runs = [measured_report(config) for _ in range(3)]
    html = WORK / "outputs" / "reports" / f"as_of={AS_OF}" / "report.html"
    result = {
        "wall_s": [r["wall_s"] for r in runs],
        "loadavg_1min_before": [r["loadavg_1min_before"] for r in runs],
        "own_cpu_s": [r["own_cpu_s"] for r in runs],
        "others_cpu_s": [r["others_cpu_s"] for r in runs],
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "stages_s": stage_seconds(runs[-1]["stdout"]),
        "html_bytes": html.stat().st_size,
        "charts": len(re.findall("<svg", html.read_text())),
    }
    uis = [measured_ui(config) for _ in range(3)]
    answers = [u["answer_s"] for u in uis if u["answer_s"] is not None]
    result["ui"] = {
        "answer_s": [u["answer_s"] for u in uis],
        "loadavg_1min_before": [u["loadavg_1min_before"] for u in uis],
        "median_answer_s": statistics.median(answers) if answers else None,
    }
    print(
        f"churn ui on the same store: answered in {result['ui']['median_answer_s']} s "
        f"(median of 3: {result['ui']['answer_s']})"
    )
    print(
        f"churn report on the sample: {result['median_wall_s']:.1f}s wall (median of 3), "
        f"{result['peak_rss_mb']:.0f} MB peak RSS, {result['html_bytes'] / 1e6:.2f} MB, "
        f"{result['charts']} charts, stages {result['stages_s']}"
    )
    payload = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "results": {"sample": result},
    }
    write_atomically(RESULTS, payload)


if __name__ == "__main__":
    main()
