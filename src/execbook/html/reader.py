"""Sphinx reads a d2l page: parse it, report its problems, hand MyST-NB a notebook.

The conversion happens on ``source-read`` (where the page's name is known, so
every problem is reported as ``file:line``); MyST-NB then reads the notebook
through its custom-format hook (``nb_custom_formats``) with ``read_notebook``.
"""

from __future__ import annotations

import json

import nbformat
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book import parsed
from execbook.book import scan as bookscan
from execbook.book.files import decode_page
from execbook.book.versions import source_path
from execbook.execute.failures import Failure, record_failures, warn_failure
from execbook.execute.phase import outputs_for
from execbook.execute.results import Status, cell_errors
from execbook.html.references import footnote_citations
from execbook.library.apidoc import api_page
from execbook.library.build import shown_code
from execbook.source.document import toc_target
from execbook.source.notebooks import rendered_notebook
from execbook.source.syntax import parse

logger = logging.getLogger(__name__)

NOTEBOOK_MARK = '{\n "cells"'  # how nbformat.writes() starts
COMPACT_MARK = '{"cells": '  # how on_source_read's notebook starts (compact_notebook_text)


def skip_undecodable(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Leave out a page Sphinx cannot decode, with a warning at its line: Sphinx
    would stop the whole build on it, with no file named ("Encoding error!")."""
    for docname in sorted(added | changed):
        _, problem = decode_page(source_path(env, docname).read_bytes(), app.config.source_encoding)
        if problem is None:
            continue
        logger.warning(problem.text, location=(docname, problem.line), type="execbook", subtype=problem.subtype)
        added.discard(docname)
        changed.discard(docname)
        env.project.docnames.discard(docname)  # a page that is not there: links to it warn, none crash
        if docname in env.all_docs:
            removed.add(docname)  # its last good build goes
    return []


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".md"):
        return
    options = cfg.get(app.config)
    found = app.env.found_docs

    def page_exists(entry: str) -> bool:
        return toc_target(docname, entry) in found

    doc = parse(source[0], options.tabs, page_exists, bookscan.left_out(app))
    parsed.remember(app, docname, source[0], doc)
    if bookscan.cites_as_footnotes(app):
        doc = footnote_citations(doc)
    doc = api_page(app, docname, doc)
    for message in doc.messages:
        logger.warning(message.text, location=(docname, message.line), type="execbook", subtype=message.subtype)
    executed = outputs_for(app, docname, doc)
    failures = [failure for tab, notebook in executed.items() for failure in report_failures(docname, tab, notebook)]
    record_failures(app.env, docname, failures)
    app.env.metadata[docname]["execbook_notebook_tabs"] = list(doc.notebook_tabs)  # for the page buttons
    source[0] = compact_notebook_text(rendered_notebook(doc, executed, shown_code(app)))


def compact_notebook_text(notebook: nbformat.NotebookNode) -> str:
    """The page's notebook as ``read_notebook`` reads it back, and nothing else
    does: JSON on one line (json's C encoder, a tenth of the time of
    nbformat's indented text), strings unsplit (``nbformat.reader.reads``
    joins split ones back anyway), no schema check."""
    from nbformat.v4.nbjson import BytesEncoder

    return json.dumps(notebook, cls=BytesEncoder, sort_keys=True, ensure_ascii=False)


def report_failures(docname: str, tab: str, notebook: nbformat.NotebookNode) -> list[Failure]:
    """A failing cell is reported at its line in the page, with its framework; returns them,
    kept so that later builds that do not read the page report them again."""
    found = []
    meta = notebook.metadata.get("execbook", {})
    worker = f" (worker {meta['worker']})" if meta.get("worker") else ""
    for error in cell_errors(notebook):
        what = (
            error.evalue
            if error.ename in ("CellTimeout", "DeadKernel")
            else f"the cell raised {error.ename}: {error.evalue}"
        )
        found.append(Failure(f"[{tab}] {what}{worker}", error.line or 1, "cell"))
    if meta.get("status") == Status.INTERRUPTED:
        found.append(
            Failure(
                f"[{tab}] {meta.get('message') or meta['status']}{worker}; the page shows the outputs up to there",
                meta.get("failed_line") or 1,
                "kernel",
            )
        )
    for failure in found:
        warn_failure(docname, failure)
    return found


def read_notebook(text: str) -> nbformat.NotebookNode:
    """MyST-NB's reader for ``.md``: the notebook that ``on_source_read`` wrote.

    A page that did not pass through ``source-read`` (MyST-NB re-reading a
    file on its own) is parsed here, without location for its warnings.
    """
    if text.startswith((COMPACT_MARK, NOTEBOOK_MARK)):  # ours, version 4: nbformat.reads without its schema check
        return nbformat.reader.reads(text)
    return rendered_notebook(parse(text))
