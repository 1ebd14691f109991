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
held (read and not written yet) or, for ``:numref:``, one unpickled for
an earlier reference of this build (a few are kept); the walks change
nothing in the pages they are given. Every other ``get_doctree``, and the
write that pops the held page and resolves it, is as before.

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
KEPT = 8  # pages unpickled for :numref: kept per build: the page being written and those near it

# env -> docname -> a doctree unpickled for reading only, most recently used last
_unpickled: weakref.WeakKeyDictionary[BuildEnvironment, OrderedDict[str, Any]] = weakref.WeakKeyDictionary()


def _held(env: BuildEnvironment, docname: str) -> Any:
    held = getattr(env, "_write_doc_doctree_cache", {}).get(docname)
    if held is not None:
        held.settings.env = env  # what get_doctree sets, and the write sets again
    return held


@contextmanager
def reading_only(env: BuildEnvironment, keep: bool) -> Iterator[None]:
    """``env.get_doctree`` serves held pages (and, with ``keep``, pages it
    unpickled before) until the block ends."""
    if "get_doctree" in vars(env):  # already inside (or someone else's): as it is
        yield
        return
    unpickle = env.get_doctree
    kept = _unpickled.setdefault(env, OrderedDict()) if keep else None

    def get_doctree(docname: str) -> Any:
        held = _held(env, docname)
        if held is not None:
            return held
        if kept is None:
            return unpickle(docname)
        doctree = kept.get(docname)
        if doctree is None:
            doctree = kept[docname] = unpickle(docname)
            while len(kept) > KEPT:
                kept.popitem(last=False)
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
    _unpickled.pop(env, None)


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


def setup_doctrees(app: Any) -> None:
    from sphinx.domains.std import StandardDomain
    from sphinx.environment.collectors.toctree import TocTreeCollector

    # assign_figure_numbers(self, env); _resolve_numref_xref(self, env, fromdocname, builder, ...)
    _wrap(TocTreeCollector, "assign_figure_numbers", lambda *args: args[0] if args else None, keep=False)
    _wrap(StandardDomain, "_resolve_numref_xref", lambda *args: args[0] if args else None, keep=True)
    app.connect("env-before-read-docs", forget)
