"""Issue 15, item 13: files outside the book are neither copied into the site nor shown."""

from __future__ import annotations

from pathlib import Path

import pytest
import sphinx.config
from test_bad_input import CONF, run, write

pytestmark = pytest.mark.sphinx  # each case builds a book or runs the CLI

SECRET = "the-secret-line-42"
PAGE = (
    "# Home\n\n![leak](../outside/secret.png)\n\n![fine](img/ok.svg)\n\n"
    "```eval_rst\n.. literalinclude:: ../outside/secret.txt\n```\n\n"
    "```eval_rst\n.. include:: "
    "../outside/secret.rst\n```\n\nAfter.\n\n```toc\nchapter/page\n```\n\n```{include} ../outside/secret.rst\n```\n"
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n'


def make_book(root: Path, conf: str = CONF) -> Path:
    """A book in root/book, secret files in root/outside (the ../ of its pages)."""
    write(root / "outside", {"secret.png": SECRET, "secret.txt": SECRET + "\n", "secret.rst": SECRET + "\n"})
    book = root / "book"
    write(
        book,
        {"conf.py": conf, "index.md": PAGE, "img/ok.svg": SVG, "chapter/page.md": "# Page\n\n![ok](../img/ok.svg)\n"},
    )
    return book


def test_paths_leaving_the_book_are_reported_and_left_out(tmp_path: Path) -> None:
    book = make_book(tmp_path)
    done = run(book, ["sphinx"])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for line, what, path in [
        (3, "image", "../outside/secret.png"),
        (8, "literalinclude", "../outside/secret.txt"),
        (12, "include", "../outside/secret.rst"),
        (21, "include", "../outside/secret.rst"),
    ]:
        assert f"index.md:{line}: WARNING: {what} '{path}' is outside the book's folder" in output, output
    assert "execbook_allow_outside" in output
    # Sphinx shows a warning's [type.subtype] since 7.3 (show_warning_types); 7.2, our floor, does not
    assert "[execbook.outside]" in output or "show_warning_types" not in sphinx.config.Config.config_values
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


@pytest.mark.kernels
def test_cell_images_of_a_build_folder_outside_the_book_are_shown(tmp_path: Path) -> None:
    """MyST-NB writes a cell's image into the doctree folder: with ``sphinx-build -d``
    outside the book it lies outside the book's folder, and is the build's own."""
    import base64
    import subprocess
    import sys

    from conftest import write_book

    png = base64.b64encode(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
        )
    ).decode()
    page = (
        "# Plot\n\n```{.python .input}\nfrom IPython.display import Image\n"
        f"Image(data=__import__('base64').b64decode('{png}'))\n```\n"
    )
    book = write_book(tmp_path / "book", {"index.md": page}, tabs=("numpy",))
    out = tmp_path / "elsewhere"
    built = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(book), str(out / "html"), "-d", str(out / "doctrees")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    assert "outside the book" not in built.stderr
    images = [path.name for path in (out / "html" / "_images").glob("*.png")]
    assert images and any(name in (out / "html" / "index.html").read_text() for name in images)
