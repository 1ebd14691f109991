"""Toc cycles (a.md's toc lists b, b.md's toc lists a), reported at their lines and broken.

Sphinx walks the toc tree from the root page without noticing a cycle
(``BuildEnvironment.collect_relations``), so a cycle ends the build with
"maximum recursion depth exceeded", first in sphinxcontrib-bibtex's
``env-updated`` handler, later in the HTML builder. Upstream:
https://github.com/sphinx-doc/sphinx/issues/851 (closed, still so in Sphinx 9).
Removing the entry that closes the cycle before anyone walks the tree turns
that crash into one warning.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from execbook.book.versions import source_path
from execbook.source.document import toc_target

logger = logging.getLogger(__name__)

TOC_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*toc\s*$")


def break_toc_cycles(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-updated``, before sphinxcontrib-bibtex's handler: warn at each entry that closes a cycle, and drop it."""
    done: set[str] = set()
    for start in [app.config.root_doc, *sorted(env.toctree_includes)]:
        _walk(env, start, [], done)
    return []


def _walk(env: BuildEnvironment, docname: str, path: list[str], done: set[str]) -> None:
    if docname in done:
        return
    path.append(docname)
    for child in list(env.toctree_includes.get(docname, ())):
        if child in path:
            _report(env, path[path.index(child) :] + [child])
            env.toctree_includes[docname].remove(child)
        else:
            _walk(env, child, path, done)
    path.pop()
    done.add(docname)


def _report(env: BuildEnvironment, cycle: list[str]) -> None:
    """``cycle`` is the pages in toc order, its first page again at the end."""
    steps = [
        f"{_file(env, parent)}:{_entry_line(env, parent, child)} lists {_file(env, child)}"
        for parent, child in zip(cycle, cycle[1:])
    ]
    parent, child = cycle[-2], cycle[-1]
    logger.warning(
        f"toc cycle: {'; '.join(steps)}; a page cannot be inside its own toc; remove one of these entries "
        "(this one is left out)",
        location=(parent, _entry_line(env, parent, child)),
        type="execbook",
        subtype="toc",
    )


def _file(env: BuildEnvironment, docname: str) -> str:
    return source_path(env, docname, False).as_posix()


def _entry_line(env: BuildEnvironment, parent: str, child: str) -> int:
    """The line of ``parent``'s toc entry that names ``child``; 1 when it cannot be found."""
    fence = None
    try:
        lines = source_path(env, parent).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    for number, line in enumerate(lines, 1):
        if fence is None:
            match = TOC_FENCE.match(line)
            fence = match.group(1) if match else None
        elif line.strip().startswith(fence):
            fence = None
        elif _names(line.strip(), parent) == child:
            return number
    return 1


def _names(entry: str, parent: str) -> str:
    """The page a toc entry (``path``, ``path.md``, ``/path`` or ``title <path>``) names."""
    if entry.endswith(">") and "<" in entry:
        entry = entry[entry.rindex("<") + 1 : -1]
    return toc_target(parent, entry.removesuffix(".md"))
