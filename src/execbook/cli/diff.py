"""``execbook diff OTHER``: the book's current outputs against another set of them.

OTHER is either a cache folder (another machine's, CI's, or a copy kept from
before an upgrade: its ``last.json`` names each page's outputs per framework)
or a folder of the site's notebooks from a previous build or deploy
(``_build/html``, its ``notebooks/`` folder, or a checkout of gh-pages):
``<tab>/<page>.ipynb``. The current outputs are the ones the last build of
this book showed. The comparison is the build's own (``execute.changes``,
``execbook_output_tolerance``), so the list is the one the report page gives.

Outputs the book's builds found not reproducible run to run (the cache's
``unstable.json``) are listed apart and do not count. Exit 1 when an output
changed beyond the tolerance, 0 when none did, 2 when OTHER or the book cannot
be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from execbook.book.files import BUILD_DIR
from execbook.cli.book import load_book
from execbook.execute.cache import Cache, DamagedEntry, is_tagged
from execbook.execute.changed import (
    INDEX_FILE,
    change_data,
    index_pairs,
    located,
    read_index,
    read_unstable,
    split_unstable,
)
from execbook.execute.changes import Change, compare_notebooks, ordered, plural, summary
from execbook.html.theme import SITE_NOTEBOOKS


class BadInput(Exception):
    """OTHER, or this book's outputs, cannot be read: a message with what to do."""


def cache_root(book: Path, cache_dir: str) -> Path:
    return book / cache_dir if cache_dir else book / BUILD_DIR / ".execbook-cache"


def current_outputs(root: Path) -> dict[tuple[str, str], NotebookNode]:
    """(page, tab) -> the notebook the book's last build showed."""
    index = read_index(root)
    if not index:
        raise BadInput(
            f"{root / INDEX_FILE}: no record of the last build's outputs; build the book first (execbook build html)"
        )
    return cache_outputs(Cache(root), index)


def cache_outputs(cache: Cache, index: dict[str, str]) -> dict[tuple[str, str], NotebookNode]:
    found = {}
    for page, tab, key in index_pairs(index):
        try:
            notebook = cache.load(key)
        except DamagedEntry:
            continue  # the build reports damage; here it is an output we cannot compare
        if notebook is not None:
            found[page, tab] = notebook
    return found


def site_outputs(folder: Path, tabs: list[str]) -> dict[tuple[str, str], NotebookNode]:
    """(page, tab) -> the site's notebook, from ``<folder>[/notebooks]/<tab>/<page>.ipynb``."""
    root = folder / SITE_NOTEBOOKS if (folder / SITE_NOTEBOOKS).is_dir() else folder
    found = {}
    for tab in tabs:
        for path in sorted((root / tab).rglob("*.ipynb")):
            try:
                notebook = nbformat.read(path, as_version=4)
            except Exception as error:  # noqa: BLE001 - bad JSON, not a notebook: nbformat raises many kinds
                raise BadInput(f"{path}: not a notebook ({error})") from error
            found[path.relative_to(root / tab).with_suffix("").as_posix(), tab] = notebook
    return found


def other_outputs(other: Path, tabs: list[str]) -> dict[tuple[str, str], NotebookNode]:
    if not other.is_dir():
        raise BadInput(f"{other}: no such folder; give a cache folder or a folder of the site's notebooks")
    if (other / INDEX_FILE).is_file() or is_tagged(other):
        index = read_index(other)
        if not index:
            raise BadInput(
                f"{other}: a cache without {INDEX_FILE} (written by builds of this execbook version on); "
                "build the old version again into it, or compare with its site's notebooks"
            )
        return cache_outputs(Cache(other), index)
    found = site_outputs(other, tabs)
    if not found:
        raise BadInput(
            f"{other}: neither a cache folder ({INDEX_FILE}) nor the site's notebooks (<tab>/<page>.ipynb for "
            f"{', '.join(tabs)})"
        )
    return found


def changes_between(
    old: dict[tuple[str, str], NotebookNode], new: dict[tuple[str, str], NotebookNode], tolerance: float
) -> list[Change]:
    """Every changed output of the pages and frameworks both sides have."""
    changes = []
    for page, tab in sorted(set(old) & set(new)):
        changes += compare_notebooks(old[page, tab], new[page, tab], page, tab, tolerance)
    return ordered(changes)


def page_files(book: Path, notebooks: dict[tuple[str, str], NotebookNode]) -> dict[str, str]:
    """Page -> its file, relative to the book, for file:line."""
    return {page: f"{page}.md" for page, _ in notebooks if (book / f"{page}.md").is_file()}


def diff(book: Path, other: Path) -> int:
    loaded = load_book(book)
    root = cache_root(book, loaded.options.cache_dir)
    try:
        new = current_outputs(root)
        old = other_outputs(other, loaded.options.tabs)
    except BadInput as error:
        print(f"execbook diff: {error}", file=sys.stderr)
        return 2
    changes, noise = split_unstable(changes_between(old, new, loaded.options.output_tolerance), read_unstable(root))
    files = page_files(book, new)
    for change in changes:
        print_change(change, files)
    if noise:
        print(f"not reproducible run to run ({len(noise)}, not counted):")
        for change in noise:
            print_change(change, files)
    line = f"execbook diff: {summary(changes)} ({len(set(old) & set(new))} notebooks compared"
    if noise:
        line += f"; {plural(len(noise), 'output')} not reproducible run to run"
    print(line + ")", file=sys.stderr)
    return 1 if changes else 0


def print_change(change: Change, files: dict[str, str]) -> None:
    print(located(change_data(change, files)))
    if change.kind != "image":
        for line in change.diff.splitlines():
            print(f"    {line}")
