"""The local pool: one thread per worker, each driving one kernel at a time.

Kernels are separate processes, so threads are enough for parallelism; the
next kernel is started while the current job runs, hiding its start-up. Where
jobs share their leading imports, kernels are forked from a server that did
those imports once (forkserver.py, ``execbook_preload_imports``).
Ctrl-C, SIGTERM and SIGHUP kill every kernel (its whole process tree) before
they propagate.

Longer than most modules on purpose: the worker threads, their spare kernels and the
signal handling that kills them all share one lock and one stop flag.
"""

from __future__ import annotations

import contextlib
import os
import queue as queues
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

from jupyter_client import AsyncKernelManager

from execbook.execute.forkserver import ForkServer, fork_python, leading_imports, shadowed
from execbook.execute.jobs import Job
from execbook.execute.kernel import (
    KernelSettings,
    ipc_address,
    kill_tree,
    new_kernel_manager,
    run_in_fresh_kernel,
    shutdown,
)
from execbook.execute.pools import Pool
from execbook.execute.results import JobResult, Status
from execbook.execute.workers import WorkerSpec

MAX_SERVERS = 2  # fork servers a worker keeps at once (each holds its imports in memory)
ServerKey = tuple[tuple[tuple[str, str], ...], str, tuple[str, ...]]  # workers' environment, kernel, imports
# a kernel started ahead: its kernel name, its server, the kernel once launched (None: the launch failed)
Spare = tuple[str, ForkServer | None, "Future[AsyncKernelManager | None]"]


