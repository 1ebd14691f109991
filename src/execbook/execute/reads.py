"""The files a job's code reads: recorded in the kernel, hashed with the cache
entry, checked on later builds.

In the kernel, a Python audit hook (PEP 578) sees every ``open`` event:
``open()``, ``io.open_code`` (what imports of local modules use), and so
numpy's and pandas' file readers. Paths under the tracked roots (the book's
copy tree, where code runs, and ``execbook_track_reads_in``) are kept; after
each cell the new ones go back as a display output of their own media type
(``MIME``), which the build takes out of the notebook before it is cached.
A file is not the channel: the job's setup (``kernel.setup_code``) knows its
page's folder, not its job, and two jobs of one folder run at the same time;
an output travels with its job's notebook, from forked, cold and Dask kernels
alike, with no round trip of its own.

The build stores, with the cache entry, each file read and the hash of the
book's file (the source the tree mirrors; "" for one the book does not have),
and re-runs a job when one of them differs. Hashes are remembered by
(size, mtime, ctime, inode), so a build with nothing changed hashes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from execbook.book.files import atomic_write

MIME = "application/vnd.execbook.reads+json"
ROOTS_FILE = "track-reads.json"  # beside the tree: the extra roots, for each job's setup
MEMO_FILE = "reads.json"  # beside the tree: hashes by file stamp, reads by cache entry stamp
ABSENT = ""  # the hash of a file the book does not have

# Runs in the kernel (the job's setup): keep it cheap, the event name is checked
# first, and a hook that raises would make the code's own open() fail.
KERNEL_CODE = """
def __execbook_track_reads(tree, roots, mime):
    import os, sys
    from importlib.util import source_from_cache
    # as given and resolved: a relative path is joined with getcwd(), which is resolved
    trees = tuple(dict.fromkeys(os.path.join(p, "") for p in (os.path.realpath(tree), os.path.normpath(tree))))
    others = tuple(os.path.join(os.path.realpath(p), "") for p in roots)
    prefixes = trees + others + tuple(os.path.join(os.path.normpath(p), "") for p in roots)
    exact = {os.path.realpath(p) for p in roots} | {os.path.normpath(p) for p in roots}  # roots that are files
    seen, written, new = set(), set(), []
    fspath, fsdecode, isabs, join, normpath, getcwd = (
        os.fspath, os.fsdecode, os.path.isabs, os.path.join, os.path.normpath, os.getcwd)
    WRONLY, ACCMODE, TRUNC = os.O_WRONLY, os.O_ACCMODE, os.O_TRUNC

    def hook(event, args):
        if event != "open":
            return
        try:
            path, mode, flags = args
            if isinstance(path, int):
                return
            path = fsdecode(fspath(path))
            if not isabs(path):
                path = join(getcwd(), path)
            path = normpath(path)
            if path in seen or not (path.startswith(prefixes) or path in exact):
                return
            if mode is None:  # os.open
                reads = (flags & ACCMODE) != WRONLY and not flags & TRUNC
            else:  # "w", "x", "a" write what the code makes; "r", "+" read what is there
                reads = "r" in mode or ("+" in mode and "w" not in mode and "x" not in mode)
            if not reads:
                written.add(path)
                return
            if path in written:  # the job's own output, read back
                return
            if path.endswith(".pyc") and "__pycache__" in path:
                try:  # a valid .pyc is all an import opens: its source is what was read
                    path = source_from_cache(path)
                except ValueError:
                    pass
            seen.add(path)
            for prefix in trees:
                if path.startswith(prefix):
                    path = path[len(prefix):].replace(os.sep, "/")
                    break
            new.append(path)
        except Exception:
            pass

    sys.addaudithook(hook)  # for good: the kernel ends with its job
    try:
        from IPython import get_ipython
        from IPython.display import publish_display_data
    except ImportError:
        return

    def publish(result=None):
        if new:
            batch = new[:]
            del new[:len(batch)]
            publish_display_data({mime: {"paths": batch}})

    shell = get_ipython()
    if shell is not None:
        shell.events.register("post_run_cell", publish)
