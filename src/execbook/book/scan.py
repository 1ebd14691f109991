"""What the reading of one page needs to know about the whole book.

Two facts, found by one pass over the book's pages when the first page is
read (a no-op build reads none and pays nothing):

* **The frameworks a build leaves out.** A book of four frameworks built for
  one (``execbook build html --tab pytorch``, or ``[build] tabs = pytorch`` in
  a copy of d2l-en's ``config.ini``) still has cells, tab blocks and
  ``tab.selected()`` branches for the other three. Those are skipped without
  a warning each; one line at the end of the build names them. A name counts
  as one of the book's frameworks when at least two marks of the book write
  it; a name written once is taken for a typo and is still reported at its
  line, with the closest known name.
* **Whether a page holds the bibliography.** d2l books cite on every page and
  list the works on one ``:bibliography:`` page. A part of such a book built
  alone has no such page, though ``config.ini`` names the ``.bib`` file: each
  page then lists the works it cites at its end (sphinxcontrib-bibtex's
  footnote citations), instead of leaving every citation unresolved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.matching import Matcher

from execbook.book import config as cfg
from execbook.book.files import book_pages
from execbook.book.state import run_state
from execbook.source.prose import bibliography_lines
from execbook.source.syntax import marker_tab_names

logger = logging.getLogger(__name__)

USED_AT_LEAST = 2  # marks naming a framework before it counts as one of the book's


@dataclass(frozen=True)
class BookScan:
    marks: Counter  # tab name (case-folded) -> marks naming it, over the whole book
    has_bibliography: bool  # some page has a :bibliography: line (not one shown as code)

    @classmethod
    def of(cls, texts: Iterable[str]) -> BookScan:
        marks: Counter[str] = Counter()
        has_bibliography = False
        for text in texts:
            marks += marker_tab_names(text)
            has_bibliography = has_bibliography or bool(bibliography_lines(text))
        return cls(marks, has_bibliography)

    def frameworks(self) -> set[str]:
        """The names (case-folded) that marks of the book write often enough to be frameworks, not typos."""
        return {name for name, count in self.marks.items() if count >= USED_AT_LEAST}

    def left_out(self, options: cfg.ExecbookConfig) -> tuple[str, ...]:
        """The frameworks of the book that a build of ``options.tabs`` leaves out."""
        known = {tab.casefold() for tab in (*options.tabs, *options.left_out)}
        return (*options.left_out, *sorted(self.frameworks() - known))


def scan_book(book: Path, exclude: list[str], include: list[str] | None = None) -> BookScan:
    included = Matcher(include) if include else None
    paths = [path for name, path in book_pages(book, exclude).items() if included is None or included(f"{name}.md")]
    return BookScan.of(path.read_text(encoding="utf-8", errors="replace") for path in paths)


def book_left_out(book: Path, exclude: list[str], options: cfg.ExecbookConfig) -> tuple[str, ...]:
    return scan_book(book, exclude).left_out(options)


def scan(app: Sphinx) -> BookScan:
    """This build's ``BookScan``, made once, when a page is first read."""
    state = run_state(app)
    if state.scan is None:
        state.scan = scan_book(Path(app.srcdir), list(app.config.exclude_patterns), list(app.config.include_patterns))
    return state.scan


def left_out(app: Sphinx) -> tuple[str, ...]:
    return scan(app).left_out(cfg.get(app.config))


def cites_as_footnotes(app: Sphinx) -> bool:
    """No page holds the bibliography, but the book names its .bib files."""
    return bool(app.config.bibtex_bibfiles) and not scan(app).has_bibliography


def report_left_out(app: Sphinx, exception: BaseException | None) -> None:
    """One line per build instead of one warning per cell (a build that read no
    page names only the frameworks ``--tab`` left out)."""
    if exception is not None:
        return
    options = cfg.get(app.config)
    found = run_state(app).scan
    names = found.left_out(options) if found is not None else options.left_out
    if names:
        logger.info(
            f"execbook: built for {', '.join(options.tabs)}; left out {', '.join(names)} "
            "(their code cells, tab blocks and tab.selected() branches are skipped)"
        )


def setup_bookscan(app: Sphinx) -> None:
    app.connect("build-finished", report_left_out)
