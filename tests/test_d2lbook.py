"""d2l-book projects (config.ini, no conf.py): the mapping, and the mini book
in d2l-book's layout (tests/books/d2lbook) built with execbook's commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from execbook.compat import config_ini, d2lbook, ini_file
from execbook.source.aliases import Aliases

MINI_BOOK = Path(__file__).parent / "books" / "d2lbook"

EVERY_KEY = """\
[project]
name = mybook
title = My Book
author = A. Author
copyright = 2026, A. Author
release = 1.2.0

[build]
index = index
notebooks = *.md chapter_*/*.md
exclusions = README.md drafts/
non-notebooks = chapter_a/notes.md
resources = img/ data/ mylib/
eval_notebook = False
tabs = PyTorch, numpy
sphinx_configs = latex_elements = {'papersize': 'a4paper'}
                 html_title = 'Mine'
warning_is_error = True

[html]
header_links = GitHub, https://github.com/me/book, fab fa-github,
               PDF, https://example.org/book.pdf, fas fa-file-pdf
favicon = static/favicon.png
html_logo = static/logo.png
include_css = static/a.css static/b.css
include_js = static/a.js

[pdf]
main_font = Source Serif Pro
sans_font = Source Sans Pro
mono_font = Inconsolata
latex_logo = static/logo.png
bibfile = refs.bib
post_latex = static/post.py
style = cambridge

[library]
version_file = mylib/__init__.py

[library-pytorch]
lib_file = mylib/torch.py
lib_name = torch
simple_alias = ones, concat -> cat
fluent_alias = numpy -> detach().numpy, reshape
args_alias = full(a_shape, a_value) -> torch.full(a_shape, a_value)
alias =
    nn_Module = nn.Module
reverse_alias =
    d2l.nn_Module -> nn.Module

[library-numpy]
lib_file = mylib/numpy.py
lib_name = np

[colab]
github_repo = pytorch, me/book-pytorch-colab
              numpy, me/book-numpy-colab
libs = pytorch, mylib, mylib==RELEASE
       numpy, mylib, mylib==RELEASE
exclusions = index.html
libs_header = Install these first.
gpu_pattern = cuda
replace_svg_url = img, https://example.org/book/_images

[deploy]
github_repo = me/me.github.io
google_analytics_tracking_id = G-ABCDEF1234
"""


def write_project(root: Path, ini: str, files: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.ini").write_text(textwrap.dedent(ini), encoding="utf-8")
    (root / "index.md").write_text("# The Title From Index\n\nText.\n", encoding="utf-8")
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n", encoding="utf-8")
    return root


def test_every_key_is_mapped(tmp_path: Path) -> None:
    files = (
        "img/a.svg",
        "data/x.csv",
        "mylib/__init__.py",
        "static/favicon.png",
        "static/logo.png",
        "static/a.css",
        "static/b.css",
        "static/a.js",
        "refs.bib",
        "static/post.py",
    )
    book = write_project(tmp_path, EVERY_KEY, files)
    m = config_ini.map_ini(book)
    v = m.values
    assert m.errors == []
    assert (v["project"], v["author"], v["copyright"], v["release"]) == (
        "My Book",
        "A. Author",
        "2026, A. Author",
        "1.2.0",
    )
    assert v["root_doc"] == "index"
    assert v["execbook_tabs"] == ["pytorch", "numpy"]  # d2l-book lowercases them
    assert v["include_patterns"] == ["*.md", "chapter_*/*.md", "index.md", "index.rst"]
    assert v["exclude_patterns"] == ["README.md", "drafts/**", "chapter_a/notes.md"]
    assert v["execbook_execute"] == "off"
    assert m.warning_is_error is True
    assert m.sphinx_configs[0].splitlines() == ["latex_elements = {'papersize': 'a4paper'}", "html_title = 'Mine'"]
    assert v["html_theme_options"]["icon_links"] == [
        {"name": "GitHub", "url": "https://github.com/me/book", "icon": "fab fa-github", "type": "fontawesome"},
        {"name": "PDF", "url": "https://example.org/book.pdf", "icon": "fas fa-file-pdf", "type": "fontawesome"},
    ]
    assert v["html_favicon"] == str(book / "static/favicon.png") and v["html_logo"] == str(book / "static/logo.png")
    assert v["html_css_files"] == ["execbook-ini/static/a.css", "execbook-ini/static/b.css"]
    assert v["html_js_files"] == ["execbook-ini/static/a.js"]
    assert v["execbook_pdf"] == {
        "name": "mybook",
        "fonts": {"main": "Source Serif Pro", "sans": "Source Sans Pro", "mono": "Inconsolata"},
        "post_latex": str(book / "static/post.py"),
        "style": "cambridge",
    }
    assert v["latex_logo"] == str(book / "static/logo.png") and v["bibtex_bibfiles"] == [str(book / "refs.bib")]
    library = v["execbook_library"]
    assert library["name"] == "mylib" and library["modules"] == {"pytorch": "mylib/torch.py", "numpy": "mylib/numpy.py"}
    assert library["version_file"] == "mylib/__init__.py"
    assert library["aliases"]["pytorch"] == {
        "lib_name": "torch",
        "simple": "ones, concat -> cat",
        "fluent": "numpy -> detach().numpy, reshape",
        "args": "full(a_shape, a_value) -> torch.full(a_shape, a_value)",
        "alias": "nn_Module = nn.Module",
        "reverse": "d2l.nn_Module -> nn.Module",
    }
    assert library["aliases"]["numpy"] == {"lib_name": "np"}
    assert v["execbook_colab"] == {"pytorch": "me/book-pytorch-colab", "numpy": "me/book-numpy-colab"}
    assert v["execbook_install"] == {"pytorch": {"mylib": "mylib==1.2.0"}, "numpy": {"mylib": "mylib==1.2.0"}}
    assert v["execbook_install_header"] == "Install these first."
    assert v["execbook_colab_exclude"] == ["index"] and v["execbook_colab_gpu"] == "cuda"
    assert v["execbook_colab_svg_url"] == [["img", "https://example.org/book/_images"]]
    assert v["html_theme_options"]["analytics"] == {"google_analytics_id": "G-ABCDEF1234"}
    assert m.deploy_repo == "me/me.github.io"
    assert m.notes == []  # every key is used, [pdf] style too (tests/test_pdf_style.py)