"""


def kernel_code(tree: Path, roots: Iterable[Path]) -> str:
    """Setup code that records the reads under ``tree`` (reported relative to it)
    and ``roots`` (reported as absolute paths)."""
    extra = [str(root) for root in roots]
    return f"{KERNEL_CODE}\n__execbook_track_reads({str(tree)!r}, {extra!r}, {MIME!r})\ndel __execbook_track_reads"


def setup_for(workdir: Path, libdir: Path | None) -> str:
    """The tracking part of a job's setup ("" when there is no tree to track).

    The copy tree and the library are siblings in the build's state folder
    (``Layout``; a Dask worker unpacks them side by side too), so the tree is
    found from the library folder; the extra roots are read from ``ROOTS_FILE``
    beside them, which the build writes before its jobs run."""
    if libdir is None:
        return ""
    tree = libdir.parent / "tree"
    if not Path(workdir).is_relative_to(tree):
        return ""
    return kernel_code(tree, read_roots(libdir.parent / ROOTS_FILE))


def read_roots(path: Path) -> list[Path]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Path(root) for root in data if isinstance(root, str)] if isinstance(data, list) else []


def write_roots(state: Path, roots: list[Path]) -> None:
    atomic_write(state / ROOTS_FILE, json.dumps([str(root) for root in roots]))


def take_reads(notebook: NotebookNode) -> list[str]:
    """The paths the kernel reported, in order, each once; their outputs are
    removed from the notebook (they are for the build, not for readers)."""
    paths: dict[str, None] = {}
    for cell in notebook.cells:
        outputs = cell.get("outputs")
        if not outputs:
            continue
        kept = []
        for output in outputs:
            data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
            if MIME not in data:
                kept.append(output)
                continue
            reported = data[MIME].get("paths", []) if isinstance(data[MIME], dict) else []
            paths.update((path, None) for path in reported if isinstance(path, str) and path)
        cell["outputs"] = kept
    return list(paths)


def book_path(read: str, book: Path) -> Path:
    """The file a recorded read stands for: under the book for a path relative
    to the tree, itself for an absolute one (an extra root's)."""
    return Path(read) if os.path.isabs(read) else book / read


Stamp = tuple[int, int, int, int]


def stamp(info: os.stat_result) -> Stamp:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


class Hashes:
    """Content hashes of files, remembered by their stamp; and each cache
    entry's reads, remembered by the entry's stamp (so a no-op build parses
    no notebook). Kept in ``MEMO_FILE``; only a cache of what the files say."""

    def __init__(self, path: Path):
        self.path = path
        self.files: dict[str, list[Any]] = {}  # path -> [*stamp, hash]
        self.entries: dict[str, list[Any]] = {}  # key -> [*stamp of the entry, reads]
        self.changed = False
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.files = {k: v for k, v in data.get("files", {}).items() if isinstance(v, list) and len(v) == 5}
            self.entries = {k: v for k, v in data.get("entries", {}).items() if isinstance(v, list) and len(v) == 5}
        except (OSError, ValueError, AttributeError):
            pass  # none yet, or unreadable: everything is hashed again

    def digest(self, path: Path) -> str:
        """The file's sha256, ABSENT when it is not there or not a file."""
        try:
            info = path.stat()
        except OSError:
            return ABSENT
        if not os.path.isfile(path):
            return ABSENT
        known = self.files.get(str(path))
        now = stamp(info)
        if known is not None and tuple(known[:4]) == now:
            return str(known[4])
        try:
            digest = file_sha256(path)
        except OSError:
            return ABSENT
        self.files[str(path)] = [*now, digest]
        self.changed = True
        return digest

    def entry_reads(self, key: str, entry: Path, load: Callable[[], dict[str, str] | None]) -> dict[str, str] | None:
        """The reads stored with a cache entry (None: it holds no record), parsed
        once per version of the entry file."""
        try:
            now = stamp(entry.stat())
        except OSError:
            return None
        known = self.entries.get(key)
        if known is not None and tuple(known[:4]) == now:
            return known[4]
        reads = load()
        if reads is not None:
            self.entries[key] = [*now, reads]
            self.changed = True
        return reads

    def remember_entry(self, key: str, entry: Path, reads: dict[str, str]) -> None:
        try:
            self.entries[key] = [*stamp(entry.stat()), reads]
            self.changed = True
        except OSError:
            pass

    def save(self) -> None:
        """Write the memo when it changed; a failure only costs hashing again next build."""
        if not self.changed:
            return
        try:
            atomic_write(self.path, json.dumps({"files": self.files, "entries": self.entries}))
            self.changed = False
        except OSError:
            pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(paths: Iterable[str], book: Path, hashes: Hashes) -> dict[str, str]:
    """Each read with the hash of the book's file now."""
    return {read: hashes.digest(book_path(read, book)) for read in paths}


def parse_reads(metadata: Any) -> dict[str, str] | None:
    """The reads stored in an entry's metadata; None when there is no (valid) record."""
    reads = metadata.get("reads") if isinstance(metadata, dict) else None
    if not isinstance(reads, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in reads.items()):
        return None
    return dict(reads)


def stale_reason(reads: dict[str, str], current: Callable[[str], str]) -> str:
    """Why a job whose code read ``reads`` must run again ("" when it need not):
    the first file whose hash (``current``) differs, as the report names it."""
    for read, recorded in reads.items():
        now = current(read)
        if now == recorded:
            continue
        if now == ABSENT:
            return f"{read} disappeared"
        if recorded == ABSENT:
            return f"{read} appeared"
        return f"{read} changed"
    return ""
