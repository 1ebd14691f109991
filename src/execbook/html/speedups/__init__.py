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

``execbook_speedups = False`` in conf.py, or ``EXECBOOK_SPEEDUPS=0`` in the
environment, applies no speed-up: the two upstream work-arounds in ``fixes``
(crashes, not speed) are applied all the same.

Measured with ``python benchmarks/render_only.py``; the README has the figures.
"""

from __future__ import annotations

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

# env -> speed-ups on for the build under way (read by execbook's own domain and collector subclasses)
_active: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()

GEN0_THRESHOLD = 10_000  # allocations between collections of the youngest generation (Python's default: 700)


def all_patches() -> list[Patch]:
    from execbook.html.speedups import doctrees, fixes, imports, pages, theme_checks

    return [*fixes.PATCHES, *imports.PATCHES, *pages.PATCHES, *doctrees.PATCHES, *theme_checks.PATCHES]


def apply(key: Any, speedups: bool = True) -> None:
    """Apply every patch whose target has the shape it was checked with (only
    the fixes unless ``speedups``), and relax the collector; ``undo(key)`` reverts."""
    if key in _applied:
        return
    if not _applied:
        _repair()
    done: list[tuple[Any, str, Any]] = []
    _applied[key] = done
    for patch in all_patches():
        if not (speedups or patch.fix):
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
    if speedups:
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
def applied(speedups: bool = True) -> Iterator[None]:
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


def wanted(app: Any) -> bool:
    """``execbook_speedups`` in conf.py, and ``EXECBOOK_SPEEDUPS=0`` (the CLI's switch) over it."""
    if os.environ.get("EXECBOOK_SPEEDUPS", "").strip().lower() in ("0", "false", "no", "off"):
        return False
    return bool(getattr(app.config, "execbook_speedups", True))


def active(env: Any) -> bool:
    """Whether the build of ``env`` runs with speed-ups (False outside a build)."""
    try:
        return _active.get(env, False)
    except TypeError:  # not weak-referable: no build of ours
        return False


def on_builder_inited(app: Any) -> None:
    on = wanted(app)
    apply(app, on)
    _active[app.env] = on
    if on:
        from execbook.html.speedups.templates import cache_compiled_templates

        cache_compiled_templates(app)


def on_build_finished(app: Any, exception: BaseException | None) -> None:
    _active.pop(app.env, None)
    undo(app)


def setup_speedups(app: Any) -> None:
    app.connect("builder-inited", on_builder_inited, priority=1)  # before any handler that renders
    app.connect("build-finished", on_build_finished, priority=999)  # after every other handler
