"""Seeing the build: a live panel on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from sphinx.util import logging

from execbook.execute.jobs import Job
from execbook.execute.results import JobResult, Status

logger = logging.getLogger(__name__)


class Progress:
    """Done/total and the running jobs (page, framework, worker, elapsed)."""

    def __init__(self, total: int, workers: int, live: bool | None = None):
        self.total, self.done, self.failed = total, 0, 0
        self.running: dict[str, tuple[Job, float]] = {}  # worker -> (job, started)
        self.lock = threading.Lock()
        self.live_display: Any = None
        if live is None:
            live = sys.stderr.isatty()
        if live:
            from rich.console import Console
            from rich.live import Live

            self.live_display = Live(self.render(), console=Console(stderr=True), refresh_per_second=4, transient=True)
        logger.info(f"execbook: running {total} job(s) on {workers} worker(s)")

    def __enter__(self) -> Progress:
        if self.live_display is not None:
            self.live_display.__enter__()
            self.live_display.get_renderable = self.render  # refreshes re-render elapsed times
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live_display is not None:
            self.live_display.__exit__(*exc)

    def started(self, job: Job, worker: str) -> None:
        with self.lock:
            self.running[worker] = (job, time.monotonic())

    def finished(self, result: JobResult) -> None:
        with self.lock:
            self.running.pop(result.worker, None)
            self.done += 1
            self.failed += result.status != Status.OK
        line = (
            f"execbook: [{self.done}/{self.total}] {result.job.docname} ({result.job.tab}) {result.status} "
            f"in {result.duration:.1f} s on {result.worker}"
        )
        if self.live_display is not None:
            self.live_display.console.print(line, highlight=False, markup=False)
        else:
            logger.info(line)

    def render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table.grid(padding=(0, 2))
        failed = f", {self.failed} failed" if self.failed else ""
        table.add_row(Text.assemble(("execbook", "bold"), f" {self.done}/{self.total} jobs done{failed}"), "", "")
        now = time.monotonic()
        with self.lock:
            running = sorted(self.running.items())
        for worker, (job, started) in running:
            table.add_row(Text(f"  {worker}"), Text(f"{job.docname} ({job.tab})"), Text(f"{now - started:.0f} s"))
        return table
