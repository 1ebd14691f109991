"""The copy of the book that code runs in (execute/tree.py): what it copies, what it leaves."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from conftest import run_sphinx, write_book

from execbook.execute.tree import sync_tree


def test_regular_files_are_copied_and_links_followed(tmp_path: Path) -> None:
    book, tree = tmp_path / "book", tmp_path / "tree"
    (book / "data").mkdir(parents=True)
    (book / "data" / "x.csv").write_text("1,2\n")
    (book / "link.csv").symlink_to(book / "data" / "x.csv")
    assert sync_tree(book, tree, set()) == []
    assert (tree / "data" / "x.csv").read_text() == "1,2\n"
    assert (tree / "link.csv").read_text() == "1,2\n" and not (tree / "link.csv").is_symlink()


def test_sockets_pipes_and_dangling_links_are_left_out_without_failing(tmp_path: Path) -> None:
    """A socket or a named pipe left in the book, or a link to nothing, once
    stopped every build with execution ("`pipe` is a named pipe", a traceback)."""
    book, tree = tmp_path / "book", tmp_path / "tree"
    book.mkdir()
    (book / "page.md").write_text("# Page\n")
    os.mkfifo(book / "pipe")
    (book / "dangling").symlink_to(tmp_path / "nowhere")
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(book / "editor.sock"))
        assert sync_tree(book, tree, set()) == []
    finally:
        listener.close()
    assert sorted(path.name for path in tree.iterdir()) == ["page.md"]


def test_an_unchanged_file_is_not_copied_again(tmp_path: Path) -> None:
    book, tree = tmp_path / "book", tmp_path / "tree"
    book.mkdir()
    (book / "x.txt").write_text("a")
    sync_tree(book, tree, set())
    (tree / "x.txt").write_text("b")  # same size; copy2 kept the mtime, so it counts as unchanged
    os.utime(tree / "x.txt", ns=(os.stat(book / "x.txt").st_atime_ns, os.stat(book / "x.txt").st_mtime_ns))
    sync_tree(book, tree, set())
    assert (tree / "x.txt").read_text() == "b"
    (book / "x.txt").write_text("c")
    os.utime(book / "x.txt", ns=(1, 10**18))
    sync_tree(book, tree, set())
    assert (tree / "x.txt").read_text() == "c"


def _listing(tree: Path) -> dict[str, str]:
    """Every entry of the copy, links not followed: what a cell finds there."""
    found = {}
    for here, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = Path(here) / name
            key = path.relative_to(tree).as_posix()
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = path.read_text()
    return found


def test_the_copy_is_pruned_to_what_the_book_has(tmp_path: Path) -> None:
    """A file deleted from the book, and files and folders an earlier build's cells wrote
    (a module's __pycache__ among them), are gone from the copy (issue 36: a deleted file
    was still there for code; a rebuilt book read what a clean checkout does not have)."""
    book, tree = tmp_path / "book", tmp_path / "tree"
    (book / "data").mkdir(parents=True)
    (book / "data" / "gone.txt").write_text("old")
    (book / "page.md").write_text("# Page\n")
    assert sync_tree(book, tree, set()) == []
    (book / "data" / "gone.txt").unlink()
    (tree / "written.txt").write_text("a cell wrote me")
    (tree / "data" / "out").mkdir()
    (tree / "data" / "out" / "model.pt").write_text("weights")
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "helpers.cpython-311.pyc").write_text("")
    assert sync_tree(book, tree, set()) == []
    assert _listing(tree) == {"data": "folder", "page.md": "# Page\n"}


def test_a_folder_a_cell_made_read_only_is_removed(tmp_path: Path) -> None:
    """(Run as root, the modes stop nothing; as a user, rmtree alone fails on them.)"""
    book, tree = tmp_path / "book", tmp_path / "tree"
    book.mkdir()
    sync_tree(book, tree, set())
    (tree / "locked" / "inner").mkdir(parents=True)
    (tree / "locked" / "inner" / "x").write_text("x")
    os.chmod(tree / "locked" / "inner", 0o500)
    os.chmod(tree / "locked", 0o000)
    assert sync_tree(book, tree, set()) == []
    assert _listing(tree) == {}


def test_a_file_that_became_a_folder_and_back(tmp_path: Path) -> None:
    """Today's code stopped every later build with "File exists: …/tree/data"."""
    book, tree = tmp_path / "book", tmp_path / "tree"
    book.mkdir()
    (book / "data").write_text("a file")
    sync_tree(book, tree, set())
    (book / "data").unlink()
    (book / "data").mkdir()
    (book / "data" / "x.csv").write_text("1\n")
    assert sync_tree(book, tree, set()) == []
    assert _listing(tree) == {"data": "folder", "data/x.csv": "1\n"}
    (book / "data" / "x.csv").unlink()
    (book / "data").rmdir()
    (book / "data").write_text("a file again")
    assert sync_tree(book, tree, set()) == []
    assert _listing(tree) == {"data": "a file again"}


