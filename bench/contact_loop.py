"""The contact loop on the sample's world: a retention team that calls from the pipeline's own
lists, month by month, and the report that says what the calls bought.

The world is the one data/sample holds (simulator defaults: 5,000 customers, seed 7). A
champion is trained on it with the project's churn.toml. Then, for each month from `--first`
to the last whole month, the world is simulated again with a team that follows every list
written so far (simulator/contacts.py, `ContactPolicy.lists`: it calls each list's contact
set in the list's month, holds its control group back, reaches 80% of the rest, and plays
the list's suggested play, which acts only on that play's own causes; 40% of customers have
decided and no call keeps them), and `churn score` writes the month's list from those
exports. The same seed gives the same world up to each list's month, so every list is scored
on history its own calls and the earlier ones shaped. Last, `churn report` grades the lists
against their control groups; its estimate of customers saved is set beside the number the
calls truly saved (the simulator's common random numbers). Results go to
bench/results/contact_loop.json.

    python -m bench.contact_loop [--first 2026-04-01]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from bench.atomic import write_atomically
from models.arms import CONTACT, CONTROL
from pipeline.outputs import read_list_file
from simulator.contacts import ContactPolicy
from simulator.history import simulate_history, write_history

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work" / "loop"
RESULTS = ROOT / "results" / "contact_loop.json"
LAST_LIST = dt.date(2026, 10, 1)  # its 30 days end with the sample's history (2026-10-31)
SAVED = re.compile(r"customers saved (-?[\d,.]+) \(95% interval (-?[\d,.]+) to (-?[\d,.]+)\)")


def churn(*args: str) -> str:
    """Run a `churn` command quietly; its output, or exit with its error."""
    command = [sys.executable, "-m", "pipeline", "-q", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def project(work: Path) -> Path:
    """The project's churn.toml reading the simulated exports in `work`; its lists, reports,
    cache and MLflow store land in `work` (paths in it are relative to the file)."""
    text = (ROOT.parent / "churn.toml").read_text()
    text = text.replace('dir = "data/sample"', f'dir = "{work / "data"}"', 1)
    config = work / "churn.toml"
    config.write_text(text)
    return config


def months(first: dt.date) -> list[dt.date]:
    """Month starts from `first` to the last list whose horizon the history covers."""
    return [d.date() for d in pd.date_range(first, LAST_LIST, freq="MS")]


def reported_saves(report: Path) -> tuple[float, float, float]:
    """The report's estimate of customers saved and its 95% interval."""
    found = SAVED.search(re.sub(r"<[^>]+>", " ", report.read_text()))
    if found is None:
        sys.exit(f"{report}: no estimate of customers saved in the report")
    return tuple(float(v.replace(",", "")) for v in found.groups())


def main(argv: list[str] | None = None) -> None:
    """Train, loop over the months (simulate, score), report, compare with the truth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2026, 4, 1))
    args = parser.parse_args(argv)
    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    config = project(WORK)
    write_history(simulate_history(), WORK / "data")
    churn("train", "--config", str(config))
    lists: dict[pd.Timestamp, pd.DataFrame] = {}
    for month in months(args.first):
        world = simulate_history(contacts=ContactPolicy(lists=dict(lists)))
        write_history(world, WORK / "data")
        churn("score", "--config", str(config), "--as-of", f"{month}")
        folder = WORK / "outputs" / "at_risk" / f"as_of={month}"
        listed = lists[pd.Timestamp(month)] = read_list_file(folder)
        print(f"list as of {month}: {listed['contact_arm'].notna().sum()} put forward", flush=True)
    world = simulate_history(contacts=ContactPolicy(lists=lists))
    write_history(world, WORK / "data")
    churn("report", "--config", str(config))
    report = next((WORK / "outputs" / "reports").glob("as_of=*/report.html"))
    estimate, low, high = reported_saves(report)
    truth = world["truth_contacts"]
    contact = truth[truth["contact_arm"] == CONTACT]
    result = {
        "what": "the contact loop on the sample's world (bench/contact_loop.py)",
        "lists": len(lists),
        "put_forward": int(len(contact)),
        "held_back": int((truth["contact_arm"] == CONTROL).sum()),
        "reached": int(contact["reached"].sum()),
        "true_saved": int(contact["saved"].sum()),
        "expected_saved": round(float(contact["expected_effect"].sum()), 1),
        "reported_saved": estimate,
        "reported_interval": [low, high],
        "covered": bool(low <= contact["saved"].sum() <= high),
        "seconds": round(time.monotonic() - started, 1),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print(
        f"{result['lists']} lists: {result['put_forward']} put forward, {result['held_back']} "
        f"held back, {result['reached']} reached; the calls truly saved {result['true_saved']} "
        f"(expected {result['expected_saved']}); the report estimates {estimate:g} "
        f"[{low:g}, {high:g}]; report: {report}"
    )
    write_atomically(RESULTS, result)


if __name__ == "__main__":
    main()
