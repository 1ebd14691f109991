"""Two upstream bugs that turn a page's mistake into a crash, worked around for
the build only: no extension point reaches them (MyST-NB makes its renderer
and its logger itself), and MyST's own ``{include}``, checked for a file from
outside the book (html/outside.py ``guarded_run``: MyST runs its include
without the directive class Sphinx lets us replace). Applied even with
``execbook_speedups = False``.

- A role after an ``eval-rst`` fence loses its line. MyST-Parser's
  ``render_restructuredtext`` parses the fence with docutils' RST state
  machine and the page's own reporter; docutils' ``RSTState.runtime_init``
  leaves ``reporter.get_source_and_line`` bound to that short-lived machine,
  so every role after the fence gets ``line=None``. MyST-NB's ``{eval}``
  role passes that to its logger, which hands ``line=None`` on to Python's
  logging: "Logger._log() got an unexpected keyword argument 'line'" and the
  build stops. Code: myst_parser/mdit_to_docutils/base.py
  (``render_restructuredtext``, MyST-Parser 4.0-5.2); no upstream issue found,
  the nearest is https://github.com/executablebooks/MyST-NB/issues/596.
- MyST-NB's Sphinx logger turns ``line=N`` into a location but leaves
  ``line=None`` for Python's logging, which rejects it; without a line, the
  warning names the page. Code: myst_nb/core/loggers.py
  (``SphinxDocLogger.process``, MyST-NB 1.1-1.4).
"""

from __future__ import annotations

import functools
from typing import Any

from execbook.html import outside
from execbook.html.speedups import Patch


def keep_role_lines_after_eval_rst(original: Any) -> Any:
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

    return render_restructuredtext


def drop_missing_line(original: Any) -> Any:
    @functools.wraps(original)
    def process(self: Any, msg: Any, kwargs: Any) -> Any:
        if "line" in kwargs and kwargs["line"] is None:
            del kwargs["line"]
        return original(self, msg, kwargs)

    return process


PATCHES = [
    Patch(
        "myst_parser.mdit_to_docutils.base",
        "DocutilsRenderer.render_restructuredtext",
        ("self", "token"),
        "MyST-Parser 4.0-5.2",
        keep_role_lines_after_eval_rst,
        fix=True,
    ),
    Patch(
        "myst_nb.core.loggers",
        "SphinxDocLogger.process",
        ("self", "msg", "kwargs"),
        "MyST-NB 1.1-1.4",
        drop_missing_line,
        fix=True,
    ),
    Patch(
        "myst_parser.mocking",
        "MockIncludeDirective.run",
        ("self",),
        "MyST-Parser 4.0-5.2",
        outside.guarded_run,
        fix=True,
    ),
]
