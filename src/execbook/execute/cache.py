"""Executed notebooks stored as files named by their key.

One file per key, written to a temporary name and renamed into place, so a
reader sees a whole entry or none, and two builds sharing the folder can
only race to write the same content. No database: the folder can be copied,
cached by CI, or pruned with ``find -atime``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode


class DamagedEntry(Exception):
    """A cache file that cannot be read back; it will be re-executed."""


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str, partial: bool = False) -> Path:
        return self.root / "notebooks" / key[:2] / f"{key}{'.partial' if partial else ''}.ipynb"

    def has(self, key: str) -> bool:
        """A finished entry exists (a partial one, from a timeout or a dead kernel, is run again)."""
        return self.path(key).is_file()

    def load(self, key: str) -> NotebookNode | None:
        """The finished notebook, else the partial one, else None; DamagedEntry when unreadable."""
        path = self.path(key)
        if not path.is_file():
            path = self.path(key, partial=True)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            notebook = nbformat.reads(text, as_version=4)
            if notebook.metadata.get("execbook", {}).get("key") != key:
                raise ValueError("the entry belongs to another key")
            return notebook
        except Exception as error:  # nbformat raises many kinds on bad JSON
            raise DamagedEntry(f"{path}: {error}") from error

    def store(self, key: str, notebook: NotebookNode, partial: bool = False) -> None:
        atomic_write(self.path(key, partial), nbformat.writes(notebook))
        if not partial:
            self.path(key, partial=True).unlink(missing_ok=True)

    def discard(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        self.path(key, partial=True).unlink(missing_ok=True)

    # -- durations of earlier runs, to start the longest jobs first ---------------

    @property
    def durations_path(self) -> Path:
        return self.root / "durations.json"

    def durations(self) -> dict[str, float]:
        try:
            data = json.loads(self.durations_path.read_text(encoding="utf-8"))
            return {str(k): float(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def record_durations(self, new: dict[str, float]) -> None:
        if new:
            atomic_write(self.durations_path, json.dumps({**self.durations(), **new}, indent=0, sort_keys=True))


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
