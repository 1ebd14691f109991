"""The warm-kernel floor: the book's jobs run one after another on a single
kernel that is already started, so that no job waits for a kernel.

A fresh kernel per job is what execbook promises (no state leaks between
pages); what it costs beyond this floor is the price of that promise: the
start-ups the pool did not hide and the hand-over of each new kernel. What
the floor itself costs beyond the cells' sleeps is the Jupyter protocol, paid
by every tool that runs notebooks: a request, a reply and IOPub messages per
cell, a ``kernel_info`` per notebook. The jobs are the site's download
notebooks, each a job's cells exactly; they are run with plain nbclient.

    python benchmarks/warm_floor.py BUILD_DIR LIBDIR
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

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


def warm_floor(notebooks: list[Path], libdir: Path, cwd: Path) -> float:
    """Seconds to run every notebook's code cells, in order, on one kernel
    started beforehand (its start-up is not counted); SystemExit if a cell fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(libdir), os.environ.get("PYTHONPATH")]))}
    # asynchronous, as nbclient drives kernels (its blocking client would add a poll interval per cell)
    manager = AsyncKernelManager(kernel_name="python3")
    manager.transport, manager.ip = "ipc", ipc_address()  # as execbook's kernels: no TCP
    run_sync(manager.start_kernel)(cwd=str(cwd), env=env)
    client = manager.client()
    client.start_channels()
    run_sync(client.wait_for_ready)(timeout=60)
    try:
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
    finally:
        client.stop_channels()
        run_sync(manager.shutdown_kernel)(now=True)


def main() -> None:
    site, libdir = Path(sys.argv[1]), Path(sys.argv[2])
    notebooks = job_notebooks(site)
    seconds = warm_floor(notebooks, libdir, site)
    print(f"{len(notebooks)} jobs on one warm kernel: {seconds:.2f} s")


if __name__ == "__main__":
    main()
