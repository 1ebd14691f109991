"""A build's state, declared in one place.

Sphinx gives extensions no typed place for their own state, so execbook keeps
two objects, one per lifetime:

* ``RunState`` (``run_state(app)``): what one ``sphinx-build`` run works out
  once and reuses (the library's settings, the book's tab-mark scan, the
  execution report, outputs that could not be cached). Forked parallel
  readers inherit it; it is never pickled.
* ``KeptState`` (``kept_state(env)``): what the next build must know, kept in
  Sphinx's pickled environment: each page's jobs and cache keys, the
  extracted libraries, each page's failing cells and section anchors. The
  per-page parts are purged and merged with their pages (``execute.failures``,
  ``outputs.export``).

The types named here belong to later stages; they are imported for type
checking only (the import-linter contract ignores such imports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from execbook.book.scan import BookScan
    from execbook.execute.jobs import Job
    from execbook.execute.report import Report
    from execbook.library.extract import Library
    from execbook.library.writer import LibrarySpec
    from execbook.source.document import Document

RUN_ATTRIBUTE = "execbook_run"
KEPT_ATTRIBUTE = "execbook_kept"


@dataclass
class LibrarySettings:
    """``execbook_library`` read once per run: its spec and, per tab, the module
    text outside the symbol graph (hand-written header and aliases)."""

    spec: LibrarySpec | None
    extras: dict[str, str] | None = None  # None: not read yet


@dataclass
class RunState:
    library: LibrarySettings | None = None  # None: not read yet
    scan: BookScan | None = None
    report: Report | None = None
    unstored: dict[str, NotebookNode] = field(default_factory=dict)  # by job key: ran, but not cached
    parsed: dict[str, tuple[str, Document]] = field(default_factory=dict)  # by page: (its text, parsed) as read


@dataclass
class KeptState:
    page_jobs: dict[str, tuple[tuple[int, int], list[Job]]] = field(default_factory=dict)  # by page: (file stamp, jobs)
    keys: dict[str, dict[str, str]] = field(default_factory=dict)  # by page, by tab: the job's cache key
    libraries: tuple[Any, dict[str, Library]] | None = None  # (what they were extracted from, by tab)
    failures: dict[str, list[Any]] = field(default_factory=dict)  # by page: failing cells (execute.failures.Failure)
    section_anchors: dict[str, dict[str, str]] = field(default_factory=dict)  # by page: section id -> toc key


def run_state(app: Any) -> RunState:
    state = app.__dict__.get(RUN_ATTRIBUTE)
    if state is None:
        state = RunState()
        setattr(app, RUN_ATTRIBUTE, state)
    return state


def kept_state(env: Any) -> KeptState:
    """The environment's; an environment pickled by an older execbook starts empty."""
    state = env.__dict__.get(KEPT_ATTRIBUTE)
    if not isinstance(state, KeptState):
        state = KeptState()
        setattr(env, KEPT_ATTRIBUTE, state)
    return state
