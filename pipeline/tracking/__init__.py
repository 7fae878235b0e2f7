"""Every MLflow call of the project, in one package: the store (store.py), runs and what they
record (runs.py), the model registry (registry.py), the UI server (ui.py), and what the UI
says in words (descriptions.py, no MLflow call). Steps call these functions through
`from pipeline import tracking`; nothing else imports MLflow, but for the logged model's own
class (models/pyfunc.py, which MLflow's pyfunc flavour requires to subclass its PythonModel).
"""

import os

# Before MLflow is first imported (every module of this package imports it): no network here
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from pipeline.tracking.registry import (  # noqa: E402
    champion_version,
    describe_model,
    files_digest,
    latest_version,
    link_model_version,
    load_model,
    load_version,
    log_churn_model,
    model_requirements,
    model_version_info,
    record_model_digest,
    set_alias,
    tag_version,
)
from pipeline.tracking.runs import (  # noqa: E402  # noqa: I001 (the store first: it turns telemetry off)
    attach_to_scoring_run,
    describe_run,
    git_commit,
    log_dataset,
    log_dict,
    log_figure,
    log_metrics,
    log_params,
    log_table,
    log_text,
    record_on_run,
    run,
    runs_table_url,
    set_tags,
)
from pipeline.tracking.store import (  # noqa: E402
    DIGEST_TAG,
    EXPERIMENT_KIND_TAG,
    MODEL_NAME_IN_RUN,
    MODEL_TRAINING,
    Store,
    ensure_experiment,
    mask_text,
    mask_uri,
    open_store,
    store_errors,
)
from pipeline.tracking.ui import UI_START_SECONDS, UiServer, serve_ui, start_ui  # noqa: E402

__all__ = [
    "DIGEST_TAG",
    "EXPERIMENT_KIND_TAG",
    "MODEL_NAME_IN_RUN",
    "MODEL_TRAINING",
    "UI_START_SECONDS",
    "Store",
    "UiServer",
    "attach_to_scoring_run",
    "champion_version",
    "describe_model",
    "describe_run",
    "ensure_experiment",
    "files_digest",
    "git_commit",
    "latest_version",
    "link_model_version",
    "load_model",
    "load_version",
    "log_churn_model",
    "log_dataset",
    "log_dict",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_table",
    "log_text",
    "mask_text",
    "mask_uri",
    "model_requirements",
    "model_version_info",
    "open_store",
    "record_model_digest",
    "record_on_run",
    "run",
    "runs_table_url",
    "serve_ui",
    "set_alias",
    "set_tags",
    "start_ui",
    "store_errors",
    "tag_version",
]
