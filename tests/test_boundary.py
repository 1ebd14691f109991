"""Issue 37, item 1: one boundary. The helper's small cases here; builds of a hostile book below."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from warned import typed

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


def test_book_pages_are_read_through_no_link_that_leaves_or_loops(tree: Path) -> None:
    from execbook.book.files import book_pages, left_out_links

    (tree / "d").mkdir()
    (tree / "d" / "p.md").write_text("# P")
    (tree / "loop").symlink_to(".")
    (tree / "d" / "up").symlink_to("..")
    (tree / "linked.md").symlink_to(tree.parent / "outside" / "secret.txt")
    (tree / "same.md").symlink_to("page.md")  # a second name inside the book: a page like any other
    (tree / "_build").mkdir()
    (tree / "_build" / "x.md").write_text("")
    assert sorted(book_pages(tree, [])) == ["d/p", "page", "same"]
    assert sorted(str(link.path) for link in left_out_links(tree, [])) == ["d/up", "linked.md", "loop"]


def test_walk_of_a_linked_root(tree: Path) -> None:
    alias = tree.parent / "alias"
    alias.symlink_to(tree)
    files, refused = list_files(alias)
    assert sorted(str(f) for f in files) == ["img/a.svg", "page.md"] and refused == []
    assert os.path.islink(alias)


# --- a book full of hostile paths, built as html, notebooks and latex ---------------------------

SECRET = "SECRET-BYTES-7f3a"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><!-- {} --></svg>\n'
PAGE = """\
# Page

![clobber](../../../../page.md)

![up](../secret.svg)

![dotdot](img/../../secret.svg)

![linked](img/out.svg)

![fine](img/ok.svg)

Get {download}`the data <../secret.txt>`.

```eval_rst
.. csv-table:: Table
   :file: ../secret.csv

.. raw:: html
   :file: ../secret.html

Or :download:`this <../secret.txt>`.
```

```{csv-table} MyST table
:file: ../secret.csv
```

The end.

```{include} stray.md
```
"""
INDEX = "# Home\n\n```toc\npage\nlinked\nd/p\n```\n"
HOSTILE_WARNINGS = [  # (file, line, what the warning names)
    ("page.md", 3, "../../../../page.md"),
    ("page.md", 5, "../secret.svg"),
    ("page.md", 7, "img/../../secret.svg"),
    ("page.md", 9, "img/out.svg"),
    ("page.md", 13, "../secret.txt"),
    ("page.md", 16, "../secret.csv"),  # csv-table :file:
    ("page.md", 19, "../secret.html"),  # raw :file:
    ("page.md", 22, "../secret.txt"),  # :download:
    ("page.md", 25, "../secret.csv"),  # MyST {csv-table}
    ("page.md", 31, "stray.md"),  # {include} of an in-book link to an outside file
]


def hostile_book(tmp_path: Path) -> tuple[Path, Path]:
    """tmp/sentinel/l1/l2/l3/book: the book; everything else under tmp/sentinel is outside it,
    with the secret in every file a page names, and a page.md four levels above the book."""
    sentinel = tmp_path / "sentinel"
    beside = sentinel / "l1" / "l2" / "l3"
    book = beside / "book"
    (book / "img").mkdir(parents=True)
    (book / "d").mkdir()
    (sentinel / "page.md").write_text(f"# Outside page\n\n{SECRET}\n")
    for name, text in {
        "secret.svg": SVG.format(SECRET),
        "secret.txt": SECRET,
        "secret.csv": f"a,b\n{SECRET},2\n",
        "secret.html": f"<p>{SECRET}</p>",
        "outside.md": f"# Outside\n\n{SECRET}\n",
        "stray.md": f"# Stray\n\n{SECRET}\n",
    }.items():
        (beside / name).write_text(text)
    (book / "conf.py").write_text(
        'project = "T"\nextensions = ["execbook"]\nexecbook_tabs = ["python"]\nexecbook_execute = "off"\n'
    )
    (book / "index.md").write_text(INDEX)
    (book / "page.md").write_text(PAGE)
    (book / "img" / "ok.svg").write_text(SVG.format("ok"))
    (book / "img" / "out.svg").symlink_to("../../secret.svg")
    (book / "d" / "p.md").write_text("# P\n\nIn d.\n")
    (book / "linked.md").symlink_to("../outside.md")  # in the toc
    (book / "stray.md").symlink_to("../stray.md")  # in no toc: Sphinx finds every page
    (book / "loop").symlink_to(".")
    (book / "d" / "up").symlink_to("..")
    return book, sentinel


def snapshot(folder: Path, skip: Path) -> dict[str, str]:
    """Every file and link under ``folder`` but ``skip``: content hashes, link targets."""
    import hashlib

    found = {}
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if Path(here, d) != skip]
        for name in [*files, *(d for d in dirs if Path(here, d).is_symlink())]:
            path = Path(here, name)
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leaked(build: Path) -> list[str]:
    return [
        path.relative_to(build).as_posix()
        for path in build.rglob("*")
        if path.is_file() and not path.is_symlink() and SECRET.encode() in path.read_bytes()
    ]


@pytest.mark.sphinx
def test_a_hostile_book_writes_and_publishes_nothing_outside(tmp_path: Path) -> None:
    import subprocess
    import sys

    book, sentinel = hostile_book(tmp_path)
    before = snapshot(sentinel, book / "_build")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    outputs = []
    for command in (
        ["-m", "execbook.cli", "build", "html"],
        ["-m", "execbook.cli", "build", "notebooks"],
        ["-m", "sphinx", "-b", "latex", "-q", ".", "_build/latex"],
        ["-m", "execbook.cli", "build", "html"],  # again: a rebuild replays what the first one wrote
    ):
        done = subprocess.run(
            [sys.executable, *command], cwd=book, capture_output=True, text=True, timeout=120, env=env
        )
        output = done.stdout + done.stderr
        outputs.append(output)
        assert done.returncode == 0, output
        assert "Traceback" not in output and "is not in the subpath" not in output, output
        assert snapshot(sentinel, book / "_build") == before, output
    assert leaked(book / "_build") == []
    assert not list((book / "_build").rglob("d/up/*")) and not list((book / "_build").rglob("loop/*"))
    first = outputs[0]
    for name, line, written in HOSTILE_WARNINGS:
        assert f"{name}:{line}: WARNING: " in first, first
        assert f"'{written}' is outside the book" in first.split(f"{name}:{line}: WARNING: ")[1].split("\n")[0]
    for page in ("linked.md", "stray.md", "loop", "d/up"):
        assert f"'{page}' is a link to" in first, first
    assert typed("outside") in first
    html = (book / "_build" / "html" / "page.html").read_text()
    assert "The end." in html and "ok.svg" in html
