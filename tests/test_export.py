"""execbook build notebooks: downloadable notebooks with no d2l syntax left."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import BuiltBook, chapter_number
from nbclient import NotebookClient

from execbook.source.codespans import block_code_lines, protect

pytestmark = pytest.mark.sphinx

ROLES = re.compile(
    r":(?:numref|ref|eqref|eqlabel|label|cite|citet|begin_tab|end_tab|bibliography):`"
    r"|\{(?:numref|ref|eq|cite:p|cite:t)\}`|^\([^)]+\)=|\{\.python|:::|```\{|^:end_tab:$",
    re.MULTILINE,
)
MARKS = re.compile(r"#@tab|%%tab|#@save|\[\*\*|\*\*\]|\[~~|~~\]|\(~~|~~\)|\(\*\*|\*\*\)")
# the opening line of a fence MyST would run as a directive or d2l as a code cell ({toc}, {.python .input})
DIRECTIVE_FENCE = re.compile(r"^[\s>*+\-\d.)]*(?:`{3,}|~{3,})\s*\{")


def leftovers(source: str) -> list[str]:
    """d2l or MyST syntax left in a markdown cell's prose. What the cell shows as
    code (code spans and blocks, found as CommonMark finds them: the guide shows the
    syntax as examples there) and real links with bold text are not counted; a fence
    of a directive or input cell is, unless it is itself inside code."""
    lines = source.split("\n")
    fences = [lines[start] for start, _ in block_code_lines(source) if DIRECTIVE_FENCE.match(lines[start])]
    text, _ = protect(source)  # a role (:numref:`x`) stays prose; a code span or block becomes a token
    text = re.sub(r"\[\*\*[^\]]*\*\*\]\(", "[(", text)
    return fences + ROLES.findall(text) + MARKS.findall(text)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("See :numref:`sec_x` and [**this**].", [":numref:`", "[**", "**]"]),
        ("```{.python .input}\nx = 1\n```\n", ["```{.python .input}"]),
        ("- item\n\n  ```{toc}\n  a\n  ```\n", ["  ```{toc}"]),
        (":begin_tab:`pytorch`\nText\n:end_tab:\n", [":begin_tab:`", ":end_tab:"]),
        ("Write ``:numref:`sec_x` `` or `[**x**]`; see [**docs**](https://x.org).", []),
        ("````md\n```{.python .input}\n#@tab pytorch\n```\n````\n", []),
        ("Example:\n\n    :label:`fig_x`\n    #@save\n", []),
    ],
)
def test_leftovers_are_found_in_prose_not_in_what_is_shown_as_code(source: str, found: list[str]) -> None:
    assert leftovers(source) == found


@pytest.fixture(scope="module")
def notebooks(demo_book: BuiltBook) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "build", "notebooks", "--book", str(demo_book.srcdir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    return demo_book.srcdir / "_build" / "notebooks"


def all_notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/**/*.ipynb"))


def test_notebooks_are_valid_and_hold_no_book_syntax(notebooks: Path) -> None:
    paths = all_notebooks(notebooks)
    assert len(list((notebooks / "pytorch").rglob("*.ipynb"))) >= 9
    for path in paths:
        notebook = nbformat.read(str(path), as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                assert leftovers(cell.source) == [], (path, cell.source[:200])
            else:
                assert re.findall(r"#@tab|%%tab|#@save", cell.source) == [], (path, cell.source[:200])


def markdown_links(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        link
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for link in re.findall(r"\]\(([^)\s]+)\)", cell.source)
    ]


def test_references_link_to_real_pages_and_anchors(notebooks: Path, demo_book: BuiltBook) -> None:
    path = notebooks / "pytorch" / "chapters" / "models" / "linear-regression.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells)
    n = chapter_number(demo_book, "chapters/models/linear-regression")
    assert f"[Fig. {n}.1.1](" in text and f"[Table {n}.1.1](" in text and f"[Section {n}.2](" in text
    assert f"[({n}.1.2)](" in text and f"\\tag{{{n}.1.1}}" in text
    assert "(Legendre, 1805)" in text
    checked = 0
    for link in markdown_links(notebook):
        if link.endswith((".svg", ".png")):
            assert (path.parent / link).resolve().is_file(), link
            continue
        target, _, anchor = link.partition("#")
        page = (path.parent / target).resolve()
        assert page.is_file(), link
        if anchor:
            assert f'id="{anchor}"' in page.read_text(encoding="utf-8"), link
        checked += 1
    assert checked >= 5


def test_each_framework_gets_its_code_text_and_outputs(notebooks: Path) -> None:
    def text_of(tab: str, page: str) -> str:
        notebook = nbformat.read(str(notebooks / tab / f"{page}.ipynb"), as_version=4)
        parts = [cell.source for cell in notebook.cells]
        parts += [
            str(output.get("text", output.get("data", {}).get("text/plain", "")))
            for cell in notebook.cells
            if cell.cell_type == "code"
            for output in cell.outputs
        ]
        return "\n".join(parts)

    torch, numpy = text_of("pytorch", "chapters/basics/autograd"), text_of("numpy", "chapters/basics/autograd")
    assert "x.grad" in torch and "x.grad" not in numpy
    assert "accumulates gradients" in torch and "accumulates gradients" not in numpy
    assert "tensor([ 0.,  4.,  8., 12.])" in torch
    toc = text_of("pytorch", "index")
    assert "(chapters/basics/index.ipynb)" in toc


def test_zips_hold_notebooks_and_images(notebooks: Path) -> None:
    # named after the project: the demo book is execbook's guide
    with zipfile.ZipFile(notebooks / "execbook-numpy.zip") as bundle:
        names = bundle.namelist()
    assert "chapters/models/linear-regression.ipynb" in names and "chapters/img/linreg.svg" in names


def test_a_notebook_runs_top_to_bottom(notebooks: Path) -> None:
    path = notebooks / "numpy" / "chapters" / "basics" / "tensors.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    assert not [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
