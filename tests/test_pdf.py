"""make pdf: one typeset book per framework, read back with pdftotext."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEMO_PAGES_FOR_PDF, BuiltBook, write_book

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


@pytest.fixture(scope="module")
def pdfs(demo_book: BuiltBook) -> dict[str, str]:
    require_tex()
    result = execbook(demo_book.srcdir, "build", "pdf")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = demo_book.srcdir / "_build" / "pdf"
    assert sorted(p.name for p in folder.glob("*.pdf")) == [
        "deep-learning-briefly-numpy.pdf",
        "deep-learning-briefly.pdf",
    ]
    return {
        "pytorch": pdf_text(folder / "deep-learning-briefly.pdf"),
        "numpy": pdf_text(folder / "deep-learning-briefly-numpy.pdf"),
    }


def test_each_pdf_has_only_its_framework(pdfs: dict[str, str]) -> None:
    torch, numpy = pdfs["pytorch"], pdfs["numpy"]
    assert "torch.arange" in torch and "np.arange" not in torch
    assert "np.arange" in numpy and "torch.arange" not in numpy
    assert "tensor([[ 0., 1., 2., 3.]," in " ".join(torch.split()) or "tensor([[ 0.,  1.,  2.,  3.]," in torch
    assert "accumulates gradients" in torch and "accumulates gradients" not in numpy  # :begin_tab: text
    for text in (torch, numpy):
        assert "Not available" not in text
        assert "??" not in text


def test_numbers_match_the_website(pdfs: dict[str, str], demo_book: BuiltBook) -> None:
    numbers = set()
    for page in DEMO_PAGES_FOR_PDF:
        main = demo_book.main(page)
        numbers |= {" ".join(c.get_text(" ", strip=True).split()) for c in main.select(".caption-number")}
        numbers |= {e.get_text(strip=True).rstrip("#") for e in main.select(".eqno")}
    assert {"Fig. 2.1.1", "Table 2.1.1", "(2.1.2)"} <= numbers
    for text in pdfs.values():
        flat = " ".join(text.split())
        missing = [number for number in numbers if number not in flat]
        assert missing == []


def test_front_matter_is_unnumbered_and_chapters_are(pdfs: dict[str, str]) -> None:
    contents = pdfs["pytorch"].split("Bibliography")[0]
    assert re.search(r"^\s*Preface\s+\d+", contents, re.MULTILINE)
    assert re.search(r"^\s*1\s+Basics\s+\d+", contents, re.MULTILINE)
    assert re.search(r"^\s*2\s+First Models\s+\d+", contents, re.MULTILINE)


def test_citations_and_bibliography(pdfs: dict[str, str]) -> None:
    flat = " ".join(pdfs["pytorch"].split())
    assert "(Legendre, 1805)" in flat and "Rumelhart et al. (1986)" in flat
    assert "(Goodfellow et al., 2016; Zhang et al., 2023)" in flat
    entry = flat.index("Nouvelles méthodes pour la détermination des orbites des comètes")
    # in the bibliography: after its heading, which follows the last chapter (the API page); the index comes after
    assert flat.upper().rfind("BIBLIOGRAPHY", 0, entry) > flat.rfind("The dlb API", 0, entry) > 0


def test_no_code_runs_off_the_page(pdfs: dict[str, str], demo_book: BuiltBook) -> None:
    for log in (demo_book.srcdir / "_build" / "latex").glob("*/*.log"):
        text = log.read_text(encoding="utf-8", errors="replace")
        boxes = re.findall(r"Overfull \\hbox.*\n(.*)\n", text)
        assert [box for box in boxes if "Mono" in box] == [], log


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
