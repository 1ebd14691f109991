"""make pdf: one typeset book per framework, read back with pdftotext."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BuiltBook, chapter_number, write_book

pytestmark = pytest.mark.pdf

NEEDS = ("xelatex", "latexmk", "pdftotext", "rsvg-convert")


def require_tex() -> None:
    missing = [tool for tool in NEEDS if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (.ci/run installs TeX Live, poppler-utils, librsvg2-bin)"
        if os.environ.get("EXECBOOK_REQUIRE_TEX"):
            pytest.fail(message)
        pytest.skip(message)


def execbook(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", *args, "--book", str(book)], capture_output=True, text=True, timeout=900
    )


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def example_chapters(text: str) -> str:
    """The demo book's example chapters, from Basics on: the guide before them shows
    every framework's d2l source on purpose, as listings."""
    start = re.search(r"^\s*BASICS\s*$", text, re.MULTILINE)  # the chapter's heading, not its toc line
    assert start is not None
    return text[start.end() :]


def latex_logs(book: BuiltBook) -> list[Path]:
    """xelatex's log of each PDF's last pass (latexmk's own log holds every pass's)."""
    logs = [log for log in sorted((book.srcdir / "_build" / "latex").glob("*/*.log")) if ".latexmk." not in log.name]
    assert [log.parent.name for log in logs] == ["numpy", "pytorch"]
    return logs


@pytest.fixture(scope="module")
def pdfs(demo_book: BuiltBook) -> dict[str, str]:
    require_tex()
    result = execbook(demo_book.srcdir, "build", "pdf")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = demo_book.srcdir / "_build" / "pdf"
    # named after the project: the demo book is execbook's guide
    assert sorted(p.name for p in folder.glob("*.pdf")) == ["execbook-numpy.pdf", "execbook.pdf"]
    return {"pytorch": pdf_text(folder / "execbook.pdf"), "numpy": pdf_text(folder / "execbook-numpy.pdf")}


# the guide's d2l-book page names LaTeX's mark of a missing reference, as code
SHOWN_AS_CODE = "slide marks or Section ??)"


def test_each_pdf_has_only_its_framework(pdfs: dict[str, str], demo_book: BuiltBook) -> None:
    torch, numpy = example_chapters(pdfs["pytorch"]), example_chapters(pdfs["numpy"])
    assert "torch.arange" in torch and "np.arange" not in torch
    assert "np.arange" in numpy and "torch.arange" not in numpy
    assert "tensor([[ 0., 1., 2., 3.]," in " ".join(torch.split()) or "tensor([[ 0.,  1.,  2.,  3.]," in torch
    assert "accumulates gradients" in torch and "accumulates gradients" not in pdfs["numpy"]  # :begin_tab: text
    # the guide's live example: two cells, one per framework, each PDF shows its own
    for tab, own, other in (("pytorch", "torch.arange", "np.arange"), ("numpy", "np.arange", "torch.arange")):
        example = pdfs[tab].split("The two cells run")[1].split("A cell for every framework")[0]
        assert own in example and other not in example, tab
    for text in pdfs.values():
        assert "Not available" not in text
        assert "??" not in " ".join(text.split()).replace(SHOWN_AS_CODE, "")
    for log in latex_logs(demo_book):  # what prints ?? in a PDF: a reference or citation LaTeX could not resolve
        assert re.findall(r"LaTeX Warning: (?:Reference|Citation) .* undefined", log.read_text(errors="replace")) == []


def test_numbers_match_the_website(pdfs: dict[str, str], demo_book: BuiltBook) -> None:
    numbers = set()
    for path in sorted(demo_book.outdir.glob("chapters/**/*.html")):  # every page of the book, the guide's too
        main = demo_book.main(path.relative_to(demo_book.outdir).with_suffix("").as_posix())
        numbers |= {" ".join(c.get_text(" ", strip=True).split()) for c in main.select(".caption-number")}
        numbers |= {e.get_text(strip=True).rstrip("#") for e in main.select(".eqno")}
    n = chapter_number(demo_book, "chapters/models/linear-regression")
    assert {f"Fig. {n}.1.1", f"Table {n}.1.1", f"({n}.1.2)"} <= numbers
    for text in pdfs.values():
        flat = " ".join(text.split())
        missing = [number for number in numbers if number not in flat]
        assert missing == []


def test_chapters_are_numbered_as_on_the_website(pdfs: dict[str, str], demo_book: BuiltBook) -> None:
    contents = pdfs["pytorch"].split("Bibliography")[0]
    assert re.search(r"^\s*1\s+Getting Started\s+\d+", contents, re.MULTILINE)
    for page, title in (("preface", "Preface"), ("basics/tensors", "Basics"), ("models/mlp", "First Models")):
        number = chapter_number(demo_book, f"chapters/{page}")
        assert re.search(rf"^\s*{number}\s+{title}\s+\d+", contents, re.MULTILINE), title
    # a page outside the numbered tocs (the references, back matter) is unnumbered, as on the site
    assert re.search(r"^\s*References\s+\d+", contents, re.MULTILINE)


def test_citations_and_bibliography(pdfs: dict[str, str]) -> None:
    flat = " ".join(pdfs["pytorch"].split())
    assert "(Legendre, 1805)" in flat and "Rumelhart et al. (1986)" in flat
    assert "(Goodfellow et al., 2016; Zhang et al., 2023)" in flat
    entry = flat.index("Nouvelles méthodes pour la détermination des orbites des comètes")
    # in the bibliography: after its heading, which follows the last chapter (the API page); the index comes after
    assert flat.upper().rfind("BIBLIOGRAPHY", 0, entry) > flat.rfind("The dlb API", 0, entry) > 0


def test_no_code_or_table_runs_off_the_page(pdfs: dict[str, str], demo_book: BuiltBook) -> None:
    for log in latex_logs(demo_book):
        text = log.read_text(encoding="utf-8", errors="replace")
        # code (a long name in inline code, a narrow column of the reference tables) past the right margin
        boxes = re.findall(r"Overfull \\hbox.*\n(.*)\n", text)
        assert [box for box in boxes if "Mono" in box] == [], log
        # a page's body past its bottom (a table that cannot break across pages runs into the footer)
        assert "Overfull \\vbox" not in text, log


def test_a_latex_error_names_the_page_and_shows_the_error(tmp_path: Path) -> None:
    require_tex()
    pages = {
        "index.md": "# Book\n\n```toc\n:numbered:\n\ngood\nbad\n```\n",
        "good.md": "# Good\n\nFine $x^2$.\n",
        "bad.md": "# Bad\n\nSome text.\n\n$$\\begin{aligned} x &= 1 \\end{matrix}$$\n",
    }
    book = write_book(tmp_path / "book", pages, conf='execbook_execute = "off"\n', tabs=("python",))
    result = execbook(book, "build", "pdf")
    assert result.returncode == 1
    assert "LaTeX failed in page bad" in result.stderr
    assert "\\begin{aligned} on input line" in result.stderr and "ended by \\end{ma" in result.stderr
    assert str(book / "_build" / "latex" / "python" / "test.tex") in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_tex_says_what_to_install(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": "# Book\n"})
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # Python, but no TeX
    result = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "build", "pdf", "--book", str(book)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2
    assert "sudo apt-get install latexmk texlive-xetex" in result.stderr
