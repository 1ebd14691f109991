"""Pure parts of execution: job keys, worker plans, the cache, merging outputs."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import nbformat
import pytest

from execbook.execute.cache import Cache, DamagedEntry
from execbook.execute.jobs import ExecOptions, job_notebook, jobs_for
from execbook.execute.workers import THREAD_VARIABLES, plan_workers
from execbook.source.notebooks import outputs_by_cell, rendered_notebook
from execbook.source.syntax import parse

PAGE = """# Page

Some prose.

```{.python .input}
#@tab all
import math
```

```{.python .input}
x = 1
```

```{.python .input}
#@tab numpy
y = 2
```
"""


def keys(text: str) -> dict[str, str]:
    doc = parse(text, ["pytorch", "numpy"])
    return {job.tab: job.key for job in jobs_for("p", "p.md", doc, {}, ExecOptions())}


def test_one_job_per_framework_with_its_cells_in_order() -> None:
    jobs = jobs_for("ch/p", "ch/p.md", parse(PAGE, ["pytorch", "numpy"]), {"numpy": "np-kernel"}, ExecOptions())
    assert [(job.tab, [c.source for c in job.cells], job.kernel) for job in jobs] == [
        ("pytorch", ["import math", "x = 1"], "python3"),
        ("numpy", ["import math", "y = 2"], "np-kernel"),
    ]
    assert jobs[0].workdir == "ch"


def test_prose_edits_keep_every_key() -> None:
    assert keys(PAGE.replace("Some prose.", "Other prose, longer.\n\nMore.")) == keys(PAGE)


def test_editing_one_frameworks_code_changes_only_its_key() -> None:
    before, after = keys(PAGE), keys(PAGE.replace("y = 2", "y = 3"))
    assert after["pytorch"] == before["pytorch"]
    assert after["numpy"] != before["numpy"]


def test_shared_cell_edit_changes_both_keys_and_options_count() -> None:
    before, after = keys(PAGE), keys(PAGE.replace("import math", "import cmath"))
    assert after["pytorch"] != before["pytorch"] and after["numpy"] != before["numpy"]
    doc = parse(PAGE, ["pytorch", "numpy"])
    short = jobs_for("p", "p.md", doc, {}, ExecOptions(timeout=5))[0]
    assert short.key != jobs_for("p", "p.md", doc, {}, ExecOptions())[0].key


def test_front_matter_sets_the_pages_timeout() -> None:
    page = "---\nexecbook:\n  timeout: 7\n---\n" + PAGE
    jobs = jobs_for("p", "p.md", parse(page, ["pytorch", "numpy"]), {}, ExecOptions(timeout=1200))
    assert {job.options.timeout for job in jobs} == {7}
    bad = jobs_for("p", "p.md", parse(page.replace("7", "soon"), ["pytorch"]), {}, ExecOptions(timeout=1200))
    assert bad[0].options.timeout == 1200


def test_outputs_merge_back_per_framework() -> None:
    doc = parse(PAGE, ["pytorch", "numpy"])
    executed = {}
    for job in jobs_for("p", "p.md", doc, {}, ExecOptions()):
        notebook = job_notebook(job)
        for cell in notebook.cells:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{job.tab}: {cell.source}\n")]
        executed[job.tab] = notebook
    assert outputs_by_cell(executed["numpy"])[3][0]["text"] == "numpy: y = 2\n"
    page = rendered_notebook(doc, executed)
    code = [
        (cell.metadata["execbook"]["tabs"], cell.outputs[0]["text"]) for cell in page.cells if cell.cell_type == "code"
    ]
    # the shared cell printed different things per tab, so it is split
    assert code == [
        (["pytorch"], "pytorch: import math\n"),
        (["numpy"], "numpy: import math\n"),
        (["pytorch"], "pytorch: x = 1\n"),
        (["numpy"], "numpy: y = 2\n"),
    ]


def test_identical_outputs_keep_a_shared_cell_whole() -> None:
    doc = parse(PAGE, ["pytorch", "numpy"])
    executed = {}
    for job in jobs_for("p", "p.md", doc, {}, ExecOptions()):
        notebook = job_notebook(job)
        executed[job.tab] = notebook
    page = rendered_notebook(doc, executed)
    assert page.cells[1].metadata["execbook"]["tabs"] == ["pytorch", "numpy"]


@pytest.mark.parametrize(
    ("setting", "gpus", "expected"),
    [
        ("auto", ["0", "1"], [("gpu0", "0"), ("gpu1", "1")]),
        ([2, 3], [], [("gpu2", "2"), ("gpu3", "3")]),
        (3, ["0"], [("gpu0-0", "0"), ("gpu0-1", "0"), ("gpu0-2", "0")]),
    ],
)
def test_gpu_workers_are_pinned(setting: object, gpus: list[str], expected: list[tuple[str, str]]) -> None:
    workers = plan_workers(setting, cores=8, gpus=gpus)
    assert [(w.name, w.env["CUDA_VISIBLE_DEVICES"]) for w in workers] == expected


def test_cpu_workers_share_the_cores() -> None:
    workers = plan_workers("auto", cores=8, gpus=[])
    assert len(workers) == 8 and all(w.env["OMP_NUM_THREADS"] == "1" for w in workers)
    two = plan_workers(2, cores=8, gpus=[])
    assert [w.env[name] for w in two for name in THREAD_VARIABLES] == ["4"] * 2 * len(THREAD_VARIABLES)
    assert two[0].env["CUDA_VISIBLE_DEVICES"] == ""


def notebook_for(key: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    notebook.metadata["execbook"] = {"key": key}
    return notebook


def test_cache_round_trip_partial_and_damage(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.load("ab" * 32) is None
    cache.store("ab" * 32, notebook_for("ab" * 32), partial=True)
    assert not cache.has("ab" * 32)  # a partial entry runs again
    assert cache.load("ab" * 32) is not None  # ... but its outputs can be shown
    cache.store("ab" * 32, notebook_for("ab" * 32))
    assert cache.has("ab" * 32) and not cache.path("ab" * 32, partial=True).exists()
    cache.path("ab" * 32).write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(DamagedEntry):
        cache.load("ab" * 32)
    cache.store("cd" * 32, notebook_for("ef" * 32))  # an entry under the wrong name
    with pytest.raises(DamagedEntry):
        cache.load("cd" * 32)


def test_concurrent_writers_leave_a_whole_entry(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = "12" * 32
    big = notebook_for(key)
    big.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 200_000)]
    threads = [threading.Thread(target=cache.store, args=(key, big)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.load(key).cells[0].outputs[0]["text"] == "x" * 200_000
    assert [p.name for p in cache.path(key).parent.iterdir()] == [cache.path(key).name]


def test_durations_are_remembered(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.record_durations({"a|pytorch": 2.5})
    cache.record_durations({"b|numpy": 1.0})
    assert cache.durations() == {"a|pytorch": 2.5, "b|numpy": 1.0}
    cache.durations_path.write_text("not json", encoding="utf-8")
    assert cache.durations() == {}


def test_dask_payload_holds_the_book_and_refuses_what_is_too_big(tmp_path: Path) -> None:
    import io
    import zipfile

    from execbook.execute.cluster import DaskError, zip_folders

    (tmp_path / "tree" / "data").mkdir(parents=True)
    (tmp_path / "tree" / "data" / "x.csv").write_text("a,b\n")
    (tmp_path / "lib" / "pkg").mkdir(parents=True)
    (tmp_path / "lib" / "pkg" / "torch.py").write_text("x = 1\n")
    payload = zip_folders({"tree": tmp_path / "tree", "lib": tmp_path / "lib"}, limit_mb=1)
    assert sorted(zipfile.ZipFile(io.BytesIO(payload)).namelist()) == ["lib/pkg/torch.py", "tree/data/x.csv"]
    (tmp_path / "tree" / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    with pytest.raises(DaskError, match="over execbook_dask_max_payload_mb = 1"):
        zip_folders({"tree": tmp_path / "tree"}, limit_mb=1)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_an_ignored_hangup_stays_ignored_while_jobs_run() -> None:
    """Under nohup a build must outlive its terminal; SIGTERM still stops the kernels first."""
    from execbook.execute.pool import stop_on_termination

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stop_on_termination():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert callable(signal.getsignal(signal.SIGTERM))
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with stop_on_termination():
            assert callable(signal.getsignal(signal.SIGHUP))
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, before)
