"""The reader, case by case: input and expected result side by side in fixture files.

Each case in ``fixtures/*.txt`` is a title line, then ``.``, the d2l input,
``.``, the expected dump of the ``Document``, ``.`` (pytest-param-files' "dot"
format). Titles may end with ``[tabs: a, b]`` to change the book's tabs
(default ``pytorch, numpy``).

To rewrite the expected parts from the current parser, run the failing cases with
``pytest tests/test_syntax.py tests/test_library.py --regen-file-failure``
(pytest-param-files rewrites each failing case in its file; the run still fails),
then read the diff before committing it: the expected text is a claim about
behaviour, not a snapshot to accept.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_param_files import ParamTestData

from execbook.source.document import CodeCell, Document, MarkdownCell, select_tab
from execbook.source.notebooks import code_variants
from execbook.source.syntax import parse

FIXTURES = Path(__file__).parent / "fixtures"
KNOWN_PAGES = {"intro", "chapter_basics/index", "chapter_basics/tensors", "chapter_more/extra"}
TABS_RE = re.compile(r"\[tabs:\s*([^\]]+)\]\s*$")


def dump(doc: Document) -> str:
    out: list[str] = []
    for index, cell in enumerate(doc.cells):
        if isinstance(cell, MarkdownCell):
            tabs = f" tabs={','.join(cell.tabs)}" if cell.tabs is not None else ""
            out += [f"[md {cell.line}{tabs}]", cell.text]
        elif isinstance(cell, CodeCell):
            for tabs, source, _ in code_variants(index, cell, {}):
                out += [f"[code {cell.line} tabs={','.join(tabs)}]", source]
    for message in doc.messages:
        out.append(f"[warning {message.line} {message.subtype}] {message.text}")
    return "\n".join(out)


def run_case(title: str, source: str) -> str:
    match = TABS_RE.search(title)
    tabs = [t.strip() for t in match.group(1).split(",")] if match else ["pytorch", "numpy"]
    return dump(parse(source, tabs, page_exists=lambda entry: entry in KNOWN_PAGES))


def dot_text(text: str) -> str:
    """``text`` as the dot format holds a section: every line ends with a newline
    (an empty result is one empty line, as the plugin's regeneration writes it)."""
    return text + "\n"


def check_case(file_params: ParamTestData) -> None:
    """Parse the case's input; compare the dump with its expected section."""
    title = file_params.title if file_params.description is None else f"[{file_params.title}] {file_params.description}"
    file_params.assert_expected(dot_text(run_case(title, file_params.content.removesuffix("\n"))))


@pytest.mark.param_file(FIXTURES / "bad_input.txt")
def test_bad_input(file_params: ParamTestData) -> None:
    check_case(file_params)


@pytest.mark.param_file(FIXTURES / "code_cells.txt")
def test_code_cells(file_params: ParamTestData) -> None:
    check_case(file_params)


@pytest.mark.param_file(FIXTURES / "figures_tables.txt")
def test_figures_tables(file_params: ParamTestData) -> None:
    check_case(file_params)


@pytest.mark.param_file(FIXTURES / "other.txt")
def test_other(file_params: ParamTestData) -> None:
    check_case(file_params)


@pytest.mark.param_file(FIXTURES / "references.txt")
def test_references(file_params: ParamTestData) -> None:
    check_case(file_params)


@pytest.mark.param_file(FIXTURES / "tabs.txt")
def test_tabs(file_params: ParamTestData) -> None:
    check_case(file_params)


def test_every_fixture_file_has_its_test() -> None:
    """A new ``fixtures/*.txt`` needs its three-line test above, or its cases never run."""
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert {path.stem for path in FIXTURES.glob("*.txt")} <= tested


# -- tab selection and save marks in code ---------------------------------------------


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("pytorch", ["a = 1", "b = torch", "c = 3"]),
        ("numpy", ["a = 1", "c = 3"]),
    ],
)
def test_select_tab_keeps_or_drops_the_block(tab: str, expected: list[str]) -> None:
    lines = ["a = 1", "if tab.selected('pytorch'):", "    b = torch", "c = 3"]
    assert select_tab(lines, tab) == expected


def test_select_tab_accepts_a_list_argument_and_comments() -> None:
    lines = ["if tab.selected(['numpy', 'jax']):  # both", "    x = 1"]
    assert select_tab(lines, "jax") == ["x = 1"]
    assert select_tab(lines, "pytorch") == []


def test_code_for_keeps_save_marks_only_when_asked() -> None:
    cell = CodeCell(1, ("pytorch",), "def f():  #@save\n    pass")
    assert cell.code_for("pytorch") == "def f():\n    pass"
    assert cell.code_for("pytorch", keep_save_marks=True).startswith("def f():  #@save")


def test_inner_tab_marks_are_dropped_but_blanked_for_the_library() -> None:
    """The library maps each saved line back to the page, so there a mark is a blank line."""
    cell = CodeCell(1, ("pytorch",), "a = 1  #@save\n#@tab pytorch\nb = 2  #@save")
    assert cell.code_for("pytorch") == "a = 1\nb = 2"
    assert cell.code_for("pytorch", keep_save_marks=True).split("\n") == ["a = 1  #@save", "", "b = 2  #@save"]
