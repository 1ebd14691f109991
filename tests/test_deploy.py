"""execbook deploy: publish to a real (local, bare) git remote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from execbook.outputs.deploy import mask


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def deploy(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", "deploy", "--book", str(book), *args], capture_output=True, text=True
    )


def make_book(tmp_path: Path) -> tuple[Path, Path]:
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    book = tmp_path / "book"
    (book / "_build" / "html" / "chapters").mkdir(parents=True)
    (book / "_build" / "pdf").mkdir()
    (book / "index.md").write_text("# Book\n")
    git("init", "-q", cwd=book)
    git("commit", "-q", "--allow-empty", "-m", "start", cwd=book)
    git("remote", "add", "origin", str(remote), cwd=book)
    return book, remote


IDENTITY = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@b"}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)


def test_deploy_publishes_and_updates_the_pages_branch(tmp_path: Path) -> None:
    book, remote = make_book(tmp_path)
    site = book / "_build" / "html"
    (site / "index.html").write_text("<h1>first</h1>")
    (site / "chapters" / "one.html").write_text("one")
    (site / ".doctrees").mkdir()
    (book / "_build" / "pdf" / "book.pdf").write_bytes(b"%PDF-1.5 test")
    first = deploy(book)
    assert first.returncode == 0, first.stderr
    files = git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()
    assert sorted(files) == [".nojekyll", "chapters/one.html", "index.html", "pdf/book.pdf"]
    assert git("show", "gh-pages:index.html", cwd=remote) == "<h1>first</h1>"

    (site / "index.html").write_text("<h1>second</h1>")
    second = deploy(book)
    assert second.returncode == 0, second.stderr
    assert git("show", "gh-pages:index.html", cwd=remote) == "<h1>second</h1>"
    assert len(git("log", "--oneline", "gh-pages", cwd=remote).splitlines()) == 2


def test_deploy_explains_what_is_missing_and_hides_credentials(tmp_path: Path) -> None:
    book, _ = make_book(tmp_path)
    missing_site = deploy(book)
    assert missing_site.returncode != 0 and "run `make html` first" in missing_site.stderr
    (book / "_build" / "html" / "index.html").write_text("x")
    no_remote = deploy(book, "--remote", "upstream")
    assert no_remote.returncode == 2 and "no git remote named 'upstream'" in no_remote.stderr
    git("remote", "add", "secret", "https://someone:s3cr3t-token@127.0.0.1:9/none.git", cwd=book)
    failed = deploy(book, "--remote", "secret")
    assert failed.returncode == 1
    assert "s3cr3t-token" not in failed.stderr + failed.stdout and "https://***@127.0.0.1:9" in failed.stderr
    assert "fatal:" in failed.stderr and "Traceback" not in failed.stderr
    assert mask("push to https://u:p@host/x failed") == "push to https://***@host/x failed"


def test_deploy_refuses_a_site_with_broken_links_unless_forced(tmp_path: Path) -> None:
    book, remote = make_book(tmp_path)
    site = book / "_build" / "html"
    (site / "index.html").write_text('<a href="chapters/one.html#intro">One</a> <a href="pdf/book.pdf">PDF</a>')
    (site / "chapters" / "one.html").write_text(
        '<h1 id="one">One</h1><a download href="../notebooks/pytorch/chapters/one.ipynb">notebook</a>'
    )
    (book / "_build" / "pdf" / "book.pdf").write_bytes(b"%PDF-1.5 test")  # deploy adds it: its link resolves
    refused = deploy(book)
    assert refused.returncode == 1
    assert "not publishing: 2 broken internal links" in refused.stderr and "--force" in refused.stderr
    listed = [line.strip() for line in refused.stderr.splitlines() if " -> " in line]
    assert listed == [
        "index.html: chapters/one.html#intro -> no id 'intro' in chapters/one.html",
        "chapters/one.html: ../notebooks/pytorch/chapters/one.ipynb -> no file notebooks/pytorch/chapters/one.ipynb",
    ]
    assert git("branch", "--list", cwd=remote) == ""  # nothing was pushed

    forced = deploy(book, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "publishing with 2 broken internal links (--force)" in forced.stderr
    assert "index.html" in git("ls-tree", "-r", "--name-only", "gh-pages", cwd=remote).split()

    (site / "index.html").write_text('<a href="chapters/one.html#one">One</a> <a href="pdf/book.pdf">PDF</a>')
    (site / "chapters" / "one.html").write_text('<h1 id="one">One</h1>')
    fixed = deploy(book)
    assert fixed.returncode == 0, fixed.stderr
    assert "link check: 2 internal links in 2 pages, 0 broken" in fixed.stdout


def test_deploy_to_a_books_own_repository_checks_links_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from execbook.outputs.deploy import deploy_to_repository

    book, _ = make_book(tmp_path)
    (book / "_build" / "html" / "index.html").write_text('<img src="_images/gone.svg">')
    target = tmp_path / "site.git"
    git("init", "--bare", "-q", str(target), cwd=tmp_path)
    assert deploy_to_repository(book, str(target), "master", "Publish") == 1
    assert "index.html: _images/gone.svg -> no file _images/gone.svg" in capsys.readouterr().err
    assert git("branch", "--list", cwd=target) == ""
    assert deploy_to_repository(book, str(target), "master", "Publish", force=True) == 0
    assert "index.html" in git("ls-tree", "-r", "--name-only", "master", cwd=target).split()


def refs(repository: Path) -> str:
    return git("for-each-ref", "--format=%(refname) %(objectname)", cwd=repository)


def source_on_remote(tmp_path: Path) -> tuple[Path, Path]:
    """A book whose source is on master, pushed to its remote (which it tracks), with a built site."""
    book, remote = make_book(tmp_path)
    git("checkout", "-q", "-B", "master", cwd=book)
    git("add", "index.md", cwd=book)
    git("commit", "-q", "-m", "the book", cwd=book)
    git("push", "-q", "-u", "origin", "master", cwd=book)
    git("remote", "set-head", "origin", "master", cwd=book)
    (book / "_build" / "html" / "index.html").write_text("<h1>site</h1>")
    return book, remote


@pytest.mark.parametrize(
    "branch, says",
    [
        ("master", "holds the book's source"),
        ("HEAD", "is not a valid branch name"),
        ("-f", "starts with '-'"),
        ("@{-1}", "is not a valid branch name"),
        ("a..b", "is not a valid branch name"),
    ],
)
def test_deploy_refuses_the_source_branch_and_bad_names(tmp_path: Path, branch: str, says: str) -> None:
    book, remote = source_on_remote(tmp_path)
    before = refs(book), refs(remote)
    refused = deploy(book, f"--branch={branch}")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert says in refused.stderr and "--branch gh-pages" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (refs(book), refs(remote)) == before  # nothing committed, nothing pushed
    assert git("show", "master:index.md", cwd=remote) == "# Book\n"


def test_deploy_refuses_the_upstream_of_another_checked_out_branch(tmp_path: Path) -> None:
    book, remote = source_on_remote(tmp_path)
    git("checkout", "-q", "-b", "work", "--track", "origin/master", cwd=book)
    before = refs(book), refs(remote)
    refused = deploy(book, "--branch", "master")
    assert refused.returncode == 2 and "holds the book's source" in refused.stderr
    assert (refs(book), refs(remote)) == before
    published = deploy(book)  # gh-pages, as the message says
    assert published.returncode == 0, published.stderr
    assert git("show", "gh-pages:index.html", cwd=remote) == "<h1>site</h1>"
    assert git("show", "master:index.md", cwd=remote) == "# Book\n"


def test_deploy_to_the_books_own_repository_refuses_its_source_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from execbook.outputs.deploy import deploy_to_repository

    book, remote = source_on_remote(tmp_path)
    before = refs(book), refs(remote)
    assert deploy_to_repository(book, str(remote), "master", "Publish") == 2
    assert "holds the book's source" in capsys.readouterr().err
    assert (refs(book), refs(remote)) == before
    assert deploy_to_repository(book, str(remote), "-f", "Publish") == 2
    assert "starts with '-'" in capsys.readouterr().err
    assert (refs(book), refs(remote)) == before
