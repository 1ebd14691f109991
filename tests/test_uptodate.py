"""``execbook build html`` of an unchanged book answers without Sphinx; any
change to what the site is built from, or to what the build wrote, builds again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_book

from execbook.book import uptodate

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels

ARGV = ["build", "html"]


def tiny_book(root: Path) -> Path:
    return write_book(
        root, {"index.md": "# Home\n\nFirst words.\n\n```{toctree}\npage\n```\n", "page.md": "# Page\n\nText.\n"}
    )


def touch_later(path: Path, text: str | None = None) -> None:
    """Change a file so that its mtime surely moves (coarse file-system clocks)."""
    if text is not None:
        path.write_text(text, encoding="utf-8")
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 2_000_000_000))


def test_the_fingerprint_sees_pages_settings_and_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = tiny_book(tmp_path / "book")
    first = uptodate.inputs_digest(book, ARGV)
    assert uptodate.inputs_digest(book, ARGV) == first

    touch_later(book / "page.md", "# Page\n\nOther text.\n")
    edited = uptodate.inputs_digest(book, ARGV)
    assert edited != first
    (book / "img").mkdir()
    (book / "img" / "a.svg").write_text("<svg/>")
    added = uptodate.inputs_digest(book, ARGV)
    assert added != edited
    touch_later(book / "conf.py")
    assert uptodate.inputs_digest(book, ARGV) != added

    now = uptodate.inputs_digest(book, ARGV)
    assert uptodate.inputs_digest(book, [*ARGV, "-D", "execbook_execute=off"]) != now
    assert uptodate.inputs_digest(book, [*ARGV, "--tab", "pytorch"]) != now
    assert uptodate.inputs_digest(book, [*ARGV, "-q", "-W", "--keep-going"]) == now  # the site is the same
    monkeypatch.setenv("EXECBOOK_DASK_SCHEDULER", "tcp://127.0.0.1:8786")
    assert uptodate.inputs_digest(book, ARGV) != now


def test_the_fingerprint_ignores_outputs_caches_and_virtualenvs(tmp_path: Path) -> None:
    book = tiny_book(tmp_path / "book")
    before = uptodate.inputs_digest(book, ARGV)
    for folder in ("_build/html", ".git", "__pycache__", "chapters/.ipynb_checkpoints", "env/lib"):
        (book / folder).mkdir(parents=True)
        (book / folder / "x.txt").write_text("x")
    (book / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a virtualenv of any name
    assert uptodate.inputs_digest(book, ARGV) == before


def test_files_outside_the_book_that_the_last_build_read_count(tmp_path: Path) -> None:
    book = tiny_book(tmp_path / "book")
    shared = tmp_path / "shared" / "snippet.py"
    shared.parent.mkdir()
    shared.write_text("x = 1\n")
    listing = book / uptodate.OUTSIDE_LIST
    listing.parent.mkdir(parents=True)
    listing.write_text(json.dumps([str(shared)]))
    before = uptodate.inputs_digest(book, ARGV)
    touch_later(shared, "x = 2\n")
    assert uptodate.inputs_digest(book, ARGV) != before


def test_only_a_plain_build_html_may_be_skipped() -> None:
    assert uptodate.may_skip(["build", "html", "-q"])
    assert uptodate.may_skip(["build", "html", "--book", "b", "--tab", "pytorch"])
    assert not uptodate.may_skip(["build", "html", "-E"])
    assert not uptodate.may_skip(["build", "html", "-a"])
    assert not uptodate.may_skip(["build", "pdf"])
    assert not uptodate.may_skip(["check"])
    assert uptodate.book_folder(["build", "html", "--book", "/x/y"]) == Path("/x/y")
    assert uptodate.book_folder(["build", "html", "--book=/x/z"]) == Path("/x/z")


def test_a_stamp_is_kept_only_for_a_build_whose_jobs_all_ran_ok(tmp_path: Path) -> None:
    book = tiny_book(tmp_path / "book")
    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "html" / "index.html").write_text("<p>Home</p>")
    report = book / uptodate.REPORT
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"jobs": 2, "failed": 1, "entries": []}))
    uptodate.record(book, uptodate.inputs_digest(book, ARGV))
    assert not uptodate.is_current(book, ARGV)

    report.write_text(json.dumps({"jobs": 2, "failed": 0, "entries": []}))
    uptodate.record(book, uptodate.inputs_digest(book, ARGV))
    assert uptodate.is_current(book, ARGV)
    assert not uptodate.is_current(book, ["build", "html", "-D", "numfig=0"])
    (book / "_build" / "html" / "index.html").unlink()  # an output removed by hand
    assert not uptodate.is_current(book, ARGV)


def test_a_damaged_stamp_means_build_again(tmp_path: Path) -> None:
    book = tiny_book(tmp_path / "book")
    (book / uptodate.STAMP).parent.mkdir(parents=True)
    for text in ("", "{not json", json.dumps({"version": 0})):
        (book / uptodate.STAMP).write_text(text)
        assert not uptodate.is_current(book, ARGV)


def build(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook", "build", "html", "--book", str(book), *args],
        cwd=book,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )


def test_an_unchanged_book_is_answered_without_sphinx_and_any_change_builds(tmp_path: Path) -> None:
    book = write_book(
        tmp_path / "book",
        {
            "index.md": "# Home\n\n```{toctree}\npage\n```\n",
            "page.md": "# Page\n\nFirst words.\n\n```{.python .input}\nprint(6 * 7)\n```\n",
        },
        tabs=("numpy",),
    )
    site = book / "_build" / "html"
    first = build(book)
    assert first.returncode == 0, first.stdout + first.stderr
    assert '<span class="mi">6</span>' in (site / "page.html").read_text()
    assert "42" in (site / "page.html").read_text().split("print", 1)[1]  # the cell's output
    search_index = (site / "searchindex.js").stat().st_mtime_ns

    again = build(book)
    assert again.returncode == 0
    assert "nothing changed since the last build" in again.stdout
    assert "building [html]" not in again.stdout  # Sphinx never started: it rewrites the search index on a no-op
    assert (site / "searchindex.js").stat().st_mtime_ns == search_index
    assert build(book, "-q").stdout == ""

    touch_later(book / "page.md", (book / "page.md").read_text().replace("First words.", "Second words."))
    edited = build(book)
    assert "nothing changed" not in edited.stdout
    assert "Second words." in (site / "page.html").read_text()

    (site / "page.html").unlink()
    restored = build(book)
    assert "nothing changed" not in restored.stdout
    assert "Second words." in (site / "page.html").read_text()
    assert "nothing changed" in build(book).stdout


def test_a_failed_job_is_reported_again_by_the_next_build(tmp_path: Path) -> None:
    book = write_book(
        tmp_path / "book",
        {
            "index.md": "# Home\n\n```{toctree}\npage\n```\n",
            "page.md": "# Page\n\n```{.python .input}\nraise ValueError('broken on purpose')\n```\n",
        },
        tabs=("numpy",),
    )
    first = build(book)
    assert "broken on purpose" in first.stdout + first.stderr
    assert not (book / uptodate.STAMP).exists()
    assert "nothing changed" not in build(book).stdout  # Sphinx looks again


def test_an_edit_that_kept_its_mtime_is_seen(tmp_path: Path) -> None:
    """``cp -p``, ``rsync -t`` and ``tar`` set the old mtime on new content: the inode change time moves."""
    book = tiny_book(tmp_path / "book")
    page = book / "page.md"
    before = uptodate.inputs_digest(book, ARGV)
    info = page.stat()
    page.write_text("# Page\n\nTest.\n")  # the same size as "Text."
    os.utime(page, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert page.stat().st_size == info.st_size and page.stat().st_mtime_ns == info.st_mtime_ns
    assert uptodate.inputs_digest(book, ARGV) != before


def test_files_read_from_extra_roots_count(tmp_path: Path) -> None:
    """Files outside the book that code read (execbook_track_reads_in), from the reads memo."""
    book = tiny_book(tmp_path / "book")
    data = tmp_path / "datasets" / "values.csv"
    data.parent.mkdir()
    data.write_text("1,2,3\n")
    memo = book / uptodate.READS_MEMO
    memo.parent.mkdir(parents=True)
    memo.write_text(json.dumps({"files": {}, "entries": {"k": [1, 2, 3, 4, {str(data): "ab", "helpers.py": "cd"}]}}))
    before = uptodate.inputs_digest(book, ARGV)
    touch_later(data, "4,5,6\n")
    assert uptodate.inputs_digest(book, ARGV) != before


def test_a_strict_build_trusts_only_the_stamp_of_a_strict_build(tmp_path: Path) -> None:
    """A build that warned (a cached failing cell, say) and exited 0 leaves a stamp; a -W build
    must not be answered by it, or the warning would never fail it."""
    book = tiny_book(tmp_path / "book")
    (book / "_build" / "html").mkdir(parents=True)
    strict = [*ARGV, "-W"]
    uptodate.record(book, uptodate.inputs_digest(book, ARGV))
    assert uptodate.is_current(book, ARGV)
    assert not uptodate.is_current(book, strict)
    assert not uptodate.is_current(book, [*ARGV, "--fail-on-warning"])
    uptodate.record(book, uptodate.inputs_digest(book, strict), strict=True)
    assert uptodate.is_current(book, strict)
    assert uptodate.is_current(book, ARGV)
