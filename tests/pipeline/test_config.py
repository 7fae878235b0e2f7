"""Configuration mistakes are refused on load with one line naming the key and what is allowed."""

from __future__ import annotations

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
            "capacity_rank_by = 'value': allowed ['revenue', 'probability']",
        ),
        ('[scoring]\ncapacity_rank_by = "probabilty"\n', "did you mean 'probability'?"),
        ("[scoring]\ncapacity = -5\n", "capacity = -5: must be >= 0"),
        ("[scoring]\ncapacity = 2.5\n", "capacity = 2.5: must be a whole number"),
        ("[scoring]\ncontact_floor = 2\n", "contact_floor = 2: must be a number in [0, 1]"),
        (
            '[plays.by_topic]\n"payment problem" = "call"\n',
            "'payment problem' is not a reason topic (did you mean 'payment problems'?)",
        ),
        ('[plays]\nlow_tier = ""\n', "low_tier must be a non-empty play name"),
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
    assert message in line and "\n" not in line and "churn.toml" in line


def test_the_cli_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "churn.toml").write_text("[scoring]\nhigh_threshold = 0.05\n")
    assert main(["score", "--config", str(tmp_path / "churn.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "medium_threshold 0.1 must be below high_threshold 0.05" in err[0]


def test_a_negative_capacity_on_the_command_line_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["score", "--capacity", "-5"])
    assert stop.value.code == 2
    assert "must be 0 or more, not -5" in capsys.readouterr().err


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
