"""Every replacement of another project's function, in one place, for one build at a time.

Each ``Patch`` names its target (module and attribute), the parameters the
target had when it was checked, and the upstream versions it was checked
against. ``apply`` (on ``builder-inited``) checks each target's shape first:
a target that is missing or whose signature differs is left alone, with a
debug line, and the stock code runs. ``undo`` (on ``build-finished``, which
Sphinx emits with the exception when a build fails) puts back what was there,
and the garbage collector's settings with it. So nothing here outlives a
build, and a plain Sphinx project built later in the same process runs stock code.
Sphinx emits ``build-finished`` for an ``Exception`` but not for a
``KeyboardInterrupt``: what an interrupted build left in place is put back when
the next build starts (``_repair``; each replacement carries what it replaced).

Each speed-up has a name (``SPEEDUPS``, the one table). ``execbook_speedups =
False`` in conf.py, or ``EXECBOOK_SPEEDUPS=0`` in the environment, applies
none: the upstream work-arounds in ``fixes`` (crashes, not speed) are applied
all the same. ``EXECBOOK_SPEEDUPS=-titles,-collector`` applies all but those,
``EXECBOOK_SPEEDUPS=titles,collector`` only those, ``1`` all of them; an
unknown name stops the build naming the known ones (``benchmarks/speedups.py``
builds a book with each one off in turn, to measure what it saves).

Measured with ``python benchmarks/render_only.py`` and ``benchmarks/speedups.py``;
the README has the figures.
"""

from __future__ import annotations

import configparser
import gc
import inspect
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sphinx.util import logging

logger = logging.getLogger(__name__)

MARK = "__execbook_speedup__"  # on every replacement, "already applied" (the one spelling): what it replaced
MISSING = object()


@dataclass(frozen=True)
class Patch:
    """One replacement: ``module``'s ``path`` (``"Class.method"`` or ``"function"``)
    becomes ``make(original)`` while a build runs."""

    module: str
    path: str
    parameters: tuple[str, ...] | None  # the original's parameter names as checked; None: not a function
    checked: str  # the upstream versions it was checked against
    make: Callable[[Any], Any]
    fix: bool = False  # an upstream work-around (applied even with speed-ups off)
    expect: Callable[[Any], bool] | None = None  # a further check of the original
    name: str = ""  # the speed-up it belongs to (a key of SPEEDUPS); "" for a fix


# every speed-up by name, and what it does; a replacement's name is its Patch's, the
# others are execbook's own code asking ``active(env, name)`` or ``on_builder_inited``
SPEEDUPS = {
    "entry-points": "one scan of the installed distributions' entry points, shared by Sphinx, pybtex, bibtex",
    "plugin-lexers": "Pygments' plugin lexers loaded once, not for every code block of an unknown language",
    "notebook-writes": "MyST-NB's copy of each page's notebook written without nbformat's schema check",
    "docutils-settings": "each page's docutils settings copied from one made per set of components",
    "myst-settings": "MyST-Parser's default docutils settings made once, copied for each page",
    "formatters": "one Pygments HtmlFormatter per set of options, not one per code block",
    "lexer-lookups": "a lexer's class looked up by name once",
    "lexers": "one Pygments lexer per language and options, not one per code block",
    "search-stems": "the search index stems each word once a build, not once a page",
    "stylesheets": "docutils' stylesheet list looked up on disk once, not for every page and title",
    "titles": "a plain page title rendered once (render_partial), not for every page showing it",
    "held-pages": "numfig and :numref: read the pages Sphinx holds in memory instead of unpickling them",
    "theme-checks": "the PyData theme's empty-template check done once for templates that depend on settings only",
    "templates": "compiled Jinja templates kept between builds in <doctrees>/execbook/jinja",
    "collector": "the garbage collector: what is loaded frozen, the youngest generation collected less often",
    "unchanged": "a build that read no page keeps the citations and figure numbers it restored",
}


def _target(patch: Patch) -> tuple[Any, str] | None:
    """The object holding the attribute, and its name; None when it is not there."""
    import importlib

    try:
        owner: Any = importlib.import_module(patch.module)
    except ImportError:
        return None
    *outer, name = patch.path.split(".")
    for part in outer:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    return owner, name


