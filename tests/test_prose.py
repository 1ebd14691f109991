"""execbook.source.prose: image lines and slide marks."""

from __future__ import annotations

import pytest

from execbook.book.scan import BookScan
from execbook.source.messages import Message
from execbook.source.prose import bibliography_lines, parse_image_line
from execbook.source.roles import convert_inline
from execbook.source.slidemarks import resolve_slide_marks, slide_marks
from execbook.source.syntax import marker_tab_names


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("![cap](a.svg)", ("cap", "a.svg")),
        ("   ![cap](a.svg)  ", ("cap", "a.svg")),
        ("![a [b](c) d](x.png)", ("a [b](c) d", "x.png")),
        ('![cap](a.svg "title")', ("cap", "a.svg")),
        ("![cap](a.svg) and text", None),
        ("text ![cap](a.svg)", None),
        ("    ![cap](a.svg)", None),  # indented code, not an image
        ("![cap]", None),
        ("![unbalanced](", None),
    ],
)
def test_parse_image_line(line: str, expected: tuple[str, str] | None) -> None:
    assert parse_image_line(line) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[**a**]", "a"),
        ("(**a**)", "a"),
        ("x[~~a~~]y", "xy"),
        ("x(~~a\nb~~)y", "x\ny"),
        ("[**a**](http://x)", "[**a**](http://x)"),
        ("f(**kwargs)", "f(**kwargs)"),
        ("`[**a**]` and ``(~~b~~)``", "`[**a**]` and ``(~~b~~)``"),  # shown in code spans: as written
        ("[**a `(~~b~~)` c**]", "a `(~~b~~)` c"),
    ],
)
def test_slide_marks(text: str, expected: str) -> None:
    assert resolve_slide_marks(text) == expected


def test_slide_marks_shown_in_code_are_no_marks() -> None:
    marks = slide_marks("Write `[**x**]`;\n[**a `b` c**] is one.", 1)
    assert [(mark.line, mark.words) for mark in marks] == [(2, "a `b` c")]


def test_an_escaped_backtick_opens_no_code_span() -> None:
    messages: list[Message] = []
    assert convert_inline(r"a \` b :numref:`x` c`", 1, messages) == r"a \` b {numref}`x` c`"


FENCED_BIBLIOGRAPHY = "# Writing\n\n```md\n:bibliography:`refs.bib`\n```\n\nPut ``\n:bibliography:`x.bib`\n`` last.\n"


def test_a_bibliography_shown_as_code_is_no_bibliography() -> None:
    # bibliography_files (html) warns of each such file that does not exist; bookscan looks for one
    assert bibliography_lines(FENCED_BIBLIOGRAPHY) == []
    assert not BookScan.of([FENCED_BIBLIOGRAPHY]).has_bibliography
    assert bibliography_lines(FENCED_BIBLIOGRAPHY + "\n:bibliography:`../refs.bib`\n") == [(11, "../refs.bib")]


def test_tab_marks_a_listing_shows_are_not_counted() -> None:
    text = "```md\n:begin_tab:`jax`\n```\n\n```python\n#@tab mxnet\n```\n\n## Tabs\n    :begin_tab:`tensorflow`\n"
    assert marker_tab_names(text + ":begin_tab:`pytorch`\n:end_tab:\n") == {"pytorch": 1}
