"""Stage lines with elapsed time, bars on a terminal, plain lines in a log, nothing when quiet."""

from __future__ import annotations

import io

import pytest

from pipeline.progress import Progress, bar
from pipeline.timing import Timer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bar_fills_in_proportion_and_counts_without_a_total():
    assert bar(5, 20) == "[#####---------------] 5/20"
    assert bar(30, 20) == "[####################] 30/20"
    assert bar(1234, None) == "1,234"


def test_a_log_gets_one_plain_line_per_finished_stage_and_no_bars():
    stream = io.StringIO()
    timer = Timer(Progress("train", stream=stream, live=False))
    with timer("features", "features for 3 cutoffs"):
        timer.progress.update("boosting round", 10, 3000)
    with timer("training"):
        pass
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[train] features ") and lines[0].endswith("features for 3 cutoffs")
    assert " s" in lines[0] and "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert "boosting" not in stream.getvalue()
    assert set(timer.seconds) == {"features", "training"}


def test_a_terminal_sees_the_stage_at_once_then_bars_redrawn_in_place():
    stream, clock = io.StringIO(), Clock()
    progress = Progress("train", stream=stream, live=True, clock=clock)
    progress.begin("training", "LightGBM")
    assert stream.getvalue().startswith("\r\x1b[K[train] training")
    clock.now += 1.0
    progress.update("backtest fold", 1, 4)
    drawn = stream.getvalue()
    progress.update("backtest fold", 2, 4)  # within a tenth of a second: not redrawn
    assert stream.getvalue() == drawn
    clock.now += 0.5
    progress.update("backtest fold", 2, 4)
    last = stream.getvalue().rsplit("\r\x1b[K", 1)[1]
    assert "backtest fold [##########----------] 2/4" in last and "1.5 s" in last
    progress.end(2.0)
    assert stream.getvalue().endswith("2.0 s  LightGBM\n")


def test_quiet_writes_nothing_and_a_failed_stage_clears_its_line():
    quiet = io.StringIO()
    timer = Timer(Progress("score", stream=quiet, quiet=True, live=True))
    with timer("validate"):
        timer.progress.update("x", 1, 2)
    assert quiet.getvalue() == ""
    live = io.StringIO()
    timer = Timer(Progress("score", stream=live, live=True))
    with pytest.raises(RuntimeError), timer("validate", "exports"):
        raise RuntimeError("bad")
    assert live.getvalue().endswith("\r\x1b[K") and "validate" not in timer.seconds
