"""The MLflow store: where it is (a local SQLite file and artifact folder, or a server from
MLFLOW_TRACKING_URI, MLflow's own convention), reaching it, experiments, and how a broken store
is reported: as unreachable within `[tracking] timeout_seconds` x `retries`, as a `Fault`
(exit 4) naming it, never with credentials printed or logged."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

from features.errors import Fault, Problem, disk_full_fault
from pipeline.config import TrackingSettings

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


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


_FULL_REMEDY = "free space or set [tracking] store_dir to another disk"


def _unusable(error: BaseException, uri: str) -> Fault:
    return Fault(
        [
            Problem(
                mask_uri(uri),
                "the tracking store's database cannot be used (corrupt, locked or not an "
                f"MLflow store): {mask_text(first_line(error), uri)}; restore it or move it "
                "away to start a new one",
            )
        ]
    )


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn a failing tracking store (unreachable server, corrupt or locked database, refused
    request, full disk) into a `Fault` with one masked line, instead of a traceback."""
    import requests
    import sqlalchemy.exc

    uri = mlflow.get_tracking_uri()
    shown = mask_uri(uri)
    try:
        yield
    except OSError as error:  # the local store's artifacts (or a temporary copy of one)
        where = str(error.filename) if error.filename else shown
        full = disk_full_fault(where, error, _FULL_REMEDY)
        if full is None:
            raise
        raise full from None
    except sqlalchemy.exc.OperationalError as error:
        full = disk_full_fault(shown, error, _FULL_REMEDY)
        if full is not None:
            raise full from None
        raise _unusable(error, uri) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        raise Fault([Problem(shown, _unreachable(error))]) from None
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise _unusable(error, uri) from None
    except MlflowException as error:
        # MLflow's HTTP client reports a server gone away (stopped, restarting) as its own
        # exception raised while handling the connection error
        cause = error.__context__
        if isinstance(cause, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            raise Fault([Problem(shown, _unreachable(cause))]) from None
        raise Fault(
            [Problem(shown, f"tracking store error: {mask_text(first_line(error), uri)}")]
        ) from None


def _unreachable(error: BaseException) -> str:
    """A server that stopped answering, in words: why, without the request's address."""
    text = first_line(error)
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        why = found.group(1).strip().lower()
    elif "timed out" in text.lower():
        why = "timed out"
    elif "RemoteDisconnected" in text:
        why = "the server closed the connection"
    else:
        why = type(error).__name__
    return (
        f"tracking server unreachable ({why}) after MLflow's retries; check that it is up "
        "(a restart takes seconds), then run the command again"
    )


def guarded(function: F) -> F:
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
        "Waiting up to",  # a server's registry: the version is created ready, in one call
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in self.NOISE)


def _quiet_mlflow() -> None:
    # each retry of MLflow's HTTP client is a warning; when all fail, the Fault says so once
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    for name in (
        "mlflow.pyfunc",
        "mlflow.store.db.utils",
        "mlflow.store.model_registry.abstract_store",
    ):
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
            last = mask_text(first_line(error), uri)
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
    from pipeline.tracking import signing  # the key models are signed and checked with

    signing.use_key_file(settings.key_file)
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


@guarded
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
        try:
            return client.create_experiment(name, artifact_location=location, tags=tags)
        except MlflowException as error:
            # another machine of the team created it at the same moment: use theirs
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    # experiments made before the kind was set get it once; a kind chosen in the UI stays
    if EXPERIMENT_KIND_TAG not in experiment.tags:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
        if description and MLFLOW_RUN_NOTE not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, MLFLOW_RUN_NOTE, description)
    return experiment.experiment_id
