"""Wall time per stage of a step, for summaries, manifests and run metrics, and the stage
lines the terminal shows (pipeline/progress.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.progress import SILENT, Progress

log = logging.getLogger(__name__)


class Timer:
    """Collects the wall time of named stages, in the order they ran, and reports each stage
    to `progress` as it starts and ends."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.progress = progress or SILENT
        # epoch seconds when the command began: its MLflow run starts then, so the UI's
        # duration is the wait the user had, imports and all
        self.started = progress.started if progress is not None else time.time()

    @contextmanager
    def __call__(self, stage: str, doing: str = "") -> Iterator[None]:
        start = time.perf_counter()
        self.progress.begin(stage, doing)
        log.info("%s started", stage)
        try:
            yield
        except BaseException:
            self.progress.abandon()
            raise
        self.seconds[stage] = round(time.perf_counter() - start, 3)
        self.progress.end(self.seconds[stage])  # the stage line says it is done, and when
