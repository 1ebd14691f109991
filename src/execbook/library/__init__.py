"""The book's library: ``#@save`` code extracted per framework (``extract``), how
its aliases show each framework's own calls (``execbook.source.aliases``), the
library of a build (``build``: written for kernels and autodoc, keyed per job,
listed on a page) and the API page (``apidoc``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> None:
    from execbook.library import build

    app.connect("html-collect-pages", build.collect_library_page)
    app.connect("build-finished", build.index_library_page)  # after Sphinx wrote the search index
