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

Code: sphinx/environment/collectors/toctree.py ``assign_figure_numbers``,
sphinx/domains/std/__init__.py ``_resolve_numref_xref``,
sphinx/environment/__init__.py ``get_doctree`` (Sphinx 7.3-9).
"""

from __future__ import annotations

import functools
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sphinx.environment import BuildEnvironment

PATCHED = "_execbook_reads_held_doctrees"  # not unchanged.py's mark: both wrap assign_figure_numbers
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


def _wrap(owner: type, name: str, env_of: Callable[..., BuildEnvironment | None], keep: bool) -> None:
    original = getattr(owner, name, None)
    if original is None or getattr(original, PATCHED, False):
        return

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        env = env_of(*args)
        if not isinstance(env, BuildEnvironment):
            return original(self, *args, **kwargs)
        with reading_only(env, keep):
            return original(self, *args, **kwargs)

    setattr(wrapper, PATCHED, True)
    setattr(owner, name, wrapper)


def note_resolving() -> None:
    """``BuildEnvironment.get_and_resolve_doctree`` of a held page (the write's
    usual way) notes which doctree it resolves while it does."""
    original = BuildEnvironment.get_and_resolve_doctree
    if getattr(original, PATCHED, False):
        return

    @functools.wraps(original)
    def get_and_resolve_doctree(self: BuildEnvironment, docname: str, *args: Any, **kwargs: Any) -> Any:
        held = getattr(self, "_write_doc_doctree_cache", {}).get(docname)
        if held is None or kwargs.get("doctree") is not None or self in _resolving:
            return original(self, docname, *args, **kwargs)
        _resolving[self] = (docname, held)
        try:
            resolved = original(self, docname, *args, **kwargs)
        finally:
            del _resolving[self]
        _keep(self, docname, resolved)  # for the :numref:s of the pages after it
        return resolved

    setattr(get_and_resolve_doctree, PATCHED, True)
    BuildEnvironment.get_and_resolve_doctree = get_and_resolve_doctree


def setup_doctrees(app: Any) -> None:
    from sphinx.domains.std import StandardDomain
    from sphinx.environment.collectors.toctree import TocTreeCollector

    # assign_figure_numbers(self, env); _resolve_numref_xref(self, env, fromdocname, builder, ...)
    _wrap(TocTreeCollector, "assign_figure_numbers", lambda *args: args[0] if args else None, keep=False)
    _wrap(StandardDomain, "_resolve_numref_xref", lambda *args: args[0] if args else None, keep=True)
    note_resolving()
    app.connect("env-before-read-docs", forget)
