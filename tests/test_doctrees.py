"""doctrees.py: pages held in memory are read where Sphinx would unpickle
them again, with the same numbers as a result."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import build_in_process, write_book

from execbook.html import doctrees


class Env:
    """What ``reading_only`` uses of a BuildEnvironment: get_doctree (here each
    call a new object, as unpickling gives) and the held pages."""

    def __init__(self) -> None:
        self._write_doc_doctree_cache: dict[str, object] = {}
        self.unpickled = 0
        self.count = itertools.count()

    def get_doctree(self, docname: str) -> tuple[str, int]:
        self.unpickled += 1
        return (docname, next(self.count))


class Held:
    class settings:  # noqa: N801  # a doctree's settings object
        env = None


def test_held_pages_are_served_and_unpickled_ones_kept_only_when_asked() -> None:
    env = Env()
    held = env._write_doc_doctree_cache["held"] = Held()
    with doctrees.reading_only(env, keep=False):  # type: ignore[arg-type]
        assert env.get_doctree("held") is held and Held.settings.env is env
        assert env.get_doctree("other") != env.get_doctree("other")  # unpickled each time
    assert env.unpickled == 2 and "get_doctree" not in vars(env)
    with doctrees.reading_only(env, keep=True):  # type: ignore[arg-type]
        first = env.get_doctree("a")
        assert env.get_doctree("a") is first and env.unpickled == 3
    with doctrees.reading_only(env, keep=True):  # type: ignore[arg-type]  # kept for the next reference
        assert env.get_doctree("a") is first and env.unpickled == 3
        for number in range(doctrees.KEPT):  # a bounded few are kept
            env.get_doctree(f"page{number}")
        assert env.get_doctree("a") is not first
    written = Held()
    doctrees._keep(env, "written", written)  # type: ignore[arg-type]  # a page resolved and written a moment ago
    with doctrees.reading_only(env, keep=True):  # type: ignore[arg-type]
        assert env.get_doctree("written") is written
    with doctrees.reading_only(env, keep=False):  # type: ignore[arg-type]  # figure numbering: never a written page
        assert env.get_doctree("written") != env.get_doctree("written")
    doctrees.forget(None, env)  # type: ignore[arg-type]  # pages are read again: kept ones are stale
    with doctrees.reading_only(env, keep=True):  # type: ignore[arg-type]
        assert env.get_doctree(f"page{doctrees.KEPT - 1}")[1] == env.unpickled - 1  # just unpickled
    with pytest.raises(KeyError), doctrees.reading_only(env, keep=True):  # type: ignore[arg-type]
        raise KeyError
    assert "get_doctree" not in vars(env) and env.get_doctree("x")[0] == "x"


FIGURE = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n'


def numbers(book: Path, page: str) -> list[str]:
    html = BeautifulSoup((book / "_build/html" / f"{page}.html").read_text(), "html.parser")
    refs = [a.get_text() for a in html.select("a.reference.internal") if a.get_text().startswith(("Fig.", "Sec"))]
    captions = [span.get_text().strip() for span in html.select("span.caption-number")]
    return refs + captions


@pytest.mark.sphinx
def test_figures_and_numrefs_are_numbered_as_before_across_pages_and_edits(tmp_path: Path) -> None:
    pages = {
        "index.md": "# Book\n\n```toc\n:numbered:\none\ntwo\n```\n",
        "one.md": """
            # One
            :label:`sec_one`

            ![A](img/a.svg)
            :label:`fig_a`

            ![B](img/a.svg)
            :label:`fig_b`

            See :numref:`fig_b`, :numref:`fig_a` and :numref:`fig_c`.
            """,
        "two.md": """
            # Two

            ![C](img/a.svg)
            :label:`fig_c`

            As :numref:`sec_one` shows with :numref:`fig_a`, and here :numref:`fig_c`.
            """,
        "img/a.svg": FIGURE,
    }
    book = write_book(tmp_path / "book", pages, conf='execbook_execute = "off"\n')
    built = build_in_process(book)
    assert built.returncode == 0, built.output
    assert numbers(book, "one") == ["Fig. 1.2", "Fig. 1.1", "Fig. 2.1", "Fig. 1.1", "Fig. 1.2"]
    assert numbers(book, "two") == ["Section 1", "Fig. 1.1", "Fig. 2.1", "Fig. 2.1"]
    one = book / "one.md"  # a figure before fig_a: every number after it moves
    one.write_text(one.read_text().replace("![A]", "![Z](img/a.svg)\n:label:`fig_z`\n\n![A]"))
    built = build_in_process(book)
    assert built.returncode == 0, built.output
    assert numbers(book, "one") == ["Fig. 1.3", "Fig. 1.2", "Fig. 2.1", "Fig. 1.1", "Fig. 1.2", "Fig. 1.3"]
    # two.md is not written again (Sphinx rewrites the pages whose own numbers changed), as without execbook
