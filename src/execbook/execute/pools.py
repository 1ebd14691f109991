"""What the execution phase asks of a pool: ``LocalPool`` (pool.py, kernels on
this machine) and ``DaskPool`` (cluster.py, a dask.distributed cluster) both
are one. Importing this module imports neither Jupyter nor Dask."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from execbook.execute.jobs import Job
    from execbook.execute.results import JobResult


@runtime_checkable
class Pool(Protocol):
    """Runs a build's stale jobs, each in a fresh kernel, and reports each as it ends."""

    def run(
        self,
        jobs: list[Job],
        on_done: Callable[[JobResult], None],
        on_start: Callable[[Job, str], None] = lambda job, worker: None,
        epoch: float | None = None,
    ) -> None:
        """Run ``jobs`` (started in the order given: the caller puts the longest
        first) and return when every one has ended.

        ``on_start(job, worker)`` is called as a job is started or handed to a
        worker, with the worker's name (a local worker's, or the scheduler's
        address); ``on_done(result)`` once per job that ran or failed to, its
        status (``results.Status``) any but ``cached``; the jobs an
        interrupted build never started get none. Both may be called from
        other threads than the caller's, and for different jobs at the same
        time (``LocalPool`` calls them from its worker threads). ``epoch``
        (``time.monotonic()``, default now) is when the phase began: a
        result's ``start`` counts from it.

        An interruption (Ctrl-C; for ``LocalPool`` also SIGTERM and SIGHUP)
        stops every kernel, or cancels the cluster's tasks, and propagates; a
        problem the author can fix in the settings (the scheduler cannot be
        reached, the book is too large to send) is raised as
        ``cluster.DaskError``, with the message to show.
        """
        ...
