"""Strict means strict: a failing cell the cache holds fails every ``-W`` build and
is counted by ``execbook check``, not only the build that ran it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_book
from warned import warning_lines

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]

PAGE = "# Page\n\n```{.python .input}\nprint('before')\n1 / 0\n```\n"
FAILURE = "index.md:3: WARNING: [numpy] the cell raised ZeroDivisionError: division by zero"


def says_failure(stderr: str) -> bool:
    """The failure's located warning, in the form each Sphinx prints (7.2 under -W: its first, as an error)."""
    return any(FAILURE in line for line in warning_lines(stderr))


def execbook(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook", *args],
        cwd=book,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )


def test_a_cached_failure_fails_every_strict_build_and_check(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": PAGE}, tabs=("numpy",))
    first = execbook(book, "build", "html")
    assert first.returncode == 0, first.stdout + first.stderr  # not strict: a warning
    assert says_failure(first.stderr), first.stderr
    for _ in range(2):  # nothing changed: the cell is not run again, its failure is still there
        strict = execbook(book, "build", "html", "-W")
        assert strict.returncode == 1, strict.stdout + strict.stderr
        assert says_failure(strict.stderr), strict.stderr
        assert "nothing changed" not in strict.stdout
        assert "ZeroDivisionError" in (book / "_build" / "html" / "index.html").read_text()
    evaluated = execbook(book, "build", "eval", "-W")
    assert evaluated.returncode == 1, evaluated.stdout + evaluated.stderr
    assert says_failure(evaluated.stderr), evaluated.stderr
    checked = execbook(book, "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "index.md:3: [numpy] the cell raised ZeroDivisionError" in checked.stdout
    assert "1 problem" in checked.stderr

    (book / "index.md").write_text(PAGE.replace("1 / 0", "1 / 1"))  # fixed: strict builds pass again
    fixed = execbook(book, "build", "html", "-W")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "ZeroDivisionError" not in fixed.stderr
    assert execbook(book, "check").returncode == 0
