"""Mutated Markdown never makes the reader raise, and its reports stay in range."""

from __future__ import annotations

from pathlib import Path

import nbformat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execbook.source.notebooks import rendered_notebook
from execbook.source.syntax import parse

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
DEMO = Path(__file__).resolve().parents[1] / "chapters"

FRAGMENTS = [
    "```",
    "````",
    "~~~",
    "{.python .input}",
    "{.python .input  n=3}",
    "{.json .output n=1}",
    "toc",
    "eval_rst",
    ":begin_tab:`pytorch`",
    ":begin_tab:`numpy, jax`",
    ":end_tab:",
    "#@tab all",
    "%%tab pytorch,numpy",
    "#@tab",
    "#@save",
    "if tab.selected('numpy'):",
    "    ",
    "$$",
    "$",
    "\\$",
    ":eqlabel:`eq`",
    ":label:`x`",
    ":numref:`x`",
    ":cite:`a,b`",
    ":citet:`k`",
    ":eqref:``",
    ":bibliography:`r.bib`",
    "![cap $x$](a.svg)",
    ":width:`3px`",
    "[**",
    "**]",
    "(**",
    "**)",
    "[~~",
    "~~]",
    "(~~",
    "~~)",
    "|",
    "| a | b |",
    ": cap",
    "# ",
    "===",
    "---",
    "%",
    "(lbl)=",
    "`",
    "``",
    "[",
    "]",
    "(",
    ")",
    "<!-- -->",
    "&lt;",
    "\t",
    "\r\n",
    "\n",
    "\n\n",
    "x",
    "é ∑",
]

fragments = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=60).map("".join)


def check(text: str) -> None:
    doc = parse(text, ["pytorch", "numpy"], page_exists=lambda entry: entry == "x")
    line_count = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    for message in doc.messages:
        assert 1 <= message.line <= line_count + 1, message
    nbformat.validate(rendered_notebook(doc))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
def test_random_fragments(text: str) -> None:
    check(text)


def real_pages() -> list[str]:
    own = Path(__file__).parent / "pages"
    pages = [SHARED / "preface.md", SHARED / "syntax.md", *sorted(own.glob("*.md")), *sorted(DEMO.glob("*.md"))]
    return [page.read_text(encoding="utf-8") for page in pages if page.is_file()]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(real_pages()), st.data())
def test_mutated_real_pages(page: str, data: st.DataObject) -> None:
    """Cut, duplicate and splice lines of real pages."""
    lines = page.split("\n")
    for _ in range(data.draw(st.integers(0, 8))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "insert", "truncate"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "insert":
            lines.insert(i, data.draw(st.sampled_from(FRAGMENTS)))
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
    check("\n".join(lines))