def starts_with(imports: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    """``imports`` begins with the statements ``prefix`` (a server's: never empty)."""
    return bool(prefix) and imports[: len(prefix)] == prefix


@contextlib.contextmanager
def stop_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP end the build as Ctrl-C does (every kernel killed
    first); by default they would end the process and leave its kernels running.
    A signal the process ignores stays ignored: under ``nohup`` a build goes
    on when its terminal closes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signals = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    signals = [signum for signum in signals if signal.getsignal(signum) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, terminate) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Starter:
    """Starts a worker's spare kernels on a thread of its own, so that the
    worker's job runs meanwhile: launching a kernel blocks its thread for
    15-20 ms (a process to spawn, a connection file, and a fixed 10 ms sleep
    in jupyter_client's ``in_pending_state``), which on a page of short cells
    is a tenth of the job. One thread per worker, not one per kernel: it
    keeps one event loop for all its starts."""

    def __init__(self, name: str) -> None:
        self.requests: queues.SimpleQueue[tuple[Callable[[], AsyncKernelManager | None], Future] | None] = (
            queues.SimpleQueue()
        )
        # a daemon: a start still under way must not hold the interpreter's exit (an executor's threads would)
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def submit(self, start: Callable[[], AsyncKernelManager | None]) -> Future[AsyncKernelManager | None]:
        future: Future[AsyncKernelManager | None] = Future()
        self.requests.put((start, future))
        return future

    def _serve(self) -> None:
        while (request := self.requests.get()) is not None:
            start, future = request
            try:
                future.set_result(start())
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits for the kernel
                future.set_exception(error)

    def close(self, timeout: float = 10) -> None:
        """End the thread once the starts asked for are done (a launch takes
        milliseconds: a thread left behind would stop the site notebooks' fork)."""
        self.requests.put(None)
        self.thread.join(timeout)


class LocalPool(Pool):
    """One thread per worker (``WorkerSpec``) of this machine, each running one job at a time."""

    def __init__(
        self,
        workers: list[WorkerSpec],
        tree: Path,
        logs: Path,
        libdir: Path | None = None,
        settings: KernelSettings = KernelSettings(),
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
        self.servers: dict[ServerKey, tuple[ForkServer, set[str]]] = {}  # with its users; closed when none is left
        self.started_servers = 0
        self.prefixes: dict[str, tuple[str, ...]] = {}  # job id -> its leading imports, () for a cold kernel
        self.forkable: dict[str, bool] = {}  # kernel -> can be forked
        self.warned = False

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
            threading.Thread(
                target=self._work, args=(spec, queue, on_done, on_start, epoch), name=spec.name, daemon=True
            )
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
            deadline = time.monotonic() + 10  # the kernels are dead: what is left is closing their sockets
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            for reaper in list(self.reapers):  # workers retire their kernels as they end
                reaper.join(max(0.0, deadline - time.monotonic()))
            raise

    def stop(self) -> None:
        """Kill every kernel's process tree and every fork server now.

        Closing a kernel's sockets and files is left to the thread that uses
        it (its worker, which sees the kernel die within a second, then a
        reaper): zmq's context, destroyed from this thread while a worker's
        client still polls its sockets, can block for good (it did, for about
        1 SIGTERM in 7)."""
        self.stopping.set()
        with self.lock:
            managers = list(self.live)
        for manager in managers:
            kill_tree(manager)
        self._close_servers(None)

    @staticmethod
    def _env(spec: WorkerSpec) -> dict[str, str]:
        return {**os.environ, **spec.env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

    def _start(
        self, spec: WorkerSpec, kernel: str, log_name: str, server: ForkServer | None = None
    ) -> AsyncKernelManager:
        self.logs.mkdir(parents=True, exist_ok=True)
        manager = new_kernel_manager(kernel, self.tree, self._env(spec), self.logs / f"{log_name}.log", fork=server)
        with self.lock:  # stop() may have run while this kernel was starting: it must not escape it
            if not self.stopping.is_set():
                self.live.add(manager)
                return manager
        shutdown(manager)
        raise RuntimeError("the build was interrupted")

    def _try_start(
        self, starter: Starter, spec: WorkerSpec, kernel: str, log_name: str, server: ForkServer | None
    ) -> Spare:
        """A spare kernel for the next job, started by ``starter`` while this
        worker runs its job; None in its future if it failed: the job that
        takes it starts its own kernel, and meets the failure there."""

        def start() -> AsyncKernelManager | None:
            if server is not None and not server.usable():  # it failed since the worker chose it
                return None
            try:
                return self._start(spec, kernel, log_name, server)
            except Exception:
                return None

        return kernel, server, starter.submit(start)

    # --- fork servers (forkserver.py) ---

    def _prefix(self, job: Job) -> tuple[str, ...]:
        """The imports a server would preload for ``job``; () when it gets a cold kernel."""
        known = self.prefixes.get(job.id)
        if known is None:
            if job.kernel not in self.forkable:
                self.forkable[job.kernel] = fork_python(job.kernel) is not None
            known = ()
            if self.settings.preload_imports and job.cells and self.forkable[job.kernel]:
                imports = leading_imports(job.cells[0].source)
                if imports and not shadowed(imports, self.tree / job.workdir):
                    known = imports
            self.prefixes[job.id] = known
        return known

    @staticmethod
    def _environment(spec: WorkerSpec) -> tuple[tuple[str, str], ...]:
        """What a server's imports may depend on besides the kernel: workers
        with the same (the CPU workers; those sharing a GPU) share servers."""
        return tuple(sorted(spec.env.items()))

    def _server(self, spec: WorkerSpec, job: Job, waiting: list[Job]) -> ForkServer | None:
        """The server to fork ``job``'s kernel from: one of a worker with this
        worker's environment whose imports begin ``job``'s (the longest), or a
        new one when at least 2 of ``job`` and the jobs ``waiting`` (not yet
        started) begin with the same imports; None for a cold kernel.

        A kernel forked from a server whose imports are a leading part of the
        job's has run exactly the job's first import statements, in the job's
        order; the job's first cell runs them all again (no-ops, the modules
        are in ``sys.modules``) and then the rest. So pages that begin with
        ``from d2l import torch as d2l`` and go on differently share one server."""
        imports = self._prefix(job)
        if not imports:
            return None
        environment = self._environment(spec)
        with self.lock:
            fitting = [
                (key, server, users)
                for key, (server, users) in self.servers.items()
                if key[0] == environment and key[1] == job.kernel and starts_with(imports, key[2])
            ]
        for key, server, users in sorted(fitting, key=lambda item: -len(item[0][2])):
            if server.usable():
                with self.lock:
                    current = self.servers.get(key)
                    if current is None or current[0] is not server:
                        continue  # its last user closed it meanwhile
                    users.add(spec.name)
                return server
            self._warn_unsafe(server)
        shared = self._shared(job, [job, *waiting])
        if not shared:
            return None
        key = (environment, job.kernel, shared)
        with self.lock:
            if key in self.servers:  # another worker started it since the look above, or it failed
                return self._join(key, spec.name)
        self._close_servers(spec.name, keep=[job, *waiting])
        python = fork_python(job.kernel)
        if python is None:
            return None
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.lock:  # stop() closes the servers it sees: none may start after it
            if self.stopping.is_set():
                return None
            if key in self.servers:  # another worker of this environment started it meanwhile
                return self._join(key, spec.name)
            try:
                server = ForkServer(
                    python[0],
                    shared,
                    self.tree,
                    self._env(spec),
                    self.libdir,
                    ipc_address() + ".fork",
                    self.logs / f"{spec.name}-forkserver-{self.started_servers}.log",
                )
            except OSError:
                return None
            self.started_servers += 1
            self.servers[key] = (server, {spec.name})
        return server

    def _join(self, key: ServerKey, worker: str) -> ForkServer | None:
        """The server under ``key``, with ``worker`` among its users (the caller
        holds the lock); None if it failed: its jobs start cold from now on."""
        server, users = self.servers[key]
        if not server.usable():
            return None
        users.add(worker)
        return server

    def _shared(self, job: Job, jobs: list[Job]) -> tuple[str, ...]:
        """The imports a new server for ``job`` preloads: the longest leading part
        of ``job``'s imports that begins as many of ``jobs`` (same kernel) as its
        first statement does; () when fewer than 2 of them begin that way."""
        imports = self._prefix(job)
        prefixes = [self._prefix(other) for other in jobs if other.kernel == job.kernel]
        sharing = [other for other in prefixes if other[:1] == imports[:1]] if imports else []
        if len(sharing) < 2:
            return ()
        length = 1
        while length < len(imports) and all(starts_with(other, imports[: length + 1]) for other in sharing):
            length += 1
        return imports[:length]

    def _close_servers(self, worker: str | None, keep: list[Job] | None = None) -> None:
        """``worker`` stops using its servers (None: every server is closed) but
        those that some of the jobs in ``keep`` could use, then, making room for
        a new one, those the fewest of them could use beyond MAX_SERVERS - 1.
        A server no worker uses any more is closed."""

        def wanted(key: ServerKey) -> int:
            return sum(job.kernel == key[1] and starts_with(self._prefix(job), key[2]) for job in keep or [])

        with self.lock:
            mine = [key for key, (_, users) in self.servers.items() if worker is None or worker in users]
            leaving = [key for key in mine if keep is None or not wanted(key)]
            if keep is not None:
                left = sorted((key for key in mine if key not in leaving), key=wanted)
                leaving += left[: max(0, len(left) - (MAX_SERVERS - 1))]
            closing = []
            for key in leaving:
                users = self.servers[key][1]
                if worker is not None:
                    users.discard(worker)
                if not users or worker is None:
                    closing.append(self.servers.pop(key)[0])
        for server in closing:
            server.close()

    def _fail(self, server: ForkServer, reason: str) -> None:
        """A kernel forked by ``server`` did not start: its jobs get cold kernels from now on."""
        self._warn_unsafe(server)
        if not server.failed:
            server.failed = reason

    def _warn_unsafe(self, server: ForkServer) -> None:
        if server.unsafe and not self.warned:
            self.warned = True
            from sphinx.util import logging

            logging.getLogger(__name__).warning(
                f"execbook: kernels start cold for pages that begin with {'; '.join(server.imports)[:200]}: "
                f"{server.unsafe} (execbook_preload_imports)",
                type="execbook",
                subtype="preload",
            )

    def _forget(self, manager: AsyncKernelManager) -> None:
        with self.lock:
            self.live.discard(manager)

    def _retire(self, kernel: AsyncKernelManager | Future[AsyncKernelManager | None]) -> None:
        """Shut a used kernel, or a spare one once started, down off the critical path (it takes 0.1 s)."""

        def reap() -> None:
            manager = kernel.result() if isinstance(kernel, Future) else kernel
            if manager is not None:
                shutdown(manager)
                self._forget(manager)

        reaper = threading.Thread(target=reap, daemon=True)
        reaper.start()
        self.reapers.append(reaper)

    def _take(self, queue: list[Job], spare: Spare | None) -> Job | None:
        """The next job: the first of the next few that ``spare`` was started
        for, else the first. Another worker may have taken the job a spare was
        started for; one of the next few jobs usually begins with the same
        imports, and taking it saves a kernel start (the order moves by at
        most a worker or so: the longest jobs still start first)."""
        with self.lock:
            if not queue or self.stopping.is_set():
                return None
            if spare is not None:
                for index, job in enumerate(queue[: len(self.workers) + 1]):
                    if self._suits(spare, job, served=bool(self._prefix(job))):
                        return queue.pop(index)
            return queue.pop(0)

    def _suits(self, spare: Spare, job: Job, served: bool) -> bool:
        """``spare`` can run ``job``: forked by a server whose imports begin the
        job's, or cold for a job no server serves (``served``: one does; a cold
        kernel would import them all again)."""
        kernel, server, _ = spare
        if kernel != job.kernel:
            return False
        return not served if server is None else starts_with(self._prefix(job), server.imports)

    def _peek(self, queue: list[Job]) -> tuple[Job | None, list[Job]]:
        """The next job, and those after it."""
        with self.lock:
            return (queue[0], queue[1:]) if queue and not self.stopping.is_set() else (None, [])

    def _work(
        self,
        spec: WorkerSpec,
        queue: list[Job],
        on_done: Callable[[JobResult], None],
        on_start: Callable[[Job, str], None],
        epoch: float,
    ) -> None:
        spare: Spare | None = None
        starter = Starter(f"{spec.name}-starter")
        try:
            while (job := self._take(queue, spare)) is not None:
                spare = self._run_one(spec, job, queue, spare, starter, on_done, on_start, epoch)
        finally:  # also when a bug of ours ends the worker: no kernel, thread or server outlives it
            if spare is not None:
                self._retire(spare[2])
            starter.close()
            self._close_servers(spec.name)

    def _run_one(
        self,
        spec: WorkerSpec,
        job: Job,
        queue: list[Job],
        spare: Spare | None,
        starter: Starter,
        on_done: Callable[[JobResult], None],
        on_start: Callable[[Job, str], None],
        epoch: float,
    ) -> Spare | None:
        """Run ``job`` (in ``spare`` if it suits), having the next job's kernel
        started meanwhile; the spare kernel left for the jobs after it."""
        start = time.monotonic()
        first: AsyncKernelManager | None = None
        handed_over = False
        try:
            on_start(job, spec.name)
            with self.lock:
                waiting = list(queue)
            server = self._server(spec, job, waiting)
            first_server = None
            if spare is not None and self._suits(spare, job, served=server is not None):
                first = spare[2].result()
                first_server = spare[1] if first is not None else None
                spare = None
            elif spare is not None:
                self._retire(spare[2])  # none of the next jobs wants it: make room for a spare one will
                spare = None
            upcoming, after = self._peek(queue)
            if upcoming is not None and spare is None:
                spare = self._try_start(
                    starter,
                    spec,
                    upcoming.kernel,
                    f"{spec.name}-{int(start * 1000)}-next",
                    self._server(spec, upcoming, after),
                )
            start_kernel = self._starter(
                spec, job, f"{spec.name}-{int(start * 1000)}", server if first is None else None, first_server
            )
            handed_over = True  # run_in_fresh_kernel retires ``first``, whatever happens
            status, notebook, errors, message = run_in_fresh_kernel(
                job,
                start_kernel,
                self._retire,
                self.tree,
                self.libdir,
                self.settings,
                first,
            )
        except Exception as error:  # a bug of ours must cost this job, not the worker's remaining jobs
            if first is not None and not handed_over:
                self._retire(first)
            status, notebook, errors, message = (
                Status.DEAD,
                None,
                [],
                f"the job could not run: {type(error).__name__}: {error}",
            )
        if self.stopping.is_set() and status != Status.OK:
            status, message = Status.INTERRUPTED, "the build was interrupted"
        result = JobResult(job, status, notebook, spec.name, start - epoch, time.monotonic() - start, errors, message)
        try:
            on_done(result)
        except Exception as error:  # noqa: BLE001 - the job ran; its bookkeeping failing must not stop the worker
            print(
                f"execbook: {job.path} ({job.tab}): could not record the result: {type(error).__name__}: {error}",
                file=sys.stderr,
            )
        return spare

    def _starter(
        self, spec: WorkerSpec, job: Job, log_name: str, server: ForkServer | None, forked_first: ForkServer | None
    ) -> Callable[[], AsyncKernelManager]:
        """Start ``job``'s kernels for ``run_in_fresh_kernel``: the first from
        ``server`` if it is usable, the tries after a failed one cold (a failed
        forked kernel, ``forked_first`` being the spare's server, also retires
        its server)."""
        tries = iter(range(self.settings.start_tries))
        last = [forked_first]

        def start() -> AsyncKernelManager:
            attempt = next(tries)
            if last[0] is not None:  # the kernel before this one was forked and did not start
                self._fail(last[0], "a forked kernel did not start")
            use = server if attempt == 0 and server is not None and server.usable() else None
            last[0] = use
            return self._start(spec, job.kernel, f"{log_name}-{attempt}", use)

        return start
