"""The copy of the book that code runs in (``_build/doctrees/execbook/tree``):
``../data/x.csv`` is found, and what code writes leaves the book clean."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from execbook.book.files import is_source_folder


def sync_tree(src: Path, dst: Path, skip: set[Path]) -> list[str]:
    """Mirror the book into ``dst`` (copying changed files only), so code that
    reads ``../data/x.csv`` finds it and code that writes leaves the book clean.

    Only regular files are copied: a socket or a named pipe left in the book
    (an editor's, a tool's) holds nothing to read, and a dangling link points
    at nothing; code that opens one fails as it would in the book. Returns
    each file that could not be copied (unreadable), with why.
    """
    skip = {path.resolve() for path in skip}
    problems = []
    for root, dirs, files in os.walk(src):
        here = Path(root)
        dirs[:] = [d for d in dirs if is_source_folder(d) and (here / d).resolve() not in skip]
        target = dst / here.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            source, copy = here / name, target / name
            try:
                info = source.stat()
            except OSError:  # a dangling link
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            try:
                existing = copy.stat()
                if existing.st_size == info.st_size and existing.st_mtime_ns == info.st_mtime_ns:
                    continue
            except FileNotFoundError:
                pass
            try:
                shutil.copy2(source, copy)
            except OSError as error:
                problems.append(f"{source.relative_to(src)}: {error.strerror or error}")
    return problems
