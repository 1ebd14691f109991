"""Which files are the book's pages, as Sphinx finds them."""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.util.matching import Matcher

from execbook.messages import Message

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


def decode_page(data: bytes, encoding: str = "utf-8-sig") -> tuple[str, Message | None]:
    """A page's text, and the problem when a byte is not in ``encoding``: Sphinx stops
    the whole build on it ("Encoding error!"), so it is found first, at its line."""
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        text = (f"byte 0x{byte} at offset {error.start} is not {error.encoding.upper().removesuffix('-SIG')}; "
                f"save the file as UTF-8 (the page is left out of the build until then)")
        return data.decode(encoding, errors="replace"), Message(line, text, "encoding")
