"""Every MLflow call of the project, in one package: the store (store.py), runs and what they
record (runs.py), the model registry (registry.py), the UI server (ui.py), what the UI says in
words (descriptions.py, no MLflow call), and what killed runs left, settled by the next run
(recovery.py; which process owns a run: processes.py, no MLflow call). Steps call these
functions through `from pipeline import tracking`; nothing else imports MLflow, but for the
logged model's own class (models/pyfunc.py, which MLflow's pyfunc flavour requires to subclass
its PythonModel).
"""

import importlib
import os

# Before MLflow is first imported (every module of this package but descriptions imports it):
# no network here. MLflow loads pyspark when it is installed, so nothing here is imported
# until a step asks for it: `churn validate` and the report's words stay light.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# MLflow prints each run's address when it ends: the summaries say where runs are, and
# MLflow's line would show a password given in MLFLOW_TRACKING_URI as it is
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

_WHERE = {
    "DIGEST_TAG": "store",
    "EXPERIMENT_KIND_TAG": "store",
    "MODEL_NAME_IN_RUN": "store",
    "MODEL_TRAINING": "store",
    "RunRecord": "runs",
    "Step": "runs",
    "Store": "store",
    "UI_START_SECONDS": "ui",
    "UiServer": "ui",
    "attach_to_scoring_run": "runs",
    "champion_version": "registry",
    "describe_model": "registry",
    "describe_run": "runs",
    "end_dead_runs": "recovery",
    "ensure_experiment": "store",
    "files_digest": "registry",
    "first_line": "store",
    "git_commit": "runs",
    "guarded": "store",
    "latest_version": "registry",
    "link_model_version": "registry",
    "load_model": "registry",
    "load_version": "registry",
    "LIST_CREATED_TAG": "recovery",
    "LOGGED_LATE_TAG": "recovery",
    "log_churn_model": "registry",
    "log_dataset": "runs",
    "log_dict": "runs",
    "log_figure": "runs",
    "log_metrics": "runs",
    "log_params": "runs",
    "log_record": "runs",
    "log_table": "runs",
    "log_text": "runs",
    "log_to_scoring_run": "runs",
    "logged_lists": "recovery",
    "mark_incomplete_versions": "recovery",
    "mask_text": "store",
    "mask_uri": "store",
    "missing_seal": "registry",
    "model_requirements": "registry",
    "model_version_info": "registry",
    "open_store": "store",
    "model_versions": "registry",
    "move_champion": "registry",
    "record_on_run": "runs",
    "run": "runs",
    "runs_table_url": "runs",
    "serve_ui": "ui",
    "server_address": "runs",
    "set_alias": "registry",
    "set_tags": "runs",
    "start_ui": "ui",
    "store_errors": "store",
    "tag_version": "registry",
}
"""Each public name of the package and the module that defines it."""

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    """`tracking.<name>`: the name from its module, imported on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
