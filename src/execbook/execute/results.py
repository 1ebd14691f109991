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


def cell_errors(notebook: NotebookNode) -> list[CellError]:
    """Every error output of an executed notebook, at its cell's line in the page (0: unknown)."""
    errors = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                line = cell.metadata.get("execbook", {}).get("line", 0)
                errors.append(CellError(line, output.get("ename", "Error"), output.get("evalue", "")))
    return errors
