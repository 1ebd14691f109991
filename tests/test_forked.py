"""forked.py, and the site's notebooks written by a forked copy of the build
while Sphinx writes the pages (site_notebooks.py)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest
from conftest import build_in_process, write_book

from execbook.html import forked, site_notebooks

# --- forked.py ---


def test_the_child_hands_back_its_result_and_what_it_logged(caplog: pytest.LogCaptureFixture) -> None:
    parent = os.getpid()

    def work() -> dict:
        logging.getLogger("sphinx.execbook.test").warning("from the child %s", "here", extra={"location": ("a", 3)})
        return {"pid": os.getpid(), "text": "é"}

    child = forked.start(work)
    assert child is not None
    answer = child.result()
    assert answer is not None
    result, records = answer
    assert result["pid"] != parent and result["text"] == "é"
    assert records == [{"level": logging.WARNING, "message": "from the child here", "location": ["a", 3]}]
    assert not caplog.records  # the child printed nothing itself: its handlers were replaced


def test_a_child_that_fails_gives_none() -> None:
    def broken() -> None:
        raise RuntimeError("no")

    for work in (broken, lambda: {"not json": object()}):
        child = forked.start(work)
        assert child is not None and child.result() is None


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert forked.start(lambda: 1) is None  # the thread could hold a lock the child would need
    finally:
        stop.set()
        thread.join()
    child = forked.start(lambda: 1)
    assert child is not None and child.result() == (1, [])


def test_cancel_ends_the_child() -> None:
    child = forked.start(lambda: time.sleep(60))
    assert child is not None
    child.cancel()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(child.pid, os.WNOHANG)


# --- the site's notebooks ---

PAGE = """
# Page {n}
:label:`sec_p{n}`

Prose about :numref:`fig_p{n}`, and :numref:`sec_p{other}` elsewhere.

![A box.](img/box.svg)
:label:`fig_p{n}`

```{{.python .input}}
#@tab pytorch
x = {n}
```

```{{.python .input}}
#@tab numpy
y = {n}
```
"""
PAGES = 9  # at least site_notebooks.FORK_AT, so that the build forks


def book(root: Path) -> Path:
    pages = {"index.md": "# Book\n\n```toc\n:numbered:\n" + "\n".join(f"p{n}" for n in range(PAGES)) + "\n```\n"}
    pages.update({f"p{n}.md": PAGE.format(n=n, other=(n + 1) % PAGES) for n in range(PAGES)})
    pages["img/box.svg"] = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n'
    return write_book(root, pages, conf='execbook_execute = "off"\n')


def notebooks(site: Path) -> dict[str, bytes]:
    folder = site / "notebooks"
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*.ipynb"))}


def counting_forks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    made: list[object] = []
    start = forked.start

    def counted(work: object) -> object:
        made.append(start(work))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(forked, "start", counted)
    return made


@pytest.mark.sphinx
def test_notebooks_written_beside_sphinx_are_those_written_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forks = counting_forks(monkeypatch)
    beside = build_in_process(book(tmp_path / "beside"))
    assert beside.returncode == 0, beside.output
    assert len(forks) == 1 and forks[0] is not None
    written = notebooks(beside.outdir)
    assert len(written) == 2 * (PAGES + 1)
    assert "Fig. 3" in written["pytorch/p2.ipynb"].decode()  # numbers from the finished environment
    monkeypatch.setattr(site_notebooks, "FORK_AT", 10**9)
    after = build_in_process(book(tmp_path / "after"))
    assert len(forks) == 1  # no fork this time
    assert notebooks(after.outdir) == written


@pytest.mark.sphinx
def test_a_failing_child_leaves_the_notebooks_to_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent, write = os.getpid(), site_notebooks.write_planned

    def fails_in_the_child(app: object, plan: object) -> object:
        if os.getpid() != parent:
            raise MemoryError
        return write(app, plan)  # type: ignore[arg-type]

    forks = counting_forks(monkeypatch)
    monkeypatch.setattr(site_notebooks, "write_planned", fails_in_the_child)
    built = build_in_process(book(tmp_path / "book"))
    assert built.returncode == 0 and "WARNING" not in built.output, built.output
    assert len(forks) == 1 and forks[0] is not None
    assert len(notebooks(built.outdir)) == 2 * (PAGES + 1)


@pytest.mark.sphinx
def test_what_the_child_warns_the_build_warns_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sphinx.util import logging as sphinx_logging

    write_page = site_notebooks.write_page

    def warns(app: object, refs: object, docname: str, *args: object) -> object:
        if docname == "p4":
            sphinx_logging.getLogger("execbook.test").warning("a problem in p4", location=(docname, 7))
        if docname == "p5":
            raise ValueError("p5 cannot be written")
        return write_page(app, refs, docname, *args)  # type: ignore[arg-type]

    forks = counting_forks(monkeypatch)
    monkeypatch.setattr(site_notebooks, "write_page", warns)
    built = build_in_process(book(tmp_path / "book"))
    assert len(forks) == 1 and forks[0] is not None
    lines = [line for line in built.output.splitlines() if "WARNING" in line]
    assert len(lines) == 2, built.output
    assert lines[0].endswith("p4.md:7: WARNING: a problem in p4")
    assert "p5.md: WARNING: its notebooks could not be written (ValueError: p5 cannot be written)" in lines[1]
    assert not (built.outdir / "notebooks" / "pytorch" / "p5.ipynb").exists()
