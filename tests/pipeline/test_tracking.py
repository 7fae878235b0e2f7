"""MLflow's routine log lines are kept off the user's screen; everything else gets through."""

from __future__ import annotations

import logging

from pipeline.config import TrackingSettings
from pipeline.tracking import open_store


def test_known_mlflow_noise_is_dropped_and_other_warnings_kept(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    open_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))
    logger = logging.getLogger("mlflow.pyfunc")
    with caplog.at_level(logging.INFO, logger="mlflow.pyfunc"):
        logger.info("Validating input example against model signature")
        logger.warning("Passing a Python object ... serialized using CloudPickle, it requires")
        logger.warning("model dependencies mismatch")
    assert [r.getMessage() for r in caplog.records] == ["model dependencies mismatch"]


def _problem_lines(err: str) -> list[str]:
    """stderr without the stage lines (`[score] validate  0.2 s ...`) a run shows as it goes."""
    return [line for line in err.strip().splitlines() if not line.startswith("[score] ")]


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _project(tmp_path, tracking: str = "") -> str:
    from tests.conftest import CONFIG, write_valid_exports

    write_valid_exports(tmp_path / "exports")
    (tmp_path / "churn.toml").write_text(CONFIG + tracking)
    return str(tmp_path / "churn.toml")


def test_an_unreachable_server_is_reported_in_seconds_and_its_password_never(
    tmp_path, monkeypatch, capsys
):
    import time

    from pipeline.cli import main

    uri = f"http://analyst:s3cr3t@127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    config = _project(tmp_path, "\n[tracking]\ntimeout_seconds = 1\nretries = 1\n")
    start = time.monotonic()
    code = main(["score", "--config", config])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 4, err
    assert "tracking server unreachable after 2 tries" in err and "run `make train`" not in err
    assert "s3cr3t" not in err and "***@127.0.0.1" in err
    assert len(_problem_lines(err)) == 1
    assert elapsed < 60  # MLflow's own defaults waited minutes


def test_a_server_that_accepts_but_never_answers_times_out(tmp_path, monkeypatch, capsys):
    import socket

    from pipeline.cli import main

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{silent.getsockname()[1]}")
        config = _project(tmp_path, "\n[tracking]\ntimeout_seconds = 1\nretries = 0\n")
        assert main(["score", "--config", config]) == 4
    assert "tracking server unreachable" in capsys.readouterr().err


def test_a_corrupt_store_database_is_a_fault_with_one_line(tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = _project(tmp_path)
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "mlruns" / "mlflow.db").write_bytes(b"this is not a database" * 100)
    assert main(["score", "--config", config]) == 4
    err = capsys.readouterr().err.strip()
    assert "tracking store's database cannot be used" in err and "Traceback" not in err
    assert len(_problem_lines(err)) == 1


def test_uris_are_shown_without_credentials():
    from pipeline.tracking import mask_text, mask_uri

    assert mask_uri("https://u:p@mlflow.example.com/api?token=abc&x=1") == (
        "https://***@mlflow.example.com/api?token=***&x=1"
    )
    assert mask_uri("sqlite:////tmp/mlruns/mlflow.db") == "sqlite:////tmp/mlruns/mlflow.db"
    assert (
        mask_uri("postgresql://admin:hunter2@db:5432/mlflow") == "postgresql://***@db:5432/mlflow"
    )
    text = "failed: HTTPConnectionPool(host='x') url: http://bob:pw1@x:5000/api"
    assert "pw1" not in mask_text(text) and "bob" not in mask_text(text)


def test_runs_start_when_the_step_began_in_a_model_training_experiment(tmp_path, monkeypatch):
    import time

    from mlflow import MlflowClient

    from pipeline import tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = open_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))
    began = time.time() - 120  # the step's work took two minutes before logging
    with tracking.run(store, "churn", "train-x", started=began, description="what it is") as rid:
        tracking.describe_run("**trained** on the sample")
    run = MlflowClient().get_run(rid)
    assert run.info.start_time == int(began * 1000)
    assert run.info.end_time - run.info.start_time >= 120_000
    assert run.data.tags["mlflow.note.content"] == "**trained** on the sample"
    assert run.data.tags["mlflow.user"]  # the usual context tags are still there
    experiment = MlflowClient().get_experiment_by_name("churn")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert experiment.tags["mlflow.note.content"] == "what it is"


def test_an_older_experiment_becomes_a_model_training_one_once(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from pipeline import tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = open_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))
    old = MlflowClient().create_experiment("old")
    assert tracking.ensure_experiment(store, "old") == old
    assert MlflowClient().get_experiment(old).tags["mlflow.experimentKind"] == (
        "custom_model_development"
    )
    MlflowClient().set_experiment_tag(old, "mlflow.experimentKind", "genai_development")
    tracking.ensure_experiment(store, "old")  # a kind chosen in the UI is left alone
    assert MlflowClient().get_experiment(old).tags["mlflow.experimentKind"] == "genai_development"


def test_the_ui_refuses_a_port_something_else_answers_on(tmp_path, monkeypatch):
    import http.server
    import threading

    import pytest

    from features.errors import Fault
    from pipeline.tracking import start_ui

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    squatter = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        settings = TrackingSettings(store_dir=str(tmp_path / "mlruns"))
        with pytest.raises(Fault, match="something already answers there"):
            start_ui(settings, squatter.server_address[1])
    finally:
        squatter.shutdown()
    assert not (tmp_path / "mlruns" / "ui.log").exists()  # no server was started


