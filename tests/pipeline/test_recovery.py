"""What a killed run leaves behind is settled by the next run: runs left RUNNING by a process
that is gone end FAILED, versions registered without fingerprint or signature are never
champion, and a published list without its scoring run gets one, logged late."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.errors import Refusal
from pipeline import tracking
from pipeline.champion import version_lines
from pipeline.cli import main
from pipeline.config import TrackingSettings, load_config
from pipeline.outputs import date_lock, write_list
from pipeline.score.late_runs import log_lists_without_runs, settle_earlier_runs
from pipeline.tracking.processes import PID_TAG, PROCESS_TAG, owner_gone, owner_tags
from tests.conftest import CONFIG, write_valid_exports


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> Path:
    """One local MLflow store for the module (a fresh store's tables take a second or more
    to create); each test has its own experiments and model in it."""
    folder = tmp_path_factory.mktemp("recovery") / "mlruns"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        tracking.open_store(TrackingSettings(store_dir=str(folder)))
    return folder


@pytest.fixture
def project(tmp_path, monkeypatch, shared_store, request):
    """A project folder's config: its own experiments and model name in the shared store."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CHURN_MODEL_KEY", "test-key")
    write_valid_exports(tmp_path / "exports")
    own = request.node.name.removeprefix("test_")[:40]
    (tmp_path / "churn.toml").write_text(
        CONFIG + f'\n[model]\nname = "{own}"\n\n[tracking]\nstore_dir = "{shared_store}"\n'
        f'experiment = "train-{own}"\nscoring_experiment = "score-{own}"\n'
    )
    return load_config(tmp_path / "churn.toml")


@pytest.fixture
def store(project):
    """The project's local MLflow store, open."""
    return tracking.open_store(project.tracking)


def _gone_pid() -> int:
    """The id of a process that has just ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _run(experiment: str, tags: dict[str, str], name: str = "run") -> str:
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    return client.create_run(experiment_id, tags=tags, run_name=name).info.run_id


def test_runs_record_the_process_that_owns_them(project, store):
    with tracking.run(store, project.tracking.experiment, "train-x") as run_id:
        pass
    tags = MlflowClient().get_run(run_id).data.tags
    assert tags[PID_TAG] == str(os.getpid())
    assert tags[PROCESS_TAG] == owner_tags()[PROCESS_TAG] != ""
    assert not owner_gone(tags)


def test_a_running_run_whose_process_is_gone_is_ended_failed_and_a_live_one_is_left(project, store):
    experiment = project.tracking.experiment
    mine = owner_tags()
    boot, namespace, _ = mine[PROCESS_TAG].split("/")
    dead = _run(experiment, {**mine, PID_TAG: str(_gone_pid())}, "killed")
    reused = _run(experiment, {**mine, PROCESS_TAG: f"{boot}/{namespace}/1"}, "pid-reused")
    rebooted = _run(experiment, {**mine, PROCESS_TAG: f"another-boot/{namespace}/1"}, "before-boot")
    live = _run(experiment, mine, "live")
    elsewhere = _run(experiment, {**mine, "churn.host": "another-host", PID_TAG: "1"}, "other")
    untagged = _run(experiment, {}, "older")

    ended = tracking.end_dead_runs(experiment)

    client = MlflowClient()
    status = {r: client.get_run(r).info.status for r in (dead, reused, rebooted, live)}
    assert status == {dead: "FAILED", reused: "FAILED", rebooted: "FAILED", live: "RUNNING"}
    assert client.get_run(elsewhere).info.status == "RUNNING"  # its process is not ours to see
    assert client.get_run(untagged).info.status == "RUNNING"
    assert sorted(p.message.split(" (")[0] for p in ended) == [
        "run before-boot",
        "run killed",
        "run pid-reused",
    ]
    killed = client.get_run(dead)
    assert killed.data.tags["churn.found_dead"].endswith("UTC") and killed.info.end_time
    assert killed.data.tags["mlflow.note.content"].startswith("**Found dead on ")
    assert tracking.end_dead_runs(experiment) == []  # settled once


def _version(name: str, run_id: str | None, tags: dict[str, str]) -> str:
    """A registered version of `name` (no model files: only its registry entry matters)."""
    client = MlflowClient()
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, source="file:///nowhere/model", run_id=run_id)
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    return str(version.version)


SEALED = {"model_sha256": "ab" * 32, "model_signature": "cd" * 32}


def test_a_version_without_its_fingerprint_is_marked_shown_and_never_champion(
    project, store, capsys
):
    client, name = MlflowClient(), project.model.name
    whole = _version(name, None, SEALED)
    killed_run = _run(project.tracking.experiment, {}, "killed-training")
    client.set_terminated(killed_run, "FAILED")
    unsealed = _version(name, killed_run, {})
    unsigned = _version(name, killed_run, {"model_sha256": "ab" * 32})
    in_progress = _version(name, _run(project.tracking.experiment, {}, "training-now"), {})

    marked = tracking.mark_incomplete_versions(name)

    assert [p.file for p in marked] == [f"models:/{name}/{unsealed}", f"models:/{name}/{unsigned}"]
    tags = client.get_model_version(name, unsealed).tags
    assert tags["incomplete"] == "true" and tags["incomplete.reason"].startswith("no fingerprint")
    assert "incomplete" not in client.get_model_version(name, in_progress).tags
    lines = {line.split(" registered")[0].split()[-1]: line for line in version_lines(project)[1:]}
    assert "INCOMPLETE: no fingerprint (model_sha256)" in lines[f"v{unsealed}"]
    assert "INCOMPLETE: no signature (model_signature)" in lines[f"v{unsigned}"]
    assert "INCOMPLETE" not in lines[f"v{whole}"]

    toml = str(project.path)
    assert main(["promote", unsealed, "--reason", "rollback", "--config", toml]) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is incomplete (no fingerprint" in err
    with pytest.raises(Refusal, match="cannot be champion"):
        tracking.set_alias(name, "champion", unsigned)  # the path automatic promotion takes
    assert tracking.champion_version(name, "champion") is None
    assert main(["promote", whole, "--reason", "rollback", "--config", toml]) == 0
    assert tracking.champion_version(name, "champion") == whole


DAY = pd.Timestamp("2024-06-30")


def _publish(project, version: str, created_at: str) -> Path:
    """A list as a scoring run publishes it: rows and manifest, written under the date's lock."""
    ranked = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "churn_probability": [0.9, 0.4, 0.1]})
    manifest = {
        "model": {
            "name": project.model.name,
            "version": version,
            "alias": "champion",
            "run_id": "",
        },
        "as_of": f"{DAY:%Y-%m-%d}",
        "latest_event": "2024-06-29",
        "customers": 3,
        "tiers": {"high": 1, "medium": 1, "low": 1},
        "tier_thresholds": {"high": 0.5, "medium": 0.3},
        "revenue_at_risk": 120.5,
        "currency": "EUR",
        "contact": {"contacts": 1, "capacity": 1},
        "drifted_features": {"active_days_30d": 0.31},
        "created_at": created_at,
    }
    return write_list(Path(project.scoring.output_dir), DAY, ranked, manifest=manifest)


