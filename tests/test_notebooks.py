"""Document -> page notebook: tabs as metadata, line numbers kept."""

from __future__ import annotations

import nbformat

from execbook.html.reader import read_notebook
from execbook.source.document import MarkdownCell
from execbook.source.notebooks import rendered_notebook, tab_block_source
from execbook.source.syntax import parse

PAGE = """# Title
:label:`sec_t`

Text.

```{.python .input}
#@tab all
if tab.selected('pytorch'):
    import torch
x = 1  #@save
```

:begin_tab:`numpy`
NumPy only.
:end_tab:
"""


def test_code_cells_carry_their_tabs_and_lose_save_marks() -> None:
    notebook = rendered_notebook(parse(PAGE, ["pytorch", "numpy"]))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.metadata["execbook"]["tabs"] for cell in code] == [["pytorch"], ["numpy"]]
    assert code[0].source == "import torch\nx = 1"
    assert code[1].source == "x = 1"
    nbformat.validate(notebook)


def test_source_map_points_at_the_authors_lines() -> None:
    notebook = rendered_notebook(parse(PAGE, ["pytorch", "numpy"]))
    lines = PAGE.split("\n")
    for cell, start in zip(notebook.cells, notebook.metadata["source_map"]):
        if cell.cell_type == "markdown" and "execbook-tab" not in cell.source:
            # MyST-NB and MyST add 1 each: the cell's first line is source line start + 2
            assert lines[start + 1] == cell.source.split("\n")[0].replace("(sec_t)=", "# Title")
        elif cell.cell_type == "markdown":
            assert lines[start + 1] == ":begin_tab:`numpy`"
        else:
            assert lines[start + 1] == "```{.python .input}"


def test_tab_block_is_a_directive_one_line_each_side() -> None:
    source = tab_block_source(MarkdownCell(3, "Hello\n\n:::{figure} a.svg\n:::", ("pytorch", "numpy")))
    assert source.split("\n")[0] == ":::::{execbook-tab} pytorch numpy"
    assert source.split("\n")[-1] == ":::::"


def test_read_notebook_accepts_written_notebooks_and_raw_pages() -> None:
    written = nbformat.writes(rendered_notebook(parse(PAGE, ["pytorch", "numpy"])))
    assert read_notebook(written).metadata["source_map"]
    raw = read_notebook("# Hello\n\n```{.python .input}\nx = 1\n```\n")
    assert [cell.cell_type for cell in raw.cells] == ["markdown", "code"]


def test_crlf_pages_parse_like_lf_pages() -> None:
    doc_lf = parse(PAGE, ["pytorch", "numpy"])
    doc_crlf = parse(PAGE.replace("\n", "\r\n"), ["pytorch", "numpy"])
    assert doc_lf.cells == doc_crlf.cells
