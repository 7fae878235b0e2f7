"""Runs: one run per command, and what it records (parameters, metrics, figures, tables,
datasets, tags, descriptions), all through the store's guard."""

from __future__ import annotations

import logging
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import mlflow
import pandas as pd
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

from pipeline.tracking.processes import owner_tags
from pipeline.tracking.store import (
    Store,
    ensure_experiment,
    first_line,
    guarded,
    mask_uri,
    store_errors,
)

log = logging.getLogger(__name__)


@contextmanager
def run(
    store: Store,
    experiment: str,
    run_name: str,
    *,
    started: float | None = None,
    description: str = "",
) -> Iterator[str]:
    """A run in the experiment that began at `started` (epoch seconds; default now), so the
    UI's duration is the step's wall time, not only its logging; yields its id. The run is
    tagged with its process (host, id, start) so a later run can tell if it was killed."""
    experiment_id = ensure_experiment(store, experiment, description)
    start_ms = int(1000 * (started if started is not None else time.time()))
    with store_errors():
        tags = {**resolve_tags(), **owner_tags()}
        created = MlflowClient().create_run(
            experiment_id, start_time=start_ms, tags=tags, run_name=run_name
        )
        mlflow.start_run(run_id=created.info.run_id)
    try:
        yield created.info.run_id
    except BaseException:
        _end_failed()
        raise
    with store_errors():
        mlflow.end_run()


def _end_failed() -> None:
    """End the active run as failed. When the store itself is what failed (a server that
    went away), the run stays RUNNING there and the step's own error is the one told."""
    try:
        mlflow.end_run("FAILED")
    except Exception as error:  # the step's own error is already on its way
        log.info("the run could not be marked failed: %s", first_line(error))


@guarded
def describe_run(text: str) -> None:
    """The active run's description (Markdown, shown at the top of its page in the UI)."""
    mlflow.set_tag(MLFLOW_RUN_NOTE, text)


def git_commit(cwd: Path) -> str | None:
    """The commit the code runs from, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@guarded
def log_params(params: dict[str, Any]) -> None:
    """Log parameters (long values are cut; the full config is logged as an artifact)."""
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})


@guarded
def log_metrics(
    metrics: dict[str, float],
    prefix: str = "",
    step: int | None = None,
    *,
    stamped: pd.Timestamp | None = None,
) -> None:
    """Log finite metrics under an optional prefix; `stamped` dates them (e.g. a backtest
    fold's cutoff, so the UI's time axis reads as the cutoffs)."""
    clean = {f"{prefix}{k}": float(v) for k, v in metrics.items() if v is not None and v == v}
    when = int(stamped.timestamp() * 1000) if stamped is not None else None
    mlflow.log_metrics(clean, step=step, timestamp=when)


@guarded
def log_figure(figure, path: str) -> None:
    """Log a matplotlib figure as an image artifact."""
    mlflow.log_figure(figure, path)


@guarded
def log_dict(data: dict[str, Any], path: str) -> None:
    """Log a dict as a JSON artifact."""
    mlflow.log_dict(data, path)


@guarded
def log_text(text: str, path: str) -> None:
    """Log text as an artifact."""
    mlflow.log_text(text, path)


@guarded
def log_table(frame: pd.DataFrame, path: str) -> None:
    """Log a small table as a JSON artifact viewable in the UI."""
    mlflow.log_table(frame.reset_index(drop=True), artifact_file=path)


@guarded
def log_dataset(frame: pd.DataFrame, source: str, *, name: str, context: str) -> None:
    """Record which rows (and where they came from) a run used."""
    # Integers become floats: MLflow's schema cannot hold missing values in integer columns.
    numeric = frame.select_dtypes("integer").columns
    frame = frame.astype(dict.fromkeys(numeric, "float64"))
    with warnings.catch_warnings():
        # MLflow registers its local-file source type twice and warns that a path is ambiguous.
        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
        dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets="churned")
    _log_input(dataset, context)


DATASET_ATTEMPTS = 4


def _log_input(dataset: Any, context: str) -> None:
    """Log a dataset input; when another run created the same dataset in the same instant (two
    trainings on the same rows, one store), the store refuses the second insert of its key,
    and the next attempt finds the dataset the other run created and links it."""
    for attempt in range(DATASET_ATTEMPTS):
        try:
            mlflow.log_input(dataset, context=context)
            return
        except MlflowException as error:
            text = str(error)
            raced = any(s in text for s in ("UniqueViolation", "duplicate key", "UNIQUE constr"))
            if not raced or attempt == DATASET_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@guarded
def record_on_run(run_id: str, metrics: dict[str, float], artifacts: dict[str, dict]) -> None:
    """Add metrics and JSON artifacts to a finished run (a grading done after training)."""
    client = MlflowClient()
    now = int(time.time() * 1000)
    for key, value in metrics.items():
        if value is not None and value == value:
            client.log_metric(run_id, key, float(value), timestamp=now)
    for path, data in artifacts.items():
        client.log_dict(run_id, data, path)


@guarded
def set_tags(tags: dict[str, str]) -> None:
    """Tag the active run."""
    mlflow.set_tags(tags)


@guarded
def _scoring_run(experiment: str, as_of: str) -> str | None:
    """The latest scoring run of the list as of `as_of` (None: none was logged)."""
    found = MlflowClient().get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = MlflowClient().search_runs(
        [found.experiment_id],
        filter_string=f"params.as_of = '{as_of}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def attach_to_scoring_run(experiment: str, as_of: str, path: Path) -> str | None:
    """Log a file (the retention report) to the latest scoring run of the list as of `as_of`
    under `report/`; returns the run's id, or None when no such run was logged."""
    run_id = _scoring_run(experiment, as_of)
    if run_id is not None:
        MlflowClient().log_artifact(run_id, str(path), "report")
    return run_id


