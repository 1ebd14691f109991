"""Sphinx builds of small books: the HTML a reader gets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import SHARED_FIXTURES, BuiltBook, run_sphinx, write_book

pytestmark = pytest.mark.sphinx

RAW_SYNTAX_RE = re.compile(
    r":(numref|ref|eqref|eqlabel|label|cite|citet|bibliography|begin_tab|end_tab|width|height):`"
    r"|\[\*\*|\*\*\]|\(\*\*|\*\*\)|\[~~|~~\]|\(~~|~~\)|#@save|#@tab|%%tab|tab\.selected|d2lbook"
)


def visible_text(soup: BeautifulSoup) -> str:
    """Text a reader sees as prose: code (which may show d2l syntax on purpose) removed."""
    soup = BeautifulSoup(str(soup), "html.parser")
    for node in soup.select("pre, code, script, style"):
        node.decompose()
    return soup.get_text(" ")


def prose(soup: BeautifulSoup) -> str:
    """Visible text with whitespace collapsed the way a reader sees it."""
    text = " ".join(visible_text(soup).split())
    return re.sub(r"\s+([,;.)\]])", r"\1", re.sub(r"([(\[])\s+", r"\1", text))


def target_of(book: BuiltBook, page: str, href: str) -> tuple[BeautifulSoup, BeautifulSoup]:
    path, _, anchor = href.partition("#")
    target_page = page if not path else str((Path(page).parent / path).with_suffix("")).replace("\\", "/")
    soup = book.html(re.sub(r"(^|/)[^/]+/\.\./", r"\1", target_page))
    node = soup.find(id=anchor)
    assert node is not None, f"{href} from {page}: no element with id {anchor}"
    if node.name == "span" and not node.contents:
        # docutils writes an element's second id as an empty span, its first child (a
        # list's or table's: right before it); docutils 0.20 puts a section's label second
        first_child = node.parent.find(True, recursive=False) is node
        node = node.parent if first_child else node.find_next_sibling()
    return soup, node


# -- the demo book ---------------------------------------------------------------

DEMO_PAGES = [
    "index",
    "chapters/preface",
    "chapters/basics/index",
    "chapters/models/index",
    "chapters/basics/tensors",
    "chapters/basics/autograd",
    "chapters/models/linear-regression",
    "chapters/models/training",
    "chapters/models/mlp",
    "chapters/notation",
    "chapters/api",
    "chapters/references",
]


def test_demo_book_builds_without_warnings(demo_book: BuiltBook) -> None:
    assert demo_book.returncode == 0, demo_book.output
    assert demo_book.warnings == []


@pytest.mark.parametrize("page", DEMO_PAGES)
def test_no_raw_d2l_syntax_reaches_a_page(demo_book: BuiltBook, page: str) -> None:
    text = visible_text(demo_book.main(page))
    assert [m.group(0) for m in RAW_SYNTAX_RE.finditer(text)] == []
    assert "On slides this sentence" not in text  # (~~...~~) is slides-only


def numbered_links(book: BuiltBook, page: str, prefix: str) -> list[tuple[str, str]]:
    links = []
    for link in book.main(page).select("a.reference.internal"):
        text = " ".join(link.get_text(" ", strip=True).split())
        if text.startswith(prefix):
            links.append((text, link["href"]))
    return links


@pytest.mark.parametrize("page", DEMO_PAGES)
def test_figure_and_table_references_match_their_captions(demo_book: BuiltBook, page: str) -> None:
    for prefix in ("Fig.", "Table"):
        for text, href in numbered_links(demo_book, page, prefix):
            _, target = target_of(demo_book, page, href)
            caption = target.select_one(".caption-number")
            assert caption is not None, f"{text}: target has no numbered caption"
            assert " ".join(caption.get_text(" ", strip=True).split()) == text


@pytest.mark.parametrize("page", DEMO_PAGES)
def test_section_references_match_heading_numbers(demo_book: BuiltBook, page: str) -> None:
    for text, href in numbered_links(demo_book, page, "Section"):
        soup, target = target_of(demo_book, page, href)
        heading = (
            target.find(re.compile("^h[1-6]$"))
            if target.name == "section"
            else target.find_next(re.compile("^h[1-6]$"))
        )
        number = text.removeprefix("Section ").strip()
        assert heading.get_text(" ", strip=True).startswith(number + ". ") or heading.get_text(
            " ", strip=True
        ).startswith(number + " ")


@pytest.mark.parametrize("page", DEMO_PAGES)
def test_equation_references_match_equation_numbers(demo_book: BuiltBook, page: str) -> None:
    for link in demo_book.main(page).select("a.reference.internal"):
        text = link.get_text(strip=True)
        if not re.fullmatch(r"\(\d+(\.\d+)*\)", text):
            continue
        _, target = target_of(demo_book, page, link["href"])
        eqno = target.select_one(".eqno") or target.find_next(class_="eqno")
        assert eqno.get_text(strip=True).rstrip("#") == text


def test_numbers_read_like_a_textbook(demo_book: BuiltBook) -> None:
    regression = demo_book.main("chapters/models/linear-regression")
    # the guide's parts come first: the chapter's number is whatever it is, the rest follows it
    n = regression.select_one("h1").get_text(" ", strip=True).split(".")[0]
    assert n.isdigit()
    assert [h.get_text(" ", strip=True).split(" ")[0] for h in regression.select("h1, h2")][:3] == [
        f"{n}.1.",
        f"{n}.1.1.",
        f"{n}.1.2.",
    ]
    assert [c.get_text(strip=True) for c in regression.select(".caption-number")] == [f"Fig. {n}.1.1", f"Table {n}.1.1"]
    assert [e.get_text(strip=True).rstrip("#") for e in regression.select(".eqno")] == [f"({n}.1.1)", f"({n}.1.2)"]
    # a page of a toc without :numbered: (the references, back matter) is unnumbered
    assert demo_book.main("chapters/references").select_one("h1").get_text(strip=True).startswith("References")


def test_citations_are_author_year_and_listed(demo_book: BuiltBook) -> None:
    assert "(Goodfellow et al., 2016; Zhang et al., 2023)" in prose(demo_book.main("chapters/preface"))
    assert "Rumelhart et al. (1986)" in prose(demo_book.main("chapters/models/mlp"))
    bibliography = visible_text(demo_book.main("chapters/references"))
    for author in ("Goodfellow", "Legendre", "Robbins", "Rumelhart", "Griewank", "Zhang"):
        assert author in bibliography
    link = demo_book.main("chapters/models/training").select_one('a[href*="references.html#"]')
    _, target = target_of(demo_book, "chapters/models/training", link["href"])
    assert "Robbins" in target.parent.get_text()


def test_tab_groups_hold_each_frameworks_code(demo_book: BuiltBook) -> None:
    tensors = demo_book.main("chapters/basics/tensors")
    groups = tensors.select(".execbook-tabs-code")
    assert {g["data-tabs"] for g in groups} == {"pytorch numpy"} and len(groups) >= 3
    first = groups[0]
    assert "torch.arange" in first.select_one('.execbook-pane[data-tab="pytorch"]').get_text()
    assert "np.arange" in first.select_one('.execbook-pane[data-tab="numpy"]').get_text()
    assert "np.arange" not in first.select_one('.execbook-pane[data-tab="pytorch"]').get_text()
    # the tab.selected cell: each tab sees only its own branch
    second = groups[1]
    assert "torch.zeros" in second.select_one('.execbook-pane[data-tab="pytorch"]').get_text()
    assert "torch" not in second.select_one('.execbook-pane[data-tab="numpy"]').get_text()
    # a cell for every tab whose outputs agree shows plainly, outside any group
    mlp = demo_book.main("chapters/models/mlp")
    plain = [cell for cell in mlp.select("div.cell") if not cell.find_parent(class_="execbook-tabs")]
    assert any("num_inputs, num_hiddens, num_outputs = 2, 5, 1" in cell.get_text() for cell in plain)
    # ... and one whose outputs differ becomes a group, each tab with its own output
    matmul = [g for g in groups if "X @ X.T" in g.get_text()][0]
    assert "torch.Size([3, 3])" in matmul.select_one('.execbook-pane[data-tab="pytorch"]').get_text()
    assert "(3, 3)" in matmul.select_one('.execbook-pane[data-tab="numpy"]').get_text()


def test_text_blocks_form_their_own_groups(demo_book: BuiltBook) -> None:
    preface = demo_book.main("chapters/preface")
    kinds = [g["class"][1] for g in preface.select(".execbook-tabs")]
    assert kinds == ["execbook-tabs-text", "execbook-tabs-code"]
    autograd = demo_book.main("chapters/basics/autograd")
    only_pytorch = [g for g in autograd.select(".execbook-tabs") if g["data-tabs"] == "pytorch"]
    assert len(only_pytorch) == 1
    # prose for PyTorch alone: a text group, which a NumPy reader does not see at all (no
    # note; test_browser checks what each reader sees)
    assert "execbook-tabs-text" in only_pytorch[0]["class"]
    assert only_pytorch[0].select(".execbook-missing") == []


def test_site_serves_mathjax_copy_button_and_switcher(demo_book: BuiltBook) -> None:
    page = demo_book.html("chapters/models/linear-regression")
    sources = [script.get("src", "") for script in page.select("script")]
    mathjax = [src for src in sources if "mathjax" in src.lower()]
    assert mathjax and all(src.startswith("../../_static/mathjax/") for src in mathjax)
    assert (demo_book.outdir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (demo_book.outdir / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert not [src for src in sources if src.startswith("http")]
    assert any("copybutton" in src for src in sources)
    switcher = page.select_one("select.execbook-switcher")
    assert [o["value"] for o in switcher.select("option")] == ["pytorch", "numpy"]
    assert (demo_book.outdir / "_images" / "linreg.svg").is_file()


def test_demo_book_shows_real_outputs_for_both_frameworks(demo_book: BuiltBook) -> None:
    training = demo_book.main("chapters/models/training")
    for tab in ("pytorch", "numpy"):
        loop = [g for g in training.select(".execbook-tabs") if "for epoch in range" in g.get_text()][0]
        assert "epoch 3, loss" in loop.select_one(f'.execbook-pane[data-tab="{tab}"] .cell_output').get_text()
    figures = training.select(".cell_output img")
    assert len(figures) == 2  # the loss curve, once per framework
    tables = training.select(".cell_output table")
    assert len(tables) == 2 and "estimated" in tables[0].get_text()
    tensors = demo_book.main("chapters/basics/tensors")
    assert "tensor([[ 0.,  1.,  2.,  3.]" in tensors.get_text()
    assert "array([[ 0.,  1.,  2.,  3.]" in tensors.get_text()


def test_eval_rst_and_listings_pass_through(demo_book: BuiltBook) -> None:
    notation = demo_book.main("chapters/notation")
    assert "passed to Sphinx as written" in notation.select_one(".admonition.note").get_text()
    assert "appears on the website only" in notation.get_text()
    assert ":numref:`sec_tensors` stays as typed" in notation.select_one("pre").get_text() or any(
        ":numref:`sec_tensors`" in pre.get_text() for pre in notation.select("pre")
    )
    assert "&lt;eos&gt;" in str(notation.select_one("pre")) or "<eos>" in notation.get_text()


# -- bad input ----------------------------------------------------------------------

BAD_PAGES = {
    "index.md": """
        # Bad Book

        ```toc
        :numbered:

        good
        bad
        nowhere
        ```
        """,
    "good.md": """
        # Good Page
        :label:`sec_good`

        This page is fine: :numref:`sec_good`.

        ![A figure](missing.svg)
        :label:`fig_missing`

        A paragraph
        over lines, with :numref:`fig_nothere`
        on its second line.
        """,
    "bad.md": """
        # Bad Page
        :label:`sec_good`

        See :numref:`sec_nothere`, :eqref:`eq_nothere` and :cite:`NoSuch.2000`.

        ```{.python .input}
        #@tab pytoch
        x = 1
        ```

        ```{.python .input}
        1 + 1
        ```

        ```{.json .output n=1}
        [2]
        ```

        :begin_tab:`numpy`
        Never closed.
        ```{.python .input}
        y = 2
        """,
    "refs.bib": "@book{Real.2000, title={T}, author={A, B}, year={2000}, publisher={P}}\n",
}


@pytest.fixture(scope="module")
def bad_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    root = write_book(tmp_path_factory.mktemp("bad") / "book", BAD_PAGES, conf='bibtex_bibfiles = ["refs.bib"]\n')
    return run_sphinx(root)


EXPECTED_BAD = [
    ("index.md", 8, "toc entry 'nowhere' names no page"),
    ("good.md", 2, "duplicate label sec_good"),
    ("bad.md", 4, ":numref:`sec_nothere` points at no label"),
    ("bad.md", 4, ":eqref:`eq_nothere` points at no label"),
    ("bad.md", 4, 'could not find bibtex key "NoSuch.2000"'),
    ("bad.md", 7, "unknown tab 'pytoch'"),
    ("bad.md", 15, "stored outputs found in the source"),
    ("bad.md", 19, ":begin_tab: is never closed"),
    ("bad.md", 21, "code fence ``` is never closed"),
    ("good.md", 6, "image file not readable"),
    ("good.md", 10, ":numref:`fig_nothere` points at no label"),
]


