"""The model registry: logging and registering the model, its fingerprint, loading a version
only once its files match the fingerprint, versions, aliases and their descriptions."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import LoggedModelInput
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from features.errors import Problem, Refusal
from pipeline.tracking import signing
from pipeline.tracking.store import (
    DIGEST_TAG,
    MODEL_NAME_IN_RUN,
    guarded,
)

log = logging.getLogger(__name__)


@guarded
def log_churn_model(
    python_model,
    *,
    example: pd.DataFrame,
    registered_name: str,
    pip_requirements: list[str],
    code_paths: list[str],
) -> str:
    """Log the pyfunc model with signature and input example, and register it with its
    fingerprint and signature (pipeline/tracking/signing.py) in the one call that creates
    the version: a store that fails halfway leaves no version that cannot be checked. The
    registered model and version are made here, so MLflow prints nothing. Returns the
    version."""
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
    source = f"models:/{info.model_id}"
    with tempfile.TemporaryDirectory() as tmp:
        digest = files_digest(Path(mlflow.artifacts.download_artifacts(source, dst_path=tmp)))
    signed = signing.signature(registered_name, digest, signing.model_key(create=True))
    client = MlflowClient()
    try:
        client.create_registered_model(registered_name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    version = client.create_model_version(
        registered_name,
        source=source,
        run_id=mlflow.active_run().info.run_id,
        tags={DIGEST_TAG: digest, signing.SIGNATURE_TAG: signed},
        model_id=info.model_id,
    )
    return str(version.version)


@guarded
def describe_model(name: str, description: str, *, version: str | None = None) -> None:
    """The registered model's description, or one version's."""
    client = MlflowClient()
    if version is None:
        client.update_registered_model(name, description=description)
    else:
        client.update_model_version(name, version, description=description)


@guarded
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


@guarded
def champion_version(name: str, alias: str) -> str | None:
    """The registry version carrying the alias, or None when the model or alias does not
    exist (any other failure of the store is a Fault, not "no model")."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


WRITTEN_ON_DOWNLOAD = ("registered_model_meta",)
"""Files MLflow writes beside a model when it downloads it (the registered name and version
it was fetched as), not among the files logged."""


