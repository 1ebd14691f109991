"""Whole after any crash (issue 36, item 4): a build killed (SIGKILL of its process
group) while it runs code, while it writes pages, or while its forked copy writes
the site's notebooks is followed by a build whose site equals a clean build's:
the same pages, the same search index (parsed), the same HTML and notebooks.

Each kill lands at a fixed point: the book's conf.py (or a cell) waits there, after
creating a marker file, when CRASH_HOLD names the stage; the test polls for the
marker, then kills."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import end_processes, processes_under, run_sphinx, sigint_at_default, write_book

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels

PAGES = 10  # more than site_notebooks.FORK_AT, so the notebooks are written by a forked copy

CONF = """
execbook_cache_dir = {cache!r}
import os, pathlib, time

def hold(mark):
    pathlib.Path(mark).touch()
    time.sleep(600)  # until the test kills the build

def setup(app):
    stage, _, mark = os.environ.get("CRASH_HOLD", "").partition(":")
    def page(app, pagename, *args):
        if pagename != "p3":
            return
        if stage == "fork":  # the forked copy is writing notebooks beside this page
            notebooks = pathlib.Path(app.outdir, "notebooks")
            while not list(notebooks.rglob("*.ipynb")):
                time.sleep(0.02)
        if stage in ("writing", "fork"):
            hold(mark)
    app.connect("html-page-context", page)
"""

PAGE = """
# Page {n}

Words of page {n}: {word}.

```{{.python .input}}
import os, pathlib, time
stage, _, mark = os.environ.get("CRASH_HOLD", "").partition(":")
if stage == "execute" and {n} == 5:
    pathlib.Path(mark).touch()
    time.sleep(600)
print("page {n} ran")
```
"""

WORDS = ["apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel", "ice", "juniper"]
# build ids, dates, and the ?v= of a static file (Sphinx adds it only when the file was copied before the page)
STATIC_VERSION = re.compile(r"\?v=\w+")
BUILD_IDS = re.compile(r"(digest=|DOCUMENTATION_OPTIONS\.BUILD_ID = )[\w.\"']+|\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?")


def crash_book(root: Path, cache: Path) -> Path:
    pages = {"index.md": "# Book\n\n```toc\n" + "\n".join(f"p{n}" for n in range(PAGES)) + "\n```\n"}
    for n in range(PAGES):
        pages[f"p{n}.md"] = PAGE.format(n=n, word=WORDS[n])
    return write_book(root, pages, conf=CONF.format(cache=str(cache)), tabs=("python",))


def kill_at(root: Path, stage: str) -> None:
    """Start a build, wait for it to reach ``stage``, SIGKILL its process group."""
    mark = root.parent / f"reached-{stage}"
    build = subprocess.Popen(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(root), str(root / "_build" / "html")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CRASH_HOLD": f"{stage}:{mark}", "PYTHONWARNINGS": "ignore"},
        start_new_session=True,
        preexec_fn=sigint_at_default,
    )
    try:
        deadline = time.monotonic() + 300
        while not mark.exists():
            assert build.poll() is None, build.communicate()[0]
            assert time.monotonic() < deadline, f"the build never reached {stage}"
            time.sleep(0.05)
        os.killpg(build.pid, signal.SIGKILL)
        build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.communicate(timeout=60)
        end_processes(processes_under(root))  # kernels of another session


def site(root: Path) -> dict[str, object]:
    """What a reader gets: pages (build ids masked), notebooks, the search index parsed."""
    from sphinx.search import js_index

    html = root / "_build" / "html"
    pages = {
        str(path.relative_to(html)): BUILD_IDS.sub("<id>", STATIC_VERSION.sub("", path.read_text(encoding="utf-8")))
        for path in sorted(html.rglob("*.html"))
        if path.name != "execbook-report.html"  # what each build ran and when: a report of the build, not the book
    }
    notebooks = {
        str(path.relative_to(html)): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((html / "notebooks").rglob("*.ipynb"))
    }
    index = js_index.loads((html / "searchindex.js").read_text(encoding="utf-8"))
    return {"pages": pages, "notebooks": notebooks, "index": index}


@pytest.mark.sphinx
@pytest.mark.parametrize("stage", ["execute", "writing", "fork"])
def test_a_killed_build_is_followed_by_a_whole_site(tmp_path: Path, stage: str) -> None:
    root = crash_book(tmp_path / "book", tmp_path / "cache")
    kill_at(root, stage)
    assert not (root / "_build" / "html" / "searchindex.js").exists()  # killed before the index was written

    after = run_sphinx(root)
    assert after.returncode == 0, after.output
    assert "couldn't be loaded" not in after.output, after.output
    assert run_sphinx(root).returncode == 0  # and it stays whole
    recovered = site(root)

    shutil.rmtree(root / "_build")
    clean = run_sphinx(root)
    assert clean.returncode == 0, clean.output
    expected = site(root)
    assert len(expected["pages"]) >= PAGES + 1 and len(expected["notebooks"]) == PAGES + 1
    assert sorted(expected["index"]["docnames"]) == ["index", *(f"p{n}" for n in range(PAGES))]
    assert recovered["pages"].keys() == expected["pages"].keys()
    assert recovered["index"] == expected["index"]
    for page, text in expected["pages"].items():
        differs = [line for line in difflib.unified_diff(text.splitlines(), recovered["pages"][page].splitlines(), n=0)]
        assert not differs, page + "\n" + "\n".join(differs[:12])
    assert recovered["notebooks"] == expected["notebooks"]
