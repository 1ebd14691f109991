"""The API page: autodoc over the generated library, one tab per framework."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from test_d2lbook import execbook, mini_book_copy

from execbook.library.apidoc import documents_api, import_problem, install_hint, per_framework
from execbook.source.document import MarkdownCell
from execbook.source.syntax import parse

API_PAGE = textwrap.dedent("""\
    # The API
    :label:`sec_api`

    Classes and functions of the library.

    :begin_tab:`pytorch`
    ```eval_rst
    .. currentmodule:: d2l.torch
    ```
    :end_tab:

    ## Functions

    ```eval_rst
    .. autofunction:: total
    ```

    The end.
    """)


def test_an_autodoc_block_becomes_one_pane_per_framework() -> None:
    doc = parse(API_PAGE, ("pytorch", "numpy", "jax"))
    assert doc.messages == []
    tab_block = next(cell for cell in doc.cells if isinstance(cell, MarkdownCell) and cell.tabs)
    assert tab_block.text.startswith("```{eval-rst}")  # not a code listing in an unknown 'eval_rst' language
    out = per_framework(doc, {"pytorch": "d2l.torch", "numpy": "d2l.numpy"}, {"numpy": "importing it failed (X)"})
    panes = [
        cell
        for cell in out.cells
        if isinstance(cell, MarkdownCell)
        and cell.tabs
        and documents_api(cell.text)
        or isinstance(cell, MarkdownCell)
        and cell.tabs == ("numpy",)
    ]
    assert [pane.tabs for pane in panes] == [("pytorch",), ("numpy",)]
    assert panes[0].text == "```{eval-rst}\n.. currentmodule:: d2l.torch\n\n.. autofunction:: total\n```"
    assert panes[1].text == "*The API of `d2l.numpy` could not be shown: importing it failed (X).*"
    shared = "\n".join(cell.text for cell in out.cells if isinstance(cell, MarkdownCell) and not cell.tabs)
    assert "## Functions" in shared and "The end." in shared and "autofunction" not in shared
    assert panes[0].line == 14  # the eval_rst fence's line, for warnings


def test_pages_without_autodoc_are_left_alone() -> None:
    doc = parse("# A\n\n```eval_rst\n.. note:: hi\n```\n", ("pytorch",))
    assert per_framework(doc, {"pytorch": "d2l.torch"}, {}).cells == doc.cells


def test_import_problems_name_what_to_install() -> None:
    assert import_problem("json") is None
    problem = import_problem("execbook_no_such_module.sub")
    assert problem == "ModuleNotFoundError: No module named 'execbook_no_such_module'"
    assert install_hint(problem).startswith("install execbook_no_such_module into ")


@pytest.mark.sphinx
def test_the_api_page_documents_each_frameworks_library(tmp_path: Path) -> None:
    book = mini_book_copy(tmp_path, "eval_notebook = True", "eval_notebook = False")
    (book / "chapter_basics" / "api.md").write_text(API_PAGE)
    index = book / "chapter_basics" / "index.md"
    index.write_text(index.read_text().replace("tensors\n```", "tensors\napi\n```"))
    numpy_lib = book / "d2l" / "numpy.py"  # its hand-written header is the generated module's
    numpy_lib.write_text(
        numpy_lib.read_text().replace("import numpy as np\n", "import numpy as np\nimport execbook_not_installed\n")
    )
    result = execbook(book, "build", "html")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    problems = [line for line in log.splitlines() if "WARNING" in line and "footer_text" not in line]
    assert len(problems) == 1, problems  # no 'Unknown directive type', no 'eval_rst' lexer, one line for numpy
    assert "api.md:14: WARNING: [numpy] the API of d2l.numpy is not documented: importing it failed " in problems[0]
    assert "install execbook_not_installed into " in problems[0]
    soup = BeautifulSoup((book / "_build/html/chapter_basics/api.html").read_text(), "html.parser")
    torch_pane = soup.select_one('[data-tab="pytorch"] dl.py.function')
    assert torch_pane is not None
    assert torch_pane.select_one("dt")["id"] == "d2l.torch.total"
    assert torch_pane.select_one("dd").get_text().strip() == "The sum of all entries of X."
    assert "could not be shown" in soup.select_one('div[data-tab="numpy"]').get_text()
    assert not soup.select('div[data-tab="jax"]')  # no library for JAX, no pane
