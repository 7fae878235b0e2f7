"""The MLflow UI (`churn ui`, `make ui`): a local server on the store, its address, and a
clean stop."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from features.errors import Fault, Problem
from pipeline.config import TrackingSettings
from pipeline.tracking.runs import runs_table_url, server_address
from pipeline.tracking.store import (
    Store,
    open_store,
)

log = logging.getLogger(__name__)


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
    """Run the MLflow UI until Ctrl-C; print its runs table's address once it answers. With
    a tracking server, its own UI is the one: print that address and return."""
    store = open_store(settings)
    if server_address(store) is not None:
        url = runs_table_url(store, settings.experiment)
        print(f"MLflow UI: {url}  (the tracking server's own)", flush=True)
        return 0
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
