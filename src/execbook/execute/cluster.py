"""The Dask backend: the same jobs, run by the workers of a dask.distributed cluster.

A job carries what it needs: by default the book's files and the generated
library travel as one zip, sent to the workers once per build; with
``execbook_dask_shared_fs`` only paths travel. A job asks for ``GPU=n``
when ``execbook_gpus_per_job`` says so. Dask reschedules the job of a worker
that dies (up to ``distributed.scheduler.allowed-failures`` times).
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

from execbook.execute.jobs import Job
from execbook.execute.pools import Pool
from execbook.execute.results import CellError, JobResult, Status

CONNECT_TIMEOUT = 5  # seconds before an unreachable scheduler is an error


class DaskError(Exception):
    """A problem the author can fix: the message says what to do."""


def zip_folders(folders: dict[str, Path], limit_mb: int) -> bytes:
    """``{"tree": path, "lib": path}`` -> one zip, refusing what is over the limit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for prefix, folder in folders.items():
            if folder.is_dir():
                for path, name in _files_to_send(folder):
                    archive.write(path, f"{prefix}/{name}")
    size = buffer.tell()
    if size > limit_mb * 1024 * 1024:
        raise DaskError(
            f"the book's files come to {size / 1e6:.0f} MB, over execbook_dask_max_payload_mb = {limit_mb}; "
            "raise the limit, or put the book on a file system the workers share and set execbook_dask_shared_fs = True"
        )
    return buffer.getvalue()


def _files_to_send(folder: Path, seen: frozenset[Path] = frozenset()) -> list[tuple[Path, str]]:
    """Each file under ``folder`` with its name in the zip. The copy tree holds a linked
    folder of the book (``data -> /datasets/set``) as a link: one whose target lies outside
    ``folder`` travels as the files it holds, under the link's name (a zip holds no links,
    and a worker has not the target); one into a folder already on the way (``loop -> .``,
    or back from the target) is never followed, so a loop costs nothing."""
    real_folder = Path(os.path.realpath(folder))
    seen = seen | {real_folder}
    found = []
    for here, dirs, files in os.walk(folder):
        for name in [*files, *dirs]:
            path = Path(here, name)
            relative = path.relative_to(folder).as_posix()
            if path.is_file():
                found.append((path, relative))
            elif path.is_symlink() and path.is_dir():
                target = Path(os.path.realpath(path))
                if not any(target.is_relative_to(folder) or folder.is_relative_to(target) for folder in seen):
                    found += [(file, f"{relative}/{inner}") for file, inner in _files_to_send(target, seen)]
    return sorted(found, key=lambda pair: pair[1])


def run_remote(job: Job, payload: bytes | None, tree: str, lib: str, settings: Any = None) -> dict[str, Any]:
    """Runs on a Dask worker: unpack (unless the file system is shared), run, report."""
    from distributed import get_worker

    from execbook.execute.kernel import KernelSettings, new_kernel_manager, run_in_fresh_kernel, shutdown

    address = get_worker().address
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="execbook-") as scratch:
        if payload is not None:
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                archive.extractall(scratch)
            tree, lib = os.path.join(scratch, "tree"), os.path.join(scratch, "lib")
        Path(tree, job.workdir).mkdir(parents=True, exist_ok=True)
        status, notebook, errors, message = run_in_fresh_kernel(
            job,
            lambda: new_kernel_manager(job.kernel, Path(tree), dict(os.environ), Path(scratch) / "kernel.log"),
            shutdown,
            Path(tree),
            Path(lib),
            settings or KernelSettings(),
        )
    return {
        "status": status,
        "notebook": nbformat.writes(notebook) if notebook is not None else None,
        "errors": [(e.line, e.ename, e.evalue) for e in errors],
        "message": message,
        "worker": address,
        "duration": time.monotonic() - start,
    }


class DaskPool(Pool):
    """A ``Pool`` whose workers are the cluster's."""

    def __init__(
        self,
        address: str,
        tree: Path,
        libdir: Path,
        *,
        shared_fs: bool,
        gpus_per_job: int,
        limit_mb: int,
        settings: Any = None,
    ):
        self.address = address
        self.settings = settings  # KernelSettings: how kernels are started and watched on the workers
        self.tree, self.libdir = tree, libdir
        self.shared_fs, self.gpus_per_job, self.limit_mb = shared_fs, gpus_per_job, limit_mb

    def connect(self) -> Any:
        from distributed import Client

        try:
            return Client(self.address, timeout=CONNECT_TIMEOUT)
        except ValueError as error:  # distributed's word for an address it cannot parse ('garbage://::')
            raise DaskError(
                f"{self.address!r} is not a Dask scheduler address ({error}); give one such as tcp://host:8786 "
                "in EXECBOOK_DASK_SCHEDULER, --dask or execbook_dask_scheduler"
            ) from None
        except (OSError, TimeoutError) as error:
            raise DaskError(
                f"cannot reach the Dask scheduler at {self.address} within {CONNECT_TIMEOUT} s "
                f"({type(error).__name__}); "
                "start it (`dask scheduler`) or fix execbook_dask_scheduler / EXECBOOK_DASK_SCHEDULER"
            ) from None

    def run(
        self,
        jobs: list[Job],
        on_done: Callable[[JobResult], None],
        on_start: Callable[[Job, str], None] = lambda job, worker: None,
        epoch: float | None = None,
    ) -> None:
        from distributed import as_completed

        epoch = time.monotonic() if epoch is None else epoch
        client = self.connect()
        try:
            payload = None
            if not self.shared_fs:
                payload = client.scatter(
                    zip_folders({"tree": self.tree, "lib": self.libdir}, self.limit_mb), broadcast=True
                )
            resources = {"GPU": self.gpus_per_job} if self.gpus_per_job else None
            futures = {}
            for job in jobs:
                future = client.submit(
                    run_remote,
                    job,
                    payload,
                    str(self.tree),
                    str(self.libdir),
                    self.settings,
                    resources=resources,
                    pure=False,
                    key=f"execbook-{job.tab}-{job.key[:16]}",
                )
                futures[future] = (job, time.monotonic())
                on_start(job, self.address)
            for future in as_completed(futures):
                job, _ = futures[future]
                on_done(self.result(job, future, time.monotonic() - epoch))
        except BaseException:
            client.cancel(list(locals().get("futures", {})))
            raise
        finally:
            client.close()

    @staticmethod
    def result(job: Job, future: Any, finished: float) -> JobResult:
        """``finished``: seconds since the phase began; the bar starts a duration earlier."""
        try:
            data = future.result()
        except Exception as error:  # KilledWorker after too many deaths, or the task raised
            return JobResult(job, Status.DEAD, None, "dask", finished, 0.0, [], f"{type(error).__name__}: {error}")
        notebook = nbformat.reads(data["notebook"], as_version=4) if data["notebook"] is not None else None
        errors = [CellError(*error) for error in data["errors"]]
        start = max(0.0, finished - data["duration"])
        message = data["message"] + (f" (on {data['worker']})" if data["status"] != Status.OK else "")
        return JobResult(
            job, Status(data["status"]), notebook, data["worker"], start, data["duration"], errors, message.strip()
        )
