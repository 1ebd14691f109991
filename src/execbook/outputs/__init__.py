"""The other outputs: notebooks and their zips (``export``), reveal.js slides
(``slides``), the PDF (``latex``, ``latex_style``, ``fonts``), publishing
(``deploy``) and the built site's link checker (``linkcheck``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> None:
    from execbook.outputs import export, latex, slides

    app.setup_extension("sphinxcontrib.rsvgconverter")  # SVG figures -> PDF for LaTeX
    latex.setup_latex(app)
    export.setup_export(app)
    slides.setup_slides(app)
