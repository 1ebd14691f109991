"""What a host needs, from a d2l-book ``config.ini`` (issue 33): ``[deploy]
google_analytics_tracking_id`` as the theme's analytics, ``[colab] replace_svg_url``
in the notebooks, and d2l-en's ``###_CURRENT_VERSION_BASE_LINK_###`` header links
filled from the ``html_baseurl`` that ``[build] sphinx_configs`` sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from execbook.compat import config_ini, d2lbook
from execbook.outputs.export import book_path, replaced_url

# d2l-en's settings, in d2l-book's layout: pages in chapter folders, images in img/
HOST_INI = """\
[project]
name = tiny
title = Tiny Book

[build]
eval_notebook = False
sphinx_configs = html_baseurl = 'https://example.org/tiny/'

[html]
header_links = ###_ALTERNATE_VERSION_###, ###_ALTERNATE_VERSION_BASE_LINK_###, fas fa-book,
               PDF, ###_CURRENT_VERSION_BASE_LINK_###/tiny.pdf, fas fa-file-pdf

[deploy]
google_analytics_tracking_id = G-ABC123XYZ

[colab]
replace_svg_url = img, http://d2l.ai/_images
"""
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n'


def write_book(root: Path, ini: str = HOST_INI) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.ini").write_text(textwrap.dedent(ini), encoding="utf-8")
    (root / "index.md").write_text("# Tiny Book\n\n```toc\n:maxdepth: 2\n\nchapter_a/page\n```\n", encoding="utf-8")
    (root / "chapter_a").mkdir(exist_ok=True)
    (root / "chapter_a" / "page.md").write_text(
        "# A Page\n\n![A net](../img/net.svg)\n:label:`fig_net`\n\n![A photo](photo.svg)\n\n"
        "```{.python .input}\nx = 1\n```\n",
        encoding="utf-8",
    )
    (root / "chapter_a" / "photo.svg").write_text(SVG, encoding="utf-8")
    (root / "img").mkdir(exist_ok=True)
    (root / "img" / "net.svg").write_text(SVG, encoding="utf-8")
    return root


# -- the mapping --------------------------------------------------------------------------


def test_analytics_and_svg_urls_are_mapped_not_reported_unused(tmp_path: Path) -> None:
    m = config_ini.map_ini(write_book(tmp_path))
    assert m.notes == []  # neither key is "not used by execbook" any more
    assert m.values["html_theme_options"]["analytics"] == {"google_analytics_id": "G-ABC123XYZ"}
    assert m.values["html_theme_options"]["icon_links"][1]["url"] == "###_CURRENT_VERSION_BASE_LINK_###/tiny.pdf"
    assert m.values["execbook_colab_svg_url"] == [["img", "http://d2l.ai/_images"]]


def test_a_universal_analytics_id_is_kept_with_a_note(tmp_path: Path) -> None:
    """d2l-en's own ID is a UA- one: it still goes on the pages, and the author learns it records nothing."""
    book = write_book(tmp_path, HOST_INI.replace("G-ABC123XYZ", "UA-96378503-10"))
    m = config_ini.map_ini(book)
    assert m.values["html_theme_options"]["analytics"] == {"google_analytics_id": "UA-96378503-10"}
    assert [(n.line, n.info) for n in m.notes] == [(14, True)]
    assert "Universal Analytics" in m.notes[0].text and "G-" in m.notes[0].text


@pytest.mark.parametrize(
    "old, new, line, text",
    [
        (
            "G-ABC123XYZ",
            "G-ABC'); alert(1); ('",
            14,
            "[deploy] google_analytics_tracking_id: \"G-ABC'); alert(1); ('\" is not a Google Analytics ID; "
            "write the measurement ID Google gives, e.g. G-XXXXXXXXXX",
        ),
        (
            "img, http://d2l.ai/_images",
            "img http://d2l.ai/_images",
            17,
            "[colab] replace_svg_url: 'img http://d2l.ai/_images' must be 'folder, URL'",
        ),
        (
            "img, http://d2l.ai/_images",
            "img, d2l.ai/_images",
            17,
            "[colab] replace_svg_url: 'img, d2l.ai/_images' must be 'folder, URL'",
        ),
        (
            "replace_svg_url = img, http://d2l.ai/_images",
            "replace_svg_url = img, https://d2l.ai/_images\n                  ../up, https://x.org",
            18,
            "[colab] replace_svg_url: '../up, https://x.org' must be 'folder, URL'",
        ),
    ],
)
def test_bad_values_are_errors_at_their_line(tmp_path: Path, old: str, new: str, line: int, text: str) -> None:
    book = write_book(tmp_path, HOST_INI.replace(old, new))
    errors = [(n.line, n.text) for n in config_ini.map_ini(book).errors]
    assert len(errors) == 1 and errors[0][0] == line and errors[0][1].startswith(text), errors


