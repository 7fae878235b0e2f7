"""`churn score`: the nightly ranked at-risk list from the production (champion) model.

Every engine starts the same way (the exports checked and typed, the champion loaded and
checked against the configuration: `ScoringStart`), then hands over to its implementation of
one interface, `ListEngine`: pipeline/score/duckdb.py in process, pipeline/score/spark.py on a
Spark cluster. Both use the same guards, reasons, manifest, outputs and monitoring.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Protocol

import pandas as pd

import pipeline.score.guards as guards
from features.engines import check_runner
from features.exports.ingest import ingest_exports
from pipeline.config import Config
from pipeline.console import log_tables, print_warnings
from pipeline.datasets import today
from pipeline.progress import Progress
from pipeline.score.common import ScoringStart, load_champion
from pipeline.score.late_runs import settle_earlier_runs
from pipeline.timing import Timer


class ListEngine(Protocol):
    """What an engine does with a checked start: build, score, rank, write and record the
    list; returns the exit status."""

    def __call__(
        self,
        config: Config,
        start: ScoringStart,
        capacity: int | None,
        *,
        timer: Timer,
        write_hook=None,
    ) -> int: ...


ENGINES = {
    "duckdb": "pipeline.score.duckdb:score_on_duckdb",
    "spark": "pipeline.score.spark:score_on_spark",
}
"""Each engine's `ListEngine`, imported only when chosen (Spark's needs pyspark)."""


def list_engine(backend: str) -> ListEngine:
    """The `ListEngine` of an `[engine] backend`."""
    module, name = ENGINES[backend].split(":")
    return getattr(importlib.import_module(module), name)


def run_scoring(
    config: Config,
    as_of: dt.date | None = None,
    capacity: int | None = None,
    *,
    write_hook=None,
    progress: Progress | None = None,
) -> int:
    """Validate, load the champion, settle what killed scoring runs left (runs ended FAILED,
    lists without their run logged late), then the engine builds, scores, ranks and writes the
    list and logs the monitoring run. The as-of date is `as_of`, else the export date ([data]
    as_of), else today."""
    timer = Timer(progress)
    export_date = config.as_of or today()
    when = pd.Timestamp(as_of or export_date)
    guards.check_as_of(config, when, export_date)
    with timer("validate", "checking and typing the exports"):
        runner = check_runner(config.engine)
        paths, validation = ingest_exports(config.exports, config.cache_dir, export_date, runner)
        log_tables(validation)
    print_warnings(validation.warnings)
    with timer("load_model", f"models:/{config.model.name}@{config.model.alias}"):
        champion = load_champion(config)
    print_warnings(settle_earlier_runs(config, champion.store))
    guards.check_definition(config, champion.metadata)
    start = ScoringStart(paths, validation, champion, when)
    engine = list_engine(config.engine.backend)
    return engine(config, start, capacity, timer=timer, write_hook=write_hook)
