"""Configuration: the export settings are read, defaulted and checked on entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import ConfigError
from pipeline.config import load_config


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "churn.toml"
    path.write_text(text)
    return path


def test_duplicate_tolerance_defaults_to_one_percent_and_a_table_may_override_it(tmp_path):
    config = load_config(
        _config(tmp_path, '[data]\ndir = "x"\n[tables.engagement]\nmax_duplicate_share = 0.05\n')
    )
    assert config.exports.duplicate_share("purchases") == 0.01
    assert config.exports.duplicate_share("engagement") == 0.05


def test_export_wide_duplicate_tolerance_applies_to_tables_without_their_own(tmp_path):
    config = load_config(_config(tmp_path, '[data]\ndir = "x"\nmax_duplicate_share = 0\n'))
    assert config.exports.duplicate_share("support") == 0.0


def test_decimal_mark_is_read_per_table(tmp_path):
    text = '[data]\ndir = "x"\n[tables.purchases]\ndecimal = ","\n'
    config = load_config(_config(tmp_path, text))
    assert config.exports.tables["purchases"].decimal == ","


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param('[tables.purchases]\ndecimal = ";"\n', "'auto', '.', ','", id="decimal"),
        pytest.param("[data]\nmax_duplicate_share = 5\n", "from 0 to 1", id="share-above-one"),
        pytest.param('[data]\nmax_orphan_share = "1%"\n', "max_orphan_share", id="share-as-text"),
        pytest.param(
            "[tables.support]\nmax_duplicate_share = -0.1\n",
            "[tables.support] max_duplicate_share",
            id="table-share-negative",
        ),
    ],
)
def test_bad_export_settings_are_config_errors_naming_the_key(tmp_path, text, named):
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, text))
    assert named in str(caught.value)
