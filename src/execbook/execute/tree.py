"""The copy of the book that code runs in (``_build/doctrees/execbook/tree``):
``../data/x.csv`` is found, and what code writes leaves the book clean."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from execbook.book.files import is_source_folder


def sync_tree(src: Path, dst: Path, skip: set[Path]) -> None:
    """Mirror the book into ``dst`` (copying changed files only), so code that
    reads ``../data/x.csv`` finds it and code that writes leaves the book clean."""
    skip = {path.resolve() for path in skip}
    for root, dirs, files in os.walk(src):
        here = Path(root)
        dirs[:] = [d for d in dirs if is_source_folder(d) and (here / d).resolve() not in skip]
        target = dst / here.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            source, copy = here / name, target / name
            stat = source.stat()
            try:
                existing = copy.stat()
                if existing.st_size == stat.st_size and existing.st_mtime_ns == stat.st_mtime_ns:
                    continue
            except FileNotFoundError:
                pass
            shutil.copy2(source, copy)
