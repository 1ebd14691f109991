"""Issue 37, item 1: one boundary. The helper's small cases here; builds of a hostile book below."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from execbook.book.boundary import OutsideError, checked_write_target, list_files, real_inside


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/book (the root) and tmp/outside/secret.txt beside it."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    book = tmp_path / "book"
    (book / "img").mkdir(parents=True)
    (book / "img" / "a.svg").write_text("<svg/>")
    (book / "page.md").write_text("# Page")
    return book


@pytest.mark.parametrize(
    "path, inside",
    [
        ("page.md", "page.md"),
        ("img/a.svg", "img/a.svg"),
        ("img/../page.md", "page.md"),
        ("img/../../book/page.md", "page.md"),
        ("../outside/secret.txt", None),
        ("img/../../outside/secret.txt", None),
        ("../../../../../../etc/passwd", None),
        ("/etc/passwd", None),
        ("missing/file.png", "missing/file.png"),  # not there: judged by where it would be
        (".", "."),
    ],
)
def test_real_inside_by_spelling(tree: Path, path: str, inside: str | None) -> None:
    got = real_inside(tree, path)
    assert got == (None if inside is None else (tree / inside).resolve())


def test_real_inside_follows_links(tree: Path) -> None:
    (tree / "in.svg").symlink_to("img/a.svg")
    (tree / "out.txt").symlink_to(tree.parent / "outside" / "secret.txt")
    (tree / "outdir").symlink_to(tree.parent / "outside")
    (tree / "self").symlink_to("self")  # a loop: no RuntimeError
    assert real_inside(tree, "in.svg") == (tree / "img" / "a.svg").resolve()
    assert real_inside(tree, "out.txt") is None
    assert real_inside(tree, "outdir/secret.txt") is None
    assert real_inside(tree, tree / "out.txt") is None  # absolute, inside by spelling only
    assert real_inside(tree, "self") is not None


def test_real_inside_a_linked_root(tree: Path) -> None:
    """A book reached through a link is judged by its real folder."""
    alias = tree.parent / "alias"
    alias.symlink_to(tree)
    assert real_inside(alias, "page.md") == (tree / "page.md").resolve()
    assert real_inside(alias, tree / "page.md") == (tree / "page.md").resolve()
    assert real_inside(alias, "../outside/secret.txt") is None


def test_checked_write_target(tree: Path) -> None:
    out = tree / "_build" / "html"
    out.mkdir(parents=True)
    assert checked_write_target(out, out / "notebooks" / "x.svg") == (out / "notebooks" / "x.svg").resolve()
    for bad in [out / ".." / ".." / "page.md", out / "notebooks" / ".." / ".." / "x", Path("/tmp/x"), out]:
        with pytest.raises(OutsideError, match="outside the output folder"):
            checked_write_target(out, bad)
    (out / "link.md").symlink_to(tree / "page.md")  # writing through a link would overwrite the source
    with pytest.raises(OutsideError, match="page.md"):
        checked_write_target(out, out / "link.md")
    (out / "sub").symlink_to(tree)
    with pytest.raises(OutsideError):
        checked_write_target(out, out / "sub" / "new.txt")


def test_walk_never_follows_loops_nor_leaves(tree: Path) -> None:
    (tree / "d").mkdir()
    (tree / "d" / "p.md").write_text("# P")
    (tree / "loop").symlink_to(".")
    (tree / "d" / "up").symlink_to("..")
    (tree / "out").symlink_to(tree.parent / "outside")
    (tree / "secret.txt").symlink_to(tree.parent / "outside" / "secret.txt")
    (tree / "alias").symlink_to("img")
    (tree / "same.svg").symlink_to("img/a.svg")
    (tree / "dir.md").symlink_to("d")  # a file's name, a folder's link
    (tree / "broken.png").symlink_to("nowhere.png")
    files, refused = list_files(tree)
    assert sorted(str(f) for f in files) == ["broken.png", "d/p.md", "img/a.svg", "page.md", "same.svg"]
    reasons = {str(r.path): r.reason for r in refused}
    assert reasons == {
        "alias": "duplicate",
        "dir.md": "duplicate",
        "loop": "loop",
        "out": "outside",
        "secret.txt": "outside",
        "d/up": "loop",
    }
    assert "outside the book" in next(r for r in refused if r.reason == "outside").describe()


def test_walk_keeps_folders_by_relative_path(tree: Path) -> None:
    (tree / "_build" / "html").mkdir(parents=True)
    (tree / "_build" / "html" / "x.html").write_text("")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("")
    (tree / "img" / "skip").mkdir()
    (tree / "img" / "skip" / "b.svg").write_text("")
    (tree / "build_link").symlink_to("_build")
    seen: list[PurePosixPath] = []

    def keep(relative: PurePosixPath) -> bool:
        seen.append(relative)
        return not relative.name.startswith((".", "_")) and relative != PurePosixPath("img/skip")

    files, refused = list_files(tree, keep)
    assert sorted(str(f) for f in files) == ["img/a.svg", "page.md"]
    assert [str(r.path) for r in refused] == ["build_link"]
    assert PurePosixPath("img/skip") in seen


def test_walk_of_a_linked_root(tree: Path) -> None:
    alias = tree.parent / "alias"
    alias.symlink_to(tree)
    files, refused = list_files(alias)
    assert sorted(str(f) for f in files) == ["img/a.svg", "page.md"] and refused == []
    assert os.path.islink(alias)
