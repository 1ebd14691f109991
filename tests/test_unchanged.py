"""A build that read no page skips re-formatting citations and re-numbering
figures; any build that reads a page still does both."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from test_d2lbook import execbook, mini_book_copy

from execbook.html import unchanged


class Env:
    """Only what ``read_nothing`` needs: a weak-referable key."""


def test_read_nothing_needs_both_notes_and_no_change() -> None:
    env = Env()
    assert not unchanged.read_nothing(env)  # type: ignore[arg-type]  # nothing noted: not a no-op
    unchanged.note_removed(None, env, set(), set(), set())  # type: ignore[arg-type]
    assert not unchanged.read_nothing(env)  # type: ignore[arg-type]  # the pages to read are not known yet
    to_read: list[str] = []
    unchanged.note_to_read(None, env, to_read)  # type: ignore[arg-type]
    assert unchanged.read_nothing(env)  # type: ignore[arg-type]
    to_read.append("intro")  # a later handler adds a page
    assert not unchanged.read_nothing(env)  # type: ignore[arg-type]
    unchanged.note_removed(None, env, set(), set(), {"old"})  # type: ignore[arg-type]
    unchanged.note_to_read(None, env, [])  # type: ignore[arg-type]
    assert not unchanged.read_nothing(env)  # type: ignore[arg-type]


def figure_and_citation(book: Path) -> tuple[str, str]:
    tensors = BeautifulSoup((book / "_build/html/chapter_basics/tensors.html").read_text(), "html.parser")
    regression = BeautifulSoup((book / "_build/html/chapter_models/regression.html").read_text(), "html.parser")
    figure_ref = tensors.select_one('a[href="#fig-grid"], a.reference.internal[href*="fig"]')
    citation = regression.select_one('a[href*="zreferences.html#"]')  # resolved: it links to the entry
    return (figure_ref.get_text() if figure_ref else ""), (
        f"{citation.get_text()}: {citation.get('title')}" if citation else ""
    )


@pytest.mark.sphinx
def test_numbers_and_citations_survive_a_no_op_and_follow_edits(tmp_path: Path) -> None:
    book = mini_book_copy(tmp_path, "eval_notebook = True", "eval_notebook = False")
    assert execbook(book, "build", "html").returncode == 0
    first = figure_and_citation(book)
    assert first[0] == "Figure 1.1.1" and "Legendre" in first[1], first
    noop = execbook(book, "build", "html")
    assert noop.returncode == 0 and "0 added, 0 changed, 0 removed" in noop.stdout
    tensors = book / "chapter_basics" / "tensors.md"
    text = tensors.read_text()
    # a figure before fig_grid: its number must move, so numbering runs when a page was read
    tensors.write_text(
        text.replace(":label:`fig_grid`", ":label:`fig_grid`", 1).replace(
            "A tensor is a grid", "![An axis](../img/grid.svg)\n:label:`fig_axis`\n\nA tensor is a grid", 1
        )
    )
    regression = book / "chapter_models" / "regression.md"
    regression.write_text(regression.read_text().replace("we use the helper", "we reuse the helper"))
    assert execbook(book, "build", "html").returncode == 0
    after = figure_and_citation(book)
    assert after[0] == "Figure 1.1.2" and after[1] == first[1], after
