"""The MLflow UI (`churn ui`, `make ui`): a local server on the store, its address, and a
clean stop."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
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
UI_WORKERS = 1  # one person browsing: MLflow's default of 4 workers doubled the start on a busy
# 2-core machine (30.7 s against 14.8 s to answer at load 9) and serves one reader no faster
PROGRESS_SECONDS = 5.0  # how often a start still under way says so


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
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(UI_WORKERS)]
    if store.artifact_root:
        command += ["--default-artifact-root", store.artifact_root]
    return command


def start_ui(
    settings: TrackingSettings,
    port: int = 5000,
    *,
    timeout: float = UI_START_SECONDS,
    waiting: Callable[[float], None] | None = None,
) -> UiServer:
    """Start the MLflow UI on 127.0.0.1 against the project's store and return once it
    answers; the server's own output (its warnings included) goes to <store_dir>/ui.log.
    `waiting(seconds)` is told every few seconds while the server is still starting, so a
    person at the terminal sees it is under way."""
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
    started = time.monotonic()
    told = started
    try:
        while not _answers(port, timeout=1.0):
            now = time.monotonic()
            if process.poll() is not None or now > started + timeout:
                tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
                raise Fault([Problem(where, f"the MLflow UI did not start ({log_path}: {tail})")])
            if waiting is not None and now - told >= PROGRESS_SECONDS:
                waiting(now - started)
                told = now
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
    started = time.monotonic()
    server = start_ui(settings, port, waiting=_still_starting)
    took = time.monotonic() - started
    print(f"MLflow UI: {server.url}  (answered in {took:.0f} s; Ctrl-C to stop)", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a plain kill stops the server too
    try:
        return server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        return 0


def _still_starting(seconds: float) -> None:
    print(f"MLflow UI: still starting ({seconds:.0f} s; the server loads MLflow) ...", flush=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