def _shape_differs(patch: Patch, original: Any) -> str | None:
    """Why ``original`` is not what ``patch`` was checked against; None when it is."""
    if original is MISSING:
        return "not found"
    if getattr(original, MARK, None) is not None:
        return "already applied (by a build under way)"
    if patch.parameters is not None:
        try:
            parameters = tuple(inspect.signature(original).parameters)
        except (TypeError, ValueError):
            return "no signature"
        if parameters != patch.parameters:
            return f"signature {parameters}, checked with {patch.parameters}"
    if patch.expect is not None and not patch.expect(original):
        return "not the function it was checked with"
    return None


# key (a Sphinx app) -> [(owner, name, what its own __dict__ held)] in the order applied
_applied: weakref.WeakKeyDictionary[Any, list[tuple[Any, str, Any]]] = weakref.WeakKeyDictionary()
# [(a weak reference to the key, the collector's threshold before, whether this build froze)]: at most one;
# a plain list, so that a build that never finished (KeyboardInterrupt) still has its settings put back
_collector: list[tuple[Any, tuple[int, ...], bool]] = []

# env -> the speed-ups on for the build under way (read by execbook's own domain and collector subclasses)
_active: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()

GEN0_THRESHOLD = 10_000  # allocations between collections of the youngest generation (Python's default: 700)


def all_patches() -> list[Patch]:
    from execbook.html.speedups import doctrees, fixes, imports, pages, theme_checks

    return [*fixes.PATCHES, *imports.PATCHES, *pages.PATCHES, *doctrees.PATCHES, *theme_checks.PATCHES]


def apply(key: Any, speedups: bool | frozenset[str] = True) -> None:
    """Apply every fix, and every patch of the speed-ups on (``speedups``: all,
    none, or those named), whose target has the shape it was checked with;
    relax the collector if "collector" is on. ``undo(key)`` reverts."""
    if key in _applied:
        return
    if not _applied:
        _repair()
    on = frozenset(SPEEDUPS) if speedups is True else frozenset(speedups or ())
    done: list[tuple[Any, str, Any]] = []
    _applied[key] = done
    for patch in all_patches():
        if not (patch.fix or patch.name in on):
            continue
        target = _target(patch)
        original = MISSING if target is None else getattr(target[0], target[1], MISSING)
        why = _shape_differs(patch, original)
        if why is not None or target is None:
            logger.debug("[execbook] %s.%s left as it is: %s", patch.module, patch.path, why)
            continue
        owner, name = target
        replacement = patch.make(original)
        before = (owner, name, vars(owner).get(name, MISSING))
        setattr(replacement, MARK, before)
        done.append(before)
        setattr(owner, name, replacement)
    if "collector" in on:
        _collect_less(key)


def _put_back(owner: Any, name: str, before: Any) -> None:
    if before is MISSING:
        delattr(owner, name)
    else:
        setattr(owner, name, before)


def undo(key: Any) -> None:
    """Put back what ``apply(key)`` replaced, last first, and the collector's settings."""
    for owner, name, before in reversed(_applied.pop(key, [])):
        _put_back(owner, name, before)
    _collect_as_before(key)


def _repair() -> None:
    """With no build of ours under way, a replacement still in place is left from
    a build that never reached build-finished (Sphinx emits it for an
    ``Exception``, not for a ``KeyboardInterrupt``): put back what it replaced."""
    for patch in all_patches():
        target = _target(patch)
        current = None if target is None else getattr(target[0], target[1], None)
        before = getattr(current, MARK, None)
        if before is not None:
            _put_back(*before)
    if _collector:
        _collect_as_before(_collector[0][0]())


@contextmanager
def applied(speedups: bool | frozenset[str] = True) -> Iterator[None]:
    """The patches for the block only (for tests and benchmarks)."""

    class Key:
        pass

    key = Key()
    apply(key, speedups)
    try:
        yield
    finally:
        undo(key)


