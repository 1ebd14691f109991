"""Slides from slide marks: a reveal.js deck per page and framework (nbconvert).

In a page, ``[**text**]`` and ``[~~text~~]`` start a new slide with that text,
``(**text**)`` and ``(~~text~~)`` add to the current slide (the ``~~`` forms
are on slides only, never in the book). Code cells that come while a slide is
open (before the next heading) are on it, with their outputs. A heading
closes the current slide; the page title opens the deck.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.outputs.export import WholeBookBuilder
from execbook.library.build import shown_code
from execbook.source.notebooks import outputs_by_cell, Show, as_written, reader_notebook
from execbook.source.syntax import CodeCell, Document

logger = logging.getLogger(__name__)

MARK_RE = re.compile(r"\[\*\*(?P<new>.+?)\*\*\](?!\()|\[~~(?P<new_only>.+?)~~\](?!\()"
                     r"|\(\*\*(?P<add>.+?)\*\*\)|\(~~(?P<add_only>.+?)~~\)", re.DOTALL)
HEADING_RE = re.compile(r"^ {0,3}#{1,6}\s", re.MULTILINE)
TITLE_RE = re.compile(r"^ {0,3}#\s+(.*)$|^(.+)\n=+\s*$", re.MULTILINE)


def fence_end(lines: list[str], start: int) -> int:
    """Index of the line closing the fence opened at ``lines[start]``."""
    fence = re.match(r"^ {0,3}(`{3,}|~{3,})", lines[start])
    if fence is None:
        return start
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence.group(1)[0])}{{{len(fence.group(1))},}}\s*$")
    return next((i for i in range(start + 1, len(lines)) if closing.match(lines[i])), len(lines) - 1)


def slide_notebook(text: str, doc: Document, tab: str, outputs: dict[int, list[Any]],
                   show: Show = as_written) -> nbformat.NotebookNode:
    lines = text.replace("\r\n", "\n").split("\n")
    hidden: set[int] = set()  # lines that are code cells, or text blocks of other frameworks
    events: list[tuple[int, str, Any]] = []
    for index, cell in enumerate(doc.cells):
        if isinstance(cell, CodeCell):
            end = fence_end(lines, cell.line - 1)
            hidden |= set(range(cell.line - 1, end + 1))
            if tab in cell.tabs and cell.code_for(tab).strip():
                events.append((cell.line - 1, "code", (index, cell)))
        elif cell.tabs is not None and tab not in cell.tabs:
            hidden |= set(range(cell.line - 2, cell.line + cell.text.count("\n") + 1))
    prose = "\n".join("" if number in hidden else line for number, line in enumerate(lines))
    for match in MARK_RE.finditer(prose):
        events.append((prose.count("\n", 0, match.start()), "mark", match))
    for match in HEADING_RE.finditer(prose):
        events.append((prose.count("\n", 0, match.start()), "heading", match))

    cells: list[nbformat.NotebookNode] = []
    title = TITLE_RE.search(text)
    if title:
        cells.append(nbformat.v4.new_markdown_cell(f"# {(title.group(1) or title.group(2)).strip()}",
                                                   metadata={"slideshow": {"slide_type": "slide"}}))
    open_slide = False
    for _, kind, item in sorted(events, key=lambda event: (event[0], event[1] != "heading")):
        if kind == "heading":
            open_slide = False
        elif kind == "mark":
            words = " ".join(next(group for group in item.groups() if group).split())
            starts = item.group("new") is not None or item.group("new_only") is not None or not open_slide
            cells.append(nbformat.v4.new_markdown_cell(words, metadata={"slideshow": {"slide_type": "slide" if starts else "-"}}))
            open_slide = True
        elif open_slide:
            index, cell = item
            cells.append(nbformat.v4.new_code_cell(show(tab, cell.code_for(tab)), outputs=outputs.get(index, []),
                                                   metadata={"slideshow": {"slide_type": "-"}}))
    return reader_notebook(cells)


class SlidesBuilder(WholeBookBuilder):
    """``sphinx-build -b slides``: <tab>/<page>.slides.html for pages with slide marks."""

    name = "slides"
    format = "slides"
    suffix = ".slides.html"
    epilog = "The slides are in %(outdir)s."

    def finish(self) -> None:
        from nbconvert import SlidesExporter

        options = cfg.get(self.config)
        exporter = SlidesExporter()
        count = 0
        for docname, _, text, doc, executed in self.pages():
            if not MARK_RE.search(text):
                continue
            for tab in options.tabs:
                outputs = outputs_by_cell(executed[tab]) if tab in executed else {}
                notebook = slide_notebook(text, doc, tab, outputs, shown_code(self.app))
                body, _ = exporter.from_notebook_node(notebook)
                target = Path(self.outdir) / tab / f"{docname}.slides.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(body, encoding="utf-8")
                count += 1
        logger.info(f"execbook: wrote {count} slide decks")


def setup_slides(app: Any) -> None:
    app.add_builder(SlidesBuilder)
