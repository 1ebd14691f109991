"""Failing cells per page, kept with the environment, so that a rebuild which
does not re-read a failing page still reports it: its warnings are given again
at the page on every build (a ``-W`` build sees them, whether or not the page
was read), ``execbook_fail_on_error`` counts them, and ``execbook check`` reads
the list each build writes (``failures.json``).

An ``EnvironmentCollector``, as MyST-NB keeps its own per-page data: Sphinx
forgets a page's entry when the page is read again or removed, and merges the
entries found by parallel readers.
"""

from __future__ import annotations

import json
from collections.abc import Set
from pathlib import Path
from typing import Any, NamedTuple

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.environment.collectors import EnvironmentCollector
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book.files import atomic_write
from execbook.book.state import kept_state

logger = logging.getLogger(__name__)

FAILURES_FILE = "failures.json"  # in <doctrees>/execbook/, read by `execbook check`


class Failure(NamedTuple):
    """One failing cell (or interrupted job) of a page, as its warning says it."""

    text: str
    line: int
    subtype: str


def warn_failure(docname: str, failure: Failure) -> None:
    logger.warning(failure.text, location=(docname, failure.line), type="execbook", subtype=failure.subtype)


def record_failures(env: BuildEnvironment, docname: str, found: list[Failure]) -> None:
    """The page's failing cells, found when it is read."""
    failures = kept_state(env).failures
    if found:
        failures[docname] = list(found)
    else:
        failures.pop(docname, None)


def page_failures(env: BuildEnvironment) -> dict[str, list[Failure]]:
    """Every page's failures (an entry an older execbook kept as a bare count has no text: left out)."""
    return {name: found for name, found in kept_state(env).failures.items() if isinstance(found, list) and found}


class FailuresCollector(EnvironmentCollector):
    def clear_doc(self, app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        kept_state(env).failures.pop(docname, None)

    def merge_other(self, app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment) -> None:
        theirs = kept_state(other).failures
        kept_state(env).failures.update({name: theirs[name] for name in docnames if name in theirs})

    def process_doc(self, app: Sphinx, doctree: nodes.document) -> None:
        """Nothing: the reader counts a page's failures before its doctree exists."""


def warn_kept_failures(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """``env-before-read-docs``: the failures of pages this build does not read are
    warned again, as reading them would (a cached failure must fail a ``-W`` build
    every time, not only the build that ran it)."""
    reading = set(docnames)
    for docname, found in sorted(page_failures(env).items()):
        if docname not in reading:
            for failure in found:
                warn_failure(docname, failure)


def fail_on_error(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: with ``execbook_fail_on_error``, any failing cell of the book fails the build."""
    failures = page_failures(app.env) if app.env else {}
    if exception is None and failures and cfg.get(app.config).fail_on_error:
        pages = ", ".join(sorted(failures))
        count = sum(map(len, failures.values()))
        logger.error(f"execbook: {count} failing cell(s) in {pages} (execbook_fail_on_error = True)")
        app.statuscode = 1


def write_failures(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: the book's failures as JSON, with each page's file, for ``execbook check``."""
    if exception is not None or app.env is None:
        return
    listed = [
        {"page": docname, "file": str(app.env.doc2path(docname)), **failure._asdict()}
        for docname, found in sorted(page_failures(app.env).items())
        for failure in found
    ]
    target = Path(app.doctreedir) / "execbook" / FAILURES_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, json.dumps(listed, indent=1))


def setup_failures(app: Any) -> None:
    app.add_env_collector(FailuresCollector)
    app.connect("env-before-read-docs", warn_kept_failures)
    app.connect("build-finished", fail_on_error)
    app.connect("build-finished", write_failures)