def _scoring_runs(project) -> list:
    experiment = MlflowClient().get_experiment_by_name(project.tracking.scoring_experiment)
    return MlflowClient().search_runs([experiment.experiment_id]) if experiment else []


def test_a_list_without_its_scoring_run_gets_one_logged_late(project, store):
    version = _version(project.model.name, None, SEALED)
    folder = _publish(project, version, "2024-06-30T05:00:00+00:00")
    output_dir = Path(project.scoring.output_dir)
    with date_lock(output_dir, DAY):  # a live scorer still logging this list: left to it
        assert log_lists_without_runs(project, store) == []
    assert _scoring_runs(project) == []

    logged = log_lists_without_runs(project, store)

    assert [p.file for p in logged] == [str(folder)]
    (run,) = _scoring_runs(project)
    assert run.info.status == "FINISHED" and run.data.params["as_of"] == "2024-06-30"
    assert run.data.tags["list.logged_late"].endswith("UTC")
    assert run.data.tags["list.created_at"] == "2024-06-30T05:00:00+00:00"
    assert run.info.start_time == int(pd.Timestamp("2024-06-30T05:00:00Z").timestamp() * 1000)
    metrics = run.data.metrics
    assert metrics["tier.high"] == 1 and metrics["psi.active_days_30d"] == 0.31
    assert metrics["probability.mean"] == pytest.approx(np.mean([0.9, 0.4, 0.1]))
    assert run.data.tags["mlflow.note.content"].startswith("**Logged late**")
    assert log_lists_without_runs(project, store) == []  # it has its run now


def test_a_list_whose_run_was_killed_while_logging_is_logged_again(project, store):
    """The run killed mid-logging is ended FAILED first; a FAILED run is not the list's run."""
    version = _version(project.model.name, None, SEALED)
    _publish(project, version, "2024-06-30T05:00:00+00:00")
    half = _run(
        project.tracking.scoring_experiment,
        {**owner_tags(), PID_TAG: str(_gone_pid()), "list.created_at": "2024-06-30T05:00:00+00:00"},
    )
    MlflowClient().log_param(half, "as_of", "2024-06-30")

    settled = settle_earlier_runs(project, store)

    assert len(settled) == 2  # the dead run ended, the list logged late
    statuses = sorted(r.info.status for r in _scoring_runs(project))
    assert statuses == ["FAILED", "FINISHED"]
    assert MlflowClient().get_run(half).info.status == "FAILED"
