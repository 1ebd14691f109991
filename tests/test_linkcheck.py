"""execbook check-links: every internal link of a built site resolves.

Small hand-written sites first (one kind of link each), then the real sites
the test suite builds: the demo book after the HTML build alone, whose
download buttons must find their notebooks in the site.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import BuiltBook, chapter_number

from execbook.outputs.linkcheck import check_site, is_external, report

HEAD = '<link rel="stylesheet" href="_static/s.css"><script src="_static/s.js"></script>'


def make_site(root: Path, files: dict[str, str]) -> Path:
    """A site from ``{path: text}``; every path ending in .html gets a page around its text."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def broken(root: Path, files: dict[str, str]) -> list[str]:
    return report(check_site(make_site(root, files)))


def test_a_whole_small_site_resolves(tmp_path: Path) -> None:
    result = check_site(
        make_site(
            tmp_path,
            {
                "index.html": f"""<html><head>{HEAD}</head><body id="top">
            <a href="chapters/one.html">One</a> <a href="chapters/one.html#intro">Intro</a>
            <a href="#top">top</a> <a href="#">nowhere in particular</a> <a href="">this page</a>
            <img src="_images/a.svg" alt=""></body></html>""",
                "chapters/one.html": '<h1 id="intro">One</h1><a href="../index.html#top">back</a>'
                '<a href="../index.html">home</a>',
                "_static/s.css": "body {}",
                "_static/s.js": "",
                "_images/a.svg": "<svg/>",
            },
        )
    )
    assert result.broken == []
    assert (result.pages, result.links, result.external) == (2, 10, 0)


def test_a_missing_page_is_named_with_the_page_that_links_to_it(tmp_path: Path) -> None:
    lines = broken(tmp_path, {"chapters/one.html": '<a href="two.html">Two</a>'})
    assert lines == ["chapters/one.html: two.html -> no file chapters/two.html"]


def test_a_missing_anchor_in_another_page(tmp_path: Path) -> None:
    lines = broken(
        tmp_path, {"a.html": '<a href="b.html#gone">x</a><a href="b.html#here">y</a>', "b.html": '<p id="here">'}
    )
    assert lines == ["a.html: b.html#gone -> no id 'gone' in b.html"]


def test_a_missing_anchor_in_the_same_page(tmp_path: Path) -> None:
    assert broken(tmp_path, {"a.html": '<a href="#sec-2">x</a><section id="sec-1"></section>'}) == [
        "a.html: #sec-2 -> no id 'sec-2' in a.html"
    ]


def test_named_anchors_count_as_targets(tmp_path: Path) -> None:
    assert broken(tmp_path, {"a.html": '<a name="old-style"></a><a href="#old-style">x</a>'}) == []


def test_missing_images_scripts_and_styles(tmp_path: Path) -> None:
    lines = broken(tmp_path, {"a.html": f'{HEAD}<img src="img/x.png"><video poster="img/p.jpg"></video>'})
    assert lines == [
        "a.html: _static/s.css -> no file _static/s.css",
        "a.html: _static/s.js -> no file _static/s.js",
        "a.html: img/x.png -> no file img/x.png",
        "a.html: img/p.jpg -> no file img/p.jpg",
    ]


def test_every_candidate_of_a_srcset(tmp_path: Path) -> None:
    lines = broken(tmp_path, {"a.html": '<img src="a.png" srcset="a.png 1x, a@2x.png 2x">', "a.png": ""})
    assert lines == ["a.html: a@2x.png -> no file a@2x.png"]


def test_downloads_the_page_offers(tmp_path: Path) -> None:
    lines = broken(
        tmp_path,
        {
            "chapters/a.html": """<a download href="../notebooks/pytorch/chapters/a.ipynb">notebook</a>
                              <a href="../pdf/book.pdf#page=3">PDF</a>
                              <a href="../notebooks/book-pytorch.zip">all</a>""",
            "pdf/book.pdf": "%PDF",
        },
    )
    assert lines == [
        "chapters/a.html: ../notebooks/pytorch/chapters/a.ipynb -> no file notebooks/pytorch/chapters/a.ipynb",
        "chapters/a.html: ../notebooks/book-pytorch.zip -> no file notebooks/book-pytorch.zip",
    ]  # a PDF's fragment is the viewer's business, not an id


@pytest.mark.parametrize(
    "link",
    [
        "https://example.org/x.html#nothing",
        "http://example.org",
        "//cdn.example.org/x.js",
        "mailto:a@b.org",
        "javascript:void(0)",
        "data:image/png;base64,AAAA",
        "tel:+123",
    ],
)
def test_other_sites_are_not_fetched(tmp_path: Path, link: str) -> None:
    result = check_site(make_site(tmp_path, {"a.html": f'<a href="{link}">x</a>'}))
    assert result.broken == [] and (result.links, result.external) == (0, 1) and is_external(link)