def test_conf_values_run_sphinx_configs_over_the_mapping(tmp_path: Path) -> None:
    files = (
        "img/a.svg",
        "data/x.csv",
        "mylib/__init__.py",
        "static/favicon.png",
        "static/logo.png",
        "static/a.css",
        "static/b.css",
        "static/a.js",
        "refs.bib",
        "static/post.py",
    )
    book = write_project(tmp_path, EVERY_KEY, files)
    values = d2lbook.conf_values(str(book))
    assert values["html_title"] == "Mine" and values["latex_elements"] == {"papersize": "a4paper"}
    assert values["extensions"] == ["execbook", "sphinx.ext.autodoc"]
    static = book / ini_file.CONF_DIR / "_static" / "execbook-ini"
    assert sorted(p.relative_to(static).as_posix() for p in static.rglob("*.*")) == [
        "static/a.css",
        "static/a.js",
        "static/b.css",
    ]
    assert values["html_static_path"] == [str(static.parent)]


def test_defaults_are_d2l_books(tmp_path: Path) -> None:
    book = write_project(tmp_path, "[project]\n")
    m = config_ini.map_ini(book)
    v = m.values
    assert v["project"] == "The Title From Index"  # empty title: index.md's first heading
    assert v["author"] == "The contributors" and v["release"] == "0.0.1"
    assert v["execbook_pdf"] == {"name": "d2lbook"}
    assert v["include_patterns"] == ["**/*.md", "*.md", "index.md", "index.rst"]
    assert "execbook_tabs" not in v and "execbook_execute" not in v and m.warning_is_error is False
    assert v["execbook_colab_exclude"] == ["*", "**/index"] and v["execbook_colab_gpu"] == "gpu"
    assert "execbook_library" not in v and m.notes == []


