"""The site's search index is whole after any crash, or written again in full.

Sphinx writes ``searchindex.js`` once, after every page of the build is
written, and an incremental build only patches it: the index loaded from the
last build, less the pages written now, plus their new words. A build killed
while writing (``kill -9``, SIGTERM, a power cut) leaves pages written and an
index that was not: the next build finds those pages up to date, cannot load
the index (or loads the one from before them) and writes an index of the few
pages it writes itself. Sphinx warns once ("search index couldn't be loaded")
and every later build keeps the hole.

So, on ``env-updated`` (the extension point whose answer Sphinx adds to the
pages it writes, without reading them again), every page is written again when

- the last build of this builder began writing and never finished (its
  marker is still there: the index may hold words of pages since rewritten), or
- ``searchindex.js`` cannot be loaded, or lacks a page that is not being read
  in this build (a site already damaged by an older execbook).

The marker is put down before writing starts and removed at a successful
``build-finished``, after the index (and the library page's words) are written.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

# env -> the pages read in this build (their words are indexed anew whatever the old index holds)
_READ_NOW: weakref.WeakKeyDictionary[BuildEnvironment, set[str]] = weakref.WeakKeyDictionary()


def writes_search_index(builder: Any) -> bool:
    """An HTML builder (html, dirhtml) with search on."""
    return bool(getattr(builder, "search", False)) and hasattr(builder, "searchindex_filename")


def marker_path(app: Sphinx) -> Path:
    return Path(app.doctreedir) / "execbook" / f"writing-{app.builder.name}"


def indexed_pages(builder: Any) -> set[str] | None:
    """The pages ``searchindex.js`` holds, loaded as Sphinx loads it (the builder's
    own format, the environment's version); None when it cannot be loaded."""
    path = Path(builder.outdir) / builder.searchindex_filename
    try:
        if builder.indexer_dumps_unicode:
            with open(path, encoding="utf-8") as text:
                frozen = builder.indexer_format.load(text)
        else:
            with open(path, "rb") as binary:
                frozen = builder.indexer_format.load(binary)
    except (OSError, ValueError):
        return None
    if not isinstance(frozen, dict) or frozen.get("envversion") != builder.env.version:
        return None  # Sphinx takes such an index for none
    docnames = frozen.get("docnames")
    return set(docnames) if isinstance(docnames, (list, tuple)) else None


def why_rewrite(app: Sphinx, read_now: set[str]) -> str:
    """Why every page must be written again ("" when the index is whole)."""
    if marker_path(app).exists():
        return "the last build stopped while it was writing the site"
    expected = set(app.env.all_docs) - read_now
    if not expected:
        return ""  # every page is read, so written and indexed, in this build
    builder: Any = app.builder  # an HTML builder: writes_search_index checked it
    indexed = indexed_pages(builder)
    if indexed is None:
        return f"{builder.searchindex_filename} could not be loaded"
    missing = expected - indexed
    if missing:
        return f"{builder.searchindex_filename} lacks {len(missing)} of the book's {len(app.env.all_docs)} pages"
    return ""


def note_pages_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """On ``env-before-read-docs``."""
    _READ_NOW[env] = set(docnames)


def rewrite_if_incomplete(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """On ``env-updated``: every page when the index is not whole, and the marker put down."""
    if not writes_search_index(app.builder):
        return []
    reason = why_rewrite(app, _READ_NOW.pop(env, set()))
    marker = marker_path(app)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    if not reason:
        return []
    logger.info(f"execbook: {reason}; writing every page and the search index again")
    return sorted(env.found_docs)


def writing_finished(app: Sphinx, exception: BaseException | None) -> None:
    """On ``build-finished``: the pages and the index are whole."""
    if exception is None and writes_search_index(app.builder):
        marker_path(app).unlink(missing_ok=True)


def setup_searchindex(app: Sphinx) -> None:
    app.connect("env-before-read-docs", note_pages_read)
    app.connect("env-updated", rewrite_if_incomplete, priority=900)  # the marker as late before writing as can be
    app.connect("build-finished", writing_finished, priority=900)  # after the library page's words are dumped
