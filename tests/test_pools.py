"""The pool protocol (issue 17): both pools are one, and naming it imports neither Jupyter nor Dask;
the local pool's choice of the next job."""

from __future__ import annotations

import inspect
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from execbook.execute.cluster import DaskPool
from execbook.execute.jobs import Job, JobCell
from execbook.execute.kernel import KernelSettings
from execbook.execute.pool import LocalPool
from execbook.execute.pools import Pool
from execbook.execute.workers import WorkerSpec

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels


def test_both_pools_are_pools(tmp_path: Path) -> None:
    local = LocalPool([], tmp_path, tmp_path / "logs")
    dask = DaskPool("tcp://127.0.0.1:1", tmp_path, tmp_path, shared_fs=True, gpus_per_job=0, limit_mb=1)
    assert isinstance(local, Pool) and isinstance(dask, Pool)
    expected = list(inspect.signature(Pool.run).parameters)
    assert list(inspect.signature(LocalPool.run).parameters) == expected
    assert list(inspect.signature(DaskPool.run).parameters) == expected


def test_the_protocol_is_light() -> None:
    code = (
        "import sys, execbook.execute.pools; "
        "print(sorted(m for m in ('jupyter_client', 'nbclient', 'distributed', 'zmq') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


class FakeServer:
    """What job selection asks of a fork server."""

    def __init__(self, imports: tuple[str, ...], usable: bool = True):
        self.imports = imports
        self.is_usable = usable

    def usable(self) -> bool:
        return self.is_usable


def job(name: str, first_cell: str) -> Job:
    return Job(name, f"{name}.md", "pytorch", "python3", (JobCell(0, 1, first_cell),))


def test_a_worker_takes_a_job_its_spare_kernel_was_started_for(tmp_path: Path) -> None:
    """Another worker may take the job a spare was started for: one of the next
    few jobs that the spare suits goes first, else the queue's order holds."""
    pool = LocalPool([WorkerSpec("cpu0"), WorkerSpec("cpu1")], tmp_path, tmp_path / "logs")
    torch, d2l, plain = "import torch\nx = 1", "from d2l import torch as d2l\nimport torch", "x = 1"
    queue = [job("a", torch), job("b", plain), job("c", d2l), job("d", d2l), job("e", torch)]
    d2l_spare = ("python3", FakeServer(("from d2l import torch as d2l",)), object())
    assert pool._take(queue, d2l_spare).docname == "c"  # type: ignore[arg-type, union-attr]
    assert [j.docname for j in queue] == ["a", "b", "d", "e"]
    cold_spare = ("python3", None, object())
    assert pool._take(queue, cold_spare).docname == "b"  # type: ignore[arg-type, union-attr]  # preloads nothing
    assert pool._take(queue, d2l_spare).docname == "d"  # type: ignore[arg-type, union-attr]
    broken = ("python3", FakeServer(("import torch",), usable=False), object())
    assert pool._take(queue, broken).docname == "a"  # type: ignore[arg-type, union-attr]  # the order holds
    far = [job(name, torch) for name in "fgh"] + [job("i", d2l)]
    assert pool._take(far, d2l_spare).docname == "f"  # type: ignore[arg-type, union-attr]  # beyond the next 3
    assert pool._take([], d2l_spare) is None  # type: ignore[arg-type]
    pool.stopping.set()
    assert pool._take(far, None) is None


@pytest.mark.sphinx  # real fork servers: not a pure unit test
def test_workers_with_the_same_environment_share_a_server_until_the_last_one_leaves(tmp_path: Path) -> None:
    """Two CPU workers import a page's modules once between them; a worker
    with another environment (another GPU) gets a server of its own."""
    cpu = {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cpu0, cpu1, gpu = (
        WorkerSpec("cpu0", cpu),
        WorkerSpec("cpu1", dict(cpu)),
        WorkerSpec("gpu1", {"CUDA_VISIBLE_DEVICES": "1"}),
    )
    pool = LocalPool([cpu0, cpu1, gpu], tmp_path, tmp_path / "logs")
    jobs = [job(name, "import json\nimport math\nx = 1") for name in "abcd"]
    try:
        first = pool._server(cpu0, jobs[0], jobs[1:])
        assert first is not None and first.imports == ("import json", "import math")
        assert pool._server(cpu1, jobs[1], jobs[2:]) is first
        other = pool._server(gpu, jobs[2], jobs[3:])
        assert other is not None and other is not first
        pool._close_servers("cpu0")
        assert first.process.poll() is None  # cpu1 still uses it
        assert pool._server(cpu0, jobs[3], []) is first  # and cpu0 may come back to it
        pool._close_servers("cpu0")
        pool._close_servers("cpu1")
        assert first.process.wait(10) is not None
        assert other.process.poll() is None
        assert len(list((tmp_path / "logs").glob("*forkserver*.log"))) == 2
    finally:
        pool.stop()
    assert other.process.wait(10) is not None


@pytest.mark.sphinx  # a real fork server: not a pure unit test
def test_a_server_another_worker_starts_meanwhile_is_shared_not_taken_for_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers taking their first jobs at once: the other worker starts the
    server between this worker's look for one and its own start of one. It
    was taken for a server that had failed, and this worker's job got a cold
    kernel (its imports paid twice: seen once in CI)."""
    cpu = {"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cpu0, cpu1 = WorkerSpec("cpu0", cpu), WorkerSpec("cpu1", dict(cpu))
    pool = LocalPool([cpu0, cpu1], tmp_path, tmp_path / "logs")
    a, b, c = (job(name, "import json\nx = 1") for name in "abc")
    shared = pool._shared
    started: list[object] = []

    def other_worker_first(this: Job, jobs: list[Job]) -> tuple[str, ...]:
        if this is a and not started:  # cpu1 takes b and starts the server, right now
            started.append(pool._server(cpu1, b, [c]))
        return shared(this, jobs)

    monkeypatch.setattr(pool, "_shared", other_worker_first)
    try:
        mine = pool._server(cpu0, a, [c])
        assert started and started[0] is not None
        assert mine is started[0]
        assert len(list((tmp_path / "logs").glob("*forkserver*.log"))) == 1
    finally:
        pool.stop()


def test_a_worker_runs_its_job_while_its_next_kernel_starts(tmp_path: Path) -> None:
    """The spare kernel for the next job is launched on a thread of its own: a
    launch that does not return until the current job has finished (a slow
    machine, a slow fork) neither holds that job back nor goes unused."""
    job_done = threading.Event()
    spares: list[bool] = []  # per spare launch: did the job before it finish while it was launching
    cold = KernelSettings(preload_imports=False)
    pool = LocalPool([WorkerSpec("cpu0", {})], tmp_path, tmp_path / "logs", settings=cold)
    launch = pool._start
    launched: list[str] = []

    def slow_launch(spec: WorkerSpec, kernel: str, log_name: str, server: object = None) -> object:
        if log_name.endswith("-next"):
            spares.append(job_done.wait(30))
        launched.append(log_name)
        return launch(spec, kernel, log_name, server)  # type: ignore[arg-type]

    pool._start = slow_launch  # type: ignore[method-assign]
    results = []

    def done(result: object) -> None:
        results.append(result)
        job_done.set()

    pool.run([job("a", "x = 1\nx"), job("b", "y = 2\ny")], done)  # type: ignore[arg-type]
    assert [(result.job.docname, result.status) for result in results] == [("a", "ok"), ("b", "ok")]  # type: ignore[attr-defined]
    assert spares == [True]
    assert len(launched) == 2  # a's kernel, then the spare that b ran in


def test_a_worker_ended_by_a_bug_leaves_no_kernel_or_thread(tmp_path: Path) -> None:
    """Whatever ends a worker (here a failure choosing its next job), its
    spare kernel is shut down and its starter thread ends with it."""
    cold = KernelSettings(preload_imports=False)
    pool = LocalPool([WorkerSpec("cpu0", {})], tmp_path, tmp_path / "logs", settings=cold)
    take = pool._take
    taken: list[str] = []

    def failing_take(queue: list[Job], spare: object) -> Job | None:
        if taken:
            raise RuntimeError("a bug choosing the next job")
        job = take(queue, spare)  # type: ignore[arg-type]
        taken.append(job.docname if job else "")
        return job

    pool._take = failing_take  # type: ignore[method-assign]
    results: list[object] = []
    errors: list[BaseException] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)  # type: ignore[assignment]
    try:
        pool.run([job("a", "x = 1"), job("b", "y = 2")], results.append)
    finally:
        threading.excepthook = previous_hook
    assert taken == ["a"] and len(results) == 1 and [str(error) for error in errors] == ["a bug choosing the next job"]
    assert not pool.live  # a's kernel and the spare started for b: both shut down
    assert not [thread.name for thread in threading.enumerate() if thread.name.endswith("-starter")]
