"""Two builds of an unchanged book agree on its configuration: an incremental build
says nothing about a changed configuration and writes only what an edit touched.

Sphinx compares the configuration pickled with the environment (the values as the
last build left them) with the one just read from conf.py (after ``config-inited``);
a value that an extension or the theme changed later (at ``builder-inited``, or as
the builder starts) differed on every build, and Sphinx printed "The configuration
has changed (...)" each time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BuiltBook, write_book

pytestmark = pytest.mark.sphinx

CHANGED = "The configuration has changed"

PAGES = {
    "index.md": """
        # Book

        ```{toctree}
        first
        second
        ```
        """,
    "first.md": """
        # First

        Some math, which MyST hands to MathJax: $x^2$.

        ```python
        x = 1
        ```
        """,
    "second.md": """
        # Second

        A paragraph.
        """,
    "_static/extra.css": "p {}\n",
    "_static/extra.js": "// nothing\n",
}

# what the demo book sets (sphinx_design, its own static files, css) and what host.py
# derives from a base URL, a version and a repository
HOSTED = """
    execbook_execute = "off"
    extensions = ["execbook", "sphinx_design"]
    html_static_path = ["_static"]
    html_css_files = ["extra.css"]
    html_js_files = ["extra.js"]
    html_baseurl = "https://example.org/book/"
    execbook_version = "2.0"
    execbook_repository_url = "https://github.com/someone/book"
    """


def sphinx_build(book: Path) -> BuiltBook:
    """sphinx-build as a user runs it, without -q: the configuration message is an info line."""
    outdir = book / "_build" / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", str(book), str(outdir)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return BuiltBook(book, outdir, proc.returncode, proc.stdout + proc.stderr)


def written(built: BuiltBook) -> set[str]:
    """The pages Sphinx says it wrote ('writing output... [ 50%] second')."""
    return set(re.findall(r"writing output\.\.\. \[\s*\d+%\] (\S+)", built.output))


@pytest.mark.parametrize("conf", ['execbook_execute = "off"\n', HOSTED], ids=["plain", "hosted"])
def test_unchanged_and_edited_builds_keep_the_configuration(tmp_path: Path, conf: str) -> None:
    book = write_book(tmp_path / "book", PAGES, conf=conf)
    first = sphinx_build(book)
    assert written(first) >= {"index", "first", "second"}
    first_page = book / "_build" / "html" / "first.html"
    before = first_page.stat().st_mtime_ns

    again = sphinx_build(book)
    assert CHANGED not in again.output, again.output
    assert written(again) == set()

    second = book / "second.md"
    second.write_text(second.read_text(encoding="utf-8") + "\nAnother paragraph.\n", encoding="utf-8")
    edited = sphinx_build(book)
    assert CHANGED not in edited.output, edited.output
    # the edited page, and the page whose toctree shows its title; nothing else
    assert "second" in written(edited)
    assert written(edited) <= {"second", "index"}, edited.output
    assert first_page.stat().st_mtime_ns == before
    assert "Another paragraph." in (book / "_build" / "html" / "second.html").read_text(encoding="utf-8")
