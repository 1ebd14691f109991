"""The cache sees what the code reads: local modules, data files, deleted files,
files outside the book in the tracked roots, and a cache shared by two books."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import BuiltBook, run_sphinx, write_book

from execbook.compat.config_ini import map_ini
from execbook.execute import reads as readlog

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels

INDEX = "# Book\n\n```toc\nch/module\nch/data\nch/gone\nch/prose\n```\n"
PAGES = {
    "index.md": INDEX,
    "ch/helpers.py": "def answer():\n    return 41\n",
    "ch/module.md": """
        # Module

        ```{.python .input}
        import helpers
        print('ANSWER =', helpers.answer())
        ```
    """,
    "data/values.csv": "1\n2\n3\n",
    "ch/data.md": """
        # Data

        ```{.python .input}
        print('TOTAL =', sum(int(x) for x in open('../data/values.csv').read().split()))
        ```
    """,
    "data/other.txt": "here",
    "ch/gone.md": """
        # Gone

        ```{.python .input}
        from pathlib import Path
        try:
            print('OTHER =', Path('../data/other.txt').read_text())
        except FileNotFoundError:
            print('OTHER is missing')
        ```
    """,
    "ch/prose.md": """
        # Prose

        Some prose.

        ```{.python .input}
        with open('written.txt', 'w') as out:
            out.write('made by the code')
        print('READ BACK =', open('written.txt').read())
        ```
    """,
}


def report(book: BuiltBook) -> dict:
    return json.loads((book.outdir / ".doctrees" / "execbook" / "report.json").read_text(encoding="utf-8"))


def reruns(book: BuiltBook) -> dict[str, str]:
    """The pages whose jobs ran in this build, with why."""
    return {entry["page"]: entry["reason"] for entry in report(book)["entries"] if not entry["cached"]}


def built(root: Path) -> BuiltBook:
    book = run_sphinx(root)
    assert book.returncode == 0, book.output
    return book


@pytest.mark.sphinx
def test_edited_module_data_and_deleted_file_rerun_exactly_their_pages(tmp_path: Path) -> None:
    root = write_book(tmp_path / "book", PAGES, tabs=("python",))
    first = built(root)
    assert set(reruns(first)) == {"ch/module", "ch/data", "ch/gone", "ch/prose"}
    assert "ANSWER = 41" in first.main("ch/module").get_text()
    assert "READ BACK = made by the code" in first.main("ch/prose").get_text()
    assert reruns(built(root)) == {}  # the file the code wrote and read back is no input

    (root / "ch" / "helpers.py").write_text("def answer():\n    return 42\n")  # same size: only the content differs
    module = built(root)
    assert reruns(module) == {"ch/module": "ch/helpers.py changed"}
    assert "ANSWER = 42" in module.main("ch/module").get_text()

    (root / "data" / "values.csv").write_text("1\n2\n3\n4\n")
    data = built(root)
    assert reruns(data) == {"ch/data": "data/values.csv changed"}
    assert "TOTAL = 10" in data.main("ch/data").get_text()
    report_page = data.html("execbook-report").get_text(" ", strip=True)
    assert "ran again: data/values.csv changed" in report_page  # the reader of the report sees why, too

    (root / "data" / "other.txt").unlink()
    gone = built(root)
    assert reruns(gone) == {"ch/gone": "data/other.txt disappeared"}
    assert "OTHER is missing" in gone.main("ch/gone").get_text()  # the copy tree mirrors the book

    page = root / "ch" / "prose.md"
    page.write_text(page.read_text().replace("Some prose.", "Some longer prose."))
    prose = built(root)
    assert reruns(prose) == {}
    assert "longer prose" in prose.main("ch/prose").get_text()


@pytest.mark.sphinx
def test_a_cache_shared_by_two_books_serves_each_its_own_data(tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    page = """
        # Page

        ```{.python .input}
        print('DATA =', open('data.txt').read())
        ```
    """
    roots = []
    for name in ("one", "two"):
        roots.append(
            write_book(
                tmp_path / name,
                {"index.md": "# Book\n\n```toc\npage\n```\n", "page.md": page, "data.txt": name},
                conf=f"execbook_cache_dir = {str(shared)!r}\n",
                tabs=("python",),
            )
        )
    one = built(roots[0])
    assert "DATA = one" in one.main("page").get_text()
    two = built(roots[1])
    assert reruns(two) == {"page": "data.txt changed"}
    assert "DATA = two" in two.main("page").get_text()


@pytest.mark.sphinx
def test_files_outside_the_book_are_tracked_only_in_the_listed_roots(tmp_path: Path) -> None:
    outside = tmp_path / "datasets"
    outside.mkdir()
    (outside / "set.txt").write_text("v1")
    (tmp_path / "untracked.txt").write_text("u1")
    page = f"""
        # Page

        ```{{.python .input}}
        print('SET =', open({str(outside / "set.txt")!r}).read())
        print('UNTRACKED =', open({str(tmp_path / "untracked.txt")!r}).read())
        ```
    """
    root = write_book(
        tmp_path / "book",
        {"index.md": "# Book\n\n```toc\npage\n```\n", "page.md": page},
        conf="execbook_track_reads_in = ['../datasets']\n",
        tabs=("python",),
    )
    built(root)
    (tmp_path / "untracked.txt").write_text("u2")
    assert reruns(built(root)) == {}  # not in a tracked root: not tracked, by default
    (outside / "set.txt").write_text("v2")
    again = built(root)
    assert reruns(again) == {"page": f"{outside / 'set.txt'} changed"}
    assert "SET = v2" in again.main("page").get_text()


# -- the pure parts ---------------------------------------------------------------------


def test_reported_reads_are_taken_out_of_the_notebook() -> None:
    cell = nbformat.v4.new_code_cell("x")
    shown = nbformat.v4.new_output("stream", name="stdout", text="hi\n")
    cell.outputs = [
        shown,
        nbformat.v4.new_output("display_data", data={readlog.MIME: {"paths": ["data/a.csv", "h.py"]}}),
        nbformat.v4.new_output("display_data", data={readlog.MIME: {"paths": ["h.py", 3, "/abs/b"]}}),
        nbformat.v4.new_output("display_data", data={readlog.MIME: "not an object"}),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("text")])
    assert readlog.take_reads(notebook) == ["data/a.csv", "h.py", "/abs/b"]
    assert notebook.cells[0].outputs == [shown]


def test_stale_reason_names_the_first_file_that_differs() -> None:
    now = {"a.csv": "1", "b.py": "2", "c.txt": readlog.ABSENT, "d.txt": "4"}
    assert readlog.stale_reason({"a.csv": "1", "b.py": "2"}, now.__getitem__) == ""
    assert readlog.stale_reason({"a.csv": "1", "b.py": "9"}, now.__getitem__) == "b.py changed"
    assert readlog.stale_reason({"c.txt": "3"}, now.__getitem__) == "c.txt disappeared"
    assert readlog.stale_reason({"d.txt": readlog.ABSENT}, now.__getitem__) == "d.txt appeared"
    assert readlog.parse_reads({"reads": {"a": "1"}}) == {"a": "1"}
    assert readlog.parse_reads({"reads": {"a": 1}}) is None and readlog.parse_reads({}) is None


def test_hashes_are_remembered_so_a_noop_hashes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("1,2\n")
    memo = tmp_path / "state" / readlog.MEMO_FILE
    hashes = readlog.Hashes(memo)
    first = readlog.record(["data.csv", "missing.txt"], tmp_path, hashes)
    assert first == {"data.csv": readlog.file_sha256(data), "missing.txt": readlog.ABSENT}
    hashes.save()
    again = readlog.Hashes(memo)
    assert readlog.record(["data.csv"], tmp_path, again) == {"data.csv": first["data.csv"]}
    assert not again.changed  # known by its stamp: not read again, nothing to write
    data.write_text("1,3\n")  # same size
    assert readlog.record(["data.csv"], tmp_path, again)["data.csv"] != first["data.csv"]


def test_tracking_is_set_up_for_jobs_in_the_tree_only(tmp_path: Path) -> None:
    state = tmp_path / "execbook"
    readlog.write_roots(state, [Path("/data/sets")])
    code = readlog.setup_for(state / "tree" / "ch", state / "lib")
    assert "sys.addaudithook" in code and "'/data/sets'" in code and repr(str(state / "tree")) in code
    compile(code, "setup", "exec")  # the kernel runs it as it is
    assert readlog.setup_for(tmp_path / "elsewhere", state / "lib") == ""
    assert readlog.setup_for(state / "tree", None) == ""


def test_config_ini_dependencies_are_tracked_roots(tmp_path: Path) -> None:
    (tmp_path / "config.ini").write_text("[build]\ndependencies = ../shared/data /abs/sets\n")
    (tmp_path / "index.md").write_text("# Book\n")
    mapping = map_ini(tmp_path)
    assert mapping.values["execbook_track_reads_in"] == [str((tmp_path / "../shared/data").resolve()), "/abs/sets"]
    assert not any("dependencies" in note.text for note in mapping.notes)
