"""Configuration mistakes are refused on load with one line naming the key and what is allowed."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from features.errors import ConfigError
from pipeline.cli import main
from pipeline.config import known_topics, load_config

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path, text: str):
    path = tmp_path / "churn.toml"
    path.write_text(text)
    return load_config(path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[scoring]\nhigh_threshold = 0.1\nmedium_threshold = 0.3\n",
            "medium_threshold 0.3 must be below high_threshold 0.1",
        ),
        ('[scoring]\nhigh_threshold = "high"\n', "high_threshold = 'high': must be a number"),
        ("[scoring]\nhigh_threshold = 1.5\n", "must be a number in (0, 1]"),
        (
            '[scoring]\ncapacity_rank_by = "value"\n',
            "capacity_rank_by = 'value': allowed: 'revenue', 'probability'",
        ),
        ('[scoring]\ncapacity_rank_by = "probabilty"\n', "(did you mean 'probability'?)"),
        ("[scoring]\ncapacity = -5\n", "capacity = -5: must be a whole number >= 0"),
        (
            "[scoring]\nhigh_multiple = 2\nmedium_multiple = 3\n",
            "medium_multiple 3 must be below high_multiple 2",
        ),
        ("[scoring]\ncapacity = 2.5\n", "capacity = 2.5: must be a whole number"),
        ("[scoring]\ncontact_floor = 2\n", "contact_floor = 2: must be a number in [0, 1]"),
        ('[churn]\nhorizon_days = "30"\n', "[churn] horizon_days = '30': must be a whole number"),
        ('[churn]\nkind = "inactive"\n', "(did you mean 'inactivity'?)"),
        ('[churn]\ninactivity_sources = ["support"]\n', "'support' is not one of"),
        ('[training]\ncalibration = "platt"\n', "calibration = 'platt': allowed: 'sigmoid'"),
        ("[features]\ntop_event_types = -3\n", "top_event_types = -3: must be a whole number"),
        ("[training]\ncutoffs = 0\n", "cutoffs = 0: must be a whole number from 3 to 600"),
        ("[training]\ntest_cutoffs = 0\n", "test_cutoffs = 0: must be a whole number from 1"),
        ("[training]\nmemory_gb = 0\n", "memory_gb = 0: must be a number in (0, 100000]"),
        ('[training]\nmemory_gb = "8G"\n', "memory_gb = '8G': must be a number"),
        ("[training]\nnegative_rate = 0\n", "negative_rate = 0: must be a number in (0, 1]"),
        ("[training]\nnegative_rate = 1.5\n", "negative_rate = 1.5: must be a number in (0, 1]"),
        (
            "[training]\ncutoffs = 4\ntest_cutoffs = 3\nvalid_cutoffs = 2\n",
            "cutoffs = 4: must be at least test_cutoffs + valid_cutoffs + 1 = 6",
        ),
        ('[model]\npromote_metric = "auc"\n', "promote_metric = 'auc': allowed: 'roc_auc'"),
        ('[model]\nalias = "latest"\n', "alias = 'latest': reserved by MLflow"),
        ('[features]\ncurrency = "pounds"\n', "a 3-letter currency code"),
        ("[training]\nhorizon_days = 30\n", "horizon_days unknown key; known: backtest_folds"),
        ("[churn]\nhorizon_day = 30\n", "horizon_day unknown key (did you mean 'horizon_days'?)"),
        (
            '[plays.by_topic]\n"payment problem" = "call"\n',
            "'payment problem' is not a reason topic (did you mean 'payment problems'?)",
        ),
        ('[plays]\nlow_tier = ""\n', "low_tier must be a non-empty play name"),
        ('[engine]\nbackend = "sparc"\n', "backend = 'sparc': allowed: 'duckdb', 'spark' (did"),
        ('[engine]\nmaster = ""\n', "[engine] master = '': not a Spark master; allowed: local"),
        ('[engine]\nmaster = "spark:/h:7077"\n', "master = 'spark:/h:7077': not a Spark master"),
        ('[engine]\nmaster = "mesos://h:5050"\n', "master = 'mesos://h:5050': not a Spark"),
        (
            '[engine.conf]\n"spark.executor.memory" = "4 GB"\n',
            "[engine] conf \"spark.executor.memory\" = '4 GB': not a size",
        ),
        (
            '[engine.conf]\n"spark.sql.shuffle.partitions" = "many"\n',
            "[engine] conf \"spark.sql.shuffle.partitions\" = 'many': must be a whole number",
        ),
        ('[engine]\nconf = "x"\n', "[engine] conf = 'x': must be a table of Spark settings"),
        ("[engine]\nconf = { a = [1] }\n", "conf = {'a': [1]}: a = [1]: must be a text, a number"),
        ('[engine]\nmastr = "yarn"\n', "[engine] mastr unknown key (did you mean 'master'?)"),
        (
            '[contact]\nrank_by = "uplfit"\n',
            "[contact] rank_by = 'uplfit': allowed: 'risk', 'uplift' (did you mean 'uplift'?)",
        ),
        ("[contact]\nuplift_min_graded = 0\n", "[contact] uplift_min_graded = 0: must be a whole"),
        ('[engin]\nbackend = "spark"\n', "unknown section [engin] (did you mean 'engine'?)"),
        (
            '[tables.customers.profile]\ncategorical = ["plan"]\nactionable = ["country"]\n',
            "actionable names ['country'], which are not profile columns ['plan']",
        ),
    ],
)
def test_bad_settings_are_refused_on_load(tmp_path, toml, message):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, toml)
    line = str(error.value)
    assert message in line, line
    assert "\n" not in line and "churn.toml" in line


def test_the_cli_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "churn.toml").write_text("[scoring]\nhigh_threshold = 0.05\n")
    assert main(["score", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "high_threshold and medium_threshold: set both" in err[0]


def test_an_unknown_contact_ranking_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "churn.toml").write_text('[contact]\nrank_by = "saves"\n')
    assert main(["score", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[contact] rank_by = 'saves': allowed: 'risk', 'uplift'" in err[0]


def test_the_contact_set_is_ranked_by_risk_unless_asked(tmp_path):
    assert load_config(ROOT / "churn.toml").contact.rank_by == "risk"
    asked = _load(tmp_path, '[contact]\nrank_by = "uplift"\nuplift_min_graded = 50\n').contact
    assert (asked.rank_by, asked.uplift_min_graded) == ("uplift", 50)


def test_a_negative_capacity_on_the_command_line_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["score", "--capacity", "-5"])
    assert stop.value.code == 2
    assert "must be 0 or more, not -5" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[training]\nmemory_gb = -1\n", "[training] memory_gb = -1: must be a number in (0,"),
        ("[training]\nnegative_rate = 0\n", "[training] negative_rate = 0: must be a number in"),
    ],
)
def test_a_bad_memory_budget_or_rate_exits_2_with_one_line(tmp_path, capsys, toml, message):
    (tmp_path / "churn.toml").write_text(toml)
    assert main(["train", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_memory_budget_and_rate_default_to_automatic_and_read_a_number(tmp_path):
    assert load_config(ROOT / "churn.toml").training.memory_gb is None
    training = _load(tmp_path, "[training]\nmemory_gb = 2\nnegative_rate = 0.25\n").training
    assert (training.memory_gb, training.negative_rate) == (2.0, 0.25)


def test_plays_table_adds_to_and_replaces_the_defaults(tmp_path):
    config = _load(
        tmp_path,
        '[tables.customers.profile]\ncategorical = ["plan"]\n'
        '[plays.by_topic]\nplan = "plan review"\nusage = "usage call"\nadoption = ""\n',
    )
    assert config.plays.by_topic["plan"] == "plan review"
    assert config.plays.by_topic["usage"] == "usage call"
    assert "adoption" not in config.plays.by_topic  # an empty play switches a topic off
    assert config.plays.by_topic["payment problems"] == "billing follow-up"


def test_every_default_play_topic_is_a_topic_reasons_can_have():
    config = load_config(ROOT / "churn.toml")
    topics = known_topics(config.exports.profile, config.features)
    assert set(config.plays.by_topic) <= set(topics)


def test_every_mistake_is_reported_at_once_one_line_each(tmp_path):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, '[churn]\nhorizon_days = 0\n[training]\ncalibration = "platt"\n')
    lines = [p.line() for p in error.value.problems]
    assert len(lines) == 2
    assert "[churn] horizon_days" in lines[1] or "[churn] horizon_days" in lines[0]


def test_promotion_follows_each_metric_direction():
    from models.promotion import promotion_decision

    assert promotion_decision(0.30, 0.25, "log_loss")[0] is False  # lower log loss is better
    assert promotion_decision(0.20, 0.25, "log_loss")[0] is True
    assert promotion_decision(0.80, 0.75, "roc_auc")[0] is True
    assert promotion_decision(0.01, 0.02, "ece")[0] is True


def test_a_config_error_is_reported_before_any_work(tmp_path):
    """No engine, learner or tracking library is even imported: the answer comes at once
    (measured 0.6 s for `import pipeline.config` on the reference machine, the whole command
    about 1 s), not after minutes of training."""
    import subprocess
    import sys

    (tmp_path / "churn.toml").write_text('[training]\ncalibration = "platt"\n')
    probe = (
        "import sys; from pipeline.cli import main; code = main(['train', '--config', "
        f"{str(tmp_path / 'churn.toml')!r}]); "
        "print(sorted(m for m in ('lightgbm', 'mlflow', 'duckdb', 'sklearn') if m in sys.modules));"
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("calibration = 'platt': allowed: 'sigmoid', 'isotonic'")
    assert "Traceback" not in done.stderr
    assert done.stdout.strip() == "[]"


def test_an_unknown_section_gets_a_suggestion(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown section \[scorring\] \(did you mean 'scoring'"):
        _load(tmp_path, "[scorring]\ncapacity = 3\n")


def test_help_points_to_the_exit_status_table_which_lists_every_status(capsys):
    from features import errors

    with pytest.raises(SystemExit):
        main(["--help"])
    assert "docs/exit-codes.md" in capsys.readouterr().out
    table = (ROOT / "docs" / "exit-codes.md").read_text()
    for code in (errors.EXIT_OK, errors.EXIT_BAD_INPUT, errors.EXIT_REFUSED, errors.EXIT_FAULT):
        assert f"\n| {code} |" in table
    assert errors.Refusal.exit_code == 3 and errors.Fault.exit_code == 4
    assert errors.ConfigError.exit_code == errors.DataError.exit_code == 2


def test_duplicate_tolerance_defaults_to_one_percent_and_a_table_may_override_it(tmp_path):
    config = _load(tmp_path, '[data]\ndir = "x"\n[tables.engagement]\nmax_duplicate_share = 0.05\n')
    assert config.exports.duplicate_share("purchases") == 0.01
    assert config.exports.duplicate_share("engagement") == 0.05


def test_export_wide_duplicate_tolerance_applies_to_tables_without_their_own(tmp_path):
    config = _load(tmp_path, '[data]\ndir = "x"\nmax_duplicate_share = 0\n')
    assert config.exports.duplicate_share("support") == 0.0


def test_export_settings_are_read_per_table(tmp_path):
    config = _load(
        tmp_path,
        '[data]\ndir = "x"\nas_of = 2026-01-31\n'
        '[tables.purchases]\nfile = "orders.csv"\ndecimal = ","\ndelimiter = ";"\n'
        '[tables.purchases.timestamps]\ntimestamp = "%d/%m/%Y %H:%M"\n'
        '[tables.purchases.columns]\ncustomer_id = "client"\n',
    )
    purchases = config.exports.tables["purchases"]
    assert purchases.decimal == "," and purchases.delimiter == ";"
    assert purchases.timestamp_formats == {"timestamp": "%d/%m/%Y %H:%M"}
    assert purchases.source_column("customer_id") == "client"
    assert config.as_of.isoformat() == "2026-01-31"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param('[tables.purchases]\ndecimal = ";"\n', "'auto', '.', ','", id="decimal"),
        pytest.param("[data]\nmax_duplicate_share = 5\n", "in [0, 1]", id="share-above-one"),
        pytest.param('[data]\nmax_orphan_share = "1%"\n', "max_orphan_share", id="share-as-text"),
        pytest.param(
            "[tables.support]\nmax_duplicate_share = -0.1\n",
            "[tables.support] max_duplicate_share",
            id="table-share-negative",
        ),
        pytest.param('[data]\nas_of = "yesterday"\n', "as_of = 'yesterday'", id="as-of"),
        pytest.param('[data]\nallow_outside = "yes"\n', "must be true or false", id="flag"),
        pytest.param('[data]\ncach_dir = "c"\n', "(did you mean 'cache_dir'?)", id="data-typo"),
        pytest.param('[tables.purchase]\nfile = "p.csv"\n', "(did you mean 'purchases'?)", id="t"),
        pytest.param('[tables.purchases]\ndelimiter = ";;"\n', "one character", id="delimiter"),
        pytest.param(
            '[tables.purchases.timestamps]\ntimestamp = "dd/mm/yyyy"\n', "strptime pattern", id="ts"
        ),
        pytest.param(
            '[tables.purchases.columns]\ncustomer = "client"\n',
            "(did you mean 'customer_id'?)",
            id="column",
        ),
        pytest.param(
            '[tables.purchases]\nfile = "../../../../etc/passwd"\n',
            "lies outside the data folder",
            id="outside",
        ),
        pytest.param(
            '[tables.purchases]\nfile = "/etc/passwd"\n', "allow_outside = true", id="absolute"
        ),
    ],
)
def test_bad_export_settings_are_config_errors_naming_the_key(tmp_path, text, named):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert named in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value) and "root:" not in str(caught.value)


def test_a_file_outside_the_data_folder_is_read_only_when_allowed(tmp_path):
    config = _load(
        tmp_path, '[data]\nallow_outside = true\n[tables.purchases]\nfile = "../p.csv"\n'
    )
    assert config.exports.tables["purchases"].file == "../p.csv"
    one = _load(tmp_path, '[tables.purchases]\nfile = "../p.csv"\nallow_outside = true\n')
    assert one.exports.tables["purchases"].file == "../p.csv"
    inside = _load(tmp_path, '[tables.purchases]\nfile = "exports/../p.csv"\n')
    assert inside.exports.tables["purchases"].file == "exports/../p.csv"


def test_cross_key_rules_are_reported_beside_other_mistakes_in_the_section(tmp_path):
    with pytest.raises(ConfigError) as error:
        _load(
            tmp_path,
            "[scoring]\nhigh_threshold = 0.05\nmedium_threshold = 0.3\n"
            'capacity_rank_by = "value"\n',
        )
    lines = [p.line() for p in error.value.problems]
    assert len(lines) == 2, lines
    assert any("medium_threshold 0.3 must be below high_threshold 0.05" in line for line in lines)


def test_the_engine_defaults_to_duckdb_and_spark_conf_values_are_read_as_text(tmp_path):
    assert load_config(ROOT / "churn.toml").engine.backend == "duckdb"
    engine = _load(
        tmp_path,
        '[engine]\nmaster = "yarn"\n[engine.conf]\n"spark.sql.shuffle.partitions" = 64\n'
        '"spark.sql.adaptive.enabled" = true\n"spark.executor.memory" = "4g"\n',
    ).engine
    assert engine.master == "yarn"
    assert engine.conf == {
        "spark.sql.shuffle.partitions": "64",
        "spark.sql.adaptive.enabled": "true",
        "spark.executor.memory": "4g",
    }


def test_choosing_spark_without_pyspark_names_the_extra_and_exits_2(tmp_path, capsys, monkeypatch):
    import features.engines

    monkeypatch.setattr(features.engines, "spark_installed", lambda: False)
    (tmp_path / "churn.toml").write_text('[engine]\nbackend = "spark"\n')
    assert main(["train", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "[engine] backend = 'spark' needs pyspark" in err[0]
    assert "pip install '.[spark]'" in err[0]


def test_validate_on_the_default_engine_never_imports_pyspark(export_dir):
    """pyspark is an optional extra that takes seconds to load: the default engine leaves it
    alone even where it is installed."""
    import subprocess
    import sys

    probe = (
        "import sys; from pipeline.cli import main; code = main(['-q', 'validate', '--config', "
        f"{str(export_dir / 'churn.toml')!r}]); "
        "print('pyspark' in sys.modules); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_link_inside_the_data_folder_to_a_file_elsewhere_counts_as_outside(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.csv").write_text("customer_id\n")
    (tmp_path / "data" / "purchases.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(ConfigError, match="lies outside the data folder"):
        _load(tmp_path, '[data]\ndir = "data"\n[tables.purchases]\nfile = "purchases.csv"\n')


URI_CONFIG = """
[data]
dir = "s3://bucket/exports/"
cache_dir = "gs://bucket/typed"
[tables.engagement]
file = "abfss://events@account.dfs.core.windows.net/engagement"
[tables.purchases]
file = "../elsewhere/purchases.parquet"
"""


def test_object_store_paths_are_kept_as_written_on_spark(tmp_path):
    pytest.importorskip("pyspark")
    config = _load(tmp_path, URI_CONFIG + '[engine]\nbackend = "spark"\n')
    assert config.exports.directory == "s3://bucket/exports/"
    assert config.cache_dir == "gs://bucket/typed"
    engagement = config.exports.tables["engagement"].file
    assert engagement == "abfss://events@account.dfs.core.windows.net/engagement"
    # a relative file under a bucket is not "outside" a local folder: the bucket decides
    assert config.exports.tables["purchases"].file == "../elsewhere/purchases.parquet"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[data]\ndir = "s3a://bucket/exports"\n', "[data] dir = 's3a://bucket/exports'"),
        ('[data]\ncache_dir = "dbfs:/typed"\n', "[data] cache_dir = 'dbfs:/typed'"),
        ('[tables.customers]\nfile = "file:///tmp/c.csv"\n', "[tables.customers] file ="),
    ],
)
def test_object_store_paths_on_duckdb_are_refused_with_one_line(tmp_path, capsys, toml, key):
    (tmp_path / "churn.toml").write_text(toml)
    assert main(["validate", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert key in err[0]
    assert 'object-store paths need [engine] backend = "spark"' in err[0]


def test_every_bad_spark_setting_is_its_own_line_naming_the_file(tmp_path, capsys):
    (tmp_path / "churn.toml").write_text(
        '[engine]\nbackend = "spark"\n[engine.conf]\n"spark.driver.memory" = "2 g"\n'
        '"spark.executor.cores" = "four"\n"spark.sql.adaptive.enabled" = "yes"\n'
    )
    assert main(["train", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": [engine] conf ")[1].split(" = ")[0] for line in err] == [
        '"spark.driver.memory"',
        '"spark.executor.cores"',
        '"spark.sql.adaptive.enabled"',
    ]
    assert all(line.startswith(f"error: {tmp_path / 'churn.toml'}: ") for line in err)


def _no_spark_running(monkeypatch) -> list[str]:
    """pyspark sees no session in this process (the suite's own may be running), and
    building one records it instead of starting a JVM; returns the record."""
    pytest.importorskip("pyspark")
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    built: list[str] = []
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", lambda self: built.append("jvm"))
    return built


def test_a_standalone_master_that_does_not_answer_is_refused_at_once(
    export_dir, capsys, monkeypatch
):
    """Spark would retry for about 70 s and end in a stack trace: asked first, the master's
    silence is one line within seconds, and no JVM is started."""
    built = _no_spark_running(monkeypatch)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # released at the end of the block: nothing listens
    config = export_dir / "churn.toml"
    config.write_text(
        config.read_text() + f'[engine]\nbackend = "spark"\nmaster = "spark://127.0.0.1:{port}"\n'
    )
    started = time.monotonic()
    assert main(["validate", "--config", str(config)]) == 4
    assert time.monotonic() - started < 10
    assert built == []
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: [engine] master: 'spark://127.0.0.1:{port}': no Spark master answers at "
        f"127.0.0.1:{port} (connection refused); check the address and that the master is "
        "running"
    ]


def test_a_spark_session_that_does_not_start_is_one_line(export_dir, capsys, monkeypatch):
    _no_spark_running(monkeypatch)
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    def no_java(self):
        raise PySparkRuntimeError(errorClass="JAVA_GATEWAY_EXITED", messageParameters={})

    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", no_java)
    config = export_dir / "churn.toml"
    config.write_text(config.read_text() + '[engine]\nbackend = "spark"\n')
    assert main(["validate", "--config", str(config)]) == 4
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: [engine] master: 'local[2]': Spark did not start ([JAVA_GATEWAY_EXITED] Java "
        "gateway process exited before sending its port number.)"
    ]


def test_a_config_that_is_not_utf8_or_is_a_folder_is_one_line(tmp_path, capsys):
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[data]\ndir = "données"\n'.encode("latin-1"))
    assert main(["validate", "--config", str(latin)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {latin}: not UTF-8 text (byte 0xe9 at position 18): save the file as UTF-8"
    ]
    folder = tmp_path / "configs"
    folder.mkdir()
    assert main(["validate", "--config", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a folder, not a configuration file" in err[0]


def test_an_unreadable_config_is_one_line(tmp_path, capsys, monkeypatch):
    config = tmp_path / "churn.toml"
    config.write_text("[scoring]\ncapacity = 10\n")
    config.chmod(0)
    if os.access(config, os.R_OK):  # the superuser reads it anyway: have the read refused
        read_bytes = Path.read_bytes

        def refused(path: Path) -> bytes:
            if path == config:
                raise PermissionError(13, "Permission denied")
            return read_bytes(path)

        monkeypatch.setattr(Path, "read_bytes", refused)
    assert main(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {config}: cannot be read (Permission denied)"]


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Windows editors may begin UTF-8 with a byte order mark, which TOML does not allow."""
    path = tmp_path / "churn.toml"
    path.write_bytes("\ufeff[scoring]\ncapacity = 10\n".encode())
    assert load_config(path).scoring.capacity == 10
