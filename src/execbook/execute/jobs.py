"""A page's code for one framework, as a job with a content-addressed key."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field, replace

import nbformat
from nbformat import NotebookNode

from execbook.source.document import CodeCell, Document

KEY_VERSION = 1  # bump when the way outputs are produced changes
OUTPUT_LIMIT = 100_000  # the default of execbook_output_limit


@dataclass(frozen=True)
class JobCell:
    index: int  # the cell's position in the Document
    line: int  # its fence line in the page, for messages
    source: str


@dataclass(frozen=True)
class ExecOptions:
    """Everything besides code that changes a notebook's outputs."""

    timeout: int = 1200
    allow_errors: bool = True
    output_limit: int = OUTPUT_LIMIT  # characters kept of each stream of a cell

    def as_dict(self) -> dict[str, object]:
        options: dict[str, object] = {"timeout": self.timeout, "allow_errors": self.allow_errors}
        if self.output_limit != OUTPUT_LIMIT:  # only when set, so caches from before the option stay valid
            options["output_limit"] = self.output_limit
        return options


@dataclass(frozen=True)
class Job:
    docname: str
    path: str  # the page's file, relative to the book (for messages)
    tab: str
    kernel: str
    cells: tuple[JobCell, ...]
    options: ExecOptions = field(default_factory=ExecOptions)
    library_digest: str = ""  # sha256 of the library code this job uses ("" when it imports none)

    @property
    def id(self) -> str:
        return f"{self.docname}|{self.tab}"

    @property
    def workdir(self) -> str:
        """The page's folder, relative to the book: where its code runs."""
        return posixpath.dirname(self.docname)

    @property
    def key(self) -> str:
        return job_key(
            self.kernel, [cell.source for cell in self.cells], self.options, self.workdir, self.library_digest
        )


def job_key(kernel: str, sources: list[str], options: ExecOptions, workdir: str, extra: str = "") -> str:
    """The hash of exactly what a job's outputs depend on.

    Not the page's prose, not other frameworks' code, not line numbers: moving
    a cell or editing text around it keeps the key. The working folder is in
    it because code reads files relative to it.
    """
    payload = {
        "v": KEY_VERSION,
        "kernel": kernel,
        "options": options.as_dict(),
        "cells": sources,
        "workdir": workdir,
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def jobs_for(docname: str, path: str, doc: Document, kernels: dict[str, str], options: ExecOptions) -> list[Job]:
    """One job per framework that has code on the page.

    Front matter can give the page its own timeout (``execbook: {timeout: 60}``).
    """
    timeout = doc.page_option("timeout")
    if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0:
        options = replace(options, timeout=timeout)
    jobs = []
    for tab in doc.tabs:
        cells = tuple(
            JobCell(index, cell.line, cell.code_for(tab))
            for index, cell in enumerate(doc.cells)
            if isinstance(cell, CodeCell) and tab in cell.tabs and cell.code_for(tab).strip()
        )
        if cells:
            jobs.append(Job(docname, path, tab, kernels.get(tab, "python3"), cells, options))
    return jobs


def job_notebook(job: Job) -> NotebookNode:
    """The notebook a kernel runs: the job's cells (its setup runs before them, in ``kernel.wait_until_ready``)."""
    cells = []
    for cell in job.cells:
        cells.append(
            nbformat.v4.new_code_cell(cell.source, metadata={"execbook": {"index": cell.index, "line": cell.line}})
        )
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["execbook"] = {"docname": job.docname, "tab": job.tab, "key": job.key}
    return notebook
