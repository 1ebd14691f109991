"""Execution with real kernels: outputs, exact re-runs, failures, interrupts, shared caches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import BuiltBook, run_sphinx, sigint_at_default, write_book

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]

OUTPUTS_PAGE = """
    # Outputs

    ```{.python .input}
    #@tab pytorch
    framework = 'torch-side'
    ```

    ```{.python .input}
    #@tab numpy
    framework = 'numpy-side'
    ```

    ```{.python .input}
    #@tab all
    print('running', framework)
    ```

    ```{.python .input}
    #@tab all
    import sys
    print('to stderr', file=sys.stderr)
    ```

    ```{.python .input}
    #@tab all
    %matplotlib inline
    from matplotlib import pyplot as plt
    plt.figure(figsize=(2, 2))
    plt.plot([1, 2, 3]);
    ```

    ```{.python .input}
    #@tab all
    import pandas as pd
    pd.DataFrame({'a': [1, 2]})
    ```

    ```{.python .input}
    #@tab all
    from IPython.display import SVG, Math
    display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'))
    Math(r'\\alpha^2')
    ```

    ```{.python .input}
    #@tab all
    print('\x1b[31mred words\x1b[0m')
    ```

    ```{.python .input}
    #@tab all
    for i in range(1, 101):
        print(f'\\rprogress {i}%', end='')
    print()
    ```

    ```{.python .input}
    #@tab all
    print(open('../data/values.csv').read().strip())
    with open('written.txt', 'w') as handle:
        handle.write('kept out of the source tree')
    ```
"""

OTHER_PAGE = """
    # Other

    A page of prose.

    ```{.python .input}
    #@tab all
    print('other page ran')
    ```
"""


def simple_page(name: str) -> str:
    return OTHER_PAGE.replace("Other", name.title()).replace("other page", f"{name} page")


INDEX = """
    # Book

    ```toc
    ch/outputs
    ch/other
    ```
"""


def report(book: BuiltBook) -> dict:
    return json.loads((book.outdir / ".doctrees" / "execbook" / "report.json").read_text(encoding="utf-8"))


def ran(book: BuiltBook) -> list[tuple[str, str]]:
    return sorted((e["page"], e["tab"]) for e in report(book)["entries"] if not e["cached"])


@pytest.fixture(scope="module")
def outputs_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    pages = {
        "index.md": INDEX,
        "ch/outputs.md": OUTPUTS_PAGE,
        "ch/other.md": OTHER_PAGE,
        "data/values.csv": "a,b\n1,2\n",
    }
    root = write_book(tmp_path_factory.mktemp("exec") / "book", pages)
    book = run_sphinx(root)
    assert book.returncode == 0, book.output
    return book


def pane(book: BuiltBook, page: str, text: str, tab: str) -> str:
    """The text of ``tab``'s pane in the group whose code contains ``text``."""
    for group in book.main(page).select(".execbook-tabs"):
        if text in group.get_text():
            return group.select_one(f'.execbook-pane[data-tab="{tab}"]').get_text()
    raise AssertionError(f"no group with {text!r}")


def test_outputs_land_under_their_framework(outputs_book: BuiltBook) -> None:
    assert "running torch-side" in pane(outputs_book, "ch/outputs", "print('running'", "pytorch")
    assert "running numpy-side" in pane(outputs_book, "ch/outputs", "print('running'", "numpy")
    assert "running numpy-side" not in pane(outputs_book, "ch/outputs", "print('running'", "pytorch")
    assert "other page ran" in outputs_book.main("ch/other").get_text()
    assert outputs_book.warnings == []


def plain_cell(book: BuiltBook, page: str, text: str):
    for cell in book.main(page).select("div.cell"):
        if text in cell.get_text() and not cell.find_parent(class_="execbook-tabs"):
            return cell
    raise AssertionError(f"no plain cell with {text!r}")


