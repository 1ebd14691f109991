"""Failing cells per page, kept with the environment, so that a rebuild which
does not re-read a failing page still counts it (``execbook_fail_on_error``).

An ``EnvironmentCollector``, as MyST-NB keeps its own per-page data: Sphinx
forgets a page's entry when the page is read again or removed, and merges the
entries found by parallel readers.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.environment.collectors import EnvironmentCollector
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book.state import kept_state

logger = logging.getLogger(__name__)


def record_failures(env: BuildEnvironment, docname: str, count: int) -> None:
    """The page's failing cells, counted when it is read."""
    failures = kept_state(env).failures
    if count:
        failures[docname] = count
    else:
        failures.pop(docname, None)


class FailuresCollector(EnvironmentCollector):
    def clear_doc(self, app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        kept_state(env).failures.pop(docname, None)

    def merge_other(self, app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
        theirs = kept_state(other).failures
        kept_state(env).failures.update({name: theirs[name] for name in docnames if name in theirs})

    def process_doc(self, app: Sphinx, doctree: nodes.document) -> None:
        """Nothing: the reader counts a page's failures before its doctree exists."""


def fail_on_error(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: with ``execbook_fail_on_error``, any failing cell of the book fails the build."""
    failures = kept_state(app.env).failures if app.env else {}
    if exception is None and failures and cfg.get(app.config).fail_on_error:
        pages = ", ".join(sorted(failures))
        logger.error(f"execbook: {sum(failures.values())} failing cell(s) in {pages} (execbook_fail_on_error = True)")
        app.statuscode = 1


def setup_failures(app: Any) -> None:
    app.add_env_collector(FailuresCollector)
    app.connect("build-finished", fail_on_error)
