"""d2l prose -> MyST Markdown.

Everything here is pure text work on the prose between code cells: slide marks,
roles, labels, figures, tables, display math, bibliography and toc fences.
Each construct becomes MyST syntax that Sphinx resolves by itself, so no raw
``:numref:`` text can reach a page.

The output keeps the source's line numbers wherever a construct maps line for
line; where it cannot (a figure grows a directive fence), the output is split
into *chunks*, each remembering the source line it starts at, so warnings from
Sphinx still point at the right line of the author's file.

Longer than most modules on purpose: one handler per block construct (figures,
tables, math, labels, toc fences), sharing the chunk and line bookkeeping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from execbook.source.codespans import code_lines, protect, restore
from execbook.source.messages import Message
from execbook.source.roles import convert_inline
from execbook.source.slidemarks import Heading, SlideMark, resolve_slide_marks, slide_marks

ROLE_LINE_RE = re.compile(r"^ {0,3}:(?P<name>label|eqlabel|width|height|bibliography):`(?P<body>[^`]*)`\s*$")
ATX_HEADING_RE = re.compile(r"^ {0,3}#{1,6}(\s|$)")
SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)\s*$")
# ": Caption" or ":Caption" (both in d2l books); never a line that starts with a
# role (":eqref:`x` shows...") or a colon fence (":::").
TABLE_CAPTION_RE = re.compile(r"^ {0,3}:(?![-\w]+:`)(?!:)\s*(?P<caption>\S.*?)\s*$")
TABLE_ROW_RE = re.compile(r"^ {0,3}\|")
MATH_OPEN_RE = re.compile(r"^ {0,3}\$\$")
# the MyST label line the converter writes for a :label: (the label is group 1)
LABEL_LINE_RE = re.compile(r"^\(([^)\s]+)\)=\s*$", re.MULTILINE)
EQLABEL_RE = re.compile(r"\s*:eqlabel:`(?P<label>[^`]*)`\s*$")
TOC_OPTIONS = {"maxdepth", "numbered", "caption", "hidden", "titlesonly", "glob", "reversed", "name", "includehidden"}


@dataclass
class Chunk:
    """A run of MyST lines that starts at ``line`` (1-based) of the source."""

    line: int
    lines: list[str] = field(default_factory=list)
    exact: bool = True  # output line i is source line ``line + i``

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class ProseConverter:
    """Converts one run of prose lines (no code fences inside) into chunks."""

    def __init__(self, messages: list[Message]):
        self.messages = messages
        self.slide_marks: list[SlideMark] = []  # of the runs converted so far, in page order
        self.headings: list[Heading] = []

    def convert(self, lines: list[str], first_line: int) -> list[Chunk]:
        """MyST chunks of one run of prose; each construct's handler says how many lines it took."""
        # code (spans over lines, indented blocks, nested fences) is hidden from every construct below
        text, code = protect("\n".join(lines))
        self.slide_marks += slide_marks(text, first_line)
        headings = len(self.headings)
        self.lines = resolve_slide_marks(text).split("\n")
        self.first_line = first_line
        self.chunks = [Chunk(first_line)]
        self.last_heading: int | None = None  # index in the current chunk of the last heading line
        i = 0
        while i < len(self.lines):
            i += self._step(i)
        for chunk in self.chunks:
            chunk.lines = [restore(row, code) for row in chunk.lines]
        self.headings[headings:] = [replace(h, title=restore(h.title, code)) for h in self.headings[headings:]]
        return [chunk for chunk in self.chunks if chunk.lines]

    def _step(self, i: int) -> int:
        line, lineno = self.lines[i], self.first_line + i
        role = ROLE_LINE_RE.match(line)
        if role:
            return self._role_line(role.group("name"), role.group("body"), lineno)
        if line.strip():
            self.last_heading = None
        return self._heading(i, lineno) or self._block(i, lineno) or self._text(line, lineno)

    def _role_line(self, name: str, body: str, lineno: int) -> int:
        """A role alone on its line: a heading's label, a bibliography, or a stray one (warned)."""
        if name == "label" and self.last_heading is not None:
            self.chunks[-1].lines.insert(self.last_heading, f"({body.strip()})=")
            self.last_heading = None
        elif name == "bibliography":
            self._emit(lineno, ["```{bibliography}", "```"], 1)
        else:
            self._stray(name, body, lineno)
            self.chunks[-1].lines.append("")
        return 1

    def _heading(self, i: int, lineno: int) -> int:
        line, lines, current = self.lines[i], self.lines, self.chunks[-1]
        if ATX_HEADING_RE.match(line):
            level = len(line.lstrip(" ")) - len(line.lstrip(" ").lstrip("#"))
            self.headings.append(Heading(lineno, level, line.strip().strip("#").strip()))
            self.last_heading = len(current.lines)
            current.lines.append(self._inline(line, lineno))
            return 1
        if i + 1 < len(lines) and line.strip() and SETEXT_RE.match(lines[i + 1]) and not TABLE_ROW_RE.match(line):
            self.headings.append(Heading(lineno, 1 if "=" in lines[i + 1] else 2, line.strip()))
            self.last_heading = len(current.lines)
            current.lines += [self._inline(line, lineno), lines[i + 1]]
            return 2
        return 0

    def _block(self, i: int, lineno: int) -> int:
        """A figure, a table or display math starting here: a chunk of its own."""
        lines = self.lines
        image, span = image_at(lines, i)
        if image is not None:
            consumed, figure = self._figure(image, lines, i, lineno, span)
            return self._emit(lineno, figure, consumed)
        caption = TABLE_CAPTION_RE.match(lines[i])
        if caption and self._table_follows(lines, i + 1):
            consumed, table = self._table(caption.group("caption"), lines, i + 1, lineno)
            return self._emit(lineno, table, consumed + 1)
        if TABLE_ROW_RE.match(lines[i]) and self._labelled_table(lines, i):
            consumed, table = self._table(None, lines, i, lineno)
            return self._emit(lineno, table, consumed)
        if MATH_OPEN_RE.match(lines[i]):
            consumed, math = self._display_math(lines, i, lineno)
            if math is None:  # not display math after all: the lines as they are
                self.chunks[-1].lines += lines[i : i + consumed]
                return consumed
            return self._emit(lineno, math, consumed)
        return 0

    def _emit(self, lineno: int, block: list[str], consumed: int) -> int:
        """``block`` as a chunk of its own (not line-exact), the prose after it in a new one."""
        self.chunks += [Chunk(lineno, block, False), Chunk(lineno + consumed)]
        return consumed

    def _text(self, line: str, lineno: int) -> int:
        self.chunks[-1].lines.append(self._inline(_escape_myst_line(line), lineno))
        return 1

    # -- constructs -------------------------------------------------------

    def _inline(self, text: str, line: int) -> str:
        return convert_inline(text, line, self.messages)

    def _stray(self, name: str, body: str, line: int) -> None:
        where = {
            "label": "right after a heading, an image or a table",
            "eqlabel": "right after a $$ display equation $$ (or on its closing line)",
            "width": "right after an image",
            "height": "right after an image",
        }[name]
        self.messages.append(Message(line, f":{name}:`{body}` belongs {where}; it was ignored", "label"))

    def _figure(
        self, image: tuple[str, str], lines: list[str], i: int, lineno: int, span: int = 1
    ) -> tuple[int, list[str]]:
        """The image's ``span`` lines, then its option lines, which d2l books
        sometimes set off from the image by a blank line."""
        caption, target = image
        options: dict[str, str] = {}
        consumed = span
        while i + consumed < len(lines):
            at = _skip_blank(lines, i + consumed)
            role = ROLE_LINE_RE.match(lines[at]) if at < len(lines) else None
            if not role or role.group("name") not in ("width", "height", "label"):
                break
            key = "name" if role.group("name") == "label" else role.group("name")
            options[key] = role.group("body").strip()
            consumed = at - i + 1
        # a caption written over several lines is one paragraph: one line here
        caption = " ".join(row.strip() for row in self._inline(caption, lineno).split("\n")).strip()
        if not caption and "name" not in options:
            directive = ["```{image} " + target]
            directive += [f":{key}: {value}" for key, value in options.items()]
            return consumed, directive + ["```"]
        directive = [":::{figure} " + target]
        directive += [f":{key}: {value}" for key, value in options.items()]
        if caption:
            directive += ["", caption]
        elif "name" in options:
            self.messages.append(
                Message(
                    lineno,
                    f"figure '{options['name']}' has no caption, so it gets no number; write one inside ![...]",
                    "figure",
                )
            )
        return consumed, directive + [":::"]

    @staticmethod
    def _table_follows(lines: list[str], i: int) -> bool:
        """A table follows a caption line, maybe after blanks and its :label:."""
        i = _skip_blank(lines, i)
        if _label_at(lines, i) is not None:
            i = _skip_blank(lines, i + 1)
        return i < len(lines) and bool(TABLE_ROW_RE.match(lines[i]))

    @staticmethod
    def _labelled_table(lines: list[str], i: int) -> bool:
        while i < len(lines) and TABLE_ROW_RE.match(lines[i]):
            i += 1
        return _label_at(lines, _skip_blank(lines, i)) is not None

    def _table(self, caption: str | None, lines: list[str], start: int, lineno: int) -> tuple[int, list[str]]:
        """Consume blank gaps, the table rows and a label before or after the rows.

        d2l books put the label right under the caption (``:Caption`` then
        ``:label:`` then the table) or right under the table; both name it.
        """
        i = _skip_blank(lines, start)
        label = _label_at(lines, i) if caption is not None else None
        if label is not None:
            i = _skip_blank(lines, i + 1)
        rows: list[str] = []
        while i < len(lines) and TABLE_ROW_RE.match(lines[i]):
            rows.append(self._inline(lines[i], lineno + i - start + 1))
            i += 1
        after = _skip_blank(lines, i)
        if label is None and _label_at(lines, after) is not None:
            # a second label (one above, one below) is left for the stray-label warning
            label, i = _label_at(lines, after), after + 1
        head = "::::{table}" + (" " + self._inline(caption, lineno) if caption else "")
        if label and not caption:
            self.messages.append(
                Message(
                    lineno,
                    f"table '{label}' has no caption, so it gets no number; add a line ': Caption' above it",
                    "table",
                )
            )
        body = [head] + ([f":name: {label}"] if label else []) + [""] + rows + ["::::"]
        return i - start, body

    def _display_math(self, lines: list[str], i: int, lineno: int) -> tuple[int, list[str] | None]:
        """A ``$$ ... $$`` block; becomes a math directive when it has an :eqlabel:."""
        first = lines[i].lstrip()[2:]
        if "$$" in first:
            end, body = i, [first[: first.index("$$")]]
            tail = first[first.index("$$") + 2 :]
        else:
            end = i + 1
            while end < len(lines) and "$$" not in lines[end]:
                end += 1
            if end == len(lines):
                self.messages.append(
                    Message(lineno, "display math opened with $$ is never closed; add a closing $$", "math")
                )
                return end - i, None
            closing = lines[end]
            body = [first] + lines[i + 1 : end] + [closing[: closing.index("$$")]]
            tail = closing[closing.index("$$") + 2 :]
        consumed = end - i + 1
        label_match = EQLABEL_RE.fullmatch(tail) if tail.strip() else None
        if label_match is None and not tail.strip():
            # the label's own line, which d2l books sometimes set off by a blank line
            at = _skip_blank(lines, end + 1)
            label_match = EQLABEL_RE.fullmatch(lines[at]) if at < len(lines) else None
            if label_match:
                consumed = at - i + 1
        if label_match is None:
            return consumed, None
        content = [row for row in body if row.strip()]
        label = label_match.group("label").strip()
        return consumed, ["```{math}", f":label: {label}", ""] + content + ["```"]


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def bibliography_lines(text: str) -> list[tuple[int, str]]:
    """(line, files) of each ``:bibliography:`files``` line of a page that becomes the bibliography:
    one shown in code (a fence, a code span) is text for the reader."""
    if ":bibliography:" not in text:
        return []
    lines = text.split("\n")
    roles = [(number, ROLE_LINE_RE.match(line)) for number, line in enumerate(lines)]
    found = [(number, role) for number, role in roles if role and role.group("name") == "bibliography"]
    in_code = code_lines(text) if found else set()
    return [(number + 1, role.group("body")) for number, role in found if number not in in_code]


