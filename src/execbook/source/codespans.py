"""Where the prose holds code: what a d2l role or mark there must leave as written.

A reader who sees ``:bibliography:`refs.bib``` or ``[**x**]`` in a code span, an
indented code block or a fence nested in a list sees it literally, so no
rewrite of the dialect may touch it. ``code_ranges`` finds that code as
CommonMark (hence MyST) does; ``protect`` hides it behind tokens that keep the
text's lines, so every rewrite runs on the rest and ``restore`` puts it back.

Inline code spans follow CommonMark: a run of N backticks up to the next run of
exactly N, within one paragraph, a backslash-escaped backtick opening none.
One difference, the dialect's: ``:name:`body``` is a role, not text before a
code span. Code blocks (indented, or fenced inside a list or quote) are found
by markdown-it-py's block parser, which MyST renders with, run only when some
line is indented enough to hold one, since it costs about a millisecond per
ten kilobytes of prose.
"""

from __future__ import annotations

import bisect
import re
from functools import cache

from markdown_it import MarkdownIt

# a role, an escaped character or a backtick run: the scanner's stops, leftmost first
_INLINE_STOP_RE = re.compile(r":[A-Za-z_]+:`[^`]*`|\\.|`+", re.DOTALL)
# a line that may start or continue a code block: indented four columns, or a fence (maybe nested)
_MAY_HOLD_BLOCK_RE = re.compile(r"^(?: {4}| {0,3}\t|\s*(?:[>*+-]|\d+[.)])?\s*(?:```|~~~))", re.MULTILINE)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*(?=\n|$)")
TOKEN_RE = re.compile("\ue000(\\d+)\ue001")


@cache
def _block_parser() -> MarkdownIt:
    # the block structure only: inline rules would cost as much again and find nothing we use
    return MarkdownIt("commonmark").disable(["inline", "text_join"])


def block_code_lines(text: str) -> list[tuple[int, int]]:
    """0-based [start, end) line ranges of code blocks (indented or fenced), as MyST sees them."""
    if not _MAY_HOLD_BLOCK_RE.search(text):
        return []
    return [
        (token.map[0], token.map[1])
        for token in _block_parser().parse(text)
        if token.type in ("code_block", "fence") and token.map
    ]


def code_ranges(text: str, blocks: bool = True) -> list[tuple[int, int]]:
    """[start, end) offsets in ``text`` of code, in order: code blocks (unless not ``blocks``)
    and inline code spans."""
    starts = [0] + [match.end() for match in re.finditer("\n", text)]
    ends = [start - 1 for start in starts[1:]] + [len(text)]
    ranges: list[tuple[int, int]] = []
    pos = 0
    for first, last in block_code_lines(text) if blocks else []:
        block_start, block_end = starts[first], ends[min(last, len(starts)) - 1]
        ranges += _inline_spans(text, pos, block_start) + [(block_start, block_end)]
        pos = block_end
    return ranges + _inline_spans(text, pos, len(text))


def _inline_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The code spans of ``text[start:end]``, paragraph by paragraph (a blank line ends any span)."""
    spans: list[tuple[int, int]] = []
    for blank in [*_BLANK_LINE_RE.finditer(text, start, end), None]:
        stop = blank.start() if blank is not None else end
        spans += _paragraph_spans(text, start, stop)
        start = blank.end() if blank is not None else end
    return spans


def _paragraph_spans(text: str, pos: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    while (stop := _INLINE_STOP_RE.search(text, pos, end)) is not None:
        run = stop.group(0)
        pos = stop.end()
        if not run.startswith("`"):  # a role or an escape: text, whatever it holds
            continue
        closing = re.compile(rf"(?<!`){run}(?!`)").search(text, pos, end)
        if closing is not None:  # without one, the run is literal backticks
            spans.append((stop.start(), closing.end()))
            pos = closing.end()
    return spans


def protect(text: str) -> tuple[str, dict[int, str]]:
    """``text`` with each line's share of its code replaced by a token, and the tokens' originals.

    The tokens keep every newline and never stand for a blank line, so line
    numbers and paragraphs hold. Their numbers start above any token already in
    ``text``, so a protected text may be protected again.
    """
    ranges = code_ranges(text)
    if not ranges:
        return text, {}
    number = max((int(found) for found in TOKEN_RE.findall(text)), default=-1) + 1
    originals: dict[int, str] = {}
    out: list[str] = []
    pos = 0
    for start, end in ranges:
        out.append(text[pos:start])
        pieces = []
        for piece in text[start:end].split("\n"):
            if piece:
                originals[number] = piece
                piece = f"\ue000{number}\ue001"
                number += 1
            pieces.append(piece)
        out.append("\n".join(pieces))
        pos = end
    out.append(text[pos:])
    return "".join(out), originals


def restore(text: str, originals: dict[int, str]) -> str:
    """``text`` with the tokens of ``originals`` put back (others left as they are)."""
    if not originals:
        return text
    return TOKEN_RE.sub(lambda match: originals.get(int(match.group(1)), match.group(0)), text)


def code_lines(text: str, blocks: bool = True) -> set[int]:
    """0-based numbers of the lines whose first character other than a space is code."""
    ranges = code_ranges(text, blocks)
    found: set[int] = set()
    offset = 0
    for number, line in enumerate(text.split("\n")):
        first = offset + len(line) - len(line.lstrip())
        at = bisect.bisect_right(ranges, (first, len(text) + 1)) - 1
        if line.strip() and at >= 0 and ranges[at][0] <= first < ranges[at][1]:
            found.add(number)
        offset += len(line) + 1
    return found
