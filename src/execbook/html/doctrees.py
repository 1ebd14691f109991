"""Pages a build holds in memory are not unpickled again to be read.

Sphinx keeps each page it has just read, the very doctree it pickled, in
``env._write_doc_doctree_cache`` until it writes the page. Two walks that
only read pages unpickle them all the same:

- numbering figures (``numfig``, execbook's default): after reading,
  ``TocTreeCollector.assign_figure_numbers`` walks the whole book, page by
  page, from ``env.get_doctree``: an unpickling of every page, a twentieth of
  an execution-off build;
- ``:numref:``: ``StandardDomain._resolve_numref_xref`` unpickles the target's
  page for each reference, only to look the target node up by its id; a
  d2l page refers to its own figures and the sections around it.

During those two calls only, ``env.get_doctree`` hands out a page still
held (read and not written yet), the page being resolved for writing
itself (``get_and_resolve_doctree`` popped it from the held pages: its
targets are the nodes the pickle holds, with the same ids), or, for
``:numref:``, a page written a moment ago or unpickled for an earlier
reference (a few are kept: a page refers to the ones just before it).
The walks only read what resolving and writing a page leave as they are:
which node carries an id, its type, its ids. Every other ``get_doctree``,
and the write itself, is as before.

Both go through Sphinx's extension points: a subclass of the standard domain
(``app.add_domain(..., override=True)``) and of the toctree collector (Sphinx's
own disabled, ours enabled). The page being resolved is known through the
speed-up in ``speedups/doctrees.py``; without it, that page is unpickled once.
With ``execbook_speedups = False`` both run Sphinx's code unchanged.

Code: sphinx/environment/collectors/toctree.py ``assign_figure_numbers``,
sphinx/domains/std/__init__.py ``_resolve_numref_xref`` (Sphinx 7.3-9.0).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sphinx.application import Sphinx
from sphinx.domains.std import StandardDomain
from sphinx.environment import BuildEnvironment
from sphinx.environment.collectors.toctree import TocTreeCollector
from sphinx.util import logging

from execbook.html import speedups, unchanged

logger = logging.getLogger(__name__)

KEPT = 8  # pages kept for :numref: per build: those written or unpickled last

# env -> docname -> a doctree unpickled or written, for reading only, most recently used last
_kept: weakref.WeakKeyDictionary[BuildEnvironment, OrderedDict[str, Any]] = weakref.WeakKeyDictionary()
# env -> (docname, doctree) of the held page get_and_resolve_doctree is resolving now
_resolving: weakref.WeakKeyDictionary[BuildEnvironment, tuple[str, Any]] = weakref.WeakKeyDictionary()


def _held(env: BuildEnvironment, docname: str) -> Any:
    resolving = _resolving.get(env)
    if resolving is not None and resolving[0] == docname:
        return resolving[1]
    held = getattr(env, "_write_doc_doctree_cache", {}).get(docname)
    if held is not None:
        held.settings.env = env  # what get_doctree sets, and the write sets again
    return held


def _keep(env: BuildEnvironment, docname: str, doctree: Any) -> None:
    kept = _kept.setdefault(env, OrderedDict())
    kept[docname] = doctree
    kept.move_to_end(docname)
    while len(kept) > KEPT:
        kept.popitem(last=False)


@contextmanager
def reading_only(env: BuildEnvironment, keep: bool) -> Iterator[None]:
    """``env.get_doctree`` serves held pages (and, with ``keep``, pages it
    unpickled before) until the block ends."""
    if "get_doctree" in vars(env):  # already inside (or someone else's): as it is
        yield
        return
    unpickle = env.get_doctree
    kept = _kept.setdefault(env, OrderedDict()) if keep else None

    def get_doctree(docname: str) -> Any:
        held = _held(env, docname)
        if held is not None:
            return held
        if kept is None:
            return unpickle(docname)
        doctree = kept.get(docname)
        if doctree is None:
            doctree = unpickle(docname)
            _keep(env, docname, doctree)
        else:
            kept.move_to_end(docname)
        return doctree

    env.get_doctree = get_doctree  # type: ignore[method-assign]
    try:
        yield
    finally:
        del env.get_doctree


def forget(app: Any, env: BuildEnvironment, *args: Any) -> None:
    """A page read again makes its kept copy stale (``env-before-read-docs``)."""
    _kept.pop(env, None)


class Numrefs(StandardDomain):
    """Sphinx's standard domain, whose ``:numref:`` resolution reads held pages
    (and the few kept) instead of unpickling the target's page for each reference."""

    def _resolve_numref_xref(self, env: BuildEnvironment, *args: Any, **kwargs: Any) -> Any:
        if not speedups.active(env, "held-pages"):
            return super()._resolve_numref_xref(env, *args, **kwargs)
        with reading_only(env, keep=True):
            return super()._resolve_numref_xref(env, *args, **kwargs)


class FigureNumbers(TocTreeCollector):
    """Sphinx's toctree collector, whose figure numbering reads held pages; after a
    build that read no page and removed none, the numbers restored are kept (``unchanged``)."""

    def assign_figure_numbers(self, env: BuildEnvironment) -> list[str]:
        if speedups.active(env, "unchanged") and unchanged.read_nothing(env):
            return []
        if not speedups.active(env, "held-pages"):
            return super().assign_figure_numbers(env)
        with reading_only(env, keep=False):
            return super().assign_figure_numbers(env)


def replace_toctree_collector(app: Sphinx) -> None:
    """Sphinx enabled its own toctree collector before any extension loads: it is
    disabled (``EnvironmentCollector.disable``) and ours enabled in its place."""
    stock = [
        owner
        for listener in app.events.listeners.get("env-get-updated", [])
        if type(owner := getattr(listener.handler, "__self__", None)) is TocTreeCollector
    ]
    if len(stock) != 1:  # not as checked (Sphinx 7.2-9.0): Sphinx's own collector numbers figures
        logger.debug("[execbook] toctree collector left as it is: %d found", len(stock))
        return
    stock[0].disable(app)
    app.add_env_collector(FigureNumbers)


def setup_doctrees(app: Sphinx) -> None:
    app.add_domain(Numrefs, override=True)
    replace_toctree_collector(app)
    app.connect("env-before-read-docs", forget)
