"""The book's boundary: the one helper every stage uses for a path a page names or a writer writes.

A path is judged by its real path (symlinks followed, ``..`` applied after them, as the
system opens it), never by its spelling: ``img/../../x.svg``, ``/home/me/.netrc`` and an
in-book link to a file outside all name a file that is not the book's. Readers ask
:func:`real_inside`; writers call :func:`checked_write_target` before any write or copy;
walks over a folder use :func:`walk_files`, which never follows a link out of the folder
and never enters a folder twice, so symlink loops (``loop -> .``, ``d/up -> ..``) end.

Standard library only: the CLI's unchanged-book shortcut and every stage import it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any


class OutsideError(ValueError):
    """A writer was about to write outside its output root."""


def real_path(path: str | Path) -> Path:
    """``path``'s real path. ``os.path.realpath``, not ``Path.resolve``: a link loop gives
    a path (which no one can open) rather than a RuntimeError."""
    return Path(os.path.realpath(path))


def real_inside(root: Path, path: str | Path) -> Path | None:
    """``path`` (relative to ``root`` unless absolute) as its real path, when that lies
    inside ``root``'s real path (or is it); else None."""
    real_root = real_path(root)
    real = real_path(Path(root, path))  # an absolute path replaces root
    return real if real.is_relative_to(real_root) else None


def real_inside_any(roots: Iterable[Path], path: str | Path) -> Path | None:
    """``path``'s real path when it lies inside one of ``roots`` (an absolute ``path``,
    or one relative to the first root), else None."""
    roots = list(roots)
    real = real_path(Path(roots[0], path)) if roots else real_path(path)
    return real if any(real.is_relative_to(real_path(root)) for root in roots) else None


def book_folder(srcdir: str | Path, ini_file: str = "") -> Path:
    """The book's folder: that of config.ini for a d2l-book book, else the source folder
    (that of conf.py, unless sphinx-build was given another with -c)."""
    return Path(ini_file).parent if ini_file else Path(srcdir)


def readable_folders(srcdir: str | Path, doctreedir: str | Path, config: Any) -> list[Path]:
    """The folders a page may take files from, as real paths: the book, its source folder,
    the folders the author allows (``execbook_allow_outside``, relative to the book), and
    the build's doctree folder, where MyST-NB writes the cells' images (outside the book
    when ``sphinx-build -d`` points elsewhere). ``config``: Sphinx's."""
    book = book_folder(srcdir, getattr(config, "execbook_ini_file", ""))
    extra = [book / folder for folder in getattr(config, "execbook_allow_outside", [])]
    return [real_path(folder) for folder in (book, Path(srcdir), Path(doctreedir), *extra)]


def checked_write_target(root: Path, path: Path) -> Path:
    """The real path a write to ``path`` lands on, which must lie inside ``root``.

    Parents are resolved and so is ``path`` itself when it is a link: a copy onto
    ``notebooks/../../page.md`` or onto a link to a source file would overwrite it.
    """
    real = real_path(path)
    real_root = real_path(root)
    if real == real_root or not real.is_relative_to(real_root):
        raise OutsideError(f"refusing to write {path}: it lands on {real}, outside the output folder {real_root}")
    return real


@dataclass(frozen=True)
class Refused:
    """A link a walk did not follow: its path relative to the walked root, where it points, and why."""

    path: PurePosixPath
    real: Path
    reason: str  # "outside", "loop" (an enclosing folder), "duplicate" (a folder the walk enters anyway)

    def describe(self) -> str:
        if self.reason == "outside":
            return f"'{self.path}' is a link to {self.real}, outside the book"
        if self.reason == "loop":
            return f"'{self.path}' is a link to {self.real}, a folder that holds it (a loop)"
        return f"'{self.path}' is a link to {self.real}, a folder the book already has"


def _inside(real: Path, real_root: Path) -> bool:
    return real.is_relative_to(real_root)


def walk_files(
    root: Path,
    keep_folder: Callable[[PurePosixPath], bool] = lambda _relative: True,
    on_refused: Callable[[Refused], None] | None = None,
) -> Iterator[PurePosixPath]:
    """The files under ``root``, as paths relative to it, in sorted order.

    ``keep_folder`` is asked about each folder's path relative to ``root`` (e.g.
    ``lambda p: is_source_folder(p.name)``); folders it refuses are not entered.

    A linked folder is never entered: one that resolves outside ``root`` would bring
    outside files in, and one inside names a folder this walk enters anyway by its
    real path (or one ``keep_folder`` leaves out), so following it gives each file
    twice, or forever for a loop. Each is handed to ``on_refused`` instead. A linked
    file is yielded when its target lies inside ``root``, refused when outside.
    """
    real_root = real_path(root)
    for here, dirs, files in os.walk(real_root):
        folder = Path(here)
        relative_here = PurePosixPath(folder.relative_to(real_root).as_posix())
        kept_dirs = []
        for name in sorted(dirs):
            relative = relative_here / name
            if not keep_folder(relative):
                continue
            if (folder / name).is_symlink():
                if on_refused is not None:
                    on_refused(_refused_folder(relative, real_path(folder / name), folder, real_root))
                continue
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            relative = relative_here / name
            if (folder / name).is_symlink():
                real = real_path(folder / name)
                if not _inside(real, real_root):
                    if on_refused is not None:
                        on_refused(Refused(relative, real, "outside"))
                    continue
            yield relative


def _refused_folder(relative: PurePosixPath, real: Path, folder: Path, real_root: Path) -> Refused:
    if not _inside(real, real_root):
        return Refused(relative, real, "outside")
    if folder.is_relative_to(real):  # the link's own folder lies in its target
        return Refused(relative, real, "loop")
    return Refused(relative, real, "duplicate")


def list_files(
    root: Path, keep_folder: Callable[[PurePosixPath], bool] = lambda _relative: True
) -> tuple[list[PurePosixPath], list[Refused]]:
    """:func:`walk_files` as two lists: the files, and the links it did not follow."""
    refused: list[Refused] = []
    files = list(walk_files(root, keep_folder, refused.append))
    return files, refused