def test_unknown_and_unused_keys_are_named_with_their_line(tmp_path: Path) -> None:
    book = write_project(
        tmp_path,
        """\
        [project]
        titel = Oops

        [biuld]
        tabs = x

        [deploy]
        s3_bucket = my-bucket

        [sagemaker]
        kernel = conda

        [library-tensorflow]
        lib_file = d2l/tensorflow.py
        """,
    )
    notes = [(n.line, n.text, n.error, n.info) for n in config_ini.map_ini(book).notes]
    assert notes == [  # keys d2l-book has but execbook does not use are information, not warnings (-W stays green)
        (2, "unknown key 'titel' in [project]; did you mean 'title'?; it is ignored", False, False),
        (4, "unknown section [biuld]; did you mean [build]?; it is ignored", False, False),
        (8, "[deploy] s3_bucket is not used by execbook (execbook deploys to GitHub Pages)", False, True),
        (10, "[sagemaker] is a d2l-book feature execbook does not have; the section is ignored", False, True),
        (
            13,
            "[library-tensorflow]: 'tensorflow' is not one of the book's tabs (python; set them in [build] tabs); "
            "the section is ignored",
            False,
            False,
        ),
    ]


@pytest.mark.parametrize(
    ("ini", "line", "text"),
    [
        (
            "[html]\nheader_links = GitHub, https://github.com/x\n",
            2,
            "must be 'name, URL, icon' (one link a line); the link is left out",
        ),
        ("[pdf]\npost_latex = fix.py\n", 2, "post_latex: fix.py does not exist; the setting is left out"),
        ("[html]\nfavicon = static/icon.png\n", 2, "favicon: static/icon.png does not exist; the setting is left out"),
        (
            "[colab]\ngithub_repo = pytorch, me/x\n",
            2,
            "must be 'tab, owner/repo' with a tab of [build] tabs; the line is left out",
        ),
        (
            '[colab]\ngithub_repo = me/x"><script>\n',
            2,
            "is not a GitHub repository as 'owner/repo'; the line is left out",
        ),
    ],
)
def test_what_can_be_left_out_is_a_warning(tmp_path: Path, ini: str, line: int, text: str) -> None:
    m = config_ini.map_ini(write_project(tmp_path, ini))
    assert m.errors == [] and [(n.line, n.info) for n in m.notes] == [(line, False)] and text in m.notes[0].text, (
        m.notes
    )
    assert "html_favicon" not in m.values and "post_latex" not in m.values["execbook_pdf"]


@pytest.mark.parametrize(
    ("ini", "line", "text"),
    [
        (
            "[build]\ntabs = pytorch\n[library-pytorch]\nlib_file = d2l/torch.py\nlib_name = "
            "torch\nreverse_alias = d2l.x( -> y\n",
            6,
            "not a regular expression",
        ),
        (
            "[build]\ntabs = pytorch\n[library-pytorch]\nlib_file = torch.py\n",
            4,
            "must be a module in a package folder",
        ),
        (
            "[build]\ntabs = a, b\n[library-a]\nlib_file = p/a.py\n[library-b]\nlib_file = q/b.py\n",
            3,
            "the same package folder",
        ),
        ("[build]\nindex = home\n", 2, "the index page home.md does not exist"),
        ("[build]\nsphinx_configs = latex = '100%'\n", 2, "a literal % is written %%"),
        ("[build]\nnotebooks = *.ipynb\n", 2, "must name Markdown files"),
    ],
)
def test_errors_name_their_line(tmp_path: Path, ini: str, line: int, text: str) -> None:
    errors = config_ini.map_ini(write_project(tmp_path, ini)).errors
    assert len(errors) == 1 and errors[0].line == line and text in errors[0].text, errors


def test_one_framework_books_and_tab_case(tmp_path: Path) -> None:
    no_tabs = config_ini.map_ini(write_project(tmp_path / "a", "[library-python]\nlib_file = mylib/python.py\n"))
    assert no_tabs.notes == [] and no_tabs.values["execbook_library"]["modules"] == {"python": "mylib/python.py"}
    old_form = config_ini.map_ini(write_project(tmp_path / "b", "[library]\nsave_filename = mylib/book.py\n"))
    assert old_form.notes == [] and old_form.values["execbook_library"]["modules"] == {"python": "mylib/book.py"}
    cased = config_ini.map_ini(
        write_project(tmp_path / "c", "[build]\ntabs = PyTorch\n[library-PyTorch]\nlib_file = d2l/torch.py\n")
    )
    assert cased.notes == [] and cased.values["execbook_library"]["modules"] == {"pytorch": "d2l/torch.py"}


