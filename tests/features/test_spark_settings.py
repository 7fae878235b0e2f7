"""The Spark engine's settings refused before Spark starts: master URLs of a shape Spark does
not accept, setting values it would fail on, a standalone master that does not answer."""

from __future__ import annotations

import socket
import time

import pytest

from features.constraints import Invalid
from features.engines.spark.conf import conf_problems
from features.engines.spark.master import SparkMaster, standalone_addresses, unanswered


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[*]",
        "local[4]",
        "local[4, 2]",
        "local-cluster[2,1,1024]",
        "spark://10.0.0.5:7077",
        "spark://m1.example.com:7077,m2.example.com:7078",
        "spark://[::1]:7077",
        "yarn",
        "k8s://https://api.example.com:443",
    ],
)
def test_master_shapes_spark_accepts_are_accepted(master):
    assert SparkMaster()(master) == master


@pytest.mark.parametrize(
    ("master", "message"),
    [
        ("spark:/host:7077", "not a Spark master; allowed: local, local[N]"),
        ("spark://host", "not a Spark master"),  # Spark needs the port
        ("mesos://host:5050", "not a Spark master"),
        ("sc://host:15002", "not a Spark master"),
        ("Yarn", "not a Spark master"),
        ("local[two]", "not a Spark master"),
        ("", "not a Spark master"),
        ("local[0]", "at least 1 thread"),
        ("spark://host:70000", "a port is a number from 1 to 65535"),
    ],
)
def test_master_shapes_spark_refuses_are_refused(master, message):
    with pytest.raises(Invalid, match=message.replace("[", r"\[")):
        SparkMaster()(master)


def test_only_standalone_masters_have_addresses_to_ask():
    assert standalone_addresses("spark://a:7077,[::1]:7078") == [("a", 7077), ("::1", 7078)]
    for master in ("local[*]", "yarn", "k8s://https://api:443", "local-cluster[2,1,1024]"):
        assert standalone_addresses(master) == [] and unanswered(master) is None


def test_a_standalone_master_that_does_not_answer_is_named_within_the_timeout():
    port = _closed_port()
    started = time.monotonic()
    assert unanswered(f"spark://127.0.0.1:{port}") == f"127.0.0.1:{port} (connection refused)"
    assert time.monotonic() - started < 3


def test_one_answering_master_of_several_is_enough():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert unanswered(f"spark://127.0.0.1:{_closed_port()},127.0.0.1:{port}") is None


def test_settings_spark_would_fail_on_are_named_one_each():
    conf = {
        "spark.executor.memory": "4 GB",
        "spark.driver.memory": "1.5g",
        "spark.driver.maxResultSize": "4g",
        "spark.executor.memoryOverhead": "512M",
        "spark.sql.shuffle.partitions": "many",
        "spark.executor.instances": "0",
        "spark.executor.cores": "0",
        "spark.memory.fraction": "1.2",
        "spark.sql.adaptive.enabled": "yes",
        "spark.dynamicAllocation.enabled": "TRUE",
        "spark.master": "yarn",
        "spark.some.future.setting": "anything",
        "fs.s3a.endpoint": "http://minio:9000",
    }
    assert conf_problems(conf) == [
        "conf \"spark.executor.memory\" = '4 GB': not a size: a whole number with an optional "
        'unit k, m, g or t, e.g. "4g", "512m"',
        "conf \"spark.driver.memory\" = '1.5g': Spark takes no fractions: a whole number of a "
        'smaller unit, e.g. "1536m"',
        "conf \"spark.sql.shuffle.partitions\" = 'many': must be a whole number >= 1",
        "conf \"spark.executor.cores\" = '0': must be a whole number >= 1",
        "conf \"spark.memory.fraction\" = '1.2': must be a number from 0 to 1",
        "conf \"spark.sql.adaptive.enabled\" = 'yes': must be true or false",
        "conf \"spark.master\" = 'yarn': set by [engine] master (or spark-submit's --master), "
        "not in [engine.conf]",
    ]