def _label_at(lines: list[str], i: int) -> str | None:
    """The name in a ``:label:`x``` line at ``i``, if that is what stands there."""
    role = ROLE_LINE_RE.match(lines[i]) if i < len(lines) else None
    return role.group("body").strip() if role and role.group("name") == "label" else None


#: How many lines an image's caption may run over (a paragraph's worth).
IMAGE_MAX_LINES = 12


def image_at(lines: list[str], i: int) -> tuple[tuple[str, str] | None, int]:
    """The image standing alone from line ``i`` and the number of lines it spans.

    Long captions run over several lines (``![The ... via\\npooling.](a.svg)``);
    a blank line ends the paragraph, so it ends the search too.
    """
    image = parse_image_line(lines[i])
    if image is not None or not lines[i].lstrip().startswith("!["):
        return image, 1
    for end in range(i + 1, min(len(lines), i + IMAGE_MAX_LINES)):
        if not lines[end].strip():
            break
        if lines[end].rstrip().endswith(")"):
            image = parse_image_line("\n".join(lines[i : end + 1]))
            if image is not None:
                return image, end - i + 1
    return None, 1


def parse_image_line(line: str) -> tuple[str, str] | None:
    """``![caption](target)`` standing alone on a line -> (caption, target).

    The caption may hold brackets (citations, links), so it is scanned for its
    balancing ``]`` instead of matched with a regex.
    """
    stripped = line.strip()
    if not stripped.startswith("![") or not stripped.endswith(")") or len(line) - len(line.lstrip()) > 3:
        return None
    depth, pos = 0, 1
    while pos < len(stripped):
        char = stripped[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                break
        pos += 1
    if depth != 0 or stripped[pos + 1 : pos + 2] != "(":
        return None
    caption, target = stripped[2:pos], stripped[pos + 2 : -1].strip()
    target = target.split(" ", 1)[0]  # drop a title: (path "title")
    if not target or "(" in target or ")" in target or "\n" in target:
        return None
    return caption, target


def _escape_myst_line(line: str) -> str:
    """Protect prose lines that MyST would read as its own syntax."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("%"):
        return indent + "\\" + stripped
    if re.match(r"^\([^)]*\)=\s*$", stripped):
        return indent + "\\" + stripped
    return line


def convert_toc(
    body: list[str], first_line: int, page_exists: Callable[[str], bool] | None, messages: list[Message]
) -> list[str]:
    """The body of a ```` ```toc ```` fence -> the body of a toctree directive."""
    out: list[str] = []
    for offset, raw in enumerate(body):
        line = raw.strip()
        lineno = first_line + offset
        option = re.match(r"^:(\w+):(.*)$", line)
        if option:
            if option.group(1) in TOC_OPTIONS:
                out.append(line)
            else:
                messages.append(
                    Message(
                        lineno,
                        f"unknown toc option ':{option.group(1)}:'; use one of {', '.join(sorted(TOC_OPTIONS))}",
                        "toc",
                    )
                )
                out.append("")
            continue
        if not line:
            out.append("")
            continue
        entry = line[:-3] if line.endswith(".md") else line
        if page_exists is not None and not page_exists(entry):
            messages.append(
                Message(
                    lineno,
                    f"toc entry '{line}' names no page; fix the path (relative to this page, .md "
                    "optional) or create the page",
                    "toc",
                )
            )
            out.append("")
            continue
        out.append(entry)
    return out