@pytest.mark.parametrize(
    ("ini", "line", "text"),
    [
        (
            "[build]\nresources = ./ /\n[html]\ninclude_css = /nonexistent/x.css\n",
            4,
            "'/nonexistent/x.css' matches no file",
        ),
        ("[build]\ntabs = a\nthis line is not a key\n", 3, "cannot read 'this line is not a key'"),
    ],
)
def test_odd_values_are_reported_not_raised(tmp_path: Path, ini: str, line: int, text: str) -> None:
    notes = config_ini.map_ini(write_project(tmp_path, ini)).notes
    assert any(n.line == line and text in n.text for n in notes), notes


def test_not_utf8(tmp_path: Path) -> None:
    book = write_project(tmp_path, "")
    (book / "config.ini").write_bytes(b"[project]\ntitle = Caf\xe9\n")
    assert [(n.line, n.error) for n in config_ini.map_ini(book).notes] == [(2, True)]


def test_static_files_keep_their_folders(tmp_path: Path) -> None:
    book = write_project(tmp_path, "[html]\ninclude_css = a/book.css b/book.css\n", ("a/book.css", "b/book.css"))
    assert config_ini.map_ini(book).values["html_css_files"] == ["execbook-ini/a/book.css", "execbook-ini/b/book.css"]


@pytest.mark.parametrize(
    ("ini", "line", "error"),
    [
        (
            "[build]\nsphinx_configs = a = 1\n    b = undefined_name\n",
            3,
            "NameError: name 'undefined_name' is not defined",
        ),
        ("[build]\nsphinx_configs =\n    a = 1\n    b = (\n    c = 2\n", 4, "SyntaxError: '(' was never closed"),
        ("[build]\nsphinx_configs =\n    a = 1\n    b = 1 / 0\n", 4, "ZeroDivisionError"),
    ],
)
def test_sphinx_configs_that_do_not_run(tmp_path: Path, ini: str, line: int, error: str) -> None:
    book = write_project(tmp_path, ini)
    note = d2lbook.check_sphinx_configs(book, config_ini.map_ini(book))
    assert note is not None and note.line == line and error in note.text, note


def test_globs_and_version_file(tmp_path: Path) -> None:
    assert config_ini.sphinx_globs(["**/*.md", "./a/*.md", "img/"]) == ["**/*.md", "*.md", "a/*.md", "img/**"]
    version = tmp_path / "lib" / "__init__.py"
    version.parent.mkdir()
    version.write_text('"""Lib."""\n__version__ = "0.0.1"  # set by the build\nx = 1\n')
    d2lbook.write_version(tmp_path, "lib/__init__.py", "2.0.0")
    assert version.read_text() == '"""Lib."""\n__version__ = "2.0.0"\nx = 1\n'


def test_mini_book_aliases_parse() -> None:
    m = config_ini.map_ini(MINI_BOOK)
    assert [n.line for n in m.notes] == [47] and m.errors == []
    for maps in m.values["execbook_library"]["aliases"].values():
        assert Aliases.from_option(maps)


# -- the mini book, built --------------------------------------------------------------


def execbook(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", *args],
        cwd=book,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=900,
    )


def mini_book_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """A fresh copy of the mini book, its config.ini edited (``old`` -> ``new``)."""
    book = tmp_path / "book"
    shutil.copytree(MINI_BOOK, book)
    if old:
        ini = book / "config.ini"
        assert old in ini.read_text()
        ini.write_text(ini.read_text().replace(old, new))
    return book


