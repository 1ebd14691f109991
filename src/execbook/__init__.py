"""execbook: executable books from d2l-flavoured Markdown, as a Sphinx extension.

The package is laid out by stage, and each stage imports only from those
before it (an import-linter contract in ``pyproject.toml``, checked by CI):

``source``   the d2l dialect as text: a page -> ``Document`` -> MyST and notebooks
``book``     what all stages share: options, the book's files, the build folder
``library``  the book's ``#@save`` library: extracted, written, documented
``execute``  jobs, kernels, worker pools, the cache, the execution report
``outputs``  notebooks, slides, the PDF, deploys, the link checker
``html``     the website: the page reader, tabs, references, MathJax, theme
``compat``   d2l-book projects (``config.ini``)
``cli``      the ``execbook`` command; ``skeleton/`` is what ``execbook new`` writes

The life of a build, in the order Sphinx calls us:

1. ``config-inited``: validate ``execbook_*`` options (``book.config``), fill in
   MyST-NB, MyST, numbering, theme, bibliography and MathJax defaults (``html``).
2. ``env-get-outdated``: every page's jobs (one per framework) are keyed;
   those missing from the cache run on the worker pool (``execute.phase``),
   and pages whose outputs changed are re-read.
3. ``source-read``: each ``.md`` page is parsed (``source.syntax``), its
   problems are reported as ``file:line``, and it becomes a notebook
   (``source.notebooks``) with the cached outputs merged in, which MyST-NB
   renders (``html.reader``).
4. read-time transform: tabbed cells and ``:begin_tab:`` blocks are grouped
   (``html.tabs``).
5. write: HTML gets a switcher (``html/static/execbook.js``); other formats
   keep one tab. MathJax is copied into the site on ``build-finished``, and
   so are the notebooks the pages offer for download (``html.site_notebooks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from execbook.version import __version__

if TYPE_CHECKING:  # importing Sphinx costs 0.4 s, which `execbook build html` of an unchanged book avoids
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    from execbook import book, compat, execute, html, library, outputs

    for stage in (book, library, execute, html, outputs, compat):
        stage.setup(app)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
