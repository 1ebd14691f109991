"""A cell whose exception IPython cannot format still fails its job (issue found on d2l-en).

When formatting a traceback raises, IPython prints "Unexpected exception
formatting exception" and a plain traceback as stream text, and sends no error
output: only the kernel's ``execute_reply`` says the cell failed.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import BuiltBook, run_sphinx, write_book

from execbook.execute.kernel import NO_TRACEBACK, show_reported_error
from execbook.execute.results import cell_errors

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels

UNFORMATTED_PAGE = """
    # Unformatted

    ```{.python .input}
    print('first cell ran')
    ```

    ```{.python .input}
    1 / 0
    ```

    ```{.python .input}
    class Unrenderable(Exception):
        def _render_traceback_(self):
            raise RuntimeError('cannot render')
    raise Unrenderable('render hook broke')
    ```

    ```{.python .input}
    import sys, types
    class StandIn(types.ModuleType):  # d2l's torchvision stand-in: every attribute a class, __file__ too
        def __getattr__(self, name):
            return type(name, (), {})
    sys.modules['standin'] = StandIn('standin')
    raise ValueError('inspect broke')
    ```

    ```{.python .input}
    print('after the failures')
    ```
"""


ONLY_PAGE = """
    # Only

    ```{.python .input}
    class Unrenderable(Exception):
        def _render_traceback_(self):
            raise RuntimeError('cannot render')
    raise Unrenderable('the only failure')
    ```

    ```{.python .input}
    raise ExceptionGroup('grouped', [ValueError('one')])  # IPython 9 prints these itself, as stream text
    ```
"""


@pytest.fixture(scope="module")
def unformatted_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    pages = {
        "index.md": "# Book\n\n```toc\nunformatted\nonly\n```\n",
        "unformatted.md": UNFORMATTED_PAGE,
        "only.md": ONLY_PAGE,
    }
    root = write_book(tmp_path_factory.mktemp("unformatted") / "book", pages, tabs=("pytorch",))
    return run_sphinx(root)


def report(book: BuiltBook) -> dict:
    return json.loads((book.outdir / ".doctrees" / "execbook" / "report.json").read_text(encoding="utf-8"))


@pytest.mark.sphinx
def test_an_unformatted_exception_fails_the_job(unformatted_book: BuiltBook) -> None:
    assert unformatted_book.returncode == 0, unformatted_book.output
    statuses = {(e["page"], e["tab"]): e["status"] for e in report(unformatted_book)["entries"]}
    assert statuses == {("unformatted", "pytorch"): "error", ("only", "pytorch"): "error"}  # "ok" before
    warnings = [line.split("/book/", 1)[-1].split(" (worker ")[0] for line in unformatted_book.warnings]
    assert sorted(warnings) == [
        "only.md:10: WARNING: [pytorch] the cell raised ExceptionGroup: grouped (1 sub-exception)",
        "only.md:3: WARNING: [pytorch] the cell raised Unrenderable: the only failure",
        "unformatted.md:11: WARNING: [pytorch] the cell raised Unrenderable: render hook broke",
        "unformatted.md:18: WARNING: [pytorch] the cell raised ValueError: inspect broke",
        "unformatted.md:7: WARNING: [pytorch] the cell raised ZeroDivisionError: division by zero",
    ]


@pytest.mark.sphinx
def test_the_page_shows_the_error_once_and_goes_on(unformatted_book: BuiltBook) -> None:
    cells = unformatted_book.main("unformatted").select("div.cell")
    failing = {
        name: next(cell for cell in cells if name in cell.get_text())
        for name in ("1 / 0", "render hook broke", "inspect broke")
    }
    assert all(len(cell.select(".cell_output .traceback")) == 1 for cell in failing.values())  # one error each
    assert "ZeroDivisionError: division by zero" in failing["1 / 0"].get_text()
    for name, ename in (("render hook broke", "Unrenderable"), ("inspect broke", "ValueError")):
        shown = failing[name].select_one(".cell_output .traceback").get_text()
        assert f"{ename}: {name}" in shown and "sent no traceback" in shown
        assert "Unexpected exception formatting exception" in failing[name].get_text()  # IPython's own fallback stays
    assert "after the failures" in unformatted_book.main("unformatted").get_text()


def reply(**content: object) -> dict:
    return {"content": {"status": "error", "traceback": [], **content}}


def test_a_reply_without_a_name_still_gets_an_error_output() -> None:
    cell = nbformat.v4.new_code_cell("x", metadata={"execbook": {"line": 4}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="Traceback ...\n")]
    show_reported_error(cell, reply())
    assert [(e.line, e.ename, e.evalue) for e in cell_errors(nbformat.v4.new_notebook(cells=[cell]))] == [
        (4, "Error", NO_TRACEBACK)
    ]
    assert cell.outputs[0].output_type == "stream"  # what the kernel printed stays, first


def test_cells_that_ran_or_already_show_their_error_are_left_alone() -> None:
    fine = nbformat.v4.new_code_cell("x")
    show_reported_error(fine, {"content": {"status": "ok"}})
    show_reported_error(fine, None)
    assert fine.outputs == []
    shown = nbformat.v4.new_code_cell("x")
    shown.outputs = [nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["E: v"])]
    show_reported_error(shown, reply(ename="E", evalue="v"))
    assert len(shown.outputs) == 1
    kept = nbformat.v4.new_code_cell("x")
    show_reported_error(kept, reply(ename="E", evalue="v", traceback=["the kernel's own", "traceback"]))
    assert kept.outputs[0].traceback == ["the kernel's own", "traceback"]