@pytest.fixture(scope="module")
def mini_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("d2lbook") / "minibook"
    shutil.copytree(MINI_BOOK, book)
    result = execbook(book, "build", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    book.joinpath("build-html.log").write_text(result.stdout + result.stderr)
    return book


def page(book: Path, name: str) -> BeautifulSoup:
    return BeautifulSoup((book / "_build" / "html" / name).read_text(encoding="utf-8"), "html.parser")


def code_of(soup: BeautifulSoup, tab: str) -> str:
    return "\n".join(
        pre.get_text() for pane in soup.select(f'[data-tab="{tab}"]') for pre in pane.select("div.highlight pre")
    )


@pytest.mark.sphinx
def test_html_of_a_d2l_book_project(mini_book: Path) -> None:
    log = (mini_book / "build-html.log").read_text()
    assert f"{mini_book / 'config.ini'}:47: WARNING: unknown key 'footer_text' in [html]" in log
    assert "Traceback" not in log
    assert not (mini_book / "conf.py").exists()  # the author's folder is left as it was
    tensors = page(mini_book, "chapter_basics/tensors.html")
    assert tensors.title.get_text() == "1.1. Tensors — Mini Book (d2l-book layout)"  # html_title from sphinx_configs
    assert "Figure 1.1.1" in tensors.get_text()  # numfig_format from sphinx_configs, %% read as %
    links = {a["href"]: a for a in tensors.select("a[href]")}
    assert "https://github.com/example/minibook" in links and "https://example.org/minibook.pdf" in links
    assert tensors.select_one("i.fab.fa-github") is not None
    assert tensors.select_one('link[href*="execbook-ini/static/book.css"]') is not None
    assert tensors.select_one('script[src*="execbook-ini/static/book.js"]') is not None
    assert tensors.select_one('link[rel="icon"][href*="logo.svg"]') is not None
    # the code readers see: each framework's own API; the outputs: the code as written, run
    torch_code, numpy_code = code_of(tensors, "pytorch"), code_of(tensors, "numpy")
    assert "X = torch.arange(6).reshape((2, 3))" in torch_code and "torch.cat([X, X], 0)" in torch_code
    assert "X.numel()" in torch_code and "torch.full((2,), 7)" in torch_code and "return X.sum()" in torch_code
    assert "X = np.arange(6).reshape((2, 3))" in numpy_code and "np.concatenate([X, X], 0)" in numpy_code
    assert "d2l.reshape" not in torch_code + numpy_code
    text = tensors.get_text()
    assert "stacked torch.Size([4, 3])" in text and "filled tensor([7, 7])" in text and "stacked (4, 3)" in text
    assert "rows 3" in text  # ../data is next to the chapters
    # the library used by the code keeps its hand-written header (VERSION_NOTE)
    regression = page(mini_book, "chapter_models/regression.html")
    assert "version torch edition" in regression.get_text() and "version numpy edition" in regression.get_text()
    assert "Legendre (1805)" in regression.get_text()
    # three frameworks: JAX has code on one page only, so only that page offers a JAX notebook
    buttons = lambda soup: {(b["data-tab"], b.get_text().strip()) for b in soup.select(".execbook-page-button")}  # noqa: E731
    assert ("jax", "Download the JAX notebook") in buttons(regression)
    assert {tab for tab, _ in buttons(tensors)} == {"pytorch", "numpy"}
    assert ("pytorch", "Open in Colab") in buttons(tensors)
    assert not any(
        text == "Open in Colab" for _, text in buttons(page(mini_book, "index.html"))
    )  # d2l-book's exclusions
    built = {
        p.relative_to(mini_book / "_build" / "html").as_posix() for p in (mini_book / "_build" / "html").rglob("*.html")
    }
    assert (
        "chapter_basics/notes.html" not in built
        and "README.html" not in built
        and "chapter_drafts/next.html" not in built
    )


@pytest.mark.sphinx
def test_the_site_of_a_d2l_book_project_has_no_broken_link(mini_book: Path) -> None:
    """`execbook build html` alone: pages, anchors, static files and the notebooks the buttons offer."""
    from execbook.outputs.linkcheck import check_site, report

    site = mini_book / "_build" / "html"
    result = check_site(site)
    assert report(result) == [] and result.links >= 300
    jax = site / "notebooks" / "jax" / "chapter_models" / "regression.ipynb"
    assert jax.is_file() and not (site / "notebooks" / "jax" / "chapter_basics" / "tensors.ipynb").exists()


@pytest.mark.sphinx
def test_build_lib_keeps_the_header_and_appends_aliases(mini_book: Path) -> None:
    result = execbook(mini_book, "build", "lib")
    assert result.returncode == 0, result.stderr
    torch_module = (mini_book / "d2l" / "torch.py").read_text()
    assert torch_module.startswith('"""Hand-written header of the Mini Book\'s PyTorch library."""\nimport sys')
    assert "def stale():" not in torch_module  # the old generated part is replaced
    assert "# Defined in chapter_basics/tensors.md, section sec_tensors\ndef total(X):" in torch_module
    assert torch_module.index("def total") < torch_module.index("# Aliases defined in the book's settings")
    assert (
        "concat = torch.cat\n" in torch_module
        and "reshape = lambda x, *args, **kwargs: x.reshape(*args, **kwargs)" in torch_module
    )
    assert '__version__ = "0.3.0"' in (mini_book / "d2l" / "__init__.py").read_text()
    probe = (
        "from d2l import torch as d2l, numpy as d2n; import d2l as pkg; "
        "print(pkg.__version__, d2l.total(d2l.reshape(d2l.arange(6), (2, 3))).item(), "
        "d2n.concat([d2n.arange(2)] * 2).tolist())"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=mini_book, capture_output=True, text=True)
    assert out.stdout.split() == ["0.3.0", "15", "[0,", "1,", "0,", "1]"], out.stderr


@pytest.mark.sphinx
def test_notebooks_show_framework_code_and_install_cells(mini_book: Path) -> None:
    result = execbook(mini_book, "build", "notebooks")
    assert result.returncode == 0, result.stderr
    notebook = nbformat.read(mini_book / "_build/notebooks/pytorch/chapter_basics/tensors.ipynb", as_version=4)
    assert notebook.cells[0].source.startswith("The following additional libraries are needed")
    assert notebook.cells[1].source == "!pip install d2l==0.3.0"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert any("torch.cat([X, X], 0)" in cell.source and cell.outputs for cell in code)
    assert not (mini_book / "_build/notebooks/jax/chapter_basics/tensors.ipynb").exists()
    assert (mini_book / "_build/notebooks/jax/chapter_models/regression.ipynb").exists()


@pytest.mark.sphinx
@pytest.mark.kernels
def test_eval_runs_the_code_only(tmp_path: Path) -> None:
    book = mini_book_copy(tmp_path)
    result = execbook(book, "build", "eval")
    assert result.returncode == 0, result.stderr
    assert not (book / "_build" / "html").exists()
    report = (book / "_build" / "doctrees" / "execbook" / "report.json").read_text()
    assert report.count('"status": "ok"') == 5  # tensors x 2, regression x 3
    again = execbook(book, "build", "html")
    assert (
        again.returncode == 0 and "stacked torch.Size" in (book / "_build/html/chapter_basics/tensors.html").read_text()
    )


def test_check_reports_stored_outputs_and_unknown_tabs(tmp_path: Path) -> None:
    book = mini_book_copy(tmp_path)
    assert execbook(book, "check").returncode == 0
    page_path = book / "chapter_models" / "regression.md"
    page_path.write_text(
        page_path.read_text()
        + textwrap.dedent("""
        ```{.python .input}
        %%tab tensorflow
        print(1)
        ```

        ```{.json .output n=1}
        [{"output_type": "stream", "text": "1"}]
        ```
        """)
    )
    result = execbook(book, "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    source = page_path.read_text().splitlines()
    tab_line, output_line = source.index("%%tab tensorflow") + 1, source.index("```{.json .output n=1}") + 1
    assert any(
        line.startswith(f"chapter_models/regression.md:{tab_line}: unknown tab 'tensorflow'") for line in lines
    ), lines
    assert any(
        line.startswith(f"chapter_models/regression.md:{output_line}: stored outputs found") for line in lines
    ), lines


def test_a_bad_config_ini_stops_with_its_line(tmp_path: Path) -> None:
    book = mini_book_copy(tmp_path, "reverse_alias =\n       d2l.size", "reverse_alias =\n       d2l.size((")
    ini = book / "config.ini"
    result = execbook(book, "build", "html")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = ini.read_text().splitlines().index(r"       d2l.size((\(([\w]+)\) -> \1.numel()") + 1
    assert (
        f"{ini}:{line}: ERROR: [library-pytorch] reverse_alias:" in result.stderr
        and "not a regular expression" in result.stderr
    )


@pytest.mark.sphinx
def test_deploy_pushes_the_site_to_the_configured_repository(mini_book: Path, tmp_path: Path) -> None:
    remote = tmp_path / "site.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "master", str(remote)], check=True)
    book = tmp_path / "book"
    shutil.copytree(mini_book, book, ignore=shutil.ignore_patterns(".execbook-cache"))
    ini = book / "config.ini"
    ini.write_text(ini.read_text().replace("github_repo = example/minibook.github.io", "github_repo = ../site.git"))
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", "-b", "master"], cwd=book, check=True)
    subprocess.run([*git, "add", "config.ini", "index.md"], cwd=book, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "book"], cwd=book, check=True)

    def log(repo: Path) -> list[str]:
        return subprocess.run(
            ["git", "log", "--format=%s", "master"], cwd=repo, capture_output=True, text=True
        ).stdout.split()

    for extra in ("", "", "new.html"):  # the same site twice: no empty commit; then a changed site
        if extra:
            (book / "_build" / "html" / extra).write_text("<p>new</p>")
        result = execbook(book, "deploy")
        assert result.returncode == 0, result.stderr
    assert log(book) == ["book"]  # the book's own branch is left alone
    assert log(remote) == ["Version", "0.3.0"] * 2  # d2l-book's message; the site's history is kept
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "master"], cwd=remote, capture_output=True, text=True
    ).stdout.split()
    assert "chapter_basics/tensors.html" in files and ".nojekyll" in files and "config.ini" not in files


