"""The book's API page: Sphinx autodoc over the library that the book's
``#@save`` code makes, one tab per framework.

d2l-book books document their library in an ``eval_rst`` block of
``.. autoclass::`` and ``.. autofunction::`` directives, after a
``.. currentmodule::`` per framework. Left as written, every framework would
show the module named last. Here each such block becomes one tab pane per
framework of the library, its directives preceded by that framework's module
(``d2l.torch``, ``d2l.mxnet``, ...), imported from the library this build
generated (not from a stale copy in the book's folder). A framework whose
module cannot be imported in the Python that runs Sphinx (MXNet not
installed, say) gets one warning naming what to install, and its pane says
so; autodoc would otherwise print one warning per documented name.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys

from sphinx.application import Sphinx
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book.files import library_dir
from execbook.source.document import Cell, Document, MarkdownCell

logger = logging.getLogger(__name__)

EVAL_RST_RE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})\{eval-rst\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL
)
AUTODOC_RE = re.compile(
    r"^\s*\.\.\s+auto(?:class|function|module|data|method|attribute|exception|decorator)::", re.MULTILINE
)
CURRENTMODULE_RE = re.compile(r"^\s*\.\.\s+(?:current)?module::.*$\n?", re.MULTILINE)


def documents_api(text: str) -> bool:
    return any(AUTODOC_RE.search(block.group("body")) for block in EVAL_RST_RE.finditer(text))


def per_framework(doc: Document, modules: dict[str, str], broken: dict[str, str]) -> Document:
    """Each autodoc block of the page's shared prose becomes one tab pane per
    framework in ``modules`` (tab -> module); a tab of ``broken`` (tab -> why)
    gets a note instead of directives that cannot run."""
    cells: list[Cell] = []
    for cell in doc.cells:
        if isinstance(cell, MarkdownCell) and cell.tabs is None and documents_api(cell.text):
            cells += _split(cell, modules, broken)
        else:
            cells.append(cell)
    return dataclasses.replace(doc, cells=cells)


def _split(cell: MarkdownCell, modules: dict[str, str], broken: dict[str, str]) -> list[Cell]:
    out: list[Cell] = []
    start = 0
    for block in EVAL_RST_RE.finditer(cell.text):
        if not AUTODOC_RE.search(block.group("body")):
            continue
        line = cell.line + cell.text.count("\n", 0, block.start())
        before = cell.text[start : block.start()]
        if before.strip():
            out.append(MarkdownCell(cell.line + cell.text.count("\n", 0, start), before.strip("\n")))
        body = CURRENTMODULE_RE.sub("", block.group("body"))
        fence = block.group("fence")
        for tab, module in modules.items():
            if tab in broken:
                text = f"*The API of `{module}` could not be shown: {broken[tab]}.*"
            else:
                text = f"{fence}{{eval-rst}}\n.. currentmodule:: {module}\n\n{body}{fence}"
            out.append(MarkdownCell(line, text, (tab,)))
        start = block.end()
    rest = cell.text[start:]
    if rest.strip():
        out.append(MarkdownCell(cell.line + cell.text.count("\n", 0, start), rest.strip("\n")))
    return out


def first_api_line(doc: Document) -> int | None:
    """The page line of the first autodoc block outside a tab; None for a page without one."""
    for cell in doc.cells:
        if isinstance(cell, MarkdownCell) and cell.tabs is None:
            for block in EVAL_RST_RE.finditer(cell.text):
                if AUTODOC_RE.search(block.group("body")):
                    return cell.line + cell.text.count("\n", 0, block.start())
    return None


_import_problems: dict[str, str | None] = {}


def import_problem(module: str) -> str | None:
    """Why ``module`` cannot be imported here (None when it can); tried once per build process."""
    if module not in _import_problems:
        try:
            importlib.import_module(module)
            _import_problems[module] = None
        except BaseException as error:  # a library may raise anything at import, SystemExit included
            _import_problems[module] = f"{type(error).__name__}: {error}".splitlines()[0]
    return _import_problems[module]


def install_hint(problem: str) -> str:
    missing = re.match(r"ModuleNotFoundError: No module named '([^'.]+)", problem)
    if missing:
        return f"install {missing.group(1)} into {sys.executable} (the Python that runs Sphinx) to document it"
    return f"fix the error above so that {sys.executable} (the Python that runs Sphinx) can import it"


def api_page(app: Sphinx, docname: str, doc: Document) -> Document:
    """``per_framework`` for a page of the book, its modules imported from the generated library."""
    line = first_api_line(doc)
    if line is None:
        return doc
    from execbook.library.build import book_libraries, library_spec

    spec = library_spec(app)
    if spec is None:
        return doc  # the author's own autodoc of some package, as written
    book_libraries(app, app.env)  # writes the library (also when no code runs)
    libdir = str(library_dir(app.doctreedir))
    if libdir not in sys.path:
        sys.path.insert(0, libdir)
    options = cfg.get(app.config)
    modules = {tab: f"{spec.package}.{spec.module(tab)}" for tab in options.tabs if tab in spec.modules}
    broken = {}
    for tab, module in modules.items():
        problem = import_problem(module)
        if problem is not None:
            broken[tab] = f"importing it failed ({problem})"
            logger.warning(
                f"[{tab}] the API of {module} is not documented: importing it failed ({problem}); "
                f"{install_hint(problem)}",
                location=(docname, line),
                type="execbook",
                subtype="api",
            )
    return per_framework(doc, modules, broken)