def test_linked_folders_are_links_in_the_copy_never_walked(tmp_path: Path) -> None:
    """``data -> /datasets/set`` or ``-> ../shared``: code in the copy reads what code in the
    book reads (it was left out: FileNotFoundError). A link to a folder of the book points at
    the copy's folder, so code writes into the copy; a loop (``loop -> .``) is not walked."""
    book, tree, shared = tmp_path / "book", tmp_path / "tree", tmp_path / "shared-data"
    shared.mkdir()
    (shared / "set.csv").write_text("1,2\n")
    (book / "sub").mkdir(parents=True)
    (book / "sub" / "x.txt").write_text("x")
    (book / "data").symlink_to("../shared-data")
    (book / "loop").symlink_to(".")
    (book / "sub" / "up").symlink_to("..")
    (book / "alias").symlink_to("sub")
    (book / "nowhere").symlink_to(tmp_path / "missing")
    (book / "out").symlink_to("_build")  # a link into a skipped folder: left out as the folder is
    (book / "_build").mkdir()
    assert sync_tree(book, tree, {book / "_build"}) == []
    assert _listing(tree) == {
        "alias": "-> sub",
        "data": f"-> {shared}",
        "loop": "-> .",
        "sub": "folder",
        "sub/up": "-> ..",
        "sub/x.txt": "x",
    }
    assert (tree / "data" / "set.csv").read_text() == "1,2\n"
    assert (tree / "alias" / "x.txt").resolve() == (tree / "sub" / "x.txt").resolve()
    before = {path: os.lstat(path).st_ino for path in tree.rglob("*")}  # a no-op: nothing copied, nothing removed
    assert sync_tree(book, tree, {book / "_build"}) == []
    assert {path: os.lstat(path).st_ino for path in tree.rglob("*")} == before
    (book / "data").unlink()
    (book / "data").symlink_to(book / "sub")  # retargeted
    assert sync_tree(book, tree, {book / "_build"}) == []
    assert _listing(tree)["data"] == "-> sub"


def test_a_book_file_replaces_a_link_a_cell_left_without_writing_through_it(tmp_path: Path) -> None:
    book, tree = tmp_path / "book", tmp_path / "tree"
    book.mkdir()
    (book / "page.md").write_text("# Page\n")
    sync_tree(book, tree, set())
    (tree / "x.txt").symlink_to(book / "page.md")  # a cell's os.symlink
    (book / "x.txt").write_text("new")
    assert sync_tree(book, tree, set()) == []
    assert (book / "page.md").read_text() == "# Page\n"
    assert _listing(tree) == {"page.md": "# Page\n", "x.txt": "new"}


def _page(marker: str) -> str:
    """A page whose one cell says what it finds, writes a file, and reads a linked folder;
    ``marker`` changes the cell, so that it runs again."""
    return f"""
        # Page

        ```{{.python .input}}
        import os  # {marker}
        print('gone', os.path.exists('gone.txt'), 'written', os.path.exists('written.txt'))
        print('data is', 'a folder' if os.path.isdir('data') else 'a file')
        print('linked', open('linked/set.csv').read().strip())
        open('written.txt', 'w').write('by a cell')
        ```
        """


@pytest.mark.sphinx
@pytest.mark.kernels
def test_code_finds_what_the_book_has_now(tmp_path: Path) -> None:
    """Real builds: a file deleted from the book, or written by an earlier build's cell,
    is not there for code (a clean checkout gives the same); ``data`` that became a folder
    stopped every later build ("File exists: …/tree/data"); a linked folder
    (``linked -> ../shared-data``) was left out of the copy (FileNotFoundError)."""
    (tmp_path / "shared-data").mkdir()
    (tmp_path / "shared-data" / "set.csv").write_text("1,2\n")
    book = write_book(
        tmp_path / "book",
        {"index.md": "# Book\n\n```toc\npage\n```\n", "page.md": _page("first"), "gone.txt": "", "data": "x"},
        tabs=("numpy",),
    )
    (book / "linked").symlink_to("../shared-data")
    first = run_sphinx(book)
    assert first.returncode == 0, first.output
    text = first.main("page").get_text()
    assert "gone True written False" in text and "data is a file" in text and "linked 1,2" in text

    (book / "gone.txt").unlink()
    (book / "data").unlink()
    (book / "data").mkdir()
    (book / "data" / "x.csv").write_text("1\n")
    (book / "page.md").write_text((book / "page.md").read_text().replace("first", "second"))
    second = run_sphinx(book)
    assert second.returncode == 0, second.output
    assert "Extension error" not in second.output
    text = second.main("page").get_text()
    assert "gone False written False" in text and "data is a folder" in text and "linked 1,2" in text
