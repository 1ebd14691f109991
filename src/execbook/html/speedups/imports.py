"""Look-ups of what is installed, done once a build.

- ``importlib.metadata.entry_points()`` scans every installed distribution on
  each call; pybtex, sphinxcontrib-bibtex and Sphinx call it a dozen times a
  build. Their calls share one scan (what is installed does not change during
  a build). Pygments loads every plugin lexer each time a code block asks for
  a lexer it does not ship, as each code cell asks for IPython's
  ``ipython3``: they are loaded once a build.
- MyST-NB writes each page's notebook under the doctrees with
  ``nbformat.writes``, which schema-checks it (and only logs what it finds);
  execbook made that notebook and nothing reads that copy back, so it is
  written unchecked, as compact JSON.

Checked against pybtex 0.26, sphinxcontrib-bibtex 2.7, Sphinx 9.0, Pygments 2.21, MyST-NB 1.4.
"""

from __future__ import annotations

import functools
import types
from importlib import metadata
from typing import Any

from execbook.html.speedups import Patch


def shared_entry_points(original: Any) -> Any:
    """``importlib.metadata.entry_points`` over one scan of the installed distributions."""
    everything = functools.cache(original)

    @functools.cache
    def selected(params: tuple[tuple[str, Any], ...]) -> Any:
        return everything().select(**dict(params))

    def entry_points(**params: Any) -> Any:
        return selected(tuple(sorted(params.items()))) if params else everything()

    return entry_points


def _is_stock_entry_points(original: Any) -> bool:
    return original is metadata.entry_points


def plugin_lexers(original: Any) -> Any:
    """``pygments.lexers.find_plugin_lexers``, each plugin loaded once per build."""
    loaded = functools.cache(lambda: tuple(original()))
    return lambda: iter(loaded())


def _is_plugin_finder(original: Any) -> bool:
    import pygments.plugin

    return original is pygments.plugin.find_plugin_lexers


class _UncheckedNbformat(types.ModuleType):
    """``nbformat`` as MyST-NB's reader module sees it: the same, except that
    ``writes`` of a version 4 notebook skips the schema check (which only
    logs; the notebook written is the same)."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__(real.__name__, real.__doc__)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def writes(self, nb: Any, version: Any = None, **kwargs: Any) -> str:
        real = self._real
        if version in (None, real.NO_CONVERT) and nb.get("nbformat") == 4 and not kwargs:
            from execbook.html.reader import compact_notebook_text

            return compact_notebook_text(nb)  # one line: a tenth of the time of the indented text
        return real.writes(nb, real.NO_CONVERT if version is None else version, **kwargs)


def unchecked_nbformat(original: Any) -> Any:
    return _UncheckedNbformat(original)


def _is_nbformat(original: Any) -> bool:
    import nbformat

    return original is nbformat


PATCHES = [
    *(
        Patch(
            module,
            "entry_points",
            None,
            "Sphinx 9.0, pybtex 0.26, sphinxcontrib-bibtex 2.7",
            shared_entry_points,
            expect=_is_stock_entry_points,
            name="entry-points",
        )
        for module in ("pybtex.plugin", "sphinxcontrib.bibtex.plugin", "sphinx.theming", "sphinx.registry")
    ),
    Patch(
        "pygments.lexers",
        "find_plugin_lexers",
        None,
        "Pygments 2.21",
        plugin_lexers,
        expect=_is_plugin_finder,
        name="plugin-lexers",
    ),
    Patch(
        "myst_nb.sphinx_",
        "nbformat",
        None,
        "MyST-NB 1.4",
        unchecked_nbformat,
        expect=_is_nbformat,
        name="notebook-writes",
    ),
]