def files_digest(folder: Path, *, skip: tuple[str, ...] = WRITTEN_ON_DOWNLOAD) -> str:
    """SHA-256 over every file of a folder (relative path and content, in path order) but
    those in `skip`: the fingerprint of a logged model's files."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name in skip:
            continue
        digest.update(name.encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _recorded_digest(folder: Path, recorded: str | None) -> str:
    """The files' fingerprint, as the version recorded it: earlier releases fingerprinted the
    folder as downloaded under the version's name, MLflow's own file included."""
    digest = files_digest(folder)
    if recorded is not None and digest != recorded:
        whole = files_digest(folder, skip=())
        if whole == recorded:
            return whole
    return digest


@guarded
def load_model(name: str, alias: str):
    """Load `models:/<name>@<alias>` as a pyfunc model, only after checking its files against
    the fingerprint recorded at registration (the model is a pickle: loading runs its code).
    Returns the model and the digest."""
    version = MlflowClient().get_model_version_by_alias(name, alias)
    return _load_checked(name, version, f"models:/{name}@{alias}")


@guarded
def load_version(name: str, version: str):
    """`load_model` for a version by its number (e.g. the one a training run registered)."""
    found = MlflowClient().get_model_version(name, version)
    return _load_checked(name, found, f"models:/{name}/{version}")


@guarded
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
        digest = _recorded_digest(local, recorded)
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
        signed = (version.tags or {}).get(signing.SIGNATURE_TAG)
        key = signing.model_key(create=False)
        if not signing.verified(name, str(version.version), digest, signed, key):
            why = "is not signed" if signed is None else "has a signature that does not match"
            raise Refusal(
                [
                    Problem(
                        shown,
                        f"version {version.version} {why} with this machine's model key "
                        f"({signing.KEY_ENV} or the key file): refusing to load it; retrain, "
                        "or use the key the training machine signed with",
                    )
                ]
            )
        return mlflow.pyfunc.load_model(str(local)), digest


@guarded
def model_version_info(name: str, alias: str) -> dict[str, str]:
    """Version and run id behind an alias."""
    version = MlflowClient().get_model_version_by_alias(name, alias)
    return {"version": str(version.version), "run_id": version.run_id or ""}


INCOMPLETE_TAG = "incomplete"
INCOMPLETE_REASON_TAG = "incomplete.reason"


def missing_seal(tags: dict[str, str]) -> str | None:
    """Why a registered version is incomplete (no fingerprint, no signature, or marked so by a
    later training), or None when it is whole. An incomplete version is never champion: its
    training was stopped before the version was fingerprinted and signed."""
    if tags.get(INCOMPLETE_TAG) == "true":
        return tags.get(INCOMPLETE_REASON_TAG) or "marked incomplete"
    if DIGEST_TAG not in tags:
        return f"no fingerprint ({DIGEST_TAG})"
    if signing.SIGNATURE_TAG not in tags:
        return f"no signature ({signing.SIGNATURE_TAG})"
    return None


def _refuse_incomplete(name: str, version) -> None:
    why = missing_seal(version.tags or {})
    if why is not None:
        raise Refusal(
            [
                Problem(
                    f"models:/{name}/{version.version}",
                    f"is incomplete ({why}): it cannot be champion; retrain or promote another "
                    "version (`churn models` lists them)",
                )
            ]
        )


@guarded
def set_alias(name: str, alias: str, version: str) -> None:
    """Move the alias to this version; refused for an incomplete version (`missing_seal`)."""
    client = MlflowClient()
    _refuse_incomplete(name, client.get_model_version(name, version))
    client.set_registered_model_alias(name, alias, version)


@guarded
def tag_version(name: str, version: str, tags: dict[str, str]) -> None:
    """Annotate a registered version (e.g. why it was or was not promoted)."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


@guarded
def model_versions(name: str, alias: str) -> list[dict]:
    """Every registered version of a model, newest first: when it was registered, the run's
    out-of-time ROC AUC and test months, the latest month it learned from, whether it holds
    the alias, why it is incomplete (None: it is whole), and when and why the alias last came
    to it."""
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    champion = champion_version(name, alias)  # search results do not carry aliases
    out = []
    for v in sorted(versions, key=lambda v: -int(v.version)):
        tags = v.tags or {}
        run = client.get_run(v.run_id) if v.run_id else None
        params = run.data.params if run else {}
        metrics = run.data.metrics if run else {}
        out.append(
            {
                "version": str(v.version),
                "registered": pd.Timestamp(v.creation_timestamp, unit="ms"),
                "roc_auc": metrics.get("test.roc_auc"),
                "test_months": params.get("cutoffs.test", ""),
                "learned_through": (
                    params.get("refit.valid_cutoffs") or params.get("cutoffs.valid", "")
                ).split(",")[-1],
                "champion": str(v.version) == champion,
                "incomplete": missing_seal(tags),
                "moved": tags.get("champion.moved", ""),
                "why": tags.get("champion.why") or tags.get("promotion", ""),
            }
        )
    return out


@guarded
def move_champion(name: str, alias: str, version: str, why: str) -> str | None:
    """Move the alias to `version` by hand (a rollback), recording when and why on it and on
    the version it leaves; refused for an incomplete version (without its fingerprint or
    signature it could not be loaded safely). Returns the version that held the alias."""
    client = MlflowClient()
    _refuse_incomplete(name, client.get_model_version(name, version))
    before = champion_version(name, alias)
    now = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    client.set_registered_model_alias(name, alias, version)
    tag_version(name, version, {"champion.moved": now, "champion.why": why})
    if before is not None and before != version:
        tag_version(name, before, {"champion.left": now, "champion.left_why": f"v{version}: {why}"})
    return before