def _collect_less(key: Any) -> None:
    """Python's cyclic collector walks every object alive at each full
    collection, Sphinx's and its extensions' functions and classes among them:
    about a tenth of a render-only build. What is loaded when the build starts
    is frozen (not walked, never garbage) and the youngest generation is
    collected every 10,000 allocations until the build ends. A caller that froze
    objects itself keeps its freeze: then only the threshold changes."""
    if _collector:  # a build within a build: the outer one restores
        return
    threshold = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    _collector.append((weakref.ref(key), threshold, freeze))
    if freeze:
        gc.freeze()
    gc.set_threshold(max(threshold[0], GEN0_THRESHOLD), *threshold[1:])


def _collect_as_before(key: Any) -> None:
    """``key`` None: the build that relaxed the collector is gone."""
    if _collector and _collector[0][0]() is key:
        _, threshold, froze = _collector.pop()
        if froze:
            gc.unfreeze()
        gc.set_threshold(*threshold)


# the words configparser (and so config.ini) reads as booleans: 1/yes/true/on, 0/no/false/off
ON = frozenset(word for word, state in configparser.RawConfigParser.BOOLEAN_STATES.items() if state)
OFF = frozenset(configparser.RawConfigParser.BOOLEAN_STATES) - ON


def chosen(variable: str, configured: bool = True) -> frozenset[str]:
    """The speed-ups on, from ``EXECBOOK_SPEEDUPS`` (``variable``) over conf.py's
    ``execbook_speedups`` (``configured``): unset or empty, conf.py's choice; ``0``
    none, ``1`` all; ``-a,-b`` all but those; ``a,b`` only those. ValueError for
    an unknown name or a list mixing both forms, naming what is allowed."""
    text = variable.strip().lower()
    if not text:
        return frozenset(SPEEDUPS) if configured else frozenset()
    if text in OFF:
        return frozenset()
    if text in ON:
        return frozenset(SPEEDUPS)
    items = [item.strip() for item in text.split(",") if item.strip()]
    off = [item.startswith("-") for item in items]
    names = [item.lstrip("-+") for item in items]
    unknown = [name for name in names if name not in SPEEDUPS]
    if unknown:
        raise ValueError(
            f"unknown speed-up(s) {', '.join(unknown)}; the speed-ups are {', '.join(SPEEDUPS)} "
            "(-NAME,... turns those off, NAME,... turns only those on, 0 none, 1 all)"
        )
    if any(off) and not all(off):
        raise ValueError(
            "it mixes names to turn off (-NAME) with names to keep on: "
            "use -NAME,... (all but those) or NAME,... (only those)"
        )
    return frozenset(SPEEDUPS) - set(names) if all(off) else frozenset(names)


def wanted(app: Any) -> frozenset[str]:
    """The speed-ups on for ``app``'s build: ``execbook_speedups`` in conf.py, and
    ``EXECBOOK_SPEEDUPS`` (the CLI's switch) over it. A wrong variable stops the build
    with a one-line ConfigError (``execbook: EXECBOOK_SPEEDUPS=...: ...``)."""
    variable = os.environ.get("EXECBOOK_SPEEDUPS", "")
    try:
        return chosen(variable, bool(getattr(app.config, "execbook_speedups", True)))
    except ValueError as error:
        from execbook.book.config import report_config_error

        report_config_error(app, f"EXECBOOK_SPEEDUPS={variable.strip()}: {error}", in_settings=False)


def active(env: Any, name: str) -> bool:
    """Whether the build of ``env`` runs speed-up ``name``; False outside a build."""
    try:
        return name in _active.get(env, frozenset())
    except TypeError:  # not weak-referable: no build of ours
        return False


def on_builder_inited(app: Any) -> None:
    on = wanted(app)
    apply(app, on)
    _active[app.env] = on
    if "templates" in on:
        from execbook.html.speedups.templates import cache_compiled_templates

        cache_compiled_templates(app)


def on_build_finished(app: Any, exception: BaseException | None) -> None:
    _active.pop(app.env, None)
    undo(app)


def setup_speedups(app: Any) -> None:
    app.connect("builder-inited", on_builder_inited, priority=1)  # before any handler that renders
    app.connect("build-finished", on_build_finished, priority=999)  # after every other handler
