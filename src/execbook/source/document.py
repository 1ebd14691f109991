"""The parsed page: ``Document``, its cells, and what a code cell's text means.

A ``CodeCell`` keeps its source as written (tab marks, ``#@save`` marks,
``tab.selected`` blocks); ``code_for`` gives the code one framework runs.
``syntax.parse`` makes these; every later stage reads them.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from execbook.source.messages import Message
from execbook.source.slidemarks import Heading, SlideMark

TAB_MARK_RE = re.compile(r"^\s*(?:#@tab|%%tab)\b(?P<names>.*)$", re.IGNORECASE)
SAVE_LINE_RE = re.compile(r"^\s*#\s*@save\s*$")
SAVE_TRAIL_RE = re.compile(r"\s*#\s*@save\s*$")
SELECTED_RE = re.compile(r"^(?P<indent>[ \t]*)if\s+tab\.selected\((?P<args>.*)\)\s*:\s*(#.*)?$")
TAB_NAME_RE = re.compile(r"['\"]([^'\"]+)['\"]")


@dataclass(frozen=True)
class MarkdownCell:
    """MyST prose starting at ``line``; ``tabs`` is set for a :begin_tab: block."""

    line: int
    text: str
    tabs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CodeCell:
    """A ``{.python .input}`` cell; ``line`` is the line of its opening fence."""

    line: int
    tabs: tuple[str, ...]
    source: str  # first-line tab marker removed; #@save marks, later tab marks and tab.selected blocks kept
    first_line: int = 0  # the page line of the source's first line

    def code_for(self, tab: str, keep_save_marks: bool = False) -> str:
        """The code that runs (and that readers see) for ``tab``."""
        lines = select_tab(self.source.split("\n"), tab)
        if keep_save_marks:
            lines = blank_tab_marks(lines)  # blanked, not dropped: the library maps lines to the page
        else:
            lines = strip_save_marks([line for line in lines if not TAB_MARK_RE.match(line)])
        return "\n".join(lines).strip("\n")


Cell = MarkdownCell | CodeCell


def toc_target(page: str, entry: str) -> str:
    """The page a toc entry of ``page`` names: ``/path`` from the book's root, else
    relative to the page's folder."""
    target = entry.lstrip("/") if entry.startswith("/") else posixpath.join(posixpath.dirname(page), entry)
    return posixpath.normpath(target)


@dataclass
class Document:
    cells: list[Cell] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    tabs: tuple[str, ...] = ()
    front_matter: dict = field(default_factory=dict)  # YAML between --- lines at the top
    toc: list[str] = field(default_factory=list)  # toc entries in order, as written, without .md
    slide_marks: list[SlideMark] = field(default_factory=list)  # in page order
    headings: list[Heading] = field(default_factory=list)

    @property
    def notebook_tabs(self) -> tuple[str, ...]:
        """The frameworks this page has a notebook for: those with code here, or
        every one for a page of prose only (as d2l-book builds them)."""
        coded = {
            tab for cell in self.cells if isinstance(cell, CodeCell) for tab in cell.tabs if cell.code_for(tab).strip()
        }
        return tuple(tab for tab in self.tabs if tab in coded) if coded else self.tabs

    def page_option(self, name: str, default: object = None) -> object:
        """A per-page execbook setting from front matter (``execbook: {timeout: 60}``)."""
        options = self.front_matter.get("execbook")
        return options.get(name, default) if isinstance(options, dict) else default


# -- code cells ---------------------------------------------------------------


def mask_magics(source: str) -> str:
    """IPython lines (%magic, !shell) become `pass` so ast can read the cell
    (also inside a block); line numbers, and columns on every other line, stay."""
    out = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        out.append(line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out)


def strip_save_marks(lines: list[str]) -> list[str]:
    return [SAVE_TRAIL_RE.sub("", line) for line in lines if not SAVE_LINE_RE.match(line)]


def blank_tab_marks(lines: list[str]) -> list[str]:
    """Tab marks inside a cell (d2l-book deletes every one) become blank lines."""
    return ["" if TAB_MARK_RE.match(line) else line for line in lines]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def select_tab(lines: list[str], tab: str) -> list[str]:
    """Prune ``if tab.selected(...):`` blocks for one tab.

    The body is kept, de-indented to the ``if``'s level, when ``tab`` is listed;
    the whole block is dropped otherwise.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = SELECTED_RE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        indent = _indent(lines[i])
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
            end += 1
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1
        body = lines[i + 1 : end]
        if tab in tab_selected_names(lines[i]):
            body_indent = min((_indent(row) for row in body if row.strip()), default=indent)
            shift = body_indent - indent
            out += select_tab([row[shift:] if row.strip() else "" for row in body], tab)
        i = end
    return out


def tab_selected_names(line: str) -> list[str]:
    match = SELECTED_RE.match(line)
    return TAB_NAME_RE.findall(match.group("args")) if match else []


# -- tab names ----------------------------------------------------------------


def _split_names(raw: str) -> list[str]:
    return [name.strip() for name in raw.replace(",", " ").split() if name.strip()]
