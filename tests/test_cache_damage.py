"""A damaged or unwritable cache is warned about and worked around, never a crashed build."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from conftest import BuiltBook, run_sphinx, write_book

from execbook.execute.cache import Cache, DamagedEntry

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels

KEY = "ab" * 32


def notebook_for(key: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    notebook.metadata["execbook"] = {"key": key}
    return notebook


# -- the Cache on its own ---------------------------------------------------------


def test_an_entry_that_is_not_utf8_is_damaged_and_replaceable(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.store(KEY, notebook_for(KEY))
    cache.path(KEY).write_bytes(b'{"cells": ["\xff\xfe caf\xe9"]}')
    with pytest.raises(DamagedEntry, match="utf-8"):
        cache.load(KEY)
    cache.discard(KEY)
    assert not cache.path(KEY).exists()
    cache.store(KEY, notebook_for(KEY))
    assert cache.load(KEY).metadata["execbook"]["key"] == KEY


def test_an_entry_that_is_a_folder_is_damaged_discarded_and_replaced(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for partial in (False, True):
        (cache.path(KEY, partial) / "inside").mkdir(parents=True)
        assert not cache.has(KEY)
        with pytest.raises(DamagedEntry):
            cache.load(KEY)
        cache.discard(KEY)
        assert not cache.path(KEY, partial).exists()
    (cache.path(KEY) / "inside").mkdir(parents=True)
    assert cache.store(KEY, notebook_for(KEY)) is True  # the folder was cleared: the caller warns
    assert cache.has(KEY) and cache.load(KEY) is not None
    assert cache.store(KEY, notebook_for(KEY)) is False


def test_a_folder_that_cannot_hold_entries_fails_the_store_not_the_reads(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    (tmp_path / "notebooks").write_text("a file where the entries' folder belongs", encoding="utf-8")
    with pytest.raises(OSError):
        cache.store(KEY, notebook_for(KEY))
    assert not cache.has(KEY)
    with pytest.raises(DamagedEntry):  # a path under a file cannot be read
        cache.load(KEY)
    cache.discard(KEY)  # nothing to remove, and no crash


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_fails_the_store(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.store(KEY, notebook_for(KEY), partial=True)
    folder = cache.path(KEY).parent
    folder.chmod(0o555)
    try:
        with pytest.raises(OSError):
            cache.store(KEY, notebook_for(KEY))
        cache.discard(KEY)  # cannot remove, does not raise
        assert cache.load(KEY) is not None  # the partial entry is still readable
    finally:
        folder.chmod(0o755)


def test_an_entry_whose_cells_were_edited_is_damaged(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    notebook = notebook_for(KEY)
    notebook.cells.append(nbformat.v4.new_code_cell("y = 2"))
    cache.store(KEY, notebook)
    assert "cells_digest" not in notebook.metadata["execbook"]  # the caller's notebook is left as it was
    assert len(cache.load(KEY).cells) == 2
    for edit in (lambda cells: cells.pop(), lambda cells: cells[0].update(source="x = 'edited'")):
        cache.store(KEY, notebook)
        stored = json.loads(cache.path(KEY).read_text(encoding="utf-8"))
        edit(stored["cells"])  # by hand: fewer cells, or another source
        cache.path(KEY).write_text(json.dumps(stored), encoding="utf-8")
        with pytest.raises(DamagedEntry, match="cells do not match its job"):
            cache.load(KEY)


def test_an_entry_written_before_the_cells_digest_is_still_read(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.path(KEY).parent.mkdir(parents=True)
    cache.path(KEY).write_text(nbformat.writes(notebook_for(KEY)), encoding="utf-8")
    assert cache.load(KEY).cells[0].source == "x"


@pytest.mark.parametrize(
    ("content", "good", "problem"),
    [
        ("[1, 2]", {}, "JSON list"),
        ('"text"', {}, "JSON str"),
        (b"\xff\xfe", {}, "cannot be read"),
        (
            '{"a|pytorch": [1.5], "b|numpy": 2, "c|numpy": {"x": 1}, "d|numpy": true, "e|numpy": NaN, "f|numpy": -1}',
            {"b|numpy": 2.0},
            "5 malformed entries ignored",
        ),
        ('{"a|pytorch": 0.5}', {"a|pytorch": 0.5}, ""),
    ],
)
def test_malformed_durations_are_left_out_and_the_good_kept(
    tmp_path: Path, content: str | bytes, good: dict, problem: str
) -> None:
    cache = Cache(tmp_path)
    if isinstance(content, bytes):
        cache.durations_path.write_bytes(content)
    else:
        cache.durations_path.write_text(content, encoding="utf-8")
    durations, found = cache.read_durations()
    assert durations == good and cache.durations() == good
    assert problem in found and bool(found) == bool(problem)
    cache.record_durations({"z|numpy": 1.0})  # rewritten with only what is good
    assert cache.read_durations() == ({**good, "z|numpy": 1.0}, "")


def test_durations_that_are_a_folder(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.durations_path.mkdir(parents=True)
    durations, problem = cache.read_durations()
    assert durations == {} and "cannot be read" in problem
    with pytest.raises(OSError):  # the phase warns about this one
        cache.record_durations({"a|numpy": 1.0})


# -- real builds ------------------------------------------------------------------

PAGE = """
    # {title}

    Some prose.

    ```{{.python .input}}
    #@tab pytorch
    print('{name} torch side')
    ```

    ```{{.python .input}}
    #@tab numpy
    print('{name} numpy side')
    ```
