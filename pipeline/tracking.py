"""Every MLflow call of the project: the store, runs, logging, the registry and its alias.

By default the store is a local SQLite file plus an artifact folder under `store_dir`;
setting MLFLOW_TRACKING_URI (MLflow's own convention) points everything at a real server.
A server that does not answer is reported within `[tracking] timeout_seconds` x `retries`,
as unreachable; credentials in the URI are never printed or logged; a broken store (a
corrupt or locked database, a failing server) is a `Fault` (exit 4) naming it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.entities import LoggedModelInput  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.tracking.context.registry import resolve_tags  # noqa: E402
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE  # noqa: E402

from features.errors import Fault, Problem, Refusal  # noqa: E402
from pipeline.config import TrackingSettings  # noqa: E402

log = logging.getLogger(__name__)
MODEL_NAME_IN_RUN = "model"
DIGEST_TAG = "model_sha256"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # what MLflow 3's own kind selector writes
MODEL_TRAINING = "custom_model_development"  # the kind whose UI is runs, models, registry
F = TypeVar("F", bound=Callable[..., Any])
_SECRET_QUERY = re.compile(r"(?i)\b(token|password|passwd|secret|key|sig|signature|auth)=[^&]*")


def mask_uri(uri: str) -> str:
    """The URI with a user:password part and secret query values replaced by ***."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = _SECRET_QUERY.sub(r"\1=***", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return uri  # nothing to hide: keep it exactly as given (e.g. sqlite:////abs/path)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_text(text: str, uri: str | None = None) -> str:
    """`text` with the credentials of `uri` (and of any URI in it) hidden."""
    if uri:
        parts = urlsplit(uri)
        if "@" in parts.netloc:
            secret = parts.netloc.rsplit("@", 1)[0]
            text = text.replace(secret + "@", "***@")
    text = re.sub(r"(?<=://)[^/@\s:]+:[^/@\s]+@", "***@", text)
    return _SECRET_QUERY.sub(r"\1=***", text)


class _MaskSecrets(logging.Filter):
    """Hides credentials in every log line (MLflow and its HTTP client may print URIs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, os.environ.get("MLFLOW_TRACKING_URI"))
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn a failing tracking store (unreachable server, corrupt or locked database, refused
    request) into a `Fault` with one masked line, instead of a traceback."""
    import requests
    import sqlalchemy.exc

    uri = mlflow.get_tracking_uri()
    shown = mask_uri(uri)
    try:
        yield
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        raise Fault(
            [Problem(shown, f"tracking server unreachable: {mask_text(_first_line(error), uri)}")]
        ) from None
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise Fault(
            [
                Problem(
                    shown,
                    "the tracking store's database cannot be used (corrupt, locked or not an "
                    f"MLflow store): {mask_text(_first_line(error), uri)}; restore it or move it "
                    "away to start a new one",
                )
            ]
        ) from None
    except MlflowException as error:
        raise Fault(
            [Problem(shown, f"tracking store error: {mask_text(_first_line(error), uri)}")]
        ) from None


