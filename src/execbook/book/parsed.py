"""Each page parsed once per build.

The reader parses every page it reads; the library's extraction and the
site's download notebooks need the same pages parsed with every toc entry as
written (the reader drops an entry naming no page). Parsing a page costs about
2 ms, 0.2 s for a 100-page book, and the library read every page again at the
first page written. The reader's parse is reused where the text is the file's
(another extension's ``source-read`` handler may have rewritten it) and no toc
entry was dropped.
"""

from __future__ import annotations

from sphinx.application import Sphinx

from execbook.book import config as cfg
from execbook.book import scan as bookscan
from execbook.book.state import run_state
from execbook.source.document import Document
from execbook.source.syntax import parse


def remember(app: Sphinx, docname: str, text: str, doc: Document) -> None:
    """The reader's parse of ``text``, kept for this build where its toc is as written."""
    if not any(message.subtype == "toc" for message in doc.messages):
        run_state(app).parsed[docname] = (text, doc)


def page_document(app: Sphinx, docname: str, text: str) -> Document:
    """``docname`` parsed from ``text`` with its toc as written: the reader's parse when it read this text."""
    known = run_state(app).parsed.get(docname)
    if known is not None and known[0] == text:
        return known[1]
    return parse(text, cfg.get(app.config).tabs, left_out=bookscan.left_out(app))
