"""What killed runs leave in the store, found and settled by the next run: runs still RUNNING
whose process is gone (ended FAILED, with a tag and a note saying when they were found dead),
registered versions without their fingerprint or signature (tagged incomplete: never
champion), and which lists have their scoring run (lists without one are logged late by
pipeline/score/late_runs.py). Each returns what it settled as one warning line per item."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME, MLFLOW_RUN_NOTE

from features.errors import Problem
from pipeline.tracking.processes import HOST_TAG, PID_TAG, owner_gone, owner_tags
from pipeline.tracking.registry import INCOMPLETE_REASON_TAG, INCOMPLETE_TAG, missing_seal
from pipeline.tracking.store import guarded

FOUND_DEAD_TAG = "churn.found_dead"
"""When a later run found the run's process gone and ended the run as FAILED (UTC)."""
LIST_CREATED_TAG = "list.created_at"
"""The manifest's `created_at` of the list a scoring run is about: tells a re-scored date's
lists apart."""
LOGGED_LATE_TAG = "list.logged_late"
"""When a scoring run was logged by a later run, its own having ended before logging it."""


def _runs(client: MlflowClient, experiment_id: str, where: str) -> Iterator[Run]:
    """Every run of the experiment matching `where`, page by page."""
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string=where, max_results=1000, page_token=token
        )
        yield from page
        token = page.token
        if not token:
            return


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


@guarded
def end_dead_runs(experiment: str) -> list[Problem]:
    """End as FAILED the experiment's RUNNING runs that this host started and whose process is
    gone (`processes.owner_gone`), tagging when they were found dead. Runs of other hosts are
    left as they are: their processes cannot be checked from here."""
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    host = owner_tags()[HOST_TAG]
    where = f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'"
    ended = []
    for run in list(_runs(client, found.experiment_id, where)):
        tags = run.data.tags
        if not owner_gone(tags):
            continue
        now, run_id = _now(), run.info.run_id
        note = (
            f"**Found dead on {now}**: its process ({tags[PID_TAG]} on {host}) had ended without "
            "ending the run, which is marked FAILED; what it logged may be incomplete."
        )
        client.set_tag(run_id, FOUND_DEAD_TAG, now)
        earlier = tags.get(MLFLOW_RUN_NOTE)
        client.set_tag(run_id, MLFLOW_RUN_NOTE, f"{note}\n\n{earlier}" if earlier else note)
        client.set_terminated(run_id, status="FAILED")
        ended.append(
            Problem(
                f"experiment '{experiment}'",
                f"run {tags.get(MLFLOW_RUN_NAME, '')} ({run_id}) was still RUNNING but its "
                f"process ({tags[PID_TAG]}) is gone; marked FAILED",
                fatal=False,
            )
        )
    return ended


def _still_running(client: MlflowClient, run_id: str | None) -> bool:
    if not run_id:
        return False
    try:
        return client.get_run(run_id).info.status == "RUNNING"
    except MlflowException:  # the run was deleted: nothing will complete the version
        return False


@guarded
def mark_incomplete_versions(name: str) -> list[Problem]:
    """Tag `incomplete=true` (and why) on every registered version of `name` without its
    fingerprint or signature whose training run has ended; a version whose run is still
    RUNNING may be being registered right now and is left alone."""
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    marked = []
    for version in sorted(versions, key=lambda v: int(v.version)):
        tags = version.tags or {}
        why = missing_seal(tags)
        if why is None or tags.get(INCOMPLETE_TAG) == "true":
            continue
        if _still_running(client, version.run_id):
            continue
        reason = f"{why}: its training run ended before the version was complete"
        client.set_model_version_tag(name, version.version, INCOMPLETE_TAG, "true")
        client.set_model_version_tag(name, version.version, INCOMPLETE_REASON_TAG, reason)
        marked.append(
            Problem(
                f"models:/{name}/{version.version}",
                f"marked incomplete ({reason}); it can never be champion",
                fatal=False,
            )
        )
    return marked


@guarded
def logged_lists(experiment: str) -> set[tuple[str, str | None]]:
    """(as of, the list's `created_at` or None for runs logged before it was recorded) of
    every FINISHED scoring run: the lists that have their run."""
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return set()
    where = "attributes.status = 'FINISHED'"
    return {
        (run.data.params.get("as_of", ""), run.data.tags.get(LIST_CREATED_TAG))
        for run in _runs(client, found.experiment_id, where)
    }