def test_query_strings_are_for_the_page_scripts(tmp_path: Path) -> None:
    files = {"a.html": '<a href="b.html?tab=numpy#s">x</a><a href="c.html?tab=numpy">y</a>', "b.html": '<h2 id="s">'}
    assert broken(tmp_path, files) == ["a.html: c.html?tab=numpy -> no file c.html"]


def test_percent_encoded_paths_and_fragments(tmp_path: Path) -> None:
    files = {"a.html": '<a href="my%20page.html#caf%C3%A9">x</a>', "my page.html": '<p id="café">'}
    assert broken(tmp_path, files) == []


def test_character_references_in_links(tmp_path: Path) -> None:
    assert broken(tmp_path, {"a.html": '<a href="b.html?x=1&amp;y=2#t">x</a>', "b.html": '<p id="t">'}) == []


def test_folders_mean_their_index_page(tmp_path: Path) -> None:
    lines = broken(
        tmp_path,
        {
            "a.html": '<a href="sub/">x</a><a href="sub">y</a><a href="empty/">z</a>',
            "sub/index.html": "",
            "empty/x.txt": "",
        },
    )
    assert lines == ["a.html: empty/ -> no empty/index.html for this folder"]


def test_links_that_leave_the_site(tmp_path: Path) -> None:
    site = make_site(tmp_path / "html", {"a.html": '<a href="../notebooks/x.ipynb">x</a>'})
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "x.ipynb").write_text("{}")  # beside the site is not in it
    assert report(check_site(site)) == ["a.html: ../notebooks/x.ipynb -> outside the site"]


def test_site_absolute_links(tmp_path: Path) -> None:
    lines = broken(tmp_path, {"sub/a.html": '<a href="/b.html">x</a><a href="/c.html">y</a>', "b.html": ""})
    assert lines == ["sub/a.html: /c.html -> no file c.html"]


def test_a_base_element_moves_relative_links(tmp_path: Path) -> None:
    files = {"a.html": '<base href="sub/"><a href="b.html">x</a><a href="#t">here</a>', "sub/b.html": ""}
    assert broken(tmp_path, files) == []
    assert broken(tmp_path / "ext", {"a.html": '<base href="https://x.org/"><a href="b.html">x</a>'}) == []


def test_static_and_hidden_folders_hold_no_pages(tmp_path: Path) -> None:
    """The theme ships Jinja macro files as _static/*.html; .doctrees is Sphinx's state."""
    result = check_site(
        make_site(
            tmp_path,
            {
                "index.html": "",
                "_static/macros.html": '<a href="{{ x }}">',
                ".doctrees/x.html": '<a href="y.html">',
                "_sources/index.html": '<a href="nope.html">',
            },
        )
    )
    assert result.broken == [] and result.pages == 1


def test_the_command_lists_broken_links_and_exits_1(tmp_path: Path) -> None:
    site = make_site(tmp_path / "_build" / "html", {"index.html": '<a href="gone.html">x</a><a href="#top">y</a>'})
    run = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "check-links", str(site)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "index.html: gone.html -> no file gone.html",
        "index.html: #top -> no id 'top' in index.html",
    ]
    assert "2 internal links in 1 pages, 2 broken" in run.stderr
    (site / "gone.html").write_text('<p id="top">')
    (site / "index.html").write_text('<a href="gone.html#top">x</a>')
    here = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "check-links"], cwd=tmp_path, capture_output=True, text=True
    )
    assert here.returncode == 0 and here.stdout == "" and ", 0 broken" in here.stderr  # default: _build/html
    missing = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "check-links", str(tmp_path / "none")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "run `make html` first" in missing.stderr


def test_a_long_list_is_cut_with_a_count(tmp_path: Path) -> None:
    result = check_site(make_site(tmp_path, {"a.html": "".join(f'<a href="p{n}.html">' for n in range(5))}))
    assert report(result, limit=2) == [
        "a.html: p0.html -> no file p0.html",
        "a.html: p1.html -> no file p1.html",
        "... and 3 more",
    ]


# -- the books the test suite builds ------------------------------------------------


@pytest.mark.sphinx
def test_the_demo_site_after_the_html_build_alone_has_no_broken_link(demo_book: BuiltBook) -> None:
    result = check_site(demo_book.outdir)
    assert report(result) == []
    assert result.pages >= 12 and result.links >= 700