def _guarded(function: F) -> F:
    """Run `function` under `store_errors`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with store_errors():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class Store:
    """Where runs and models are tracked."""

    tracking_uri: str
    artifact_root: str | None  # None when a server decides

    @property
    def shown(self) -> str:
        """The tracking URI as it may be printed: credentials hidden."""
        return mask_uri(self.tracking_uri)


class _DropKnownNoise(logging.Filter):
    """Drops MLflow log lines about routine steps and choices made here on purpose (the model
    is pickled with its own code logged beside it; the store's tables are created on first
    use; the input example is checked against the signature on every log)."""

    NOISE = (
        "serialized using CloudPickle",
        "Validating input example against model signature",
        "Creating initial MLflow database tables",
        "Updating database tables",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in self.NOISE)


def _quiet_mlflow() -> None:
    for name in ("mlflow.pyfunc", "mlflow.store.db.utils"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _DropKnownNoise) for f in target.filters):
            target.addFilter(_DropKnownNoise())


def _probe_server(uri: str, settings: TrackingSettings) -> None:
    """Refuse quickly when an HTTP tracking server does not answer at all: any HTTP reply
    (even an error status) means it is there; only a failed connection counts."""
    import requests

    if not uri.startswith(("http://", "https://")):
        return
    last = ""
    for _ in range(settings.retries + 1):
        try:
            requests.get(uri.rstrip("/") + "/health", timeout=settings.timeout_seconds)
            return
        except requests.exceptions.RequestException as error:
            last = mask_text(_first_line(error), uri)
    waited = settings.timeout_seconds * (settings.retries + 1)
    raise Fault(
        [
            Problem(
                mask_uri(uri),
                f"tracking server unreachable after {settings.retries + 1} tries within about "
                f"{waited:g} s ({last}); check MLFLOW_TRACKING_URI and that the server is up",
            )
        ]
    )


def open_store(settings: TrackingSettings) -> Store:
    """Point MLflow at MLFLOW_TRACKING_URI, or create/open the local SQLite store once; checks
    that it answers."""
    _quiet_mlflow()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _MaskSecrets) for f in handler.filters):
            handler.addFilter(_MaskSecrets())
    # MLflow's own settings for its HTTP client: seconds, not the minutes of its defaults
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(settings.timeout_seconds)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(settings.retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        _probe_server(uri, settings)
        store = Store(uri, None)
    else:
        root = Path(settings.store_dir).resolve()
        try:
            (root / "artifacts").mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise Fault(
                [Problem(str(root), f"cannot create the tracking store folder: {error.strerror}")]
            ) from None
        store = Store(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri())
    mlflow.set_tracking_uri(store.tracking_uri)
    mlflow.set_registry_uri(store.tracking_uri)
    if not uri:
        # MLflow exports the URI it is given as MLFLOW_TRACKING_URI for child processes; left
        # there, the next project opened in this process would read it as the user's server
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    with store_errors():
        MlflowClient().search_experiments(max_results=1)
    return store


@_guarded
def ensure_experiment(store: Store, name: str, description: str = "") -> str:
    """The experiment's id, creating it if needed with an explicit artifact location, as a
    model-training experiment (not a GenAI one) and with `description` as its note."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = f"{store.artifact_root}/{name}" if store.artifact_root else None
        tags = {EXPERIMENT_KIND_TAG: MODEL_TRAINING}
        if description:
            tags[MLFLOW_RUN_NOTE] = description
        return client.create_experiment(name, artifact_location=location, tags=tags)
    # experiments made before the kind was set get it once; a kind chosen in the UI stays
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
        if description and MLFLOW_RUN_NOTE not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, MLFLOW_RUN_NOTE, description)
    return experiment.experiment_id


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
    UI's duration is the step's wall time, not only its logging; yields its id."""
    experiment_id = ensure_experiment(store, experiment, description)
    start_ms = int(1000 * (started if started is not None else time.time()))
    with store_errors():
        created = MlflowClient().create_run(
            experiment_id, start_time=start_ms, tags=resolve_tags(), run_name=run_name
        )
    with mlflow.start_run(run_id=created.info.run_id) as active:
        yield active.info.run_id


@_guarded
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


@_guarded
def log_params(params: dict[str, Any]) -> None:
    """Log parameters (long values are cut; the full config is logged as an artifact)."""
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})


@_guarded
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


@_guarded
def log_figure(figure, path: str) -> None:
    """Log a matplotlib figure as an image artifact."""
    mlflow.log_figure(figure, path)


@_guarded
def log_dict(data: dict[str, Any], path: str) -> None:
    """Log a dict as a JSON artifact."""
    mlflow.log_dict(data, path)


@_guarded
def log_text(text: str, path: str) -> None:
    """Log text as an artifact."""
    mlflow.log_text(text, path)


@_guarded
def log_table(frame: pd.DataFrame, path: str) -> None:
    """Log a small table as a JSON artifact viewable in the UI."""
    mlflow.log_table(frame.reset_index(drop=True), artifact_file=path)


@_guarded
def log_dataset(frame: pd.DataFrame, source: str, *, name: str, context: str) -> None:
    """Record which rows (and where they came from) a run used."""
    # Integers become floats: MLflow's schema cannot hold missing values in integer columns.
    numeric = frame.select_dtypes("integer").columns
    frame = frame.astype(dict.fromkeys(numeric, "float64"))
    with warnings.catch_warnings():
        # MLflow registers its local-file source type twice and warns that a path is ambiguous.
        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
        dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets="churned")
    mlflow.log_input(dataset, context=context)


@_guarded
def log_churn_model(
    python_model,
    *,
    example: pd.DataFrame,
    registered_name: str,
    pip_requirements: list[str],
    code_paths: list[str],
) -> str:
    """Log the pyfunc model with signature and input example, register it (the registered
    model and version made here, so MLflow prints nothing); returns the version."""
    output = python_model.predict(None, example)
    signature = infer_signature(example, output, params={"contributions": False})
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME_IN_RUN,
        python_model=python_model,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements,
        code_paths=code_paths,
    )
    client = MlflowClient()
    try:
        client.create_registered_model(registered_name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    version = client.create_model_version(
        registered_name,
        source=f"models:/{info.model_id}",
        run_id=mlflow.active_run().info.run_id,
        model_id=info.model_id,
    )
    return str(version.version)


@_guarded
def describe_model(name: str, description: str, *, version: str | None = None) -> None:
    """The registered model's description, or one version's."""
    client = MlflowClient()
    if version is None:
        client.update_registered_model(name, description=description)
    else:
        client.update_model_version(name, version, description=description)


@_guarded
def link_model_version(name: str, version: str) -> None:
    """Record a registered version as an input of the active run (the run's page links to
    the model it used)."""
    found = MlflowClient().get_model_version(name, version)
    # the SQLite registry keeps the logged model's id only in the version's source
    source = re.fullmatch(r"models:/(m-[0-9a-f]+)", found.source or "")
    model_id = found.model_id or (source.group(1) if source else None)
    if model_id:  # the client call: MLflow's fluent one takes models on Databricks only
        MlflowClient().log_inputs(
            mlflow.active_run().info.run_id, models=[LoggedModelInput(model_id)]
        )


def model_requirements() -> list[str]:
    """Pinned pip requirements of the logged model (inferring them costs seconds)."""
    import cloudpickle
    import lightgbm
    import numpy
    import sklearn

    return [
        f"mlflow=={mlflow.__version__}",
        f"lightgbm=={lightgbm.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={numpy.__version__}",
        f"cloudpickle=={cloudpickle.__version__}",
    ]


@_guarded
def champion_version(name: str, alias: str) -> str | None:
    """The registry version carrying the alias, or None when the model or alias does not
    exist (any other failure of the store is a Fault, not "no model")."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def files_digest(folder: Path) -> str:
    """SHA-256 over every file of a folder (relative path and content, in path order): the
    fingerprint of a logged model's files."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


@_guarded
def record_model_digest(name: str, version: str) -> str:
    """Fingerprint a registered version's files and keep it as a tag on the version."""
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=tmp)
        digest = files_digest(Path(local))
    MlflowClient().set_model_version_tag(name, version, DIGEST_TAG, digest)
    return digest


