"""Slides from slide marks: a reveal.js deck per page and framework (nbconvert).

In a page, ``[**text**]`` and ``[~~text~~]`` start a new slide with that text,
``(**text**)`` and ``(~~text~~)`` add to the current slide (the ``~~`` forms
are on slides only, never in the book). Code cells that come while a slide is
open (before the next heading) are on it, with their outputs. A heading
closes the current slide; the page title opens the deck.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.library.build import shown_code
from execbook.outputs.export import WholeBookBuilder
from execbook.source.document import CodeCell, Document
from execbook.source.notebooks import Show, as_written, downloadable_notebook, outputs_by_cell
from execbook.source.slidemarks import Heading, SlideMark

logger = logging.getLogger(__name__)


def slide_notebook(
    doc: Document, tab: str, outputs: dict[int, list[Any]], show: Show = as_written
) -> nbformat.NotebookNode:
    """The deck of one framework: the page title, then a slide per mark that opens
    one, with the marks that add to it and the code cells before the next heading."""
    events: list[tuple[int, int, Any]] = []  # (line, heading first, item)
    for index, cell in enumerate(doc.cells):
        if isinstance(cell, CodeCell) and tab in cell.tabs and cell.code_for(tab).strip():
            events.append((cell.line, 1, (index, cell)))
    events += [(mark.line, 1, mark) for mark in doc.slide_marks if mark.tabs is None or tab in mark.tabs]
    events += [(heading.line, 0, heading) for heading in doc.headings if heading.tabs is None or tab in heading.tabs]

    cells: list[nbformat.NotebookNode] = []
    title = next((heading.title for heading in doc.headings if heading.level == 1), None)
    if title:
        cells.append(nbformat.v4.new_markdown_cell(f"# {title}", metadata={"slideshow": {"slide_type": "slide"}}))
    open_slide = False
    for _, _, item in sorted(events, key=lambda event: event[:2]):
        if isinstance(item, Heading):
            open_slide = False
        elif isinstance(item, SlideMark):
            starts = item.opens_slide or not open_slide
            cells.append(
                nbformat.v4.new_markdown_cell(
                    item.words, metadata={"slideshow": {"slide_type": "slide" if starts else "-"}}
                )
            )
            open_slide = True
        elif open_slide:
            index, cell = item
            cells.append(
                nbformat.v4.new_code_cell(
                    show(tab, cell.code_for(tab)),
                    outputs=outputs.get(index, []),
                    metadata={"slideshow": {"slide_type": "-"}},
                )
            )
    return downloadable_notebook(cells)


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
        for docname, _, _, doc, executed in self.pages():
            if not doc.slide_marks:
                continue
            for tab in options.tabs:
                outputs = outputs_by_cell(executed[tab]) if tab in executed else {}
                notebook = slide_notebook(doc, tab, outputs, shown_code(self.app))
                body, _ = exporter.from_notebook_node(notebook)
                target = Path(self.outdir) / tab / f"{docname}.slides.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(body, encoding="utf-8")
                count += 1
        logger.info(f"execbook: wrote {count} slide decks")


def setup_slides(app: Any) -> None:
    app.add_builder(SlidesBuilder)
