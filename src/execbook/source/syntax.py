"""d2l Markdown -> ``Document``: a list of cells, each knowing its source line.

``parse`` is pure and total: whatever the text, it returns a ``Document`` and
reports problems as ``Message`` objects with a line number, never as an
exception. The prose inside markdown cells is already MyST (see ``prose``);
code cells keep their source with ``#@save`` marks so the library can be
extracted from the same ``Document`` later.

Longer than most modules on purpose: one line-by-line state machine reads the
whole dialect (fences, tab blocks, front matter, comments), so its states stay in one place.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from execbook.source.codespans import code_lines
from execbook.source.document import (
    TAB_MARK_RE,
    CodeCell,
    Document,
    MarkdownCell,
    _split_names,
    tab_selected_names,
)
from execbook.source.messages import Message
from execbook.source.prose import Chunk, ProseConverter, convert_toc

FENCE_OPEN_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
CODE_INFO_RE = re.compile(r"^\{\s*\.python\s+\.input\b[^}]*\}$")
OUTPUT_INFO_RE = re.compile(r"^\{[^}]*\.output\b[^}]*\}$")
# marks and tab names are read whatever their case: ``%%TAB Python`` left to
# IPython would run as an unknown cell magic and put a UsageError on the page
BEGIN_TAB_RE = re.compile(r"^\s*:begin_tab:`(?P<names>[^`]*)`\s*$")
END_TAB_RE = re.compile(r"^\s*:end_tab:\s*$")
INTERACT_MARKS = ("%load_ext d2lbook.tab", "tab.interact_select")
COMMENT_OPEN_RE = re.compile(r"^ {0,3}<!--")  # an HTML block (CommonMark type 2) starts here


def marker_tab_names(text: str) -> Counter[str]:
    """How often each tab name (case-folded) is named by the page's marks: ``#@tab`` /
    ``%%tab`` lines, ``tab.selected()`` and ``:begin_tab:``; not those that a listing
    (a fence other than a code cell) or a code span shows, which are text."""
    counts: Counter[str] = Counter()
    lines = text.split("\n")
    in_code = _CodeLines(lines)
    i = 0
    while i < len(lines):
        fence = FENCE_OPEN_RE.match(lines[i])
        if fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
            end = find_fence_end(lines, i, fence.group("fence")) or len(lines)
            if CODE_INFO_RE.match(fence.group("info").strip()):
                for row in lines[i + 1 : end]:
                    counts.update(_mark_names(row))
            i = end + 1
            continue
        begin = BEGIN_TAB_RE.match(lines[i])
        if not begin or not in_code(i):
            counts.update(_mark_names(lines[i]))
        i += 1
    return counts


def _mark_names(line: str) -> list[str]:
    """The tab names (case-folded, 'all' left out) a line's mark names."""
    mark = TAB_MARK_RE.match(line) or BEGIN_TAB_RE.match(line)
    names = _split_names(mark.group("names")) if mark else tab_selected_names(line)
    return [name.casefold() for name in names if name.casefold() != "all"]


def find_fence_end(lines: list[str], start: int, fence: str) -> int | None:
    """The line that closes the fence opened at ``start`` with ``fence`` (CommonMark's rule)."""
    char, size = fence[0], len(fence)
    closing = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{size},}}\s*$")
    return next((end for end in range(start + 1, len(lines)) if closing.match(lines[end])), None)


class _CodeLines:
    """Whether a line of the page is code for the reader (in an indented block or a code span
    over lines), so that a ``:begin_tab:`` or ``:end_tab:`` written there is shown, not obeyed.

    Asked only for those lines: a line indented less than four columns can only
    be in a code span opened earlier in its paragraph (a fence is read as a
    fence before), so only the paragraph is scanned; the page's block
    structure is parsed once, for an indented one.
    """

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.page: set[int] | None = None

    def __call__(self, i: int) -> bool:
        line = self.lines[i]
        if len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip()) >= 4:
            if self.page is None:
                self.page = code_lines("\n".join(self.lines))
            return i in self.page
        start, end = i, i + 1  # the paragraph: up to blank lines or fence lines (blocks of their own)
        while start > 0 and self._in_paragraph(start - 1):
            start -= 1
        while end < len(self.lines) and self._in_paragraph(end):
            end += 1
        return i - start in code_lines("\n".join(self.lines[start:end]), blocks=False)

    def _in_paragraph(self, i: int) -> bool:
        return bool(self.lines[i].strip()) and not FENCE_OPEN_RE.match(self.lines[i])