@pytest.mark.pdf
def test_pdf_of_a_d2l_book_project(mini_book: Path) -> None:
    if shutil.which("xelatex") is None or shutil.which("pdftotext") is None:
        if os.environ.get("EXECBOOK_REQUIRE_TEX"):
            pytest.fail("TeX Live and poppler-utils are required here")
        pytest.skip("needs TeX Live and pdftotext")
    result = execbook(mini_book, "build", "pdf", "--tab", "pytorch")
    assert result.returncode == 0, result.stdout + result.stderr
    tex = (mini_book / "_build" / "latex" / "pytorch" / "minibook.tex").read_text()
    assert r"\setmonofont{FreeMono}" in tex or "FreeMono" in tex
    text = subprocess.run(
        ["pdftotext", "-layout", str(mini_book / "_build" / "pdf" / "minibook.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Typeset after post-processing by the Mini Book." in text  # post_latex ran on the .tex
    assert "Mini Book" in text and "Ada Example and Grace Sample" in text and "Release 0.3.0" in text
    assert "torch.cat([X, X], 0)" in text and "d2l.concat" not in text and "np.concatenate" not in text
    assert "stacked torch.Size([4, 3])" in text and "Legendre (1805)" in text


@pytest.mark.sphinx
@pytest.mark.kernels
def test_the_library_holds_the_whole_book_when_a_subset_is_built(tmp_path: Path) -> None:
    book = mini_book_copy(tmp_path, "notebooks = *.md */*.md", "notebooks = index.md chapter_models/*.md")
    result = execbook(book, "build", "html")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (book / "_build/html/chapter_basics/tensors.html").exists()
    regression = (book / "_build/html/chapter_models/regression.html").read_text()
    assert "total tensor(6)" in regression  # d2l.total is saved on the page this build leaves out


def test_colab_notebooks_get_installs_and_a_gpu_only_when_they_need_them() -> None:
    from execbook.outputs.export import for_colab

    def notebook(code: str) -> nbformat.NotebookNode:
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])

    needs = for_colab(
        notebook("from d2l import torch as d2l\nd2l.try_gpu()"), {"d2l": "d2l==1.0", "flax": "flax"}, "Install:", "gpu"
    )
    assert [c.source for c in needs.cells[:2]] == ["Install:", "!pip install d2l==1.0"]
    assert needs.metadata["accelerator"] == "GPU"
    plain = for_colab(
        notebook("import numpy as np\n# import d2l is only mentioned"), {"d2l": "d2l==1.0"}, "Install:", "gpu"
    )
    assert len(plain.cells) == 1 and "accelerator" not in plain.metadata