def test_rich_outputs_render(outputs_book: BuiltBook) -> None:
    stderr = plain_cell(outputs_book, "ch/outputs", "to stderr")
    assert stderr.select_one(".stderr") is not None and "to stderr" in stderr.select_one(".stderr").get_text()
    figure = plain_cell(outputs_book, "ch/outputs", "plt.plot")
    image = figure.select_one(".cell_output img")
    assert image is not None and (outputs_book.outdir / "ch" / image["src"]).resolve().is_file()
    table = plain_cell(outputs_book, "ch/outputs", "pd.DataFrame")
    assert table.select_one(".cell_output table") is not None
    display = plain_cell(outputs_book, "ch/outputs", "SVG(")
    assert display.select_one(".cell_output svg, .cell_output img") is not None
    assert "\\alpha^2" in display.select_one(".cell_output").get_text()
    coloured = plain_cell(outputs_book, "ch/outputs", "red words").select_one(".cell_output")
    assert "\x1b[" not in str(coloured) and "red words" in coloured.get_text()
    assert coloured.select_one("span[class*=Red]") is not None
    progress = plain_cell(outputs_book, "ch/outputs", "progress").select_one(".cell_output").get_text()
    assert "progress 100%" in progress and "progress 50%" not in progress


def test_code_runs_in_a_copy_of_the_book(outputs_book: BuiltBook) -> None:
    assert "a,b" in plain_cell(outputs_book, "ch/outputs", "values.csv").get_text()
    assert not (outputs_book.srcdir / "ch" / "written.txt").exists()
    assert (outputs_book.outdir / ".doctrees" / "execbook" / "tree" / "ch" / "written.txt").is_file()


def test_report_page_and_timeline(outputs_book: BuiltBook) -> None:
    data = report(outputs_book)
    # the other page runs the same code in both tabs: one run serves both
    assert data["ran"] == 3 and data["failed"] == 0
    assert {e["worker"] for e in data["entries"]} <= {"cpu0", "cpu1"}
    page = outputs_book.html("execbook-report")
    rows = page.select("table.execbook-report tbody tr")
    assert len(rows) == 4
    assert page.select_one(".execbook-timeline svg rect") is not None


def test_rebuilds_run_exactly_what_changed(tmp_path: Path) -> None:
    pages = {"index.md": INDEX, "ch/outputs.md": simple_page("outputs"), "ch/other.md": OTHER_PAGE}
    root = write_book(tmp_path / "book", pages)
    first = run_sphinx(root)
    assert ran(first) == [("ch/other", "pytorch"), ("ch/outputs", "pytorch")]  # numpy shares each run

    noop = run_sphinx(root)
    assert ran(noop) == [] and report(noop)["cached"] == 4

    page = root / "ch" / "other.md"
    page.write_text(page.read_text().replace("A page of prose.", "A page of longer prose."))
    prose = run_sphinx(root)
    assert ran(prose) == []
    assert "longer prose" in prose.main("ch/other").get_text()

    page.write_text(page.read_text() + "\n```{.python .input}\n#@tab numpy\nprint('numpy only')\n```\n")
    numpy_edit = run_sphinx(root)
    assert ran(numpy_edit) == [("ch/other", "numpy")]
    assert "numpy only" in numpy_edit.main("ch/other").get_text()


FAILING_PAGE = """
    # Failing

    ```{.python .input}
    #@tab all
    print('first cell ran')
    ```

    ```{.python .input}
    #@tab pytorch
    1 / 0
    ```

    ```{.python .input}
    #@tab numpy
    import time
    time.sleep(60)
    ```

    ```{.python .input}
    #@tab all
    print('after the failure')
    ```
"""

DYING_PAGE = """
    # Dying

    ```{.python .input}
    import os
    os._exit(3)
    ```
"""


@pytest.fixture(scope="module")
def failing_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    pages = {
        "index.md": "# Book\n\n```toc\nfailing\ndying\nfine\n```\n",
        "failing.md": FAILING_PAGE,
        "dying.md": DYING_PAGE,
        "fine.md": OTHER_PAGE,
    }
    root = write_book(tmp_path_factory.mktemp("failing") / "book", pages, conf="execbook_timeout = 3\n")
    return run_sphinx(root)


def test_failures_are_reported_by_page_framework_and_line(failing_book: BuiltBook) -> None:
    assert failing_book.returncode == 0
    warnings = "\n".join(failing_book.warnings)
    assert "failing.md:8: WARNING: [pytorch] the cell raised ZeroDivisionError: division by zero" in warnings
    assert (
        "failing.md:13: WARNING: [numpy] the cell ran past the 3 s timeout (execbook_timeout) and was interrupted"
        in warnings
    )
    assert "dying.md:3: WARNING: [pytorch] the kernel died while running this cell" in warnings
    statuses = {(e["page"], e["tab"]): e["status"] for e in report(failing_book)["entries"]}
    assert statuses == {
        ("failing", "pytorch"): "error",
        ("failing", "numpy"): "timeout",
        ("dying", "pytorch"): "dead",
        ("fine", "pytorch"): "ok",
        ("fine", "numpy"): "ok",
    }


