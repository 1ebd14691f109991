"""What running a job produced (kept apart from kernel.py, which imports Jupyter)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nbformat import NotebookNode

from execbook.execute.jobs import Job


@dataclass
class CellError:
    line: int  # fence line of the cell in the page
    ename: str
    evalue: str


@dataclass
class JobResult:
    job: Job
    status: str  # ok | error | timeout | dead | cached | interrupted
    notebook: NotebookNode | None
    worker: str = ""
    start: float = 0.0  # seconds since the execution phase began
    duration: float = 0.0
    errors: list[CellError] = field(default_factory=list)
    message: str = ""