class _Parser:
    def __init__(
        self, text: str, tabs: Sequence[str], page_exists: Callable[[str], bool] | None, left_out: Collection[str] = ()
    ):
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.tabs = tuple(tabs) or ("python",)
        # frameworks of the book that this build leaves out: their cells are skipped without a word
        self.left_out = {name.casefold() for name in left_out} - {tab.casefold() for tab in self.tabs}
        self.page_exists = page_exists
        self.doc = Document(tabs=self.tabs)
        self.prose = ProseConverter(self.doc.messages)
        self.pending: list[Chunk] = []  # prose waiting to become markdown cells
        self.prose_run: list[str] = []
        self.prose_start = 1
        self.tab_block: tuple[int, tuple[str, ...]] | None = None  # (line, tabs)
        self.in_code = _CodeLines(self.lines)

    def warn(self, line: int, text: str, subtype: str = "syntax") -> None:
        self.doc.messages.append(Message(line, text, subtype))

    def resolve_tabs(self, raw: str, line: int, what: str) -> tuple[str, ...]:
        by_case = {tab.casefold(): tab for tab in (*self.tabs, "all")}
        names = [name if name in self.tabs else by_case.get(name.casefold(), name) for name in _split_names(raw)]
        if not names:
            self.warn(line, f"{what} names no tab; write one or more of: {', '.join(self.tabs)}, or 'all'", "tab")
            return ()
        if "all" in names:
            return self.tabs
        for name in names:
            if name not in self.tabs and name.casefold() not in self.left_out:
                self.warn(line, f"unknown tab '{name}' in {what}{self.did_you_mean(name)}; {self.tabs_named()}", "tab")
        return tuple(tab for tab in self.tabs if tab in names)

    def tabs_named(self) -> str:
        if self.left_out:
            return f"this build's tabs are {', '.join(self.tabs)} (left out: {', '.join(sorted(self.left_out))})"
        return f"the book's tabs are {', '.join(self.tabs)} (execbook_tabs in conf.py, or [build] tabs in config.ini)"

    def did_you_mean(self, name: str) -> str:
        close = difflib.get_close_matches(name.casefold(), [*self.tabs, *sorted(self.left_out)], n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}'?)" if close else ""

    def only_left_out(self, raw: str) -> bool:
        """A mark naming only frameworks this build leaves out: its cell goes quietly."""
        names = [name.casefold() for name in _split_names(raw)]
        return bool(names) and all(name in self.left_out for name in names)

    # -- prose buffering ---------------------------------------------------

    def add_prose(self, line_no: int, line: str) -> None:
        if not self.prose_run:
            self.prose_start = line_no
        self.prose_run.append(line)

    def add_verbatim(self, line_no: int, lines: list[str]) -> None:
        """Lines that bypass prose conversion (fenced listings)."""
        self.flush_prose()
        self.pending.append(Chunk(line_no, list(lines)))

    def flush_prose(self) -> None:
        if self.prose_run:
            self.pending += self.prose.convert(self.prose_run, self.prose_start)
            self.prose_run = []
            tabs = self.tab_block[1] if self.tab_block is not None else None
            self.doc.slide_marks += [replace(mark, tabs=tabs) for mark in self.prose.slide_marks]
            self.doc.headings += [replace(heading, tabs=tabs) for heading in self.prose.headings]
            self.prose.slide_marks, self.prose.headings = [], []

    def flush_cells(self) -> None:
        """Turn pending prose into markdown cells (one per chunk, merging runs)."""
        self.flush_prose()
        merged: list[Chunk] = []
        for chunk in self.pending:
            last = merged[-1] if merged else None
            if last is not None and last.exact and last.line + len(last.lines) == chunk.line:
                last.lines += chunk.lines
                last.exact = chunk.exact
            else:
                merged.append(Chunk(chunk.line, list(chunk.lines), chunk.exact))
        for chunk in merged:
            if chunk.text.strip():
                self.doc.cells.append(MarkdownCell(chunk.line, chunk.text))
        self.pending = []

    # -- tab blocks ----------------------------------------------------------

    def begin_tab(self, line_no: int, raw: str) -> None:
        if self.tab_block is not None:
            self.warn(
                self.tab_block[0],
                ":begin_tab: is not closed by :end_tab: before the next :begin_tab:; add :end_tab:",
                "tab",
            )
            self.end_tab()
        self.flush_cells()
        self.tab_block = (line_no, self.resolve_tabs(raw, line_no, ":begin_tab:"))

    def end_tab(self) -> None:
        assert self.tab_block is not None
        start, tabs = self.tab_block
        self.flush_prose()
        body = "\n".join(chunk.text for chunk in self.pending)
        self.pending = []
        self.tab_block = None
        if tabs and body.strip():
            self.doc.cells.append(MarkdownCell(start + 1, body.strip("\n"), tabs))

    # -- fences ----------------------------------------------------------------

    def find_fence_end(self, start: int, fence: str) -> int | None:
        return find_fence_end(self.lines, start, fence)

    def fence(self, i: int, match: re.Match[str]) -> int:
        line_no = i + 1
        info = match.group("info").strip()
        end = self.find_fence_end(i, match.group("fence"))
        closed = end is not None
        if end is None:
            self.warn(
                line_no,
                f"code fence {match.group('fence')} is never closed; close it with a line of {match.group('fence')}",
                "fence",
            )
            end = len(self.lines)
        body = self.lines[i + 1 : end]
        closing = self.lines[end] if closed else match.group("indent") + match.group("fence")
        if self.tab_block is not None:
            # inside a :begin_tab: block a fence is text, never a code cell
            opening = self.lines[i]
            if CODE_INFO_RE.match(info):
                opening = match.group("indent") + match.group("fence") + "python"
            elif info == "eval_rst":
                opening = match.group("indent") + match.group("fence") + "{eval-rst}"
            self.add_verbatim(line_no, [opening] + body + [closing])
        elif CODE_INFO_RE.match(info):
            self.code_cell(line_no, body)
        elif OUTPUT_INFO_RE.match(info):
            self.warn(
                line_no,
                "stored outputs found in the source; execbook stores outputs itself, so delete this output block",
                "outputs",
            )
        elif info == "toc":
            toc = convert_toc(body, line_no + 1, self.page_exists, self.doc.messages)
            self.doc.toc += [entry.strip() for entry in toc if entry.strip() and not entry.startswith(":")]
            self.add_verbatim(line_no, [match.group("fence") + "{toctree}"] + toc + [match.group("fence")])
        elif info == "eval_rst":
            self.add_verbatim(line_no, [match.group("fence") + "{eval-rst}"] + body + [match.group("fence")])
        else:
            self.add_verbatim(line_no, [self.lines[i]] + body + [closing])
        return end + 1

    def code_cell(self, fence_line: int, body: list[str]) -> None:
        self.flush_cells()
        lines = list(body)
        first_line = fence_line + 1
        while lines and not lines[0].strip():
            lines.pop(0)
            first_line += 1
        source = "\n".join(lines)
        if any(mark in source for mark in INTERACT_MARKS):
            return
        tabs: tuple[str, ...] = (self.tabs[0],)
        mark = TAB_MARK_RE.match(lines[0]) if lines else None
        if mark:
            tabs = self.resolve_tabs(mark.group("names"), first_line, "the tab marker")
            lines = lines[1:]
            first_line += 1
            if not tabs:
                if not self.only_left_out(mark.group("names")):
                    self.warn(fence_line, "this code cell belongs to no known tab and was skipped", "tab")
                return
        inner = next(filter(None, map(TAB_MARK_RE.match, lines)), None)
        tabs = self.inner_tab_marks(lines, first_line, tabs, marked=mark is not None)
        if not tabs:
            if not (inner and self.only_left_out(inner.group("names"))):
                self.warn(fence_line, "this code cell belongs to no known tab and was skipped", "tab")
            return
        for offset, row in enumerate(lines):
            for name in tab_selected_names(row):
                if name not in self.tabs and name.casefold() not in self.left_out:
                    self.warn(
                        fence_line + 2 + offset,
                        f"unknown tab '{name}' in tab.selected(){self.did_you_mean(name)}; {self.tabs_named()}",
                        "tab",
                    )
        while lines and not lines[0].strip():
            lines.pop(0)
            first_line += 1
        source = "\n".join(lines).strip("\n")
        if source.strip():
            self.doc.cells.append(CodeCell(fence_line, tabs, source, first_line))

    def inner_tab_marks(
        self, lines: list[str], first_line: int, tabs: tuple[str, ...], marked: bool
    ) -> tuple[str, ...]:
        """The cell's tabs, given the tab marks below its first line.

        As in d2l-book 1.0.3, such a mark never splits the cell and is never
        shown: a cell without a first-line mark belongs to the tabs of its first
        inner mark, and a mark naming other tabs than the cell's is reported
        (d2l-book would quietly give the whole cell one of the two).
        """
        for offset, row in enumerate(lines):
            mark = TAB_MARK_RE.match(row)
            if mark is None:
                continue
            named = self.resolve_tabs(mark.group("names"), first_line + offset, "the tab marker")
            if not marked:
                tabs, marked = named, True
            elif set(named) != set(tabs):
                self.warn(
                    first_line + offset,
                    f"this tab mark names {', '.join(named) or 'no known tab'} inside a cell for {', '.join(tabs)}; "
                    "a mark does not split a cell, so the whole cell stays with "
                    f"{', '.join(tabs)}: start a new cell for the other tabs",
                    "tab",
                )
        return tabs

    # -- HTML comments -------------------------------------------------------

    def comment(self, i: int) -> int:
        """A comment over several lines stays verbatim, fences included.

        Browsers hide what it holds, so a code cell inside is not run nor shown,
        and its closing ``-->`` must not meet prose conversion (smart dashes
        would turn it into an en dash, leaving the comment open to the page end).
        """
        after_open = self.lines[i].index("<!--") + 4
        end = next(
            (j for j in range(i, len(self.lines)) if "-->" in self.lines[j][after_open if j == i else 0 :]), None
        )
        if end is None:
            self.warn(
                i + 1,
                "HTML comment <!-- is never closed, so it hides the rest of the page (code cells "
                "included); close it with -->",
                "comment",
            )
            end = len(self.lines) - 1
        self.add_verbatim(i + 1, self.lines[i : end + 1])
        return end + 1

    # -- driver --------------------------------------------------------------

    def read_front_matter(self) -> int:
        """YAML front matter: parsed into the Document, blanked from the text."""
        if not self.lines or self.lines[0].strip() != "---":
            return 0
        for end in range(1, len(self.lines)):
            if self.lines[end].strip() in ("---", "..."):
                break
        else:
            return 0
        import yaml  # a dependency of myst-parser

        try:
            data = yaml.safe_load("\n".join(self.lines[1:end])) or {}
        except yaml.YAMLError as error:
            self.warn(
                1, f"front matter is not valid YAML ({str(error).splitlines()[0]}); it was ignored", "front-matter"
            )
            data = {}
        if not isinstance(data, dict):
            self.warn(1, "front matter must be a YAML mapping (key: value lines); it was ignored", "front-matter")
            data = {}
        if "execbook" in data and not isinstance(data["execbook"], dict):
            line = next((n for n in range(1, end) if re.match(r"execbook\s*:", self.lines[n])), 0) + 1
            self.warn(
                line,
                f"front matter 'execbook: {data['execbook']!r}' is not a mapping of settings, so it was ignored; "
                "write them as 'execbook: {timeout: 60}'",
                "front-matter",
            )
        timeout = data.get("execbook", {}).get("timeout") if isinstance(data.get("execbook"), dict) else None
        if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1):
            self.warn(1, f"execbook: timeout must be a positive number of seconds, got {timeout!r}", "front-matter")
        self.doc.front_matter = data
        return end + 1

    def run(self) -> Document:
        i = self.read_front_matter()
        while i < len(self.lines):
            line = self.lines[i]
            fence = FENCE_OPEN_RE.match(line)
            if fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
                i = self.fence(i, fence)
                continue
            if COMMENT_OPEN_RE.match(line):
                i = self.comment(i)
                continue
            begin = BEGIN_TAB_RE.match(line)
            if (begin or END_TAB_RE.match(line)) and self.in_code(i):
                self.add_prose(i + 1, line)  # a mark shown as code: text for the reader
            elif begin:
                self.begin_tab(i + 1, begin.group("names"))
            elif END_TAB_RE.match(line):
                if self.tab_block is None:
                    self.warn(i + 1, ":end_tab: without a :begin_tab: before it; remove it", "tab")
                else:
                    self.end_tab()
            else:
                self.add_prose(i + 1, line)
            i += 1
        if self.tab_block is not None:
            self.warn(self.tab_block[0], ":begin_tab: is never closed; add :end_tab: after the block", "tab")
            self.end_tab()
        self.flush_cells()
        return self.doc


def parse(
    text: str,
    tabs: Sequence[str] = ("python",),
    page_exists: Callable[[str], bool] | None = None,
    left_out: Collection[str] = (),
) -> Document:
    """Parse one page of d2l Markdown.

    ``tabs`` are the frameworks built, the first being the default one.
    ``page_exists`` answers whether a toc entry (as written, ``.md`` stripped)
    names a page; without it toc entries are not checked. ``left_out`` names
    frameworks of the book that this build leaves out: cells, tab blocks and
    ``tab.selected()`` branches for them are dropped without a warning, while
    any other unknown name is reported, with the closest known one.
    """
    return _Parser(text, tabs, page_exists, left_out).run()
