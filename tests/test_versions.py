"""book/versions.py: what differs between the upstream versions pyproject.toml admits.

These run on whatever is installed: `make test` checks the newest releases,
`make test-lowest` the floors (where, for one, the PyData theme has no
``search_as_you_type``, Sphinx's doc2path returns a str and docutils leaves a
figure's image without a line).
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable
from pathlib import Path

import pydata_sphinx_theme
import pytest
from conftest import BuiltBook, write_book

from execbook.book.versions import pydata_theme_has_option


def declared_options() -> set[str]:
    conf = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "theme.conf"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf, encoding="utf-8")
    return set(parser.options("options"))


def test_a_theme_option_is_known_exactly_when_the_installed_theme_declares_it():
    declared = declared_options()
    assert {"navbar_align", "show_toc_level"} <= declared  # the theme's own, in every admitted series
    for name in ("navbar_align", "show_toc_level", "search_as_you_type", "no_such_option"):
        assert pydata_theme_has_option(name) == (name in declared), name


@pytest.mark.sphinx
def test_a_missing_image_is_warned_at_its_own_line(tmp_path: Path, sphinx_in_process: Callable[..., BuiltBook]) -> None:
    """docutils 0.20 (under Sphinx 7.2) gives a figure the caption's line and MyST 3 a
    caption-less image line 0: the warning named the wrong line, or none."""
    book = write_book(
        tmp_path / "book",
        {
            "index.md": "# Book\n\n```toc\n\npage\n```\n",
            "page.md": """
                # Page

                ![A figure whose file is missing](missing.svg)
                :label:`fig_missing`

                A paragraph.

                ![](also-missing.svg)
                :width: 200px

                The end.
                """,
        },
        conf='execbook_execute = "off"\n',
    )
    built = sphinx_in_process(book)
    lines = {
        name: re.findall(rf"page\.md:(\d*): WARNING: image file not readable: {re.escape(name)}", built.output)
        for name in ("missing.svg", "also-missing.svg")
    }
    assert lines == {"missing.svg": ["3"], "also-missing.svg": ["8"]}, built.output


@pytest.mark.sphinx
def test_a_page_added_to_a_numbered_toc_renumbers_the_pages_after_it(tmp_path: Path) -> None:
    """Sphinx 7.2 pickles its in-memory doctree caches with the environment: the next build
    numbered the toc from the last build's doctree of the index, and wrote no page again."""
    from conftest import run_sphinx

    book = write_book(
        tmp_path / "book",
        {
            "index.md": "# Home\n\n```toc\n:numbered:\none\ntwo\n```\n",
            "one.md": "# One\n:label:`sec_one`\n",
            "two.md": "# Two\n\nSee :numref:`sec_one`.\n\n```{.python .input}\nx = 1\n```\n",
        },
        conf="execbook_execute = 'off'\n",
        tabs=("python",),
    )
    assert run_sphinx(book).returncode == 0
    index = book / "index.md"
    index.write_text(index.read_text().replace("one\n", "zero\none\n"))
    (book / "zero.md").write_text("# Zero\n")
    assert run_sphinx(book).returncode == 0
    site = book / "_build" / "html"
    assert '<span class="section-number">2. </span>One' in (site / "one.html").read_text()
    assert "Section 2" in (site / "two.html").read_text()
    assert "[Section 2](../../one.html#sec-one)" in (site / "notebooks" / "python" / "two.ipynb").read_text()