def log_to_scoring_run(experiment: str, as_of: str, metrics: dict[str, float]) -> str | None:
    """Record what a graded list turned out to be worth (its saves) as metrics of the
    scoring run that wrote it; returns the run's id, or None when no such run was logged."""
    run_id = _scoring_run(experiment, as_of)
    if run_id is not None and metrics:
        stamp = int(time.time() * 1000)
        MlflowClient().log_batch(
            run_id, metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()]
        )
    return run_id


def runs_table_url(
    store: Store, experiment: str, *, host: str = "127.0.0.1", port: int = 5000
) -> str:
    """The MLflow UI address of the experiment's runs table, in the UI's model-training view
    (MLflow 3.17 opens every experiment in its GenAI view unless the address asks otherwise):
    on the tracking server when there is one (its address without credentials), else on a
    local UI at `host`:`port` (`churn ui`)."""
    experiment_id = ensure_experiment(store, experiment)
    base = server_address(store) or f"http://{host}:{port}"
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def server_address(store: Store) -> str | None:
    """The tracking server's address as a browser opens it (no user, password or query), or
    None for a local store."""
    if not store.tracking_uri.startswith(("http://", "https://")):
        return None
    parts = urlsplit(mask_uri(store.tracking_uri))
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


@dataclass(frozen=True)
class Step:
    """Metrics of one step of a run (a backtest fold), dated when `stamped`."""

    metrics: dict[str, float]
    step: int
    stamped: pd.Timestamp | None = None


@dataclass(frozen=True)
class RunRecord:
    """Everything a step records on its run, built as one value and logged with one call
    (`log_record`): parameters, metrics (and metrics per step), tags, the description, and
    artifacts by path (texts, JSON dicts, tables, figures), plus datasets it read."""

    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    dicts: dict[str, dict] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    datasets: tuple[tuple[pd.DataFrame, str, str, str], ...] = ()
    """(rows, source, name, context) of each dataset the run read."""

    def __or__(self, other: RunRecord) -> RunRecord:
        """Both records in one (the right one's values win on a shared key)."""
        return RunRecord(
            params={**self.params, **other.params},
            metrics={**self.metrics, **other.metrics},
            steps=self.steps + other.steps,
            tags={**self.tags, **other.tags},
            description=other.description or self.description,
            texts={**self.texts, **other.texts},
            dicts={**self.dicts, **other.dicts},
            tables={**self.tables, **other.tables},
            figures={**self.figures, **other.figures},
            datasets=self.datasets + other.datasets,
        )


def log_record(record: RunRecord) -> None:
    """Log a whole record on the active run."""
    if record.tags:
        set_tags(record.tags)
    if record.params:
        log_params(record.params)
    if record.metrics:
        log_metrics(record.metrics)
    for step in record.steps:
        log_metrics(step.metrics, step=step.step, stamped=step.stamped)
    for path, text in record.texts.items():
        log_text(text, path)
    for path, data in record.dicts.items():
        log_dict(data, path)
    for path, frame in record.tables.items():
        log_table(frame, path)
    for path, figure in record.figures.items():
        log_figure(figure, path)
    for rows, source, name, context in record.datasets:
        log_dataset(rows, source, name=name, context=context)
    if record.description is not None:
        describe_run(record.description)
