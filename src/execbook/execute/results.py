"""What running a job produced (kept apart from kernel.py, which imports Jupyter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from nbformat import NotebookNode

from execbook.execute.jobs import Job


class Status(str, Enum):
    """How a job ended. The values are text: report.json and the cached
    notebook's metadata hold them, and a plain "ok" compares equal."""

    OK = "ok"  # every cell ran; none raised (or raising was allowed)
    ERROR = "error"  # a cell raised; the cells after it ran
    TIMEOUT = "timeout"  # a cell ran past the timeout and was stopped
    DEAD = "dead"  # the kernel died, or never started
    INTERRUPTED = "interrupted"  # the build was stopped (Ctrl-C, SIGTERM)
    CACHED = "cached"  # not run: its outputs came from the cache (reports only)

    def __str__(self) -> str:
        return self.value

    @property
    def final(self) -> bool:
        """Its outputs are kept in the cache for good; any other status runs again next build."""
        return self in (Status.OK, Status.ERROR)

    @property
    def good(self) -> bool:
        return self in (Status.OK, Status.CACHED)


@dataclass
class CellError:
    line: int  # fence line of the cell in the page
    ename: str
    evalue: str


@dataclass
class JobResult:
    job: Job
    status: Status
    notebook: NotebookNode | None
    worker: str = ""
    start: float = 0.0  # seconds since the execution phase began
    duration: float = 0.0
    errors: list[CellError] = field(default_factory=list)
    message: str = ""


def cell_errors(notebook: NotebookNode) -> list[CellError]:
    """Every error output of an executed notebook, at its cell's line in the page (0: unknown)."""
    errors = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                line = cell.metadata.get("execbook", {}).get("line", 0)
                errors.append(CellError(line, output.get("ename", "Error"), output.get("evalue", "")))
    return errors
