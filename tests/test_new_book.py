"""`execbook new` writes a book that `make html` builds right away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]


def test_new_book_builds_with_make_html(tmp_path: Path) -> None:
    book = tmp_path / "my-book"
    # the venv running this test already has execbook (editable): a bare name keeps pip off it, where the
    # default pin, this checkout's file: URL, would reinstall it (test_wheel_book.py builds from a wheel)
    made = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "new", str(book), "--title", "Hello Book", "--requirement", "execbook"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    for name in (
        "conf.py",
        "index.md",
        "chapters/intro.md",
        "_static",
        "_templates",
        "references.bib",
        "Makefile",
        "requirements.txt",
        ".gitignore",
        ".github/workflows/book.yml",
    ):
        assert (book / name).exists(), name
    # the Makefile's pip step finds `execbook` satisfied
    build = subprocess.run(
        ["make", "html", f"VENV={Path(sys.executable).parent.parent}", "SPHINXOPTS=-W"],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    page = BeautifulSoup((book / "_build" / "html" / "chapters" / "intro.html").read_text(), "html.parser")
    outputs = " ".join(o.get_text() for o in page.select(".cell_output"))
    assert "Hello, reader!" in outputs and "12.566" in outputs
    assert "(Knuth, 1984)" in " ".join(page.get_text().split())
    assert (book / "_build" / "html" / "execbook-library.html").is_file()
    # the site `make html` wrote is whole: the download buttons find their notebooks
    assert (book / "_build" / "html" / "notebooks" / "python" / "chapters" / "intro.ipynb").is_file()
    links = subprocess.run(
        ["make", "check-links", f"VENV={Path(sys.executable).parent.parent}"],
        cwd=book,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert links.returncode == 0 and ", 0 broken" in links.stderr, links.stdout + links.stderr

    again = subprocess.run([sys.executable, "-m", "execbook.cli", "new", str(book)], capture_output=True, text=True)
    assert again.returncode != 0 and "is not empty" in again.stderr


def test_new_book_workflow_builds_caches_and_deploys(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "execbook.cli", "new", str(tmp_path / "b")], check=True, capture_output=True)
    workflow = yaml.safe_load((tmp_path / "b" / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert "make html SPHINXOPTS=-W" in runs and "make pdf" in runs
    # the site is link-checked as uploaded: after the PDFs are copied in, before the upload
    assert runs.index("make check-links") > runs.index(
        "mkdir -p _build/html/pdf && cp _build/pdf/*.pdf _build/html/pdf/"
    )
    assert [step.get("uses", "") for step in steps][runs.index("make check-links") + 1].startswith(
        "actions/upload-pages"
    )
    cache = [step for step in steps if step.get("uses", "").startswith("actions/cache")][0]
    assert cache["with"]["path"] == "_build/.execbook-cache"
    assert workflow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages")
