"""Slide marks in the prose: ``[**new slide**]``, ``(**added to it**)``, and the
``~~`` forms that are on slides only. The book keeps the words of the first two
and drops the others (``resolve_slide_marks``); the parser notes every mark and
heading (``slide_marks``, ``Heading``) for the slides builder."""

from __future__ import annotations

import re
from dataclasses import dataclass

from execbook.source.codespans import protect, restore

# slide marks: [**new slide**], (**added to the slide**); the ~~ forms are on slides only
SLIDE_NEW = r"\[\*\*(?P<new>.+?)\*\*\](?!\()"


SLIDE_NEW_ONLY = r"\[~~(?P<new_only>.+?)~~\](?!\()"


SLIDE_ADD = r"\(\*\*(?P<add>.+?)\*\*\)"


SLIDE_ADD_ONLY = r"\(~~(?P<add_only>.+?)~~\)"


SLIDE_MARK_RE = re.compile("|".join((SLIDE_NEW, SLIDE_NEW_ONLY, SLIDE_ADD, SLIDE_ADD_ONLY)), re.DOTALL)


SLIDE_KEEP_RES = tuple(re.compile(pattern, re.DOTALL) for pattern in (SLIDE_NEW, SLIDE_ADD))


SLIDE_DROP_RES = tuple(re.compile(pattern, re.DOTALL) for pattern in (SLIDE_NEW_ONLY, SLIDE_ADD_ONLY))


@dataclass(frozen=True)
class SlideMark:
    """A slide mark of the prose: its words open a new slide or add to the open one."""

    line: int
    words: str
    opens_slide: bool
    tabs: tuple[str, ...] | None = None  # inside a :begin_tab: block: those frameworks' slides only


@dataclass(frozen=True)
class Heading:
    """A heading of the prose (it closes the open slide; the first of level 1 titles the deck)."""

    line: int
    level: int
    title: str
    tabs: tuple[str, ...] | None = None


def slide_marks(text: str, first_line: int) -> list[SlideMark]:
    """The marks of ``text`` outside code (a mark shown in a code span is no mark)."""
    text, code = protect(text)
    marks = []
    for match in SLIDE_MARK_RE.finditer(text):
        words = " ".join(restore(next(group for group in match.groups() if group), code).split())
        opens = match.group("new") is not None or match.group("new_only") is not None
        marks.append(SlideMark(first_line + text.count("\n", 0, match.start()), words, opens))
    return marks


def resolve_slide_marks(text: str) -> str:
    """Keep the text of ``[**x**]``/``(**x**)``, drop ``[~~x~~]``/``(~~x~~)``, outside code.

    Dropped text is replaced by its newlines so that line numbers hold.
    """
    text, code = protect(text)
    for pattern in SLIDE_DROP_RES:
        text = pattern.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for pattern in SLIDE_KEEP_RES:
        text = pattern.sub(lambda m: m.group(1), text)
    return restore(text, code)
