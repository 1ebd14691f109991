"""Sphinx reads a d2l page: parse it, report its problems, hand MyST-NB a notebook.

The conversion happens on ``source-read`` (where the page's name is known, so
every problem is reported as ``file:line``); MyST-NB then reads the notebook
through its custom-format hook (``nb_custom_formats``) with ``read_notebook``.
"""

from __future__ import annotations

import posixpath

import nbformat
from sphinx.application import Sphinx
from sphinx.util import logging

from execbook import config as cfg
from execbook.notebooks import page_notebook
from execbook.syntax import parse

logger = logging.getLogger(__name__)

NOTEBOOK_MARK = '{\n "cells"'  # how nbformat.writes() starts


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".md"):
        return
    options = cfg.get(app.config)
    found = app.env.found_docs
    here = posixpath.dirname(docname)

    def page_exists(entry: str) -> bool:
        target = entry.lstrip("/") if entry.startswith("/") else posixpath.join(here, entry)
        return posixpath.normpath(target) in found

    doc = parse(source[0], options.tabs, page_exists)
    for message in doc.messages:
        logger.warning(message.text, location=(docname, message.line), type="execbook", subtype=message.subtype)
    source[0] = nbformat.writes(page_notebook(doc))


def read_notebook(text: str) -> nbformat.NotebookNode:
    """MyST-NB's reader for ``.md``: the notebook that ``on_source_read`` wrote.

    A page that did not pass through ``source-read`` (MyST-NB re-reading a
    file on its own) is parsed here, without location for its warnings.
    """
    if text.startswith(NOTEBOOK_MARK):
        return nbformat.reads(text, as_version=4)
    return page_notebook(parse(text))
