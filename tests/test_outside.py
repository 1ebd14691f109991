"""Issue 15, item 13: files outside the book are neither copied into the site nor shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_bad_input import CONF, run, write

pytestmark = pytest.mark.sphinx  # each case builds a book or runs the CLI

SECRET = "the-secret-line-42"
PAGE = ("# Home\n\n![leak](../outside/secret.png)\n\n![fine](img/ok.svg)\n\n"
        "```eval_rst\n.. literalinclude:: ../outside/secret.txt\n```\n\n"
        "```eval_rst\n.. include:: ../outside/secret.rst\n```\n\nAfter.\n\n```toc\nchapter/page\n```\n\n```{include} ../outside/secret.rst\n```\n")
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n'


def make_book(root: Path, conf: str = CONF) -> Path:
    """A book in root/book, secret files in root/outside (the ../ of its pages)."""
    write(root / "outside", {"secret.png": SECRET, "secret.txt": SECRET + "\n", "secret.rst": SECRET + "\n"})
    book = root / "book"
    write(book, {"conf.py": conf, "index.md": PAGE, "img/ok.svg": SVG, "chapter/page.md": "# Page\n\n![ok](../img/ok.svg)\n"})
    return book


def test_paths_leaving_the_book_are_reported_and_left_out(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    done = run(book, ["sphinx"])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for line, what, path in [(3, "image", "../outside/secret.png"), (8, "literalinclude", "../outside/secret.txt"),
                             (12, "include", "../outside/secret.rst"), (21, "include", "../outside/secret.rst")]:
        assert f"index.md:{line}: WARNING: {what} '{path}' is outside the book's folder" in output, output
    assert "execbook_allow_outside" in output and "[execbook.outside]" in output
    html = (book / "_build" / "html" / "index.html").read_text(encoding="utf-8")
    assert SECRET not in html and "After." in html
    assert not (book / "_build" / "html" / "_images" / "secret.png").exists()
    assert (book / "_build" / "html" / "_images" / "ok.svg").exists()  # ../img/ from a chapter folder stays inside
    assert "chapter/page.md" not in output


def test_a_folder_in_allow_outside_may_be_used(tmp_path: Path) -> None:
    book = make_book(tmp_path, CONF + 'execbook_allow_outside = ["../outside"]\n')
    done = run(book, ["sphinx"])
    output = done.stdout + done.stderr
    assert "is outside the book" not in output and done.returncode == 0, output
    assert SECRET in (book / "_build" / "html" / "index.html").read_text(encoding="utf-8")
    assert (book / "_build" / "html" / "_images" / "secret.png").exists()
