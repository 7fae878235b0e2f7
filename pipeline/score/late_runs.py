"""What killed scoring runs left, settled at the start of the next `churn score`: its runs
still RUNNING with their process gone are ended FAILED, and each published list without a
finished scoring run (its run was killed after the list was published) gets one, logged late
from the list's manifest and scores. A date whose lock is held is being written or logged by
a live run right now (a run keeps the date's lock until its scoring run is logged) and is left
to it."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa

from features.errors import Problem
from pipeline import tracking
from pipeline.config import Config
from pipeline.outputs import date_lock_if_free, dated_lists, read_list_file, read_manifest
from pipeline.score.monitoring import log_late_monitoring

log = logging.getLogger(__name__)


def has_run(manifest: dict, logged: set[tuple[str, str | None]]) -> bool:
    """Whether a finished scoring run is about this list: one tagged with its `created_at`,
    or, for runs logged before lists were told apart that way, any of its date."""
    as_of = manifest.get("as_of", "")
    return (as_of, manifest.get("created_at")) in logged or (as_of, None) in logged


def _scores(folder: Path):
    """The list's churn probabilities, or None (logged) when they cannot be read."""
    try:
        return read_list_file(folder, ["churn_probability"])["churn_probability"].to_numpy()
    except (OSError, ValueError, KeyError, pa.ArrowException) as error:
        log.warning("%s: cannot read the scores (%s)", folder, " ".join(str(error).split()))
        return None


def _unlogged_lists(config: Config) -> list[tuple[pd.Timestamp, Path, dict]]:
    """(date, folder, manifest) of each readable list without a finished scoring run."""
    logged = tracking.logged_lists(config.tracking.scoring_experiment)
    found = []
    for when, folder in dated_lists(Path(config.scoring.output_dir)):
        try:
            manifest = read_manifest(folder)
        except (OSError, ValueError) as error:
            log.warning("%s: cannot read its manifest (%s)", folder, error)
            continue
        if isinstance(manifest, dict) and "model" in manifest and not has_run(manifest, logged):
            found.append((when, folder, manifest))
    return found


def log_lists_without_runs(config: Config, store: tracking.Store) -> list[Problem]:
    """Log a late scoring run for every published list that has none, each under its date's
    lock (skipped while a live run holds it); one warning line per list logged."""
    output_dir, experiment = Path(config.scoring.output_dir), config.tracking.scoring_experiment
    done = []
    for when, folder, manifest in _unlogged_lists(config):
        try:
            with date_lock_if_free(output_dir, when) as free:
                if not free or has_run(manifest, tracking.logged_lists(experiment)):
                    continue  # a live run holds the date, or logged it meanwhile
                log_late_monitoring(
                    config, store, manifest, probabilities=_scores(folder), folder=folder
                )
        except OSError as error:  # its lock cannot be taken: today's list must not wait on it
            log.warning("%s: cannot take its lock to log it late (%s)", folder, error)
            continue
        done.append(
            Problem(
                str(folder),
                "this list had no scoring run (its run ended before logging it); logged now, "
                f"tagged {tracking.LOGGED_LATE_TAG}",
                fatal=False,
            )
        )
    return done


def settle_earlier_runs(config: Config, store: tracking.Store) -> list[Problem]:
    """End the scoring runs whose process is gone, then log the lists left without a run."""
    dead = tracking.end_dead_runs(config.tracking.scoring_experiment)
    return dead + log_lists_without_runs(config, store)
