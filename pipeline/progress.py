"""What a step shows while it runs, on stderr: one line per stage with its elapsed time, and
progress bars for the long parts (boosting rounds, backtest folds, the hyperparameter search).

On a terminal the running stage's line is redrawn in place, with its bars; written to a file
or a pipe (cron, `| tee`), only finished stages appear, one line each, without control
characters; `quiet` writes nothing. The models report through a plain callback, `update(task,
done, total)`, so they never print.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 20
STAGE_WIDTH = 16  # the longest stage name (rank_and_reasons): the times line up in a column
REDRAW_SECONDS = 0.1  # at most ten redraws a second: LightGBM reports every boosting round


def bar(done: int | float, total: int | float | None) -> str:
    """`[#####-----] 25/100`, or just the count when the total is not known."""
    if not total:
        return f"{done:,.0f}"
    filled = round(BAR_WIDTH * min(max(done / total, 0.0), 1.0))
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done:,.0f}/{total:,.0f}"


class Progress:
    """Stage lines and bars of one step (`train`, `score`, `report`)."""

    def __init__(
        self,
        step: str,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
    ) -> None:
        self.step = step
        self.started = time.time() if started is None else started  # epoch s: the command began
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = _is_terminal(self.stream) if live is None else live
        self._clock = clock
        self._stage: str | None = None
        self._doing = ""
        self._began = 0.0
        self._tasks: dict[str, str] = {}
        self._drawn_at = -REDRAW_SECONDS

    def begin(self, stage: str, doing: str) -> None:
        """A stage starts: on a terminal its line appears at once."""
        self._stage, self._doing, self._began = stage, doing, self._clock()
        self._tasks = {}
        self._draw(force=True)

    def update(self, task: str, done: int | float, total: int | float | None = None) -> None:
        """Progress of a long part of the running stage (the callback the models receive)."""
        self._tasks[task] = f"{task} {bar(done, total)}"
        self._draw(force=done == total)

    def end(self, seconds: float) -> None:
        """The stage finished: its line with the elapsed time, kept."""
        if self.quiet or self._stage is None:
            return
        prefix = "\r\x1b[K" if self.live else ""
        self.stream.write(prefix + self.line(seconds) + "\n")
        self.stream.flush()
        self._stage = None

    def abandon(self) -> None:
        """The stage failed: its live line is cleared so the error reads on its own."""
        if self.live and not self.quiet and self._stage is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._stage = None

    def line(self, seconds: float, tasks: tuple[str, ...] = ()) -> str:
        """`[train] features          4.5 s  point-in-time features ...`, with the running
        tasks' bars before the words (a line too wide for the terminal loses words first)."""
        text = "  |  ".join(
            [f"[{self.step}] {self._stage:<{STAGE_WIDTH}} {seconds:6.1f} s", *tasks]
        )
        return f"{text}  {self._doing}" if self._doing else text

    def _draw(self, *, force: bool) -> None:
        if self.quiet or not self.live or self._stage is None:
            return
        now = self._clock()
        if not force and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        text = self.line(now - self._began, tuple(self._tasks.values()))
        width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be redrawn
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-less stream is no terminal
        return False


SILENT = Progress("", quiet=True, live=False)
"""For callers that show nothing (tests, library use)."""
