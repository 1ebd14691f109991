"""d2l-book projects: ``config.ini`` mapped onto execbook's options (``d2lbook``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> None:
    from execbook.compat import d2lbook

    d2lbook.setup_d2lbook(app)
