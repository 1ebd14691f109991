"""Shared helpers: build small books with the real sphinx-build, parse the HTML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


DEMO_PAGES_FOR_PDF = [
    "chapters/basics/tensors", "chapters/basics/autograd", "chapters/models/linear-regression",
    "chapters/models/training", "chapters/models/mlp",
]


@dataclass
class BuiltBook:
    srcdir: Path
    outdir: Path
    returncode: int
    output: str  # stdout + stderr of sphinx-build

    def html(self, page: str) -> BeautifulSoup:
        return BeautifulSoup((self.outdir / f"{page}.html").read_text(encoding="utf-8"), "html.parser")

    def main(self, page: str) -> BeautifulSoup:
        soup = self.html(page)
        return soup.select_one("article.bd-article") or soup

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if "WARNING" in line or "ERROR" in line]


def run_sphinx(srcdir: Path, *args: str, builder: str = "html") -> BuiltBook:
    outdir = srcdir / "_build" / builder
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", builder, "-q", str(srcdir), str(outdir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    return BuiltBook(srcdir, outdir, proc.returncode, proc.stdout + proc.stderr)


def write_book(root: Path, pages: dict[str, str], conf: str = "", tabs: tuple[str, ...] = ("pytorch", "numpy")) -> Path:
    """Write a book: ``pages`` maps paths ('index.md', 'img/a.svg') to their text."""
    root.mkdir(parents=True, exist_ok=True)
    conf_text = f'project = "Test"\nextensions = ["execbook"]\nexecbook_tabs = {list(tabs)!r}\n' + textwrap.dedent(conf)
    (root / "conf.py").write_text(conf_text, encoding="utf-8")
    for name, text in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    """The repository's demo book, copied and built once with -W."""
    src = tmp_path_factory.mktemp("demo") / "book"
    ignore = shutil.ignore_patterns("_build", ".*", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, src, ignore=ignore)
    return run_sphinx(src, "-W", "--keep-going")
