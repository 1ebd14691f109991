"""Executed notebooks stored as files named by their key.

One file per key, written to a temporary name and renamed into place, so a
reader sees a whole entry or none, and two builds sharing the folder can
only race to write the same content. No database: the folder can be copied,
cached by CI, or pruned with ``find -atime``.

The cache is an optimisation, never a source of truth: whatever is found in
it that cannot be read back (bad bytes, bad JSON, a folder where a file
belongs) is reported as damage and run again, and a write that fails is the
caller's to report, never a reason to stop a build.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from execbook.book.files import atomic_write, remove
from execbook.source.notebooks import notebook_text

# the cache-directory tag (https://bford.info/cachedir/): backup tools skip the
# folder, and execbook knows the folder is its own to write into
TAG_NAME = "CACHEDIR.TAG"
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
TAG_TEXT = (
    f"{TAG_SIGNATURE}\n# This file is a cache directory tag created by execbook.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)


def is_tagged(folder: Path) -> bool:
    try:
        return (folder / TAG_NAME).read_bytes().startswith(TAG_SIGNATURE.encode())
    except OSError:
        return False


def is_empty(folder: Path) -> bool:
    try:
        return not any(folder.iterdir())
    except OSError:  # not there (created on first write), or not a folder: Cache reports what fails
        return not folder.exists()


def unsafe_root(root: Path, book: Path) -> str:
    """Why ``root`` must not hold the cache ("" when it may): a filesystem root,
    the book's folder or one of its ancestors would get notebooks/ and
    durations.json among other files. An empty or execbook-owned (tagged)
    folder is the cache's own."""
    root, book = root.resolve(), book.resolve()
    if is_empty(root) or is_tagged(root):
        return ""
    if root == Path(root.anchor):
        return "is a filesystem root"
    if root == book:
        return "is the book's own folder"
    if root in book.parents:
        return "holds the book's sources"
    return ""


class DamagedEntry(Exception):
    """A cache file that cannot be read back; it will be re-executed."""


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def claim(self) -> None:
        """Tag the folder as execbook's when execbook creates it (or finds it empty);
        a folder that already holds other files is left as it is."""
        if not self.root.is_dir() or is_empty(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / TAG_NAME).write_text(TAG_TEXT, encoding="utf-8")

    def path(self, key: str, partial: bool = False) -> Path:
        return self.root / "notebooks" / key[:2] / f"{key}{'.partial' if partial else ''}.ipynb"

    def has(self, key: str) -> bool:
        """A finished entry exists (a partial one, from a timeout or a dead kernel, is run again)."""
        return self.path(key).is_file()

    def load(self, key: str) -> NotebookNode | None:
        """The finished notebook, else the partial one, else None; DamagedEntry when unreadable."""
        for path in (self.path(key), self.path(key, partial=True)):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as error:  # a folder where the entry belongs, no permission to read, ...
                raise DamagedEntry(f"{path}: {error.strerror or error}") from error
            return parse_entry(key, path, data)
        return None

    def store(self, key: str, notebook: NotebookNode, partial: bool = False) -> bool:
        """Write the entry; True when damage (a folder in its place) had to be cleared first.
        OSError when the folder cannot be written: the caller reports it and goes on."""
        self.claim()
        path = self.path(key, partial)
        cleared = path.is_dir() and not path.is_symlink()
        if cleared:
            remove(path)
        # nbformat.writes' text, without its schema check
        atomic_write(path, notebook_text(with_cells_digest(notebook)))
        if not partial:  # a stale partial entry is harmless (the finished one wins), so this may fail
            try:
                remove(self.path(key, partial=True))
            except OSError:
                pass
        return cleared

    def discard(self, key: str) -> None:
        """Remove both entries, as far as the folder allows: a store that cannot
        replace them says so itself."""
        for path in (self.path(key), self.path(key, partial=True)):
            try:
                remove(path)
            except OSError:
                pass

    # -- durations of earlier runs, to start the longest jobs first ---------------

    @property
    def durations_path(self) -> Path:
        return self.root / "durations.json"

    def durations(self) -> dict[str, float]:
        return self.read_durations()[0]

    def read_durations(self) -> tuple[dict[str, float], str]:
        """Seconds per job id from earlier runs, and what was wrong with the file
        ("" when nothing): only an ordering hint, so what is malformed is left
        out and what is good is kept."""
        try:
            data = json.loads(self.durations_path.read_bytes())
        except FileNotFoundError:
            return {}, ""
        except (OSError, ValueError) as error:  # unreadable, not UTF-8, not JSON
            return {}, f"cannot be read ({error})"
        if not isinstance(data, dict):
            return {}, f"holds a JSON {type(data).__name__} instead of an object of job durations"
        good = {key: float(value) for key, value in data.items() if is_duration(value)}
        bad = len(data) - len(good)
        return good, (f"{bad} malformed entr{'y' if bad == 1 else 'ies'} ignored" if bad else "")

    def record_durations(self, new: dict[str, float]) -> None:
        """Merge ``new`` into the file (dropping what was malformed); OSError when it cannot be written."""
        if new:
            self.claim()
            merged = {**self.read_durations()[0], **new}
            atomic_write(self.durations_path, json.dumps(merged, indent=0, sort_keys=True))


def cells_digest(notebook: NotebookNode) -> str:
    """The hash of the entry's cells as the job sent them (type and source, in order):
    the key hashes the job's code with its options, so the entry keeps this one to
    tell that its own cells are still those of its job."""
    cells = [[cell.get("cell_type", ""), cell.get("source", "")] for cell in notebook.get("cells", [])]
    return hashlib.sha256(json.dumps(cells).encode("utf-8")).hexdigest()


def with_cells_digest(notebook: NotebookNode) -> NotebookNode:
    """``notebook`` with ``cells_digest`` in its execbook metadata; the caller's
    notebook is left as it was (only the two dictionaries on the way are new)."""
    own = dict(notebook.get("metadata", {}).get("execbook", {}))
    own["cells_digest"] = cells_digest(notebook)
    metadata = NotebookNode({**notebook.get("metadata", {}), "execbook": NotebookNode(own)})
    return NotebookNode({**notebook, "metadata": metadata})


def parse_entry(key: str, path: Path, data: bytes) -> NotebookNode:
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        own = notebook.metadata.get("execbook", {})
        if own.get("key") != key:
            raise ValueError("the entry belongs to another key")
        # an entry edited by hand (a cell dropped or changed) would show outputs of code the
        # page does not have; entries written before the digest was kept have none to check
        if "cells_digest" in own and own["cells_digest"] != cells_digest(notebook):
            raise ValueError("its cells do not match its job (the entry was edited)")
        return notebook
    except Exception as error:  # bad bytes, bad JSON, not a notebook: nbformat raises many kinds
        raise DamagedEntry(f"{path}: {error}") from error


def is_duration(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
