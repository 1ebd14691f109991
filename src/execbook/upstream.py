"""Work-arounds for upstream bugs that turn a page's mistake into a crash.

Each patch is applied once, checks that the code it wraps is still there, and
names the upstream code it works around, so that it can go when upstream is fixed.
"""

from __future__ import annotations

import functools
from typing import Any

PATCHED = "_execbook_patched"


def apply() -> None:
    keep_role_lines_after_eval_rst()
    drop_missing_line_in_myst_nb_warnings()
    from execbook import startup

    startup.reuse_per_page_setup()  # not a crash: per-page work done once (its own place is setup(), after this)


def keep_role_lines_after_eval_rst() -> None:
    """A role after an ``eval_rst`` fence keeps its line.

    MyST-Parser's ``render_restructuredtext`` parses the fence with docutils'
    RST state machine and the page's own reporter; docutils' ``RSTState.runtime_init``
    leaves ``reporter.get_source_and_line`` bound to that short-lived machine.
    Every role after the fence then asks it for a line it does not have and
    gets ``None``: MyST-NB's ``{eval}`` role passes that ``line=None`` to its
    logger, which hands it on to Python's logging: "Logger._log() got an
    unexpected keyword argument 'line'" and the build stops.
    Code: myst_parser/mdit_to_docutils/base.py (render_restructuredtext, MyST-Parser 5.x),
    myst_nb/core/loggers.py (SphinxDocLogger.process, MyST-NB 1.x). No upstream issue
    found for it (searched MyST-Parser and MyST-NB issues); the nearest is
    https://github.com/executablebooks/MyST-NB/issues/596 ({eval} without a running
    kernel, the warning this crash was about to give).
    """
    from myst_parser.mdit_to_docutils.base import DocutilsRenderer

    original = getattr(DocutilsRenderer, "render_restructuredtext", None)
    if original is None or getattr(original, PATCHED, False):
        return

    @functools.wraps(original)
    def render_restructuredtext(self: Any, token: Any) -> None:
        own = vars(self.reporter)
        had, before = "get_source_and_line" in own, own.get("get_source_and_line")
        try:
            original(self, token)
        finally:  # back to what MyST-Parser set up for the page (or to nothing: it sets its own)
            if had:
                own["get_source_and_line"] = before
            else:
                own.pop("get_source_and_line", None)

    setattr(render_restructuredtext, PATCHED, True)
    DocutilsRenderer.render_restructuredtext = render_restructuredtext


def drop_missing_line_in_myst_nb_warnings() -> None:
    """MyST-NB's Sphinx logger turns ``line=N`` into a location but leaves ``line=None``
    for Python's logging, which rejects it; without a line, the warning names the page."""
    from myst_nb.core.loggers import SphinxDocLogger

    original = SphinxDocLogger.process
    if getattr(original, PATCHED, False):
        return

    @functools.wraps(original)
    def process(self: Any, msg: Any, kwargs: Any) -> Any:
        if "line" in kwargs and kwargs["line"] is None:
            del kwargs["line"]
        return original(self, msg, kwargs)

    setattr(process, PATCHED, True)
    SphinxDocLogger.process = process