@_guarded
def load_model(name: str, alias: str):
    """Load `models:/<name>@<alias>` as a pyfunc model, only after checking its files against
    the fingerprint recorded at registration (the model is a pickle: loading runs its code).
    Returns the model and the digest."""
    version = MlflowClient().get_model_version_by_alias(name, alias)
    return _load_checked(name, version, f"models:/{name}@{alias}")


@_guarded
def load_version(name: str, version: str):
    """`load_model` for a version by its number (e.g. the one a training run registered)."""
    found = MlflowClient().get_model_version(name, version)
    return _load_checked(name, found, f"models:/{name}/{version}")


@_guarded
def latest_version(name: str) -> tuple[str, str] | None:
    """The newest registered version of a model and the run that logged it (None: none)."""
    versions = MlflowClient().search_model_versions(f"name = '{name}'")
    if not versions:
        return None
    newest = max(versions, key=lambda v: int(v.version))
    return str(newest.version), newest.run_id or ""


def _load_checked(name: str, version, shown: str):
    recorded = (version.tags or {}).get(DIGEST_TAG)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(f"models:/{name}/{version.version}", dst_path=tmp)
        )
        digest = files_digest(local)
        if recorded is None:
            raise Refusal(
                [
                    Problem(
                        shown,
                        f"version {version.version} has no recorded fingerprint ({DIGEST_TAG}); "
                        "it was registered before fingerprints existed or by hand: retrain",
                    )
                ]
            )
        if digest != recorded:
            raise Refusal(
                [
                    Problem(
                        shown,
                        f"version {version.version}'s files changed since registration "
                        f"(fingerprint {digest[:12]}..., recorded {recorded[:12]}...): "
                        "refusing to load it; restore the artifact store or retrain",
                    )
                ]
            )
        return mlflow.pyfunc.load_model(str(local)), digest


