"""d2l-book's [pdf] latex_url and style, fonts that are not installed, and post_latex failures.

The style archive is one of our own: a tiny class that defines a command our
post_latex script inserts, zipped in the test and served by a local HTTP server.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import textwrap
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_book

from execbook.outputs import fonts, latex_style
from execbook.outputs.latex import run_post_latex

STAND_IN_CLASS = r"""
\NeedsTeXFormat{LaTeX2e}
\ProvidesClass{PT1}[2026/01/01 a test's own class]
\LoadClass{book}
\newcommand\halftitle{\begin{center}HALFTITLE FROM THE STYLE ARCHIVE\end{center}\clearpage}
"""
POST_LATEX = r"""
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
assert "\\begin{sphinxthebibliography" in text, "the .tex has no bibliography"
text = text.replace("\\begin{document}", "\\begin{document}\n\\halftitle", 1)
open(path, "w", encoding="utf-8").write(text)
"""
BIB = """@book{legendre1805,
  title={Nouvelles m{\\'e}thodes pour la d{\\'e}termination des orbites des com{\\`e}tes},
  author={Legendre, Adrien Marie}, year={1805}, publisher={F. Didot}
}
"""


def archive(folder: Path) -> Path:
    path = folder / "PT1.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("PT1/PT1.cls", STAND_IN_CLASS)
        zipped.writestr("PT1/readme.txt", "not for LaTeX")
        zipped.writestr("sphinx.sty", "% an old Sphinx's file: Sphinx's own must win\n")
    return path


def d2l_book(root: Path, url: str, extra: str = "") -> Path:
    """A d2l-book project (config.ini) that cites, with style = cambridge and our post_latex."""
    ini = f"""\
        [project]
        name = styled
        title = Styled Book
        author = A. Author

        [build]
        notebooks = *.md
        eval_notebook = False
        tabs = pytorch

        [pdf]
        post_latex = static/post.py
        bibfile = refs.bib
        style = cambridge
        latex_url = {url}
        {extra}
        """
    pages = {
        "config.ini": ini,
        "index.md": "# Styled Book\n\n```toc\n:numbered:\n\nintro\nrefs\n```\n",
        "intro.md": "# Introduction\n\nAs :citet:`legendre1805` showed, least squares works.\n\n"
        "![A box](img/box.svg)\n",
        "img/box.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="40">'
        '<rect width="80" height="40"/></svg>\n',
        "refs.md": "```eval_rst\n.. only:: html\n\n   References\n   ==========\n```\n\n:bibliography:`refs.bib`\n",
        "refs.bib": BIB,
        "static/post.py": POST_LATEX,
    }
    root.mkdir(parents=True)
    for name, text in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def execbook(book: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != latex_style.ARCHIVE_ENV}
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", "build", "pdf", *args, "--book", str(book)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**environ, **(env or {})},
    )


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def ini_line(book: Path, key: str) -> int:
    return next(
        n for n, line in enumerate((book / "config.ini").read_text().splitlines(), 1) if line.startswith(f"{key} =")
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server for the archive: its URL and the paths asked for."""
    served = tmp_path / "served"
    served.mkdir()
    archive(served)
    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/PT1.zip", asked
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.sphinx
@pytest.mark.pdf
def test_the_style_archive_is_fetched_once_and_its_class_typesets(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    from test_pdf import require_tex

    require_tex()
    url, asked = server
    book = d2l_book(tmp_path / "book", url)
    result = execbook(book)
    assert result.returncode == 0, result.stdout + result.stderr
    assert asked == ["/PT1.zip"]
    latex = book / "_build" / "latex" / "pytorch"
    assert (
        "{PT1}" in (latex / "styled.tex").read_text(encoding="utf-8").split("\n\\documentclass", 1)[-1].splitlines()[0]
    )
    assert (latex / "PT1.cls").is_file()
    assert "an old Sphinx" not in (latex / "sphinx.sty").read_text(encoding="utf-8")  # Sphinx's own support files stay
    text = pdf_text(book / "_build" / "pdf" / "styled.pdf")
    assert "HALFTITLE FROM THE STYLE ARCHIVE" in text  # the class's command, inserted by post_latex
    assert "Styled Book, Release" in text  # the running heads keep the title the class's \maketitle empties
    assert "Legendre (1805)" in " ".join(text.split()) and "Nouvelles méthodes" in text.split("Bibliography")[-1]
    # cached under _build, keyed by the URL: a second build asks for nothing
    cached = list((book / "_build" / "latex-styles").glob("*/PT1.zip"))
    assert len(cached) == 1
    (latex / "styled.tex").unlink()
    again = execbook(book)
    assert again.returncode == 0, again.stdout + again.stderr
    assert asked == ["/PT1.zip"]
    # nothing changed: the SVG is not converted again, so latexmk has nothing to do
    third = execbook(book)
    assert third.returncode == 0 and "execbook: 0 xelatex passes" in third.stdout, third.stdout + third.stderr


@pytest.mark.sphinx
@pytest.mark.pdf
def test_an_unreachable_url_is_named_with_the_way_to_a_local_copy(tmp_path: Path) -> None:
    from test_pdf import require_tex

    require_tex()
    url = "http://127.0.0.1:9/styles/PT1.zip"  # the discard port: nothing listens
    book = d2l_book(tmp_path / "book", url)
    result = execbook(book)
    assert result.returncode == 2
    assert f"config.ini:{ini_line(book, 'latex_url')}: cannot download the LaTeX style archive {url}" in result.stderr
    assert (
        "EXECBOOK_LATEX_ARCHIVE=/path/to/PT1.zip" in result.stderr
        and "latex_archive = path/to/PT1.zip" in result.stderr
    )
    assert "Traceback" not in result.stderr
    # the environment variable must name a file
    wrong = execbook(book, env={latex_style.ARCHIVE_ENV: str(tmp_path / "nowhere.zip")})
    assert (
        wrong.returncode == 2
        and f"$EXECBOOK_LATEX_ARCHIVE names {tmp_path / 'nowhere.zip'}, which is not a file" in wrong.stderr
    )
    # a local copy, named in config.ini relative to it, stands in for the download
    archive(tmp_path)
    book2 = d2l_book(tmp_path / "book2", url, extra="latex_archive = ../PT1.zip")
    local = execbook(book2)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "HALFTITLE FROM THE STYLE ARCHIVE" in pdf_text(book2 / "_build" / "pdf" / "styled.pdf")


@pytest.mark.sphinx
@pytest.mark.pdf
def test_a_font_that_is_not_installed_is_warned_about_and_replaced(tmp_path: Path) -> None:
    from test_pdf import require_tex

    require_tex()
    conf = """execbook_execute = "off"
execbook_pdf = {
    "name": "fonts",
    "fonts": {"main": "No Such Serif Font"},
}
"""
    book = write_book(tmp_path / "book", {"index.md": "# Fonts\n\nSome text.\n"}, conf=conf, tabs=("python",))
    result = execbook(book)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        f"{book / 'conf.py'}:7: WARNING: the main font 'No Such Serif Font' is not installed" in result.stderr
        and "typesetting with FreeSerif instead" in result.stderr
    )
    used = subprocess.run(
        ["pdffonts", str(book / "_build" / "pdf" / "fonts.pdf")], capture_output=True, text=True
    ).stdout
    assert "FreeSerif" in used
    strict = execbook(book, "-W")
    assert strict.returncode != 0 and "No Such Serif Font" in strict.stderr


# -- without Sphinx ------------------------------------------------------------------


def test_fonts_fall_back_to_installed_free_ones() -> None:
    names = frozenset(fonts.normal(name) for name in ("FreeSerif", "DejaVu Sans", "FreeMono", "Inconsolata"))
    chosen, replaced = fonts.choose(
        {"main": "Source Serif Pro", "sans": "Source Sans Pro", "mono": "inconsolata"}, names
    )
    assert chosen == {
        "main": "FreeSerif",
        "sans": "DejaVu Sans",
        "mono": "inconsolata",
    }  # fontconfig ignores case and blanks
    assert replaced == [("main", "Source Serif Pro", "FreeSerif"), ("sans", "Source Sans Pro", "DejaVu Sans")]
    assert fonts.choose({"main": "Nothing"}, frozenset())[1] == [("main", "Nothing", "")]
    assert fonts.available("myfont.otf", frozenset())  # a file name: kpathsea's to find, not fontconfig's


def test_the_archive_class_and_unsafe_members(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("PT1/PT1.cls", "x")
        zipped.writestr("PT1/other.cls", "x")
        zipped.writestr("../escape.sty", "x")
        zipped.writestr("__MACOSX/._PT1.cls", "x")
    unpacked = latex_style.fetch("http://example.invalid/a.zip", tmp_path / "cache", path)
    files = latex_style.style_files(unpacked, keep=set())
    assert sorted(p.name for p in files) == ["PT1.cls", "other.cls"] and not (tmp_path / "escape.sty").exists()
    assert latex_style.document_class(files, "cambridge", "u") == "PT1"  # d2l-book's name for Cambridge's class
    assert latex_style.document_class(files, "other", "u") == "other"
    with pytest.raises(latex_style.StyleError, match="holds PT1.cls, other.cls"):
        latex_style.document_class(files, "fancy", "u")


def test_post_latex_failures_name_the_line_the_python_and_what_to_install(tmp_path: Path) -> None:
    tex = tmp_path / "book.tex"
    tex.write_text("\\begin{document}\n", encoding="utf-8")
    (tmp_path / "imports.py").write_text("import os\nimport no_such_module_for_execbook\n", encoding="utf-8")
    message = run_post_latex("imports.py", tex, tmp_path)
    assert message is not None
    assert "imports.py:2: ModuleNotFoundError: No module named 'no_such_module_for_execbook'" in message
    assert f"(run by {sys.executable})" in message
    assert f"{sys.executable} -m pip install no_such_module_for_execbook" in message
    (tmp_path / "fails.py").write_text("def f():\n    raise ValueError('no bib')\n\nf()\n", encoding="utf-8")
    message = run_post_latex("fails.py", tex, tmp_path)
    assert message is not None and "fails.py:2: ValueError: no bib" in message and "pip install" not in message
    (tmp_path / "fine.py").write_text("print('ok')\n", encoding="utf-8")
    assert run_post_latex("fine.py", tex, tmp_path) is None


def test_xindy_gets_the_options_sphinx_makefile_exports(tmp_path: Path) -> None:
    from execbook.outputs.latex import DEFAULT_XINDYOPTS, xindy_options

    makefile = tmp_path / "Makefile"
    makefile.write_text(
        "LATEXMKOPTS ?=\nexport XINDYOPTS = -L german -C utf8 -M sphinx.xdy\nXINDYOPTS += -M "
        "LatinRules.xdy\nFMT = pdf\n"
    )
    assert xindy_options(makefile) == "-L german -C utf8 -M sphinx.xdy -M LatinRules.xdy"
    assert xindy_options(tmp_path / "missing") == DEFAULT_XINDYOPTS
