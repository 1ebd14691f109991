"""The copy of the book that code runs in (``_build/doctrees/execbook/tree``):
``../data/x.csv`` is found, and what code writes leaves the book clean.

The copy mirrors the book exactly at the start of each build, so that a rebuilt
book gives what a clean checkout gives: a file the book no longer has, or one a
cell of an earlier build wrote (``__pycache__`` of a local module included), is
removed; a file that became a folder (or the reverse) is replaced. It stays
incremental: an unchanged file (same size and mtime, which ``copy2`` keeps) is
not copied again, so a no-op build only lists and stats both trees.

Not mirrored, as in every other walk of the book: hidden folders (``.git``,
``.venv``) and the folders that are never sources (``_build``, ``venv``,
``node_modules``, ``__pycache__``, ``jupyter_execute``): they are tools' and
builds' files, often huge, and code reads none of them as data.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from execbook.book.files import is_source_folder

# what an entry of the book becomes in the copy
_FILE, _FOLDER, _LINK = "file", "folder", "link"


def sync_tree(src: Path, dst: Path, skip: set[Path]) -> list[str]:
    """Mirror the book ``src`` into ``dst``: copy new and changed files, remove
    what the book does not have. ``skip``: folders of the book left out (the
    build's own output and cache).

    Regular files, and links to them, are copied. A linked folder
    (``data -> /datasets/set``, ``data -> ../shared``) becomes a link in the copy,
    never a copy and never walked (``loop -> .`` costs nothing): to the mirrored
    folder when its target is a mirrored folder of the book (so code writes into
    the copy, not the book), else to the target's real path. A socket, a named
    pipe, a dangling link, or a link into a skipped folder holds nothing to read
    and is left out; code that opens one fails as it would in the book.

    Returns each path that could not be mirrored (unreadable, or a file in the
    copy that cannot be removed), with why.
    """
    real_src = Path(os.path.realpath(src))
    skipped = {Path(os.path.realpath(path)) for path in skip}
    problems: list[str] = []
    _replace_unless(dst, _FOLDER, problems, src)
    if dst.is_dir() and not dst.is_symlink():
        _sync_folder(real_src, real_src, dst, skipped, problems)
    return problems


def _sync_folder(book: Path, here: Path, copy: Path, skipped: set[Path], problems: list[str]) -> None:
    """Mirror the book's folder ``here`` (a real path inside ``book``) into ``copy``."""
    wanted = _entries(book, here, copy, skipped, problems)
    try:
        existing = {entry.name: entry for entry in os.scandir(copy)}
    except OSError as error:
        problems.append(f"{here.relative_to(book) or '.'}: {error.strerror or error}")
        return
    for name, entry in existing.items():
        if name not in wanted:
            _remove(Path(entry.path), problems, book)
    for name, (kind, detail) in wanted.items():
        source, target = here / name, copy / name
        old = existing.get(name)
        if kind == _FOLDER:
            if old is None or not old.is_dir(follow_symlinks=False):
                if old is not None and not _remove(target, problems, book):
                    continue
                _mkdir(target, problems, book)
            if target.is_dir():
                _sync_folder(book, source, target, skipped, problems)
        elif kind == _LINK:
            if old is not None and old.is_symlink() and os.readlink(target) == detail:
                continue
            if old is None or _remove(target, problems, book):
                _try(problems, book, target, os.symlink, detail, target)
        else:
            assert isinstance(detail, os.stat_result)  # a file's detail is its stat, links followed (_entries)
            info = detail
            if old is not None and old.is_file(follow_symlinks=False):
                mine = old.stat(follow_symlinks=False)
                if mine.st_size == info.st_size and mine.st_mtime_ns == info.st_mtime_ns:
                    continue
            # removed first: copy2 onto a link would write through it, onto a read-only copy it fails
            if old is not None and not _remove(target, problems, book):
                continue
            _try(problems, book, source, shutil.copy2, source, target)


def _entries(
    book: Path, here: Path, copy: Path, skipped: set[Path], problems: list[str]
) -> dict[str, tuple[str, object]]:
    """What each entry of the book's folder ``here`` becomes in ``copy``: a file (with its
    stat), a folder, or a link (with the link's text)."""
    wanted: dict[str, tuple[str, object]] = {}
    try:
        entries = list(os.scandir(here))
    except OSError as error:
        problems.append(f"{here.relative_to(book)}: {error.strerror or error}")
        return wanted
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            try:
                info = entry.stat()  # the target's
            except OSError:  # dangling, or a loop of links
                continue
            if stat.S_ISREG(info.st_mode):
                wanted[entry.name] = (_FILE, info)
            elif stat.S_ISDIR(info.st_mode):
                link = _link_text(book, here, copy, Path(os.path.realpath(path)), skipped)
                if link is not None:
                    wanted[entry.name] = (_LINK, link)
        elif entry.is_dir(follow_symlinks=False):
            if is_source_folder(entry.name) and path not in skipped:
                wanted[entry.name] = (_FOLDER, None)
        elif entry.is_file(follow_symlinks=False):
            try:
                wanted[entry.name] = (_FILE, entry.stat(follow_symlinks=False))
            except OSError as error:
                problems.append(f"{path.relative_to(book)}: {error.strerror or error}")
    return wanted


def _link_text(book: Path, here: Path, copy: Path, target: Path, skipped: set[Path]) -> str | None:
    """What the copy's link to the folder ``target`` (a real path) holds: a relative link
    when the target is a folder the copy mirrors, the real path when it lies outside the
    book (or in a folder the copy leaves out), None when it lies in a skipped folder."""
    if any(target.is_relative_to(folder) for folder in skipped):
        return None
    if target.is_relative_to(book):
        relative = target.relative_to(book)
        if all(is_source_folder(part) for part in relative.parts):
            return os.path.relpath(book_to_copy(book, copy, here) / relative, copy)
    return str(target)


def book_to_copy(book: Path, copy: Path, here: Path) -> Path:
    """The copy's root, from the copy's folder ``copy`` that mirrors the book's ``here``."""
    depth = len(here.relative_to(book).parts)
    return copy.parents[depth - 1] if depth else copy


def _replace_unless(path: Path, kind: str, problems: list[str], book: Path) -> None:
    """Make ``path`` a real folder: remove a file or link in its place, create it."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        if not _remove(path, problems, book):
            return
    _mkdir(path, problems, book)


def _mkdir(path: Path, problems: list[str], book: Path) -> None:
    _try(problems, book, path, lambda: path.mkdir(parents=True, exist_ok=True))


def _remove(path: Path, problems: list[str], book: Path) -> bool:
    """Remove a file, a link or a whole folder of the copy; False (and a problem) if it stays."""
    if not (path.is_dir() and not path.is_symlink()):
        return _try(problems, book, path, path.unlink)
    try:
        shutil.rmtree(path)
        return True
    except OSError:  # a cell made a folder read-only (os.chmod(d, 0o555)): its files stay until it is writable
        _make_writable(path)
    return _try(problems, book, path, shutil.rmtree, path)


def _make_writable(folder: Path) -> None:
    """Give the owner every right on ``folder`` and the folders in it (links not followed),
    each before the walk lists it."""
    _owner_rwx(str(folder))
    for here, dirs, _files in os.walk(folder, onerror=lambda _error: None):
        for name in dirs:
            _owner_rwx(os.path.join(here, name))


def _owner_rwx(path: str) -> None:
    try:
        if not os.path.islink(path):
            os.chmod(path, os.lstat(path).st_mode | stat.S_IRWXU)
    except OSError:
        pass


def _try(problems: list[str], book: Path, path: Path, action: Callable[..., object], *args: object) -> bool:
    try:
        action(*args)
    except OSError as error:
        name = path.relative_to(book) if path.is_relative_to(book) else path
        problems.append(f"{name}: {error.strerror or error}")
        return False
    return True
