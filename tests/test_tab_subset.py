"""Building some of a book's frameworks (`--tab`, or fewer [build] tabs), and a
book part without its bibliography page: quiet skips, one summary line, typos
still caught, citations that still resolve."""

from __future__ import annotations

import dataclasses
import textwrap
from collections import Counter

import pytest
from bs4 import BeautifulSoup
from sphinx.errors import ConfigError
from test_d2lbook import execbook, mini_book_copy
from warned import typed, warning_lines

from execbook.book import config as cfg
from execbook.book.scan import BookScan
from execbook.html.references import footnote_citations
from execbook.source.document import CodeCell, MarkdownCell
from execbook.source.syntax import marker_tab_names, parse

FOUR = textwrap.dedent("""\
    # Page

    ```{.python .input}
    #@tab mxnet
    from mxnet import np
    ```

    ```{.python .input}
    #@tab pytorch
    import torch
    ```

    ```{.python .input}
    #@tab pytorch, mxnet
    x = 1
    if tab.selected('mxnet'):
        y = 2
    ```

    :begin_tab:`mxnet`
    MXNet needs a context.
    :end_tab:

    ```{.python .input}
    %%tab mxnet, tensorflow
    z = 3
    ```
    """)


def warnings(text: str, tabs: tuple[str, ...], left_out: tuple[str, ...] = ()) -> list[str]:
    return [f"{m.line}: {m.text}" for m in parse(text, tabs, left_out=left_out).messages]


def test_left_out_frameworks_are_skipped_quietly() -> None:
    doc = parse(FOUR, ("pytorch",), left_out=("mxnet", "tensorflow"))
    assert doc.messages == []
    code = [cell.code_for("pytorch") for cell in doc.cells if isinstance(cell, CodeCell)]
    assert code == ["import torch", "x = 1"]
    assert not any("MXNet needs" in cell.text for cell in doc.cells if isinstance(cell, MarkdownCell))


def test_without_left_out_every_unknown_name_warns() -> None:
    found = warnings(FOUR, ("pytorch",))
    assert sum("unknown tab 'mxnet'" in text for text in found) == 5
    assert any("belongs to no known tab" in text for text in found)


def test_a_typo_still_warns_with_the_closest_name() -> None:
    page = "```{.python .input}\n#@tab mxnte\nx = 1\n```\n"
    found = warnings(page, ("pytorch",), left_out=("mxnet",))
    assert found[0].startswith("2: unknown tab 'mxnte' in the tab marker (did you mean 'mxnet'?)")
    assert "this build's tabs are pytorch (left out: mxnet)" in found[0]
    assert "1: this code cell belongs to no known tab and was skipped" in found
    selected = "```{.python .input}\n#@tab pytorch\nif tab.selected('pytorh'):\n    x = 1\n```\n"
    assert "did you mean 'pytorch'?" in warnings(selected, ("pytorch",))[0]


def test_marker_names_are_counted_case_folded() -> None:
    counts = marker_tab_names(FOUR + "%%TAB PyTorch\n:begin_tab:`all`\n")
    assert counts == Counter({"mxnet": 5, "pytorch": 3, "tensorflow": 1})


def test_a_framework_is_the_books_when_marked_twice() -> None:
    scan = BookScan.of([FOUR, "```{.python .input}\n#@tab jaxx\nx\n```\n"])
    options = cfg.ExecbookConfig(tabs=["pytorch"])
    assert scan.left_out(options) == ("mxnet",)  # tensorflow and jaxx are named once: typos
    assert not scan.has_bibliography
    assert BookScan.of(["# Refs\n\n:bibliography:`d2l.bib`\n"]).has_bibliography
    assert not BookScan.of(["Write `:bibliography:` on a line of its own."]).has_bibliography


