"""A rebuild with nothing changed skips Sphinx altogether.

Sphinx needs about a second just to import itself, MyST-NB, the theme and our
extension before it can find out that no page changed (1.9 s on the demo book,
2.3-2.9 s on d2l-en). ``execbook build html`` (and so ``make html``) first
compares a fingerprint of everything the site was built from with the one
stored by the last build that succeeded with every job ok; when they match, it
says so and stops, in about a tenth of a second. Anything else goes to Sphinx.

The fingerprint holds, as (path, mtime, size, ctime), so that an edit which
kept its mtime (``cp -p``, ``rsync -t``, ``tar``) is seen by its inode change time:

* every file of the book's folder, except the build folder, hidden folders,
  ``__pycache__``, ``node_modules``, ``jupyter_execute`` and virtualenvs;
* the files from outside the book that the last build depended on (an
  ``execbook_allow_outside`` include, for instance), listed by the extension
  at the end of that build (``OUTSIDE_LIST``), and the files outside the book
  that code read (``execbook_track_reads_in``, from the reads memo ``READS_MEMO``);
* execbook's own files, and every installed distribution of this Python
  (a ``pip install`` or upgrade changes its ``.dist-info``);
* the command line, and the ``EXECBOOK_*``, ``SPHINX*`` and ``PYTHONPATH``
  environment variables;
* everything the last build wrote into ``_build/html`` and ``_build/doctrees``,
  so a deleted or edited output is rebuilt.

``-E``/``-a`` (rebuild everything) always run Sphinx. The stamp is removed when
a build starts and written only after a build that exited 0 and whose jobs all
ran ok, so a failure, or a build killed half-way, is seen again by the next
build rather than hidden by this shortcut. A ``-W`` build is answered only by
the stamp of a ``-W`` build (which had no warning): a build that warned, of a
cached failing cell say, leaves a stamp a strict build does not trust.

Only the standard library is imported here: importing Sphinx is the cost this
module avoids.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from execbook.book.files import BUILD_DIR, is_source_folder

STAMP_VERSION = 2
STAMP = Path(BUILD_DIR) / "execbook-uptodate.json"  # beside the outputs it describes, not among them
REPORT = Path(BUILD_DIR) / "doctrees" / "execbook" / "report.json"
OUTSIDE_LIST = Path(BUILD_DIR) / "doctrees" / "execbook" / "outside-dependencies.json"
READS_MEMO = Path(BUILD_DIR) / "doctrees" / "execbook" / "reads.json"  # execute.reads.MEMO_FILE
STRICT_FLAGS = {"-W", "--fail-on-warning"}
OUTPUT_DIRS = (Path(BUILD_DIR) / "html", Path(BUILD_DIR) / "doctrees")
FORCE_FLAGS = {"-E", "-a", "--fresh-env", "--write-all"}
QUIET_FLAGS = {"-q", "-Q", "--quiet", "--silent"}
# flags that change what is printed, or whether a warning fails the build, but not the site
NEUTRAL_FLAGS = QUIET_FLAGS | {
    "-W",
    "--fail-on-warning",
    "--keep-going",
    "-T",
    "--show-traceback",
    "-v",
    "-vv",
    "--color",
    "--no-color",
    "-N",
}
ENV_PREFIXES = ("EXECBOOK_", "SPHINX")
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def book_folder(argv: list[str]) -> Path:
    """``--book DIR`` of an ``execbook build`` command line, else the current folder."""
    for index, arg in enumerate(argv):
        if arg == "--book" and index + 1 < len(argv):
            return Path(argv[index + 1]).resolve()
        if arg.startswith("--book="):
            return Path(arg.removeprefix("--book=")).resolve()
    return Path.cwd()


def may_skip(argv: list[str]) -> bool:
    """Whether this command line is an ``execbook build html`` the shortcut may answer."""
    return (
        argv[:2] == ["build", "html"]
        and not FORCE_FLAGS.intersection(argv)
        and "-h" not in argv
        and "--help" not in argv
    )


Stat = tuple[str, int, int, int]


def _stat(path: str, info: os.stat_result) -> Stat:
    return (path, info.st_mtime_ns, info.st_size, info.st_ctime_ns)


def _tree_stats(top: Path, skip_top: bool) -> list[Stat]:
    """(relative path, mtime_ns, size, ctime_ns) of every file under ``top``; with ``skip_top``,
    the folders that are not the book's sources are left out."""
    stats = []
    for root, dirs, files in os.walk(top):
        if skip_top:
            if "pyvenv.cfg" in files and Path(root) != top:
                dirs[:] = []
                continue
            dirs[:] = [name for name in dirs if is_source_folder(name)]
        for name in files:
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:  # removed while we walk: the next fingerprint differs anyway
                continue
            stats.append(_stat(os.path.relpath(path, top), info))
    stats.sort()
    return stats