@pytest.mark.parametrize(("page", "line", "text"), EXPECTED_BAD, ids=[t for _, _, t in EXPECTED_BAD])
def test_bad_input_is_reported_with_file_and_line(bad_book: BuiltBook, page: str, line: int, text: str) -> None:
    pattern = re.compile(rf"{re.escape(page)}:{line}: (WARNING|ERROR): .*{re.escape(text)}")
    assert any(pattern.search(w) for w in bad_book.warnings), "\n".join(bad_book.warnings)


def test_bad_input_never_shows_a_traceback_and_the_rest_builds(bad_book: BuiltBook) -> None:
    assert bad_book.returncode == 0
    assert "Traceback" not in bad_book.output
    assert "This page is fine" in bad_book.main("good").get_text()
    bad = bad_book.main("bad")
    assert "Never closed." in bad.get_text()  # the unclosed block is kept, not lost
    assert "1 + 1" in bad.get_text()


@pytest.mark.kernels
def test_warning_is_error_fails_the_build(tmp_path: Path) -> None:
    root = write_book(tmp_path / "book", BAD_PAGES, conf='bibtex_bibfiles = ["refs.bib"]\n')
    result = run_sphinx(root, "-W")
    assert result.returncode != 0
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ('execbook_tabs = "pytorch"\n', "execbook_tabs must be a list"),
        ('execbook_tab_labels = {"jaxx": "JAX"}\n', "execbook_tab_labels names unknown tab 'jaxx'"),
    ],
)
def test_config_errors_stop_the_build_naming_the_option(tmp_path: Path, conf: str, message: str) -> None:
    root = write_book(tmp_path / "book", {"index.md": "# Hi\n"}, conf=conf)
    # sphinx-build: a ConfigError, reported as Sphinx reports one (its context block follows),
    # with our located line first
    result = run_sphinx(root)
    assert result.returncode != 0
    first = next(line for line in result.output.splitlines() if line.strip())
    assert "conf.py:" in first and message in first
    # execbook build: that one line, exit 2, no traceback
    cli = subprocess.run(
        [sys.executable, "-m", "execbook", "build", "html", "--book", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert cli.returncode == 2, cli.stderr
    assert message in cli.stderr and "conf.py:" in cli.stderr
    assert "Traceback" not in cli.stdout + cli.stderr


# -- the real preface page -----------------------------------------------------------

PREFACE_BIB = """
@book{Goodfellow.Bengio.Courville.2016, title={Deep Learning},
  author={Goodfellow, Ian and Bengio, Yoshua and Courville, Aaron}, year={2016}, publisher={MIT Press}}
@book{Bishop.2006, title={Pattern Recognition and Machine Learning},
  author={Bishop, Christopher M.}, year={2006}, publisher={Springer}}
@book{Bollobas.1999, title={Linear Analysis}, author={Bollob{\\'a}s, B{\\'e}la}, year={1999},
  publisher={Cambridge University Press}}
@book{Wasserman.2013, title={All of Statistics}, author={Wasserman, Larry}, year={2013}, publisher={Springer}}
"""


PREFACE_PAGES = {
    # the real d2l page, where this checkout sits beside the shared fixtures
    "d2l-preface": SHARED_FIXTURES / "preface.md",
    # our own page of the same shape, so CI checks the same things anywhere
    "three-frameworks": Path(__file__).parent / "pages" / "three_frameworks.md",
}


@pytest.fixture(scope="module", params=sorted(PREFACE_PAGES))
def preface_book(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sphinx_in_process: Callable[..., BuiltBook],
) -> BuiltBook:
    source = PREFACE_PAGES[request.param]
    if not source.is_file():
        pytest.skip(f"{source} is not beside this checkout")
    pages = {
        "index.md": "# Book\n\n```toc\n:maxdepth: 2\n\nchapter_preface/index\nreferences\n```\n",
        "references.md": "# References\n\n:bibliography:`d2l.bib`\n",
        "d2l.bib": PREFACE_BIB,
    }
    # the reader is under test here, not MXNet or TensorFlow
    root = write_book(
        tmp_path_factory.mktemp("preface") / "book",
        pages,
        conf='execbook_execute = "off"\n',
        tabs=("mxnet", "pytorch", "tensorflow"),
    )
    (root / "chapter_preface").mkdir()
    shutil.copy(source, root / "chapter_preface" / "index.md")
    return sphinx_in_process(root)  # runs no code, reads pages and warnings: no subprocess needed


def test_preface_builds_with_only_missing_page_warnings(preface_book: BuiltBook) -> None:
    assert preface_book.returncode == 0
    allowed = re.compile(
        r"chapter_preface/index\.md:\d+: WARNING: "
        r"(:(numref|ref):`(chap|sec)_[\w-]+` points at no label|image file not readable: img/book-org\.svg)"
    )
    assert [w for w in preface_book.warnings if not allowed.search(w)] == []
    assert any("book-org.svg" in w for w in preface_book.warnings)
    assert any(":ref:`chap_installation` points at no label" in w for w in preface_book.warnings)


def test_preface_site_links_resolve_but_the_missing_figure(preface_book: BuiltBook) -> None:
    """The build warned about one image file; the link check finds that one, and only it."""
    from execbook.outputs.linkcheck import check_site, report

    result = check_site(preface_book.outdir)
    assert report(result) == [
        "chapter_preface/index.html: img/book-org.svg -> no file chapter_preface/img/book-org.svg"
    ]
    assert result.links >= 100


def test_preface_tab_groups(preface_book: BuiltBook) -> None:
    page = preface_book.main("chapter_preface/index")
    groups = page.select(".execbook-tabs")
    # the framework prose and the code right after it share one group (one bar)
    assert [(g["class"][1], g["data-tabs"]) for g in groups] == [
        ("execbook-tabs-code", "mxnet pytorch tensorflow"),
        ("execbook-tabs-text", "mxnet pytorch tensorflow"),
    ]
    code = groups[0]
    assert "from mxnet import" in code.select_one('.execbook-pane[data-tab="mxnet"]').get_text()
    assert "import torch" in code.select_one('.execbook-pane[data-tab="pytorch"]').get_text()
    assert "import tensorflow" in code.select_one('.execbook-pane[data-tab="tensorflow"]').get_text()
    assert "MXNet" in groups[0].select_one('.execbook-pane[data-tab="mxnet"]').get_text()
    assert "TensorFlow" not in groups[0].select_one('.execbook-pane[data-tab="mxnet"]').get_text()
    # the #@tab all cell of imports stands alone, plainly
    plain = [cell for cell in page.select("div.cell") if not cell.find_parent(class_="execbook-tabs")]
    assert any("import collections" in cell.get_text() for cell in plain)
    text = visible_text(page)
    assert [m.group(0) for m in RAW_SYNTAX_RE.finditer(text)] == []
    assert "(Goodfellow et al., 2016)" in prose(page) and "(Bishop, 2006)" in prose(page)
    assert "(Bollobás, 1999)" in prose(page)


def test_other_formats_keep_only_the_default_framework(demo_book: BuiltBook) -> None:
    result = run_sphinx(demo_book.srcdir, builder="text")
    assert result.returncode == 0, result.output
    tensors = (result.outdir / "chapters" / "basics" / "tensors.txt").read_text(encoding="utf-8")
    assert "torch.arange" in tensors and "X @ X.T" in tensors
    assert "np.arange" not in tensors and "np.zeros" not in tensors
    autograd = (result.outdir / "chapters" / "basics" / "autograd.txt").read_text(encoding="utf-8")
    assert "accumulates gradients" in autograd  # PyTorch-only text is kept
    assert "Not available" not in autograd


def test_figure_captions_hold_math_and_citations(demo_book: BuiltBook) -> None:
    caption = demo_book.main("chapters/models/linear-regression").select_one("figcaption")
    assert caption.select_one(".math") is not None
    assert "(Legendre, 1805)" in prose(caption)
    assert caption.select_one('a[href*="references.html#"]') is not None


def test_library_reference_lists_saved_names_with_links(demo_book: BuiltBook) -> None:
    page = demo_book.html("execbook-library")
    modules = page.select("section.execbook-library-module")
    assert [m["data-tab"] for m in modules] == ["pytorch", "numpy"]
    torch = {dt.get_text(strip=True): dt.find_next_sibling("dd") for dt in modules[0].select("dt")}
    assert "class Timer" in torch and "@add_to_class(LinearRegression) loss(self, y_hat, y)" in torch
    assert "Record running times." in torch["class Timer"].get_text()
    link = torch["class Timer"].select_one("a")
    assert link.get_text(strip=True) == "Timing"
    _, target = target_of(demo_book, "execbook-library", link["href"])
    assert "Timing" in target.get_text()


def test_aliases_show_each_frameworks_own_api(demo_book: BuiltBook) -> None:
    page = demo_book.main("chapters/models/training")
    shown = {pane["data-tab"]: pane.get_text() for pane in page.select("[data-tab]") if "first_two" in pane.get_text()}
    assert "first_two = torch.cat([features[:1], features[1:2]])" in shown["pytorch"]
    assert "first_two = np.concatenate([features[:1], features[1:2]])" in shown["numpy"]
    assert "labels[:2].sum()" in shown["pytorch"] and "dlb.concat" not in "".join(shown.values())
    # the code that ran is the code as written, through the library's aliases
    assert "torch.Size([2, 2]) tensor([True])" in shown["pytorch"] and "(2, 2) [ True]" in shown["numpy"]


@pytest.mark.sphinx
@pytest.mark.parametrize("builder", ["dummy", "linkcheck", "text"])
def test_sphinxs_other_builders_build_a_book(tmp_path: Path, builder: str) -> None:
    """Builders that write no HTML pages still build an execbook book under the PyData
    theme: its floor (0.15) wraps the builder's translator and writes _static/pygments.css
    whatever the builder: ``-b linkcheck`` stopped with an extension error there, and
    ``-b text`` crashed on a table."""
    page = "# Book\n\nA page, [a link](#book).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    book = write_book(tmp_path / "book", {"index.md": page}, conf='execbook_execute = "off"\n')
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", builder, "-q", str(book), str(book / "_build" / builder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Extension error" not in done.stderr and "Traceback" not in done.stderr
