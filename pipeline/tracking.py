"""Every MLflow call of the project: the store, runs, logging, the registry and its alias.

By default the store is a local SQLite file plus an artifact folder under `store_dir`;
setting MLFLOW_TRACKING_URI (MLflow's own convention) points everything at a real server.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from pipeline.config import TrackingSettings  # noqa: E402

log = logging.getLogger(__name__)
MODEL_NAME_IN_RUN = "model"


@dataclass(frozen=True)
class Store:
    """Where runs and models are tracked."""

    tracking_uri: str
    artifact_root: str | None  # None when a server decides


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


def open_store(settings: TrackingSettings) -> Store:
    """Point MLflow at MLFLOW_TRACKING_URI, or create/open the local SQLite store once."""
    _quiet_mlflow()
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        store = Store(uri, None)
    else:
        root = Path(settings.store_dir).resolve()
        (root / "artifacts").mkdir(parents=True, exist_ok=True)
        store = Store(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri())
    mlflow.set_tracking_uri(store.tracking_uri)
    mlflow.set_registry_uri(store.tracking_uri)
    return store


def ensure_experiment(store: Store, name: str) -> str:
    """The experiment's id, creating it with an explicit artifact location if needed."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = f"{store.artifact_root}/{name}" if store.artifact_root else None
    return client.create_experiment(name, artifact_location=location)


@contextmanager
def run(store: Store, experiment: str, run_name: str, tags: dict[str, str] | None = None):
    """Start a run in the experiment; yields its id."""
    experiment_id = ensure_experiment(store, experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as active:
        yield active.info.run_id


def git_commit(cwd: Path) -> str | None:
    """The commit the code runs from, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def log_params(params: dict[str, Any]) -> None:
    """Log parameters (long values are cut; the full config is logged as an artifact)."""
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})


def log_metrics(metrics: dict[str, float], prefix: str = "", step: int | None = None) -> None:
    """Log finite metrics under an optional prefix."""
    clean = {f"{prefix}{k}": float(v) for k, v in metrics.items() if v is not None and v == v}
    mlflow.log_metrics(clean, step=step)


def log_figure(figure, path: str) -> None:
    """Log a matplotlib figure as an image artifact."""
    mlflow.log_figure(figure, path)


def log_dict(data: dict[str, Any], path: str) -> None:
    """Log a dict as a JSON artifact."""
    mlflow.log_dict(data, path)


def log_text(text: str, path: str) -> None:
    """Log text as an artifact."""
    mlflow.log_text(text, path)


def log_table(frame: pd.DataFrame, path: str) -> None:
    """Log a small table as a JSON artifact viewable in the UI."""
    mlflow.log_table(frame.reset_index(drop=True), artifact_file=path)


def log_dataset(frame: pd.DataFrame, source: str, name: str, context: str) -> None:
    """Record which rows (and where they came from) a run used."""
    # Integers become floats: MLflow's schema cannot hold missing values in integer columns.
    numeric = frame.select_dtypes("integer").columns
    frame = frame.astype(dict.fromkeys(numeric, "float64"))
    with warnings.catch_warnings():
        # MLflow registers its local-file source type twice and warns that a path is ambiguous.
        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted")
        dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets="churned")
    mlflow.log_input(dataset, context=context)


def log_churn_model(
    python_model,
    example: pd.DataFrame,
    registered_name: str,
    pip_requirements: list[str],
    code_paths: list[str],
) -> str:
    """Log the pyfunc model with signature and input example, register it; returns the version."""
    output = python_model.predict(None, example)
    signature = infer_signature(example, output, params={"contributions": False})
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME_IN_RUN,
        python_model=python_model,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements,
        code_paths=code_paths,
        registered_model_name=registered_name,
    )
    return str(info.registered_model_version)


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


def champion_version(name: str, alias: str) -> str | None:
    """The registry version carrying the alias, or None."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_model(name: str, alias: str):
    """Load `models:/<name>@<alias>` as a pyfunc model."""
    return mlflow.pyfunc.load_model(f"models:/{name}@{alias}")


def model_version_info(name: str, alias: str) -> dict[str, str]:
    """Version and run id behind an alias."""
    version = MlflowClient().get_model_version_by_alias(name, alias)
    return {"version": str(version.version), "run_id": version.run_id or ""}


def set_alias(name: str, alias: str, version: str) -> None:
    """Move the alias to this version."""
    MlflowClient().set_registered_model_alias(name, alias, version)


def tag_version(name: str, version: str, tags: dict[str, str]) -> None:
    """Annotate a registered version (e.g. why it was or was not promoted)."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def set_tags(tags: dict[str, str]) -> None:
    """Tag the active run."""
    mlflow.set_tags(tags)


def runs_table_url(store: Store, experiment: str, host: str = "127.0.0.1", port: int = 5000):
    """The MLflow UI address of the experiment's runs table."""
    experiment_id = ensure_experiment(store, experiment)
    return f"http://{host}:{port}/#/experiments/{experiment_id}/runs"


def serve_ui(settings: TrackingSettings, port: int = 5000) -> int:
    """Run the MLflow UI on 127.0.0.1 against the same store (blocks until stopped)."""
    store = open_store(settings)
    url = runs_table_url(store, settings.experiment, port=port)
    print(f"MLflow UI: {url}  (Ctrl-C to stop)", flush=True)
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        store.tracking_uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if store.artifact_root:
        command += ["--default-artifact-root", store.artifact_root]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0