def test_failing_pages_still_render_and_other_pages_get_outputs(failing_book: BuiltBook) -> None:
    failing = failing_book.main("failing").get_text()
    assert "ZeroDivisionError" in failing and "first cell ran" in failing
    assert "after the failure" in failing  # execution goes on after an error
    assert "other page ran" in failing_book.main("fine").get_text()
    assert "kernel died" in failing_book.main("dying").get_text()


def test_timeouts_and_dead_kernels_run_again_errors_do_not(failing_book: BuiltBook) -> None:
    again = run_sphinx(failing_book.srcdir)
    assert ran(again) == [("dying", "pytorch"), ("failing", "numpy")]


def test_failures_fail_the_build_when_asked(failing_book: BuiltBook) -> None:
    strict = run_sphinx(failing_book.srcdir, "-W", "-E")
    assert strict.returncode != 0
    conf = failing_book.srcdir / "conf.py"
    conf.write_text(conf.read_text() + "execbook_fail_on_error = True\n")
    try:
        result = run_sphinx(failing_book.srcdir)
        assert result.returncode != 0
        assert "failing cell(s) in dying, failing" in result.output
        assert "Traceback" not in result.output
    finally:
        conf.write_text(conf.read_text().replace("execbook_fail_on_error = True\n", ""))


def our_kernels(root: Path) -> list[str]:
    """Kernel processes started by builds of ``root`` (their cwd is under it)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if "ipykernel" in cmdline and cwd.startswith(str(root)):
            found.append(pid)
    return found


SLOW_PAGE = """
    # Slow {n}

    ```{{.python .input}}
    #@tab all
    import time
    time.sleep({seconds})
    print('slow page {n} done')
    ```