def test_a_second_local_store_in_one_process_is_its_own(tmp_path, monkeypatch):
    import os

    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    first = open_store(TrackingSettings(store_dir=str(tmp_path / "one")))
    second = open_store(TrackingSettings(store_dir=str(tmp_path / "two")))
    assert first.tracking_uri != second.tracking_uri
    assert mlflow.get_tracking_uri() == second.tracking_uri
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_a_server_address_is_its_ui_without_credentials_and_a_local_store_has_none():
    from pipeline.tracking import Store, server_address

    given = Store("https://analyst:s3cr3t@mlflow.example.com:8443/team?token=abc", None)
    assert server_address(given) == "https://mlflow.example.com:8443/team"
    assert server_address(Store("http://127.0.0.1:5000", None)) == "http://127.0.0.1:5000"
    assert server_address(Store("sqlite:////tmp/mlruns/mlflow.db", "file:///tmp/a")) is None


def test_a_server_gone_mid_run_is_one_line_saying_why(monkeypatch):
    import pytest
    from mlflow import MlflowClient

    from features.errors import Fault
    from pipeline.tracking import store_errors

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    gone = f"http://analyst:s3cr3t@127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gone)
    with pytest.raises(Fault) as caught, store_errors():
        MlflowClient(tracking_uri=gone).get_run("0" * 32)
    (problem,) = caught.value.problems
    line = problem.line()
    assert "tracking server unreachable (connection refused)" in line, line
    assert "s3cr3t" not in line and "\n" not in line


def test_a_fingerprint_leaves_out_what_mlflow_writes_on_download(tmp_path):
    """The version is registered with the fingerprint of its logged files, fetched before
    it has a number; loading fetches it under its name and version, and MLflow writes that
    beside the files."""
    from pipeline.tracking.registry import files_digest

    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "registered_model_meta").write_text("model_name: null\n")
    before = files_digest(tmp_path)
    (tmp_path / "registered_model_meta").write_text("model_name: churn\nmodel_version: '3'\n")
    assert files_digest(tmp_path) == before
    assert files_digest(tmp_path, skip=()) != files_digest(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors: {python_function: {}}\n")
    assert files_digest(tmp_path) != before


def test_signatures_verify_with_their_key_only_and_earlier_ones_still_do():
    import hashlib
    import hmac

    from pipeline.tracking import signing

    key, digest = b"team-key", "ab" * 32
    signed = signing.signature("churn", digest, key)
    assert signing.verified("churn", "7", digest, signed, key)
    assert not signing.verified("churn", "7", digest, signed, b"another key")
    assert not signing.verified("other-model", "7", digest, signed, key)
    assert not signing.verified("churn", "7", "cd" * 32, signed, key)
    assert not signing.verified("churn", "7", digest, None, key)
    # versions signed by earlier releases: over name, version and fingerprint
    message = "\0".join(["churn", "7", digest]).encode()
    earlier = hmac.new(key, message, hashlib.sha256).hexdigest()
    assert signing.verified("churn", "7", digest, earlier, key)
    assert not signing.verified("churn", "8", digest, earlier, key)


def test_a_full_disk_under_the_tracking_store_is_one_line_naming_it(tmp_path, monkeypatch):
    import errno
    import os
    import sqlite3

    import pytest
    import sqlalchemy.exc
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    from features.errors import Fault
    from pipeline import tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = open_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))
    where = str(tmp_path / "mlruns" / "artifacts" / "notes.txt")

    def full(self, local_file, artifact_path=None):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)

    monkeypatch.setattr(LocalArtifactRepository, "log_artifact", full)
    with pytest.raises(Fault) as raised, tracking.run(store, "churn", "train-x"):
        tracking.log_text("what the run says", "notes.txt")
    (problem,) = raised.value.problems
    assert problem.line() == (
        f"{where}: the disk is full; free space or set [tracking] store_dir to another disk, "
        "then re-run"
    )
    database_full = sqlite3.OperationalError("database or disk is full")
    full_store = pytest.raises(Fault, match=r"mlflow\.db: the disk is full; free space")
    with full_store, tracking.store_errors():
        raise sqlalchemy.exc.OperationalError("INSERT INTO metrics", {}, database_full)


def test_a_dataset_another_run_created_in_the_same_instant_is_linked_not_fatal(
    tmp_path, monkeypatch
):
    import mlflow
    import pandas as pd
    import pytest
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from pipeline import tracking
    from pipeline.tracking import runs

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(runs.time, "sleep", lambda seconds: None)
    store = open_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))
    real, calls = mlflow.log_input, []

    def racing(dataset, context=None):  # the other training's insert won the first attempt
        calls.append(context)
        if len(calls) == 1:
            raise MlflowException('UniqueViolation: duplicate key value violates "dataset_pk"')
        return real(dataset, context=context)

    monkeypatch.setattr(runs.mlflow, "log_input", racing)
    rows = pd.DataFrame({"tenure_days": [1, 2], "churned": [0, 1]})
    with tracking.run(store, "churn", "train-x") as rid:
        tracking.log_dataset(rows, "data/sample", name="training", context="training")
    assert calls == ["training", "training"]
    assert [d.dataset.name for d in MlflowClient().get_run(rid).inputs.dataset_inputs] == [
        "training"
    ]

    def broken(dataset, context=None):
        raise MlflowException("RESOURCE_DOES_NOT_EXIST: run gone")

    monkeypatch.setattr(runs.mlflow, "log_input", broken)
    with pytest.raises(Exception, match="run gone"), tracking.run(store, "churn", "train-y"):
        tracking.log_dataset(rows, "data/sample", name="training", context="training")
