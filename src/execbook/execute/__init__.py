"""Execution: pages become per-framework jobs, run on a pool of kernels, cached as files.

``jobs`` (what runs and its cache key) and ``cache`` (where results live) are
pure or file-only; ``kernel`` drives one notebook through nbclient; ``pool``
runs many on workers; ``report`` tells the author what happened; ``sphinx``
wires it all into a build.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> None:
    from execbook.execute import changed, failures, phase, report

    app.connect("env-get-outdated", phase.on_env_get_outdated)  # after the reader's check of undecodable pages (100)
    app.connect("html-collect-pages", report.collect_report_page)
    failures.setup_failures(app)
    app.connect("build-finished", changed.announce_changes)  # the build's last lines: what the outputs changed
