"""execbook.source.prose: image lines and slide marks."""

from __future__ import annotations

import pytest

from execbook.source.prose import parse_image_line
from execbook.source.slidemarks import resolve_slide_marks


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
    ],
)
def test_slide_marks(text: str, expected: str) -> None:
    assert resolve_slide_marks(text) == expected
