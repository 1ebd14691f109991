"""The copy of the book that code runs in (execute/tree.py): what it copies, what it leaves."""

from __future__ import annotations

import os
import socket
from pathlib import Path

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
