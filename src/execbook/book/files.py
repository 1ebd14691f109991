"""The book's files: which are its pages (as Sphinx finds them), how a page is decoded,
and how the build writes its own files (atomically)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from execbook.book.boundary import Refused, walk_files
from execbook.source.messages import Message

BUILD_DIR = "_build"  # beside conf.py or config.ini: the site, the doctrees, the PDFs, the execution cache


def state_dir(doctreedir: str | Path) -> Path:
    """execbook's own files of a build (report, library, the tree where code runs), beside Sphinx's doctrees."""
    return Path(doctreedir) / "execbook"


def library_dir(doctreedir: str | Path) -> Path:
    """The generated library package of a build, on every kernel's path and on autodoc's."""
    return state_dir(doctreedir) / "lib"


# folders that are never the book's sources, at any depth: build output, virtualenvs,
# caches; hidden folders (.git, .venv, .ipynb_checkpoints, .execbook-cache) neither
NOT_SOURCES = (BUILD_DIR, "jupyter_execute", "venv", "node_modules", "__pycache__")
# never pages (Sphinx's exclude_patterns): those, the theme's folders, the repository's README
EXCLUDE = [*NOT_SOURCES, ".*", "**/.*", "_static", "_templates", "README.md", "Thumbs.db"]
# the same folders as a regular expression over paths (sphinx-autobuild's --re-ignore)
NOT_SOURCES_RE = r"(^|/)(\.[^/]*|" + "|".join(NOT_SOURCES) + r")(/|$)"


def is_source_folder(name: str) -> bool:
    """Whether a folder of this name may hold the book's sources (pages, data, images)."""
    return not name.startswith(".") and name not in NOT_SOURCES


def _keep_matcher(exclude: list[str]) -> Callable[[PurePosixPath], bool]:
    """Which folders the page walk enters, as Sphinx's: not hidden, not excluded."""
    from sphinx.util.matching import Matcher  # here: `execbook build html` of an unchanged book imports this module

    matcher = Matcher([*exclude, *EXCLUDE])
    return lambda relative: not relative.name.startswith(".") and not matcher(relative.as_posix())


def book_pages(book: Path, exclude: list[str]) -> dict[str, Path]:
    """The book's pages as Sphinx finds them: excluded folders are not entered, and no
    link that leaves the book or loops back into it is followed (``left_out_links``)."""
    from sphinx.util.matching import Matcher

    matcher = Matcher([*exclude, *EXCLUDE])
    pages = {}
    for relative in walk_files(book, _keep_matcher(exclude)):
        name = relative.as_posix()
        if name.endswith(".md") and not matcher(name):
            pages[name[:-3]] = book / relative
    return pages


def left_out_links(book: Path, exclude: list[str]) -> list[Refused]:
    """The links in the book that its pages are not read through: linked folders (outside
    the book, loops such as ``loop -> .``, or a second name for a folder of the book) and
    links to files outside it. Sphinx follows them all, so they join its exclude_patterns."""
    refused: list[Refused] = []
    for _ in walk_files(book, _keep_matcher(exclude), refused.append):
        pass
    return refused


def decode_page(data: bytes, encoding: str = "utf-8-sig") -> tuple[str, Message | None]:
    """A page's text, and the problem when a byte is not in ``encoding``: Sphinx stops
    the whole build on it ("Encoding error!"), so it is found first, at its line."""
    try:
        return data.decode(encoding), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        text = (
            f"byte 0x{byte} at offset {error.start} is not {error.encoding.upper().removesuffix('-SIG')}; "
            f"save the file as UTF-8 (the page is left out of the build until then)"
        )
        return data.decode(encoding, errors="replace"), Message(line, text, "encoding")


def remove(path: Path) -> None:
    """Remove a file, link or folder; nothing when it is not there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