def _file_stats(paths: list[str]) -> list[Stat]:
    stats = []
    for path in sorted(set(paths)):
        try:
            stats.append(_stat(path, os.stat(path)))
        except OSError:
            stats.append((path, -1, -1, -1))
    return stats


def _installed() -> list[tuple[str, int]]:
    """Every distribution this Python can import, with the time it was installed."""
    found = []
    for entry in sys.path:
        if not entry.endswith(("site-packages", "dist-packages")) or not os.path.isdir(entry):
            continue
        for item in os.scandir(entry):
            if item.name.endswith((".dist-info", ".egg-info", ".egg-link", ".pth")):
                found.append((os.path.join(entry, item.name), item.stat().st_mtime_ns))
    return sorted(found)


def _outside_dependencies(book: Path) -> list[str]:
    try:
        return json.loads((book / OUTSIDE_LIST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def _outside_reads(book: Path) -> list[str]:
    """The files outside the book that code read (absolute paths in the reads memo:
    ``execbook_track_reads_in``); reads of the book's own files are in its fingerprint already."""
    try:
        memo = json.loads((book / READS_MEMO).read_text(encoding="utf-8"))
        entries = memo.get("entries", {}).values()
        return [read for entry in entries for read in entry[-1] if os.path.isabs(read)]
    except (OSError, ValueError, AttributeError, TypeError, IndexError):
        return []


def inputs_digest(book: Path, argv: list[str]) -> str:
    """One hash of everything a build of ``book`` with this command line reads."""
    described = {
        "version": STAMP_VERSION,
        "argv": [arg for arg in argv if arg not in NEUTRAL_FLAGS],
        "environment": sorted(
            (name, value) for name, value in os.environ.items() if name.startswith(ENV_PREFIXES) or name == "PYTHONPATH"
        ),
        "python": [sys.executable, sys.version],
        "installed": _installed(),
        "execbook": _tree_stats(PACKAGE_DIR, skip_top=True),
        "book": _tree_stats(book, skip_top=True),
        "outside": _file_stats(_outside_dependencies(book) + _outside_reads(book)),
    }
    return _digest(described)


def outputs_digest(book: Path) -> str:
    return _digest([_tree_stats(book / folder, skip_top=False) for folder in OUTPUT_DIRS])


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


def is_current(book: Path, argv: list[str]) -> bool:
    """Whether the last successful build of ``book`` read exactly these inputs and
    its outputs are still as it left them."""
    try:
        stamp = json.loads((book / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if stamp.get("version") != STAMP_VERSION:
        return False
    if is_strict(argv) and not stamp.get("strict"):  # the last build may have warned
        return False
    return stamp.get("inputs") == inputs_digest(book, argv) and stamp.get("outputs") == outputs_digest(book)


def all_jobs_ok(book: Path) -> bool:
    """No job of the last build failed (a build that ran no code wrote no report)."""
    try:
        report = json.loads((book / REPORT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        return False
    return report.get("failed", 0) == 0


def is_strict(argv: list[str]) -> bool:
    """Whether warnings fail this build (``-W``)."""
    return bool(STRICT_FLAGS.intersection(argv))


def record(book: Path, inputs: str, strict: bool = False) -> None:
    """Store the fingerprint of a build that succeeded; ``inputs`` was taken before it ran,
    ``strict``: it ran with ``-W`` (so it had no warning)."""
    stamp = book / STAMP
    stamp.unlink(missing_ok=True)
    if not all_jobs_ok(book) or not (book / OUTPUT_DIRS[0]).is_dir():
        return
    text = json.dumps({"version": STAMP_VERSION, "inputs": inputs, "outputs": outputs_digest(book), "strict": strict})
    stamp.write_text(text, encoding="utf-8")


def forget(book: Path) -> None:
    """A build is starting: until it succeeds, the old stamp says nothing true."""
    (book / STAMP).unlink(missing_ok=True)


def list_outside_dependencies(app: Any, exception: BaseException | None) -> None:
    """Sphinx's ``build-finished``: name the files from outside the book that pages
    read (an allowed ``literalinclude``, say), for the next fingerprint."""
    if exception is not None or app.builder.name != "html":
        return
    srcdir = Path(app.srcdir).resolve()
    found = set()
    for paths in app.env.dependencies.values():
        for path in paths:
            resolved = (srcdir / path).resolve()
            if not resolved.is_relative_to(srcdir):
                found.add(str(resolved))
    target = Path(app.doctreedir) / "execbook" / OUTSIDE_LIST.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(sorted(found)), encoding="utf-8")