def test_only_tabs_leaves_out_the_rest_and_their_settings() -> None:
    options = cfg.only_tabs(
        cfg.ExecbookConfig(
            tabs=["pytorch", "mxnet", "jax"],
            only_tabs=["jax", "pytorch"],
            kernels={"jax": "jax-env", "mxnet": "mx"},
            colab={"mxnet": "me/mx"},
            library=cfg.LibraryOptions("d2l", {"pytorch": "d2l/torch.py", "mxnet": "d2l/mxnet.py"}),
            pdf_tab="mxnet",
        )
    )
    assert options.tabs == ["pytorch", "jax"]  # the book's order, not the command line's
    assert options.left_out == ("mxnet",)
    assert options.kernels == {"jax": "jax-env"} and options.colab == {} and options.pdf_tab == ""
    assert options.library is not None and options.library.modules == {"pytorch": "d2l/torch.py"}
    with pytest.raises(ConfigError, match="did you mean 'pytorch'"):
        cfg.only_tabs(dataclasses.replace(options, tabs=["pytorch", "mxnet"], only_tabs=["pytroch"]))


def test_citations_become_footnotes_listed_at_the_page_end() -> None:
    doc = parse("# A\n\nAs :cite:`Legendre.1805` and :citet:`Gauss.1809` show.\n\n```{.python .input}\nx = 1\n```\n")
    cited = footnote_citations(doc)
    text = "\n".join(cell.text for cell in cited.cells if isinstance(cell, MarkdownCell))
    assert "{footcite:p}`Legendre.1805`" in text and "{footcite:t}`Gauss.1809`" in text and "{cite:" not in text
    assert cited.cells[-1].text == "```{footbibliography}\n```"
    plain = parse("# A\n\nNo citation.\n")
    assert footnote_citations(plain).cells == plain.cells


@pytest.mark.sphinx
def test_a_build_of_one_framework_says_so_once(tmp_path) -> None:
    book = mini_book_copy(tmp_path, "eval_notebook = True", "eval_notebook = False")
    (book / "chapter_basics" / "typo.md").write_text("# Typo\n\n```{.python .input}\n#@tab nunpy\nx = 1\n```\n")
    result = execbook(book, "build", "html", "--tab", "pytorch")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "execbook: built for pytorch; left out numpy, jax" in log
    # the warnings about tabs, by their text (Sphinx 7.2 shows no [execbook.tab] after them)
    tab_warnings = [line for line in warning_lines(log) if "tab" in line.partition("WARNING:")[2]]
    assert all(typed("tab") in line for line in tab_warnings), tab_warnings
    assert len(tab_warnings) == 2, tab_warnings  # the typo and its skipped cell, nothing for numpy or jax
    assert "typo.md:4: WARNING: unknown tab 'nunpy' in the tab marker (did you mean 'numpy'?)" in log
    soup = BeautifulSoup((book / "_build/html/chapter_models/regression.html").read_text(), "html.parser")
    assert soup.select('[data-tab="pytorch"]') or "d2l.arange" in soup.get_text()
    assert not soup.select('[data-tab="numpy"]') and not soup.select('[data-tab="jax"]')
    assert "from d2l import numpy" not in soup.get_text() and "JAX version has no library" not in soup.get_text()
    wrong = execbook(book, "build", "html", "--tab", "pytroch")
    assert wrong.returncode != 0 and "did you mean pytorch?" in wrong.stderr


@pytest.mark.sphinx
def test_a_part_without_its_bibliography_page_cites_in_footnotes(tmp_path) -> None:
    book = mini_book_copy(
        tmp_path,
        "exclusions = README.md chapter_drafts/*.md",
        "exclusions = README.md chapter_drafts/*.md chapter_references/*.md",
    )
    index = book / "index.md"
    index.write_text(index.read_text().replace("chapter_references/zreferences\n", ""))
    ini = book / "config.ini"
    ini.write_text(ini.read_text().replace("eval_notebook = True", "eval_notebook = False"))
    result = execbook(book, "build", "html")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    problems = [line for line in log.splitlines() if "WARNING" in line and "footer_text" not in line]
    assert problems == [], problems  # no "could not find bibtex key"
    soup = BeautifulSoup((book / "_build/html/chapter_models/regression.html").read_text(), "html.parser")
    note = soup.select_one('[role="doc-footnote"]')
    assert note is not None and "Legendre" in note.get_text()
    link = soup.select_one('a[role="doc-noteref"]')
    assert link is not None and link["href"] == f"#{note['id']}"
