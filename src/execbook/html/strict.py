"""A reference to nothing fails every ``-W`` build, not only the one that wrote its page.

Sphinx resolves references, and warns about the ones that point at nothing,
when it writes a page. An incremental build that does not write the page again
(nothing on it changed) says nothing, so a ``-W`` build after a plain one
passed on a book with a dangling ``{numref}``.

So the warnings Sphinx gives for missing references are recorded per page, in
a file of the build's state (the environment is pickled before pages are
written, so it cannot carry them), and at ``build-finished`` the warnings of
every page not written in this build are given again, at their place.

How a warning is caught: ``warn-missing-reference`` is emitted just before
the missing reference is warned about (by Sphinx, or by the handler that
replaces its message, html/references.py); our handler runs first and notes
the page, and a logging handler on Sphinx's logger takes the next warning as
that reference's, with its message, location, type and subtype.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging

logger = sphinx_logging.getLogger(__name__)

RECORDER = "_execbook_missing_references"  # the app's attribute holding this build's Recorder


class Recorder(logging.Handler):
    """The missing-reference warnings of the pages written in this build."""

    def __init__(self, app: Sphinx):
        super().__init__(logging.WARNING)
        self.app = app
        self.pending: str | None = None  # the page whose missing reference is about to be warned about
        self.written: set[str] = set()
        self.found: dict[str, list[dict[str, str]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        docname, self.pending = self.pending, None
        if docname is None:  # not a missing reference's (or the replay of pending warnings)
            return
        self.found.setdefault(docname, []).append(
            {
                "message": record.getMessage(),
                "location": location_text(self.app, getattr(record, "location", None), docname),
                "type": str(getattr(record, "type", "") or ""),
                "subtype": str(getattr(record, "subtype", "") or ""),
            }
        )


def location_text(app: Sphinx, location: Any, docname: str) -> str:
    """``path:line`` as Sphinx would print it, to be given again later."""
    if isinstance(location, nodes.Node):
        return sphinx_logging.get_node_location(location) or str(app.env.doc2path(docname))
    if isinstance(location, tuple) and location:
        page, line = (location + (None,))[:2]
        path = str(app.env.doc2path(page)) if page else ""
        return f"{path}:{line}" if line else path
    if isinstance(location, str) and location:
        return location if ":" in location or "/" in location else str(app.env.doc2path(location))
    return str(app.env.doc2path(docname))


def state_path(app: Sphinx) -> Path:
    return Path(app.doctreedir) / "execbook" / f"missing-references-{app.builder.name}.json"


def start_recording(app: Sphinx) -> None:
    """On ``builder-inited``."""
    recorder = Recorder(app)
    setattr(app, RECORDER, recorder)
    logging.getLogger(sphinx_logging.NAMESPACE).addHandler(recorder)


def note_missing_reference(app: Sphinx, domain: Any, node: nodes.Element) -> None:
    """On ``warn-missing-reference``, before any handler that warns: the next warning is this one's."""
    recorder = getattr(app, RECORDER, None)
    if recorder is not None:
        recorder.pending = node.get("refdoc") or app.env.docname


def note_written(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """On ``doctree-resolved``: the page's references were resolved (and warned about) now."""
    recorder = getattr(app, RECORDER, None)
    if recorder is not None:
        recorder.pending = None
        recorder.written.add(docname)


def read_state(path: Path) -> dict[str, list[dict[str, str]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def give_again(app: Sphinx, exception: Exception | None) -> None:
    """On ``build-finished``: warn again about the pages not written now, and keep the record."""
    recorder = getattr(app, RECORDER, None)
    if recorder is None:
        return
    delattr(app, RECORDER)
    logging.getLogger(sphinx_logging.NAMESPACE).removeHandler(recorder)
    if exception is not None:
        return  # what was written is unknown: the record stays as the last whole build left it
    path = state_path(app)
    known = set(app.env.all_docs)
    earlier = {docname: found for docname, found in read_state(path).items() if docname in known}
    kept = {docname: found for docname, found in earlier.items() if docname not in recorder.written}
    state = {**kept, **recorder.found}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=0, sort_keys=True), encoding="utf-8")
    except OSError:
        pass  # only the next build's -W loses these warnings; this one still gives them below
    for docname in sorted(kept):
        for warning in kept[docname]:
            if isinstance(warning, dict) and warning.get("message"):
                logger.warning(
                    str(warning["message"]),
                    location=warning.get("location") or None,
                    type=warning.get("type") or None,
                    subtype=warning.get("subtype") or None,
                )


def setup_strict(app: Sphinx) -> None:
    app.connect("builder-inited", start_recording)
    app.connect("warn-missing-reference", note_missing_reference, priority=100)  # before references.py's (400)
    app.connect("doctree-resolved", note_written, priority=100)
    app.connect("build-finished", give_again, priority=100)