"""


def test_interrupted_build_leaves_no_kernel_and_resumes(tmp_path: Path) -> None:
    pages = {"index.md": "# Book\n\n```toc\n" + "\n".join(f"slow{n}" for n in range(3)) + "\n```\n"}
    for n, seconds in enumerate((1, 20, 20)):
        pages[f"slow{n}.md"] = SLOW_PAGE.format(n=n, seconds=seconds)
    root = write_book(tmp_path / "book", pages, conf="execbook_workers = 2\n", tabs=("python",))
    outdir = root / "_build" / "html"
    build = subprocess.Popen(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(root), str(outdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=sigint_at_default,
    )
    cache = root / "_build" / ".execbook-cache" / "notebooks"
    deadline = time.monotonic() + 60
    while not list(cache.glob("*/*.ipynb")) and time.monotonic() < deadline:
        time.sleep(0.2)  # wait for the short job to finish and be stored
    assert list(cache.glob("*/*.ipynb")), "the first job never finished"
    assert len(our_kernels(root)) >= 1
    build.send_signal(signal.SIGINT)
    build.communicate(timeout=60)
    assert build.returncode != 0
    time.sleep(0.5)
    assert our_kernels(root) == []

    pages_left = {"slow1", "slow2"}
    for n in (1, 2):  # make the rest quick so the resumed build is short
        page = root / f"slow{n}.md"
        page.write_text(page.read_text().replace("time.sleep(20)", "time.sleep(0)"))
    resumed = run_sphinx(root)
    assert resumed.returncode == 0, resumed.output
    assert {page for page, _ in ran(resumed)} == pages_left
    assert "slow page 0 done" in resumed.main("slow0").get_text()


def test_two_builds_at_once_share_one_cache(tmp_path: Path) -> None:
    pages = {"index.md": INDEX, "ch/outputs.md": simple_page("outputs"), "ch/other.md": OTHER_PAGE}
    shared = tmp_path / "shared-cache"
    roots = [write_book(tmp_path / f"book{i}", pages, conf=f"execbook_cache_dir = {str(shared)!r}\n") for i in range(2)]
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(root), str(root / "_build" / "html")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for root in roots
    ]
    outputs = [build.communicate(timeout=120)[0] for build in builds]
    assert [build.returncode for build in builds] == [0, 0], outputs
    for root in roots:
        assert "other page ran" in (root / "_build" / "html" / "ch" / "other.html").read_text()
    # both tabs run the same code in the same folder: one entry serves both
    assert len(list(shared.glob("notebooks/*/*.ipynb"))) == 2
    assert not list(shared.glob("notebooks/*/.*.tmp"))


def test_damaged_entry_is_run_again_with_a_warning(tmp_path: Path) -> None:
    root = write_book(tmp_path / "book", {"index.md": OTHER_PAGE})
    run_sphinx(root)
    entry = next((root / "_build" / ".execbook-cache" / "notebooks").glob("*/*.ipynb"))
    entry.write_text('{"cells": [', encoding="utf-8")
    (root / "index.md").write_text((root / "index.md").read_text().replace("prose", "words"))
    again = run_sphinx(root)
    assert len([w for w in again.warnings if "damaged cache entry for index" in w]) == 1
    assert len(ran(again)) == 1
    assert "other page ran" in again.main("index").get_text()


def test_execute_off_and_force(tmp_path: Path) -> None:
    root = write_book(tmp_path / "book", {"index.md": OTHER_PAGE}, conf='execbook_execute = "off"\n')
    off = run_sphinx(root)
    assert off.main("index").select(".cell_output") == []
    assert "print('other page ran')" in off.main("index").get_text()
    conf = root / "conf.py"
    conf.write_text(conf.read_text().replace('"off"', '"force"'))
    first = run_sphinx(root)
    second = run_sphinx(root)
    assert ran(first) == ran(second) == [("index", "pytorch")]
    assert "other page ran" in second.main("index").select_one(".cell_output").get_text()


def test_a_missing_kernel_is_reported_and_the_other_framework_runs(tmp_path: Path) -> None:
    page = textwrap.dedent(OTHER_PAGE) + "\n```{.python .input}\n#@tab numpy\nprint('numpy code')\n```\n"
    root = write_book(tmp_path / "book", {"index.md": page}, conf='execbook_kernels = {"numpy": "no-such-kernel"}\n')
    result = run_sphinx(root)
    assert result.returncode == 0
    assert any("[numpy] no Jupyter kernel named 'no-such-kernel' (execbook_kernels)" in w for w in result.warnings)
    assert "other page ran" in pane(result, "index", "print('other page ran')", "pytorch")


LIB_PAGES = {
    "index.md": "# Book\n\n```toc\ndefs\ndirect\ntransitive\nnone\n```\n",
    "defs.md": """
        # Definitions

        Prose about the helpers.

        ```{.python .input}
        #@save
        import sys
        lib = sys.modules[__name__]
        ```

        ```{.python .input}
        def helper(x):  #@save
            return x + 1

        def uses_helper(x):  #@save
            return lib.helper(x) * 10

        def unused():  #@save
            return 'unused'
        ```
        """,
    "direct.md": "# Direct\n\n```{.python .input}\nfrom lib import python as lib\n"
    "print('direct', lib.helper(1))\n```\n",
    "transitive.md": "# Transitive\n\n```{.python .input}\nfrom lib import python as lib\n"
    "print('transitive', lib.uses_helper(1))\n```\n",
    "none.md": "# None\n\n```{.python .input}\nprint('no library here')\n```\n",
}


def test_library_edits_rerun_exactly_the_pages_that_use_the_code(tmp_path: Path) -> None:
    root = write_book(tmp_path / "book", LIB_PAGES, conf='execbook_library = {"name": "lib"}\n', tabs=("python",))
    first = run_sphinx(root)
    assert first.returncode == 0, first.output
    assert sorted(page for page, _ in ran(first)) == ["defs", "direct", "none", "transitive"]
    assert "direct 2" in first.main("direct").get_text()
    assert "transitive 20" in first.main("transitive").get_text()

    defs = root / "defs.md"
    defs.write_text(defs.read_text().replace("Prose about the helpers.", "Other prose."))
    assert ran(run_sphinx(root)) == []

    defs.write_text(defs.read_text().replace("return 'unused'", "return 'still unused'"))
    assert [page for page, _ in ran(run_sphinx(root))] == ["defs"]  # only the page that defines it

    defs.write_text(defs.read_text().replace("return x + 1", "return x + 2"))
    edited = run_sphinx(root)
    assert sorted(page for page, _ in ran(edited)) == ["defs", "direct", "transitive"]
    assert "direct 3" in edited.main("direct").get_text()
    assert "transitive 30" in edited.main("transitive").get_text()
    module = (edited.outdir / ".doctrees" / "execbook" / "lib" / "lib" / "python.py").read_text()
    assert "return x + 2" in module and "# Defined in defs.md" in module
