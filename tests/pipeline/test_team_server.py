"""A team's MLflow: a real tracking server on PostgreSQL with proxied artifacts and basic
authentication (docs/deploy.md), and the `churn` commands run against it as separate
processes, as a team's machines would: two trainings at once, promotion, a nightly score on
another machine (no local store, no key file), the report, and a server restart mid-run."""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from features.errors import EXIT_FAULT
from simulator import simulate_history, write_history

REPO = Path(__file__).parents[2]

CONFIG = """
[data]
dir = "exports"
as_of = "2025-11-01"

[tables.customers.profile]
categorical = ["plan", "country"]
numeric = ["seats", "monthly_fee", "loyalty_member"]

[tables.purchases]
file = "purchases.csv.gz"

[churn]
kind = "contractual"
horizon_days = 30

[training]
cutoffs = 12
test_cutoffs = 1
valid_cutoffs = 2
backtest_folds = 0

[model]
name = "team-churn"

[scoring]
capacity = 25
"""

SERVER_START_SECONDS = 180  # measured: 6-16 s here, on a 2-core machine others were loading


def _postgres_bin() -> Path | None:
    """Debian's PostgreSQL binaries (the newest version installed), else those on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> int:
    return int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1: PostgreSQL refuses to run as root, so
    when the tests do (CI), the cluster is the `postgres` system user's."""

    bin: Path
    root: Path
    port: int = field(default_factory=_free_port)

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() != 0:
            return list(command)
        return ["runuser", "-u", "postgres", "--", *command]

    def start(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        data = str(self.root / "data")
        run = [str(self.bin / "initdb"), "-D", data, "-U", "mlflow", "-A", "trust", "-E", "UTF8"]
        subprocess.run(self._as_owner(*run, "--no-sync"), check=True, capture_output=True)
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        start = [str(self.bin / "pg_ctl"), "-D", data, "-l", str(self.root / "pg.log")]
        subprocess.run(
            self._as_owner(*start, "-w", "-o", options, "start"), check=True, capture_output=True
        )
        for database in ("mlflow", "mlflow_auth"):
            subprocess.run(
                [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
                + ["-U", "mlflow", database],
                check=True,
                capture_output=True,
            )

    def uri(self, database: str) -> str:
        return f"postgresql://mlflow@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        stop = [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate"]
        subprocess.run(self._as_owner(*stop, "stop"), capture_output=True)


@dataclass
class TrackingServer:
    """`mlflow server` with the basic-auth app, the PostgreSQL backend store and artifacts
    proxied to a folder, one worker; its output goes to `log`."""

    postgres: Postgres
    root: Path
    password: str
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def start(self) -> None:
        config = self.root / "basic_auth.ini"
        config.write_text(
            "[mlflow]\ndefault_permission = READ\n"
            f"database_uri = {self.postgres.uri('mlflow_auth')}\nadmin_username = admin\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # one password check per minute, not a PBKDF2 hash per request
            "auth_cache_ttl_seconds = 60\n"
        )
        env = {
            **os.environ,
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-server-csrf-key",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            # the job runner serves GenAI features this project does not use
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
        env.pop("MLFLOW_TRACKING_URI", None)
        command = [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth"]
        command += ["--backend-store-uri", self.postgres.uri("mlflow")]
        command += ["--serve-artifacts", "--artifacts-destination", str(self.artifacts)]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,  # its workers are stopped with it
            )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(self.url):
            tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
            assert self.process.poll() is None, "\n".join(tail)
            assert time.monotonic() < deadline, "\n".join(tail)
            time.sleep(0.3)

    def stop(self, *, graceful: bool = True) -> None:
        """Stop the server and its workers: as systemd would (SIGTERM), or at once."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server() -> Iterator[TrackingServer]:
    """PostgreSQL and the MLflow server, for the whole module."""
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="churn-team-"))  # beside /tmp: the postgres user's too
    root.chmod(0o755)
    postgres = Postgres(binaries, root / "pg")
    postgres.root.mkdir()
    tracking = TrackingServer(postgres, root / "mlflow", secrets.token_urlsafe(18))
    tracking.root.mkdir()
    try:
        postgres.start()
        tracking.start()
        yield tracking
    finally:
        tracking.stop(graceful=False)
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def machines(tmp_path_factory) -> dict[str, Path]:
    """Two training machines and a scoring machine: each a project folder holding the same
    exports and churn.toml, and nothing else."""
    root = tmp_path_factory.mktemp("team")
    history = simulate_history(customers=1200, months=15, seed=11, end=dt.date(2025, 11, 1))
    write_history(history, root / "trainer_a" / "exports")
    (root / "trainer_a" / "churn.toml").write_text(CONFIG)
    for other in ("trainer_b", "scorer"):
        shutil.copytree(root / "trainer_a", root / other)
    return {p.name: p for p in root.iterdir()}


@dataclass
class Team:
    """What every machine of the team is given: the server, the credentials, the model key;
    and everything the commands printed, to check no secret ever shows."""

    server: TrackingServer
    key: str = field(default_factory=lambda: secrets.token_hex(32))
    printed: list[str] = field(default_factory=list)

    def env(self, *, password_in_uri: bool = False) -> dict[str, str]:
        """A machine's environment: the credentials as MLflow's variables, or in the URI."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        env["CHURN_MODEL_KEY"] = self.key
        if password_in_uri:
            where = self.server.url.replace("://", f"://admin:{self.server.password}@")
            env["MLFLOW_TRACKING_URI"] = where
        else:
            env["MLFLOW_TRACKING_URI"] = self.server.url
            env["MLFLOW_TRACKING_USERNAME"] = "admin"
            env["MLFLOW_TRACKING_PASSWORD"] = self.server.password
        return env

    def start(self, machine: Path, *args: str, **env_options) -> subprocess.Popen:
        """`churn <args>` on a machine, started."""
        command = [sys.executable, "-m", "pipeline", *args, "--config", "churn.toml"]
        return subprocess.Popen(
            command,
            cwd=machine,
            env=self.env(**env_options),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
        """The command's exit status, stdout and stderr (kept for the secrets check)."""
        out, err = process.communicate(timeout=timeout)
        self.printed += [out, err]
        return process.returncode, out, err

    def churn(self, machine: Path, *args: str, **env_options) -> tuple[int, str, str]:
        """`churn <args>` on a machine, to its end."""
        return self.finish(self.start(machine, *args, **env_options))

    def client(self, monkeypatch):
        """An MLflow client of the server, logged in."""
        from mlflow.tracking import MlflowClient

        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", self.server.password)
        return MlflowClient(tracking_uri=self.server.url, registry_uri=self.server.url)


@pytest.fixture(scope="module")
def team(server) -> Team:
    return Team(server)


def _registry_is_whole(client, name: str) -> list[str]:
    """Every version of the model, after checking that none is half-registered: each is
    READY with its fingerprint and signature."""
    from pipeline.tracking import DIGEST_TAG
    from pipeline.tracking.signing import SIGNATURE_TAG

    versions = client.search_model_versions(f"name = '{name}'")
    for version in versions:
        assert version.status == "READY", version
        assert {DIGEST_TAG, SIGNATURE_TAG} <= set(version.tags), version
    return sorted(str(v.version) for v in versions)


def test_two_trainings_at_once_then_promotion_a_nightly_score_elsewhere_and_the_report(
    team, machines, monkeypatch
):
    """Two team members train at once against the server; both versions land whole. One is
    promoted by hand; the scoring machine, given only the server, the credentials (in its
    URI, as one trainer's) and the model key, scores with it and writes the report."""
    started = [
        team.start(machines["trainer_a"], "-q", "train"),
        team.start(machines["trainer_b"], "train", password_in_uri=True),
    ]
    finished = [team.finish(process) for process in started]
    for code, _, err in finished:
        assert code == 0 and "Traceback" not in err, err
    # the runs' address is the server's own UI, without the credentials it was given
    assert f"runs: {team.server.url}/#/experiments/" in finished[1][1]
    client = team.client(monkeypatch)
    assert _registry_is_whole(client, "team-churn") == ["1", "2"]
    runs = {client.get_model_version("team-churn", v).run_id for v in ("1", "2")}
    assert len(runs) == 2 and {client.get_run(r).info.status for r in runs} == {"FINISHED"}
    champion = client.get_model_version_by_alias("team-churn", "champion").version
    other = "1" if champion == "2" else "2"

    code, out, err = team.churn(machines["trainer_a"], "promote", other, "--reason", "drill")
    assert code == 0, err
    assert f"@champion moved from v{champion} to v{other}: drill" in out
    assert client.get_model_version_by_alias("team-churn", "champion").version == other

    scorer = machines["scorer"]
    code, out, err = team.churn(scorer, "score", password_in_uri=True)
    assert code == 0 and "Traceback" not in err, err
    folder = scorer / "outputs" / "at_risk" / "as_of=2025-11-01"
    manifest = pd.read_json(folder / "manifest.json", typ="series")
    assert manifest["model"]["version"] == other
    assert len(pd.read_parquet(folder / "at_risk.parquet")) > 0
    code, out, err = team.churn(scorer, "-q", "report", password_in_uri=True)
    assert code == 0 and "Traceback" not in err, err
    assert (scorer / "outputs" / "reports" / "as_of=2025-11-01" / "report.html").exists()

    # everything went to the server: no local store, no key file, the models proxied to the
    # server's artifact folder
    for machine in machines.values():
        assert not (machine / "mlruns").exists() and not (machine / ".churn" / "model.key").exists()
    assert len(list(team.server.artifacts.rglob("python_model.pkl"))) == 2
    scoring = client.get_experiment_by_name("churn-scoring")
    assert client.search_runs([scoring.experiment_id])[0].data.tags["model.version"] == other


def test_a_server_restart_mid_training_is_one_line_and_leaves_nothing_half_registered(
    team, machines, monkeypatch
):
    """The server stops while a training logs its run: the training ends with one line and
    the fault status; once the server is back, every version is whole and the champion has
    not moved."""
    client = team.client(monkeypatch)
    experiment = client.get_experiment_by_name("churn")
    before = {r.info.run_id for r in client.search_runs([experiment.experiment_id])}
    champion = client.get_model_version_by_alias("team-churn", "champion").version
    training = team.start(machines["trainer_a"], "-q", "train")
    deadline = time.monotonic() + 240
    while not [
        r for r in client.search_runs([experiment.experiment_id]) if r.info.run_id not in before
    ]:
        assert training.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    team.server.stop()
    try:
        code, out, err = team.finish(training)
    finally:
        team.server.start()
    problems = [line for line in err.splitlines() if not line.startswith("warning:")]
    assert code == EXIT_FAULT and len(problems) == 1, err
    assert "tracking server unreachable" in err and "Traceback" not in err, err
    _registry_is_whole(client, "team-churn")
    assert client.get_model_version_by_alias("team-churn", "champion").version == champion


def test_the_password_and_the_model_key_are_never_printed_or_written(team, machines):
    """Not in any command's output, not in any file on the machines, not in the artifacts."""
    assert team.printed, "runs after the team's commands"
    secrets_ = (team.server.password, team.key)
    for text in team.printed:
        assert not any(s in text for s in secrets_)
    written = [p for m in machines.values() for p in m.rglob("*") if p.is_file()]
    written += [p for p in team.server.artifacts.rglob("*") if p.is_file()]
    for path in written:
        content = path.read_bytes()
        assert not any(s.encode() in content for s in secrets_), path