@pytest.mark.sphinx
def test_every_download_button_gets_a_valid_notebook_that_links_into_the_site(demo_book: BuiltBook) -> None:
    buttons = 0
    for path in sorted(demo_book.outdir.rglob("*.html")):
        page = path.relative_to(demo_book.outdir).with_suffix("").as_posix()
        for button in demo_book.html(page).select("a.execbook-page-button[download]"):
            notebook = nbformat.read(str((path.parent / button["href"]).resolve()), as_version=4)
            nbformat.validate(notebook)
            buttons += 1
    assert buttons >= 22
    path = demo_book.outdir / "notebooks" / "pytorch" / "chapters" / "models" / "linear-regression.ipynb"
    cells = nbformat.read(str(path), as_version=4).cells
    text = "\n".join(cell.source for cell in cells)
    links = [link for link in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in link]
    n = chapter_number(demo_book, "chapters/models/linear-regression")
    assert f"[Section {n}.2](../../../../chapters/models/training.html" in text
    # a figure travels inside its cell (a site without html_baseurl): a path into the site
    # would break as soon as the notebook is downloaded alone or opened in Colab
    figure = next(cell for cell in cells if "](attachment:linreg.svg)" in cell.source)
    attached = figure.attachments["linreg.svg"]["image/svg+xml"]
    svg = (demo_book.srcdir / "chapters" / "img" / "linreg.svg").read_bytes()
    assert base64.b64decode("".join(attached)) == svg
    links.remove("attachment:linreg.svg")
    assert not [link for link in links if link.endswith((".svg", ".png"))]  # no image by a relative path
    assert not [p for p in (demo_book.outdir / "notebooks").rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    for link in links:  # in the site, references go to its own pages: no ../html/ detour
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve()
        assert file.is_relative_to(demo_book.outdir.resolve()) and file.is_file(), link
        assert not anchor or f'id="{anchor}"' in file.read_text(encoding="utf-8"), link
    assert len(links) >= 6


@pytest.mark.sphinx
@pytest.mark.kernels
def test_a_rebuild_writes_the_notebooks_again_only_when_they_change(tmp_path: Path) -> None:
    from conftest import run_sphinx, write_book

    book = write_book(
        tmp_path / "b",
        {
            "index.md": "# Home\n\n```toc\n:numbered:\none\ntwo\n```\n",
            "one.md": "# One\n:label:`sec_one`\n\n```{.python .input}\n#@tab pytorch\nprint('torch')\n```\n\n"
            "```{.python .input}\n#@tab numpy\nprint('numpy')\n```\n",
            "two.md": "# Two\n\nSee :numref:`sec_one`.\n",
        },
    )
    assert run_sphinx(book, "-W").returncode == 0
    site = book / "_build" / "html"
    one, two = site / "notebooks" / "numpy" / "one.ipynb", site / "notebooks" / "pytorch" / "two.ipynb"
    assert "numpy" in one.read_text() and "[Section 1](../../one.html#sec-one)" in two.read_text()
    stamps = {path: path.stat().st_mtime_ns for path in site.joinpath("notebooks").rglob("*.ipynb")}
    assert run_sphinx(book, "-W").returncode == 0
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps  # a no-op build writes nothing
    # a heading added before `one` renumbers it: two's reference text changes with no edit of two.md
    index = book / "index.md"
    index.write_text(index.read_text().replace("one\n", "zero\none\n"))
    (book / "zero.md").write_text("# Zero\n")
    assert run_sphinx(book, "-W").returncode == 0
    assert "[Section 2](../../one.html#sec-one)" in two.read_text()
    assert report(check_site(site)) == []
    one.unlink()  # a notebook deleted by hand comes back
    assert run_sphinx(book, "-W").returncode == 0 and one.is_file()


@pytest.mark.sphinx
def test_notebooks_of_a_site_with_an_address_and_of_pages_with_little_in_them(tmp_path: Path) -> None:
    from conftest import run_sphinx, write_book

    book = write_book(
        tmp_path / "b",
        {
            "index.md": "# Home\n\n```toc\n:numbered:\nfig\nonly-torch\n```\n",
            "fig.md": "# Figure\n\n![A box](img/box.svg)\n:label:`fig_box`\n\nSee :numref:`fig_box`.\n",
            "img/box.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n',
            "only-torch.md": "# Torch\n\n:begin_tab:`pytorch`\nOnly for PyTorch readers.\n:end_tab:\n",
        },
        conf='html_baseurl = "https://example.org/book/"\n',
    )
    built = run_sphinx(book, "-W")
    assert built.returncode == 0, built.output
    site = book / "_build" / "html"
    assert report(check_site(site)) == []
    figure = (site / "notebooks" / "numpy" / "fig.ipynb").read_text()
    # a downloaded notebook finds its figure and its references on the published site
    assert "](https://example.org/book/_images/box.svg)" in figure
    assert "[Fig. 1.1](https://example.org/book/fig.html#fig-box)" in figure
    # a page of prose offers every framework's notebook, even one with nothing for that framework
    buttons = {a["href"] for a in built.html("only-torch").select("a.execbook-page-button[download]")}
    assert buttons == {"notebooks/pytorch/only-torch.ipynb", "notebooks/numpy/only-torch.ipynb"}
    empty = nbformat.read(str(site / "notebooks" / "numpy" / "only-torch.ipynb"), as_version=4)
    assert (
        "Only for PyTorch" not in str(empty.cells)
        and "Only for PyTorch" in (site / "notebooks/pytorch/only-torch.ipynb").read_text()
    )