"""


def book(root: Path, conf: str = "") -> Path:
    pages = {
        "index.md": "# Book\n\n```toc\nfirst\nsecond\n```\n",
        "first.md": PAGE.format(title="First", name="first"),
        "second.md": PAGE.format(title="Second", name="second"),
    }
    return write_book(root, pages, conf=conf)


def ran(built: BuiltBook) -> list[tuple[str, str, str]]:
    data = json.loads((built.outdir / ".doctrees" / "execbook" / "report.json").read_text(encoding="utf-8"))
    return sorted((e["page"], e["tab"], e["status"]) for e in data["entries"] if not e["cached"])


def assert_clean(built: BuiltBook) -> None:
    assert built.returncode == 0, built.output
    for crash in ("Traceback", "Extension error", "Exception in thread"):
        assert crash not in built.output, built.output


def assert_outputs(built: BuiltBook) -> None:
    for name in ("first", "second"):
        text = built.main(name).get_text()
        assert f"{name} torch side" in text and f"{name} numpy side" in text


def touch_prose(root: Path, page: str) -> None:
    path = root / page
    path.write_text(path.read_text(encoding="utf-8").replace("Some prose.", "Some more prose."), encoding="utf-8")


@pytest.mark.sphinx
def test_damaged_entries_and_durations_are_warned_about_and_run_again(tmp_path: Path) -> None:
    root = book(tmp_path / "book")
    assert_clean(run_sphinx(root))
    cache = Cache(root / "_build" / ".execbook-cache")
    entries = sorted(cache.root.glob("notebooks/*/*.ipynb"))
    assert len(entries) == 4
    first, second = entries[:2]
    first.write_bytes(b"\x89PNG\r\n\x1a\n not a notebook \xff")  # not UTF-8
    second.unlink()
    (second / "junk").mkdir(parents=True)  # a folder where the entry belongs
    cache.durations_path.write_text('{"first|pytorch": [3], "first|numpy": {"deep": [1]}}', encoding="utf-8")
    touch_prose(root, "first.md")
    touch_prose(root, "second.md")

    again = run_sphinx(root, "-D", "execbook_workers=1")
    assert_clean(again)
    assert_outputs(again)
    assert len(ran(again)) == 2 and all(status == "ok" for *_, status in ran(again))
    warnings = "\n".join(again.warnings)
    assert warnings.count("damaged cache entry") == 2, warnings
    assert "'utf-8' codec can't decode" in warnings
    assert "damaged cache entry (a folder) replaced" in warnings
    assert warnings.count("durations.json: 2 malformed entries ignored") == 1, warnings

    healed = run_sphinx(root)
    assert_clean(healed)
    assert ran(healed) == [] and healed.warnings == []
    assert_outputs(healed)


@pytest.mark.sphinx
def test_an_unwritable_cache_keeps_every_job_and_its_outputs(tmp_path: Path) -> None:
    # the cache's folder for entries is a file: every store fails (also as root, where chmod does not)
    root = book(tmp_path / "book", conf='execbook_cache_dir = "cache"\n')
    (root / "cache").mkdir()
    (root / "cache" / "notebooks").write_text("in the way", encoding="utf-8")

    built = run_sphinx(root, "-D", "execbook_workers=1")  # one worker: its later jobs must still run
    assert_clean(built)
    assert_outputs(built)
    jobs = ran(built)
    assert [(page, status) for page, _, status in jobs] == [("first", "ok")] * 2 + [("second", "ok")] * 2
    warnings = [w for w in built.warnings if "could not be cached" in w]
    assert len(warnings) == 4, built.output
    for page, tab in (("first", "pytorch"), ("first", "numpy"), ("second", "pytorch"), ("second", "numpy")):
        assert any(f"{page}.md" in w and f"[{tab}]" in w and "runs again next build" in w for w in warnings), warnings

    again = run_sphinx(root, "-D", "execbook_workers=1")  # nothing was cached: it all runs again
    assert_clean(again)
    assert len(ran(again)) == 4
    assert_outputs(again)


@pytest.mark.sphinx
def test_an_entry_edited_by_hand_to_fewer_cells_is_run_again(tmp_path: Path) -> None:
    root = book(tmp_path / "book")
    assert_clean(run_sphinx(root))
    cache = Cache(root / "_build" / ".execbook-cache")
    edited = []
    for path in sorted(cache.root.glob("notebooks/*/*.ipynb")):
        entry = json.loads(path.read_text(encoding="utf-8"))
        if entry["metadata"]["execbook"]["docname"] == "first" and entry["metadata"]["execbook"]["tab"] == "numpy":
            entry["cells"] = [cell for cell in entry["cells"] if "numpy side" not in "".join(cell["source"])]
            path.write_text(json.dumps(entry), encoding="utf-8")
            edited.append(path)
    assert len(edited) == 1
    touch_prose(root, "first.md")  # the page is read again, and takes its outputs from the cache

    again = run_sphinx(root)
    assert_clean(again)
    assert_outputs(again)  # the dropped cell is back, run again
    assert ran(again) == [("first", "numpy", "ok")]
    damage = [w for w in again.warnings if "damaged cache entry" in w]
    assert len(damage) == 1 and "first" in damage[0] and "cells do not match its job" in damage[0], again.output