@_guarded
def record_on_run(run_id: str, metrics: dict[str, float], artifacts: dict[str, dict]) -> None:
    """Add metrics and JSON artifacts to a finished run (a grading done after training)."""
    client = MlflowClient()
    now = int(time.time() * 1000)
    for key, value in metrics.items():
        if value is not None and value == value:
            client.log_metric(run_id, key, float(value), timestamp=now)
    for path, data in artifacts.items():
        client.log_dict(run_id, data, path)


@_guarded
def model_version_info(name: str, alias: str) -> dict[str, str]:
    """Version and run id behind an alias."""
    version = MlflowClient().get_model_version_by_alias(name, alias)
    return {"version": str(version.version), "run_id": version.run_id or ""}


@_guarded
def set_alias(name: str, alias: str, version: str) -> None:
    """Move the alias to this version."""
    MlflowClient().set_registered_model_alias(name, alias, version)


@_guarded
def tag_version(name: str, version: str, tags: dict[str, str]) -> None:
    """Annotate a registered version (e.g. why it was or was not promoted)."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


@_guarded
def set_tags(tags: dict[str, str]) -> None:
    """Tag the active run."""
    mlflow.set_tags(tags)


@_guarded
def attach_to_scoring_run(experiment: str, as_of: str, path: Path) -> str | None:
    """Log a file (the retention report) to the latest scoring run of the list as of `as_of`
    under `report/`; returns the run's id, or None when no such run was logged."""
    found = MlflowClient().get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = MlflowClient().search_runs(
        [found.experiment_id],
        filter_string=f"params.as_of = '{as_of}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None
    MlflowClient().log_artifact(runs[0].info.run_id, str(path), "report")
    return runs[0].info.run_id


def runs_table_url(store: Store, experiment: str, *, host: str = "127.0.0.1", port: int = 5000):
    """The MLflow UI address of the experiment's runs table, in the UI's model-training view
    (MLflow 3.17 opens every experiment in its GenAI view unless the address asks otherwise)."""
    experiment_id = ensure_experiment(store, experiment)
    return f"http://{host}:{port}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


UI_START_SECONDS = 240  # measured: the server answered after 7 s idle, 60 s on a busy 2-core box


@dataclass
class UiServer:
    """A running MLflow UI: its process, the runs table's address and the server's log."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def stop(self) -> None:
        """Stop the server (and wait for it)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _answers(port: int, timeout: float = 2.0) -> bool:
    """Whether an HTTP server on 127.0.0.1:`port` answers its health check."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # something answers, if not with OK
    except (OSError, ValueError):
        return False


def _ui_command(store: Store, port: int) -> list[str]:
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store.tracking_uri]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    if store.artifact_root:
        command += ["--default-artifact-root", store.artifact_root]
    return command


def start_ui(
    settings: TrackingSettings, port: int = 5000, *, timeout: float = UI_START_SECONDS
) -> UiServer:
    """Start the MLflow UI on 127.0.0.1 against the project's store and return once it
    answers; the server's own output (its warnings included) goes to <store_dir>/ui.log."""
    store = open_store(settings)
    url = runs_table_url(store, settings.experiment, port=port)
    where = f"127.0.0.1:{port}"
    if _answers(port):
        raise Fault([Problem(where, "something already answers there; stop it or use --port")])
    log_path = Path(settings.store_dir) / "ui.log"
    with open(log_path, "wb") as log_file:  # the child keeps its own copy of the handle
        process = subprocess.Popen(
            _ui_command(store, port), stdout=log_file, stderr=subprocess.STDOUT
        )
    server = UiServer(process, url, log_path)
    deadline = time.monotonic() + timeout
    try:
        while not _answers(port, timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
                raise Fault([Problem(where, f"the MLflow UI did not start ({log_path}: {tail})")])
            time.sleep(0.5)
    except BaseException:  # a failed start or Ctrl-C while waiting leaves no server behind
        server.stop()
        raise
    return server


def serve_ui(settings: TrackingSettings, port: int = 5000) -> int:
    """Run the MLflow UI until Ctrl-C; print its runs table's address once it answers."""
    log_path = Path(settings.store_dir) / "ui.log"
    print(
        f"MLflow UI: starting on 127.0.0.1:{port} (its output goes to {log_path}) ...", flush=True
    )
    server = start_ui(settings, port)
    print(f"MLflow UI: {server.url}  (Ctrl-C to stop)", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a plain kill stops the server too
    try:
        return server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
