"""The warm-kernel floor: the book's jobs run one after another on a single
kernel that is already started, so that no job waits for a kernel.

A fresh kernel per job is what execbook promises (no state leaks between
pages); what it costs beyond this floor is the price of that promise: the
start-ups the pool did not hide and the hand-over of each new kernel. What
the floor itself costs beyond the cells' sleeps is the Jupyter protocol, paid
by every tool that runs notebooks: a request, a reply and IOPub messages per
cell, a ``kernel_info`` per notebook. The jobs are the site's download
notebooks, each a job's cells exactly; they are run with plain nbclient.

The kernel's own floor goes further: every cell of every job is sent
ahead of time (up to 64 in flight), so the kernel runs them back to back
and no client's turnaround is counted at all. No Jupyter client can run
these cells on this kernel faster.

    python benchmarks/warm_floor.py BUILD_DIR LIBDIR
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from execbook.execute.kernel import ipc_address


def job_notebooks(site: Path) -> list[Path]:
    """Every job's notebook of a built site (one per page and framework with code)."""
    return [
        path
        for path in sorted((site / "notebooks").rglob("*.ipynb"))
        if any(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)
    ]


@contextlib.contextmanager
def warm_kernel(libdir: Path, cwd: Path, arguments: tuple[str, ...] = ()) -> Iterator[tuple[AsyncKernelManager, Any]]:
    """One kernel, started with ``arguments`` and answering, and its connected client."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(libdir), os.environ.get("PYTHONPATH")]))}
    # asynchronous, as nbclient drives kernels (its blocking client would add a poll interval per cell)
    manager = AsyncKernelManager(kernel_name="python3")
    manager.transport, manager.ip = "ipc", ipc_address()  # as execbook's kernels: no TCP
    run_sync(manager.start_kernel)(cwd=str(cwd), env=env, extra_arguments=list(arguments))
    client = manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=60)
        yield manager, client
    finally:
        client.stop_channels()
        run_sync(manager.shutdown_kernel)(now=True)


def warm_floor(notebooks: list[Path], libdir: Path, cwd: Path) -> float:
    """Seconds to run every notebook's code cells, in order, on one kernel
    started beforehand (its start-up is not counted); SystemExit if a cell fails."""
    with warm_kernel(libdir, cwd) as (manager, client):
        start = time.perf_counter()
        for path in notebooks:
            notebook = nbformat.read(path, as_version=4)
            runner = NotebookClient(notebook, km=manager, timeout=120)
            runner.kc = client  # connected once: nbclient's own would wait its fixed 0.2 s per notebook
            try:
                runner.execute()
            except Exception as error:  # a broken run prints no figure
                raise SystemExit(f"warm-kernel floor: {path} failed: {error}") from None
        return time.perf_counter() - start


def kernel_floor(notebooks: list[Path], libdir: Path, cwd: Path, window: int = 64) -> float:
    """Seconds for one kernel started beforehand to run every notebook's code
    cells, in order, each request sent before the kernel needs it (at most
    ``window`` ahead: the shell socket's queue is bounded); SystemExit if a cell fails."""
    sources = [
        cell.source
        for path in notebooks
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
    ]

    async def run(client: Any) -> float:
        start = time.perf_counter()
        pending: dict[str, int] = {}
        sent = 0
        while sent < len(sources) or pending:
            while sent < len(sources) and len(pending) < window:
                pending[client.execute(sources[sent])] = sent
                sent += 1
            reply = await client.get_shell_msg(timeout=120)
            index = pending.pop(reply["parent_header"].get("msg_id"), None)
            if index is not None and reply["content"]["status"] != "ok":
                raise SystemExit(f"kernel floor: cell {index} failed: {reply['content'].get('evalue', '')}")
        return time.perf_counter() - start

    # configured as execbook's kernels are: no history database to write after each cell
    with warm_kernel(libdir, cwd, ("--HistoryManager.enabled=False",)) as (_, client):
        return run_sync(run)(client)


def main() -> None:
    site, libdir = Path(sys.argv[1]), Path(sys.argv[2])
    notebooks = job_notebooks(site)
    seconds = warm_floor(notebooks, libdir, site)
    print(f"{len(notebooks)} jobs on one warm kernel: {seconds:.2f} s")
    seconds = kernel_floor(notebooks, libdir, site)
    print(f"the same cells, sent ahead (the kernel's own floor): {seconds:.2f} s")


if __name__ == "__main__":
    main()
