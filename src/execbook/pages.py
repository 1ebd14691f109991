"""Which files are the book's pages, as Sphinx finds them."""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.util.matching import Matcher

# never pages: build output, virtualenvs, hidden folders, the repository's README
EXCLUDE = ["_build", "jupyter_execute", "_static", "_templates", ".*", "**/.*", "venv", "README.md", "**/.ipynb_checkpoints", "Thumbs.db"]


def book_pages(book: Path, exclude: list[str]) -> dict[str, Path]:
    """The book's pages as Sphinx finds them: excluded folders are not entered."""
    matcher = Matcher([*exclude, *EXCLUDE])
    pages = {}
    for root, dirs, files in os.walk(book):
        here = Path(root).relative_to(book)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not matcher((here / d).as_posix()))
        for name in sorted(files):
            relative = (here / name).as_posix()
            if name.endswith(".md") and not matcher(relative):
                pages[relative[:-3]] = Path(root) / name
    return pages
