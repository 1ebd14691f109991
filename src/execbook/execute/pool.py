"""The local pool: one thread per worker, each driving one kernel at a time.

Kernels are separate processes, so threads are enough for parallelism; the
next kernel is started while the current job runs, hiding its start-up.
Ctrl-C, SIGTERM and SIGHUP kill every kernel (its whole process tree) before
they propagate.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from jupyter_client import AsyncKernelManager

from execbook.execute.jobs import Job
from execbook.execute.kernel import KernelSettings, new_kernel_manager, run_in_fresh_kernel, shutdown
from execbook.execute.results import JobResult
from execbook.execute.workers import WorkerSpec


@contextlib.contextmanager
def stop_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP end the build as Ctrl-C does (every kernel killed
    first); by default they would end the process and leave its kernels running."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signals = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, terminate) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class LocalPool:
    def __init__(
        self, workers: list[WorkerSpec], tree: Path, logs: Path, libdir: Path | None = None, settings: KernelSettings = KernelSettings()
    ):
        self.workers = workers
        self.settings = settings
        self.tree = tree
        self.libdir = libdir
        self.logs = logs
        self.lock = threading.Lock()
        self.live: set[AsyncKernelManager] = set()
        self.stopping = threading.Event()
        self.reapers: list[threading.Thread] = []

    def run(
        self,
        jobs: list[Job],
        on_done: Callable[[JobResult], None],
        on_start: Callable[[Job, str], None] = lambda job, worker: None,
        epoch: float | None = None,
    ) -> None:
        """Run ``jobs`` in the given order (longest first is the caller's choice)."""
        queue = list(jobs)
        epoch = time.monotonic() if epoch is None else epoch
        threads = [
            threading.Thread(target=self._work, args=(spec, queue, on_done, on_start, epoch), name=spec.name, daemon=True)
            for spec in self.workers[: max(1, len(jobs))]
        ]
        for thread in threads:
            thread.start()
        try:
            with stop_on_termination():
                for thread in threads + self.reapers:
                    while thread.is_alive():
                        thread.join(0.2)  # short joins keep Ctrl-C and SIGTERM responsive
            for reaper in list(self.reapers):
                reaper.join(10)
        except BaseException:
            self.stop()
            for thread in threads:
                thread.join(10)
            raise

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            managers = list(self.live)
        for manager in managers:
            shutdown(manager)

    def _start(self, spec: WorkerSpec, kernel: str, log_name: str) -> AsyncKernelManager:
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **spec.env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        manager = new_kernel_manager(kernel, self.tree, env, self.logs / f"{log_name}.log")
        with self.lock:  # stop() may have run while this kernel was starting: it must not escape it
            if not self.stopping.is_set():
                self.live.add(manager)
                return manager
        shutdown(manager)
        raise RuntimeError("the build was interrupted")

    def _try_start(self, spec: WorkerSpec, kernel: str, log_name: str) -> tuple[str, AsyncKernelManager] | None:
        """A spare kernel for the next job; a failure shows up when that job starts it."""
        try:
            return kernel, self._start(spec, kernel, log_name)
        except Exception:
            return None

    def _forget(self, manager: AsyncKernelManager) -> None:
        with self.lock:
            self.live.discard(manager)

    def _retire(self, manager: AsyncKernelManager) -> None:
        """Shut a used kernel down off the critical path (it takes 0.1 s)."""

        def reap() -> None:
            shutdown(manager)
            self._forget(manager)

        reaper = threading.Thread(target=reap, daemon=True)
        reaper.start()
        self.reapers.append(reaper)

    def _next(self, queue: list[Job]) -> Job | None:
        with self.lock:
            return queue.pop(0) if queue and not self.stopping.is_set() else None

    def _peek_kernel(self, queue: list[Job]) -> str | None:
        with self.lock:
            return queue[0].kernel if queue and not self.stopping.is_set() else None

    def _work(
        self,
        spec: WorkerSpec,
        queue: list[Job],
        on_done: Callable[[JobResult], None],
        on_start: Callable[[Job, str], None],
        epoch: float,
    ) -> None:
        spare: tuple[str, AsyncKernelManager] | None = None
        while (job := self._next(queue)) is not None:
            start = time.monotonic()
            try:
                on_start(job, spec.name)
                first = None
                if spare is not None and spare[0] == job.kernel:
                    first, spare = spare[1], None
                upcoming = self._peek_kernel(queue)
                if upcoming is not None and spare is None:
                    spare = self._try_start(spec, upcoming, f"{spec.name}-{int(start * 1000)}-next")
                attempts = iter(range(self.settings.start_tries))
                status, notebook, errors, message = run_in_fresh_kernel(
                    job, lambda: self._start(spec, job.kernel, f"{spec.name}-{int(start * 1000)}-{next(attempts)}"),
                    self._retire, self.tree, self.libdir, self.settings, first,
                )
            except Exception as error:  # a bug of ours must cost this job, not the worker's remaining jobs
                status, notebook, errors, message = "dead", None, [], f"the job could not run: {type(error).__name__}: {error}"
            if self.stopping.is_set() and status != "ok":
                status, message = "interrupted", "the build was interrupted"
            result = JobResult(job, status, notebook, spec.name, start - epoch, time.monotonic() - start, errors, message)
            try:
                on_done(result)
            except Exception as error:  # noqa: BLE001 - the job ran; its bookkeeping failing must not stop the worker
                print(f"execbook: {job.path} ({job.tab}): could not record the result: {type(error).__name__}: {error}", file=sys.stderr)
        if spare is not None:
            self._retire(spare[1])
