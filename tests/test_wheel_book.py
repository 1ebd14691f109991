"""A new book builds from execbook's wheel alone: no index has execbook, and a new user has no checkout.

The wheel is built once per session (sdist, then the wheel from the sdist, as
`make dist` does). Everything after runs in a temporary folder with a clean
environment: a fresh venv gets the wheel, `execbook new` writes a book whose
requirements.txt names that wheel, vendored into the book, and the book's own
`make html` creates the book's .venv from it and builds the site, and
`make pdf` the PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT
from test_pdf import pdf_text, require_tex

pytestmark = [pytest.mark.wheel, pytest.mark.kernels]

PACKAGE = ROOT / "src" / "execbook"
DATA = ("html/static", "html/templates", "skeleton")


def tracked(*paths: str) -> list[str]:
    """The files a clone has under ``paths`` (what the wheel is built from in CI)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=ROOT, capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name]


def clean_env() -> dict[str, str]:
    """This process's environment without this checkout's venv: what a user's fresh shell has."""
    ours = str(Path(sys.executable).parent)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != ours)
    return env


def run(command: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    # the durations are worth knowing: `pytest -s -m wheel` shows them
    print(f"{time.monotonic() - started:6.1f} s  {' '.join(command)}")
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    return done


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """execbook's sdist and wheel, built with `python -m build` from a copy of the tracked files."""
    source = tmp_path_factory.mktemp("execbook-source")
    # a copy: the build writes build/ and *.egg-info, which the checkout of others' work should not get
    for name in tracked("pyproject.toml", "README.md", "LICENSE", "src"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    # `build` is in execbook's test extras, which make test installs
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=source, timeout=600)
    return out


@pytest.fixture(scope="session")
def wheel(dist: Path) -> Path:
    [found] = dist.glob("execbook-*.whl")
    return found


def test_the_wheel_and_the_sdist_carry_every_template_and_static_file(dist: Path, wheel: Path) -> None:
    wanted = {name.removeprefix("src/") for name in tracked(*(f"src/execbook/{folder}" for folder in DATA))}
    assert any("/." in name or "/skeleton/github/workflows/" in name for name in wanted)  # nested and dotted ones too
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert wanted <= in_wheel, sorted(wanted - in_wheel)
    [sdist] = dist.glob("execbook-*.tar.gz")
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {f"src/{name}" for name in wanted} <= in_sdist


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv, outside the checkout, with execbook from the wheel and nothing else of ours."""
    folder = tmp_path_factory.mktemp("user") / "venv"
    python = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter this test's venv was made from
    run([str(python), "-m", "venv", str(folder)], cwd=folder.parent)
    run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], cwd=folder.parent)
    where = run([str(folder / "bin" / "python"), "-c", "import execbook; print(execbook.__file__)"], cwd=folder.parent)
    assert where.stdout.startswith(str(folder)), where.stdout  # the wheel's copy, not this checkout's src/
    return folder


def test_new_pins_the_wheel_it_was_installed_from(venv: Path, wheel: Path) -> None:
    made = run([str(venv / "bin" / "execbook"), "new", "pinned"], cwd=venv.parent)
    requirements = (venv.parent / "pinned" / "requirements.txt").read_text()
    assert f"execbook @ {wheel.as_uri()}" in requirements.splitlines()
    # ... and the user is told that the path works here, not in CI, and what to do about it
    assert "not in the book's GitHub Actions workflow" in made.stderr
    assert f"mkdir -p vendor && cp {wheel} vendor/" in made.stderr


@pytest.fixture(scope="module")
def book(venv: Path, wheel: Path) -> Path:
    """`execbook new`, then the book's own `make html`: its Makefile makes .venv from requirements.txt.

    The wheel is vendored into the book, as the README tells a user whose book must build in CI too.
    """
    folder = venv.parent / "my-book"
    run(
        [
            str(venv / "bin" / "execbook"),
            "new",
            str(folder),
            "--title",
            "Wheel Book",
            "--requirement",
            f"./vendor/{wheel.name}",
        ],
        cwd=venv.parent,
    )
    (folder / "vendor").mkdir()
    shutil.copy2(wheel, folder / "vendor")
    run(["make", "html", "SPHINXOPTS=-W"], cwd=folder, timeout=1200)
    return folder


@pytest.mark.sphinx
def test_the_new_book_builds_its_site_in_its_own_venv(book: Path) -> None:
    where = run([str(book / ".venv" / "bin" / "python"), "-c", "import execbook; print(execbook.__file__)"], cwd=book)
    assert where.stdout.startswith(str(book / ".venv")), where.stdout
    page = BeautifulSoup((book / "_build" / "html" / "chapters" / "intro.html").read_text(), "html.parser")
    outputs = " ".join(o.get_text() for o in page.select(".cell_output"))
    assert "Hello, reader!" in outputs and "12.566" in outputs
    text = " ".join(page.get_text().split())
    assert "Wheel Book" in text and "(Knuth, 1984)" in text
    # the theme's static files and execbook's own came from the wheel
    assert (book / "_build" / "html" / "_static" / "execbook.js").is_file()
    assert (book / "_build" / "html" / "execbook-library.html").is_file()


@pytest.mark.pdf
def test_the_new_book_typesets_its_pdf(book: Path) -> None:
    require_tex()
    run(["make", "pdf"], cwd=book, timeout=1200)
    [pdf] = (book / "_build" / "pdf").glob("*.pdf")
    text = " ".join(pdf_text(pdf).split())
    assert "Wheel Book" in text and "Introduction" in text
    assert "Hello, reader!" in text and "12.566" in text  # the executed outputs are typeset
    assert "Knuth" in text and "??" not in text
