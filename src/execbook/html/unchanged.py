"""What a build that read no page can skip: work Sphinx and sphinxcontrib-bibtex
redo on every build, even when nothing changed.

* sphinxcontrib-bibtex formats every cited entry again on each ``env-updated``
  (``BibtexDomain.env_updated`` clears the list restored from the pickled
  environment first). On d2l-en, 432 citations, that was 3-7 s of pybtex
  and latexcodec in a no-op rebuild.
* With ``numfig`` on (execbook's default), Sphinx's toctree collector numbers
  every figure of the book again after reading (``assign_figure_numbers``),
  unpickling every page's doctree to do so: 2-3 s on d2l-en's 193 pages.

When no page was read and none removed, neither result can differ from last
build's, which the environment restored: the citing pages, bibliographies,
toctrees and figures are as they were; a changed .bib file marks its citing
pages for reading and a changed setting re-reads every page. So both are
skipped then, and done as before otherwise.

Both through extension points: a subclass of sphinxcontrib-bibtex's domain,
registered with ``app.add_domain(..., override=True)``, and of Sphinx's toctree
collector (``doctrees.FigureNumbers``). With ``execbook_speedups = False`` both
run their stock code.

Code: sphinxcontrib/bibtex/domain.py ``BibtexDomain.env_updated`` (2.6, 2.7);
sphinx/environment/collectors/toctree.py ``TocTreeCollector.assign_figure_numbers``
(Sphinx 7-9).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinxcontrib.bibtex.domain import BibtexDomain

from execbook.html import speedups

# env -> [pages removed, pages to read] of the build under way; lists, not their
# lengths: a handler after ours may still add pages to read
_changes: weakref.WeakKeyDictionary[BuildEnvironment, list[Any]] = weakref.WeakKeyDictionary()


def note_removed(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    _changes[env] = [removed, None]
    return []


def note_to_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    _changes.setdefault(env, [set(), None])[1] = docnames


def read_nothing(env: BuildEnvironment) -> bool:
    removed, to_read = _changes.get(env, [None, None])
    return removed is not None and to_read is not None and not removed and not to_read


class Bibliographies(BibtexDomain):
    """sphinxcontrib-bibtex's domain, which keeps the citations restored from
    the pickled environment when no page was read and none removed."""

    def env_updated(self) -> Iterable[str]:
        if speedups.active(self.env, "unchanged") and read_nothing(self.env) and self.data.get("citations"):
            return []
        return super().env_updated()


def setup_unchanged(app: Sphinx) -> None:
    """After sphinxcontrib-bibtex is set up."""
    app.add_domain(Bibliographies, override=True)
    app.connect("env-get-outdated", note_removed)
    app.connect("env-before-read-docs", note_to_read, priority=900)