CURRENT_LINKS = [
    ("html_baseurl = 'https://example.org/tiny/'", {"CURRENT_VERSION_BASE_LINK": "https://example.org/tiny"}),
    (  # a versioned site is published in its folder
        "html_baseurl = 'https://example.org/tiny/'\n                 execbook_version = '2.0'",
        {"CURRENT_VERSION_BASE_LINK": "https://example.org/tiny/2.0"},
    ),
    (  # the author's own value wins
        "html_baseurl = 'https://example.org/tiny/'\n"
        "                 execbook_header_placeholders = {'CURRENT_VERSION_BASE_LINK': 'https://d2l.ai'}",
        {"CURRENT_VERSION_BASE_LINK": "https://d2l.ai"},
    ),
    ("html_title = 'No address'", None),
]


def test_the_current_version_link_is_the_sites_address(tmp_path: Path) -> None:
    for number, (configs, placeholders) in enumerate(CURRENT_LINKS):
        book = write_book(
            tmp_path / str(number), HOST_INI.replace("html_baseurl = 'https://example.org/tiny/'", configs)
        )
        assert d2lbook.conf_values(str(book)).get("execbook_header_placeholders") == placeholders, configs


SVG_URLS = [
    ("../img/net.svg", "chapter_a", "http://d2l.ai/_images/net.svg"),  # d2l-en's pages
    ("img/net.svg", "", "http://d2l.ai/_images/net.svg"),
    ("img/sub/net.svg", "", "http://d2l.ai/_images/sub/net.svg"),
    ("photo.svg", "chapter_a", None),  # chapter_a/photo.svg is not under img/
    ("img/net.svg", "chapter_a", None),  # chapter_a/img/net.svg neither
]


def test_replace_svg_url_matches_the_images_place_in_the_book(tmp_path: Path) -> None:
    """As d2l-book: the prefix is a folder of the book, whatever the page spells its way there."""
    (tmp_path / "chapter_a").mkdir()
    for image, folder, expected in SVG_URLS:
        where = book_path(image, tmp_path / folder, tmp_path.resolve())
        assert replaced_url(where, [("img", "http://d2l.ai/_images")]) == expected, (image, folder)


# -- the book, built ---------------------------------------------------------------------


def execbook(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", *args],
        cwd=book,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    book = write_book(tmp_path_factory.mktemp("inihost") / "book")
    result = execbook(book, "build", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    return book, result.stdout + result.stderr


def markdown_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


@pytest.mark.sphinx
def test_the_site_carries_the_analytics_tag_with_the_id(built: tuple[Path, str]) -> None:
    book, log = built
    for name in ("index.html", "chapter_a/page.html"):
        soup = BeautifulSoup((book / "_build/html" / name).read_text(encoding="utf-8"), "html.parser")
        scripts = [s.get("src", "") for s in soup.select("script")]
        assert "https://www.googletagmanager.com/gtag/js?id=G-ABC123XYZ" in scripts, name
        assert any("gtag('config', 'G-ABC123XYZ')" in s.get_text() for s in soup.select("script")), name
    assert "not used by execbook" not in log


@pytest.mark.sphinx
def test_the_sites_notebooks_show_images_from_replace_svg_url(built: tuple[Path, str]) -> None:
    book, _ = built
    text = markdown_of(book / "_build/html/notebooks/python/chapter_a/page.ipynb")
    assert "](http://d2l.ai/_images/net.svg)" in text
    assert "../img/net.svg" not in text and "_images/net.svg" not in text.replace("http://d2l.ai/_images/net.svg", "")
    # an image outside img/ is not d2l.ai's: it comes from the site, as without the key
    assert "](https://example.org/tiny/_images/photo.svg)" in text


@pytest.mark.sphinx
def test_the_notebooks_build_shows_images_from_replace_svg_url(built: tuple[Path, str]) -> None:
    book, _ = built
    result = execbook(book, "build", "notebooks")
    assert result.returncode == 0, result.stdout + result.stderr
    text = markdown_of(book / "_build/notebooks/python/chapter_a/page.ipynb")
    assert "](http://d2l.ai/_images/net.svg)" in text and "../img/net.svg" not in text


@pytest.mark.sphinx
def test_header_links_fill_the_sites_address_and_name_what_to_set(built: tuple[Path, str]) -> None:
    book, log = built
    soup = BeautifulSoup((book / "_build/html/index.html").read_text(encoding="utf-8"), "html.parser")
    hrefs = {a["href"] for a in soup.select("a[href]")}
    assert "https://example.org/tiny/tiny.pdf" in hrefs
    assert not any("###" in href for href in hrefs) and "###" not in soup.get_text()
    # the alternate version has no source: its link is left out, and the warning says where to set it
    warning = next(line for line in log.splitlines() if "###_ALTERNATE_VERSION" in line)
    assert (
        "execbook_header_placeholders = {'ALTERNATE_VERSION': '...', 'ALTERNATE_VERSION_BASE_LINK': '...'}" in warning
    )
    assert "[build] sphinx_configs" in warning and "[html] header_placeholders" not in warning
