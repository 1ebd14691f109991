"""What every stage shares: the book's options (``config``), its files and page
list (``files``), one scan of its tab marks (``scan``), and whether an unchanged
book needs a build at all (``uptodate``, standard library only).

Modules here import nothing from the later stages; this package's import is light
(``execbook build html`` of an unchanged book imports ``uptodate`` alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> None:
    from execbook.book import config, scan, uptodate, versions

    config.register(app)
    versions.setup(app)  # what the floors lack, supplied through extension points
    scan.setup_bookscan(app)
    app.connect("build-finished", uptodate.list_outside_dependencies)
