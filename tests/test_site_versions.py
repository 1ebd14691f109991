"""Versions side by side (issue 33, item 3): a book built with ``execbook_version`` is
deployed into that folder of the pages branch of a real bare remote, the other versions'
folders kept, with PyData's ``switcher.json`` listing them all at the branch's root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build_in_process, write_book

pytestmark = pytest.mark.sphinx

BASE = "https://example.org/book/"
IDENTITY = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@b"}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def build_and_deploy(book: Path, version: str) -> subprocess.CompletedProcess[str]:
    built = build_in_process(
        book, confoverrides={"execbook_execute": "off", "html_baseurl": BASE, "execbook_version": version}
    )
    assert built.returncode == 0, built.output
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", "deploy", "--book", str(book)], capture_output=True, text=True
    )


def test_two_versions_deployed_side_by_side_with_a_switcher(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    book = write_book(
        tmp_path / "book",
        {"index.md": "# Book\n\n```{toctree}\nchapter\n```\n", "chapter.md": "# Chapter\n\nText.\n"},
        conf="execbook_execute = 'off'\n",
    )
    (book / ".gitignore").write_text("_build/\n")
    git("init", "-q", "-b", "main", cwd=book)
    git("add", ".", cwd=book)
    git("commit", "-q", "-m", "book", cwd=book)
    git("remote", "add", "origin", str(remote), cwd=book)

    first = build_and_deploy(book, "1.0")
    assert first.returncode == 0, first.stderr
    assert "folder 1.0/ of branch gh-pages" in first.stdout
    second = build_and_deploy(book, "2.0")
    assert second.returncode == 0, second.stderr

    files = git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()
    for version in ("1.0", "2.0"):
        assert f"{version}/index.html" in files and f"{version}/chapter.html" in files
    assert not any(name.startswith("chapter") for name in files)  # no page outside a version's folder
    assert ".execbook-site.json" not in {Path(name).name for name in files}  # the build's note stays home
    switcher = json.loads(git("show", "gh-pages:switcher.json", cwd=remote))
    assert switcher == [
        {"name": "2.0 (latest)", "version": "2.0", "url": f"{BASE}2.0/", "preferred": True},
        {"name": "1.0", "version": "1.0", "url": f"{BASE}1.0/"},
    ]
    root = git("show", "gh-pages:index.html", cwd=remote)
    assert 'content="0; url=2.0/"' in root and f'rel="canonical" href="{BASE}2.0/"' in root

    # the 2.0 pages: the theme's switcher reads the root's switcher.json, and they live in 2.0/
    page = git("show", "gh-pages:2.0/chapter.html", cwd=remote)
    assert f"theme_switcher_json_url = '{BASE}switcher.json'" in page
    assert "theme_switcher_version_match = '2.0'" in page
    assert 'class="version-switcher__container' in page
    assert f'<link rel="canonical" href="{BASE}2.0/chapter.html"' in page

    # mending an old version leaves the newest the latest
    again = build_and_deploy(book, "1.0")
    assert again.returncode == 0, again.stderr
    switcher = json.loads(git("show", "gh-pages:switcher.json", cwd=remote))
    assert [entry["version"] for entry in switcher] == ["2.0", "1.0"] and switcher[0].get("preferred")


def test_a_version_that_cannot_be_a_folder_is_refused_at_its_line(tmp_path: Path) -> None:
    from sphinx.errors import ConfigError

    book = write_book(tmp_path / "book", {"index.md": "# Book\n"}, conf="execbook_version = '../up'\n")
    with pytest.raises(ConfigError, match=r"conf.py:4: execbook_version: '../up' cannot be a folder's name"):
        build_in_process(book, confoverrides={"execbook_execute": "off", "html_baseurl": BASE})
