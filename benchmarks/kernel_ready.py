"""How soon a kernel answers after its launch: execbook's kernels (cold, and
forked from a server that imported ipykernel) against jupyter_client's own
start-up as nbclient does it (``start_kernel``, then ``wait_for_ready``),
measured in the same process, one kernel at a time.

    python benchmarks/kernel_ready.py [--kernels 10]

"Ready" is the moment execbook would run the job's first cell: the kernel
answered a ``kernel_info`` request and IOPub delivered its status. Each
kernel is shut down before the next starts; the figures are medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync

from execbook.execute.forkserver import ForkServer
from execbook.execute.kernel import Client, close_channels, ipc_address, new_kernel_manager, shutdown


def execbook_ready(folder: Path, server: ForkServer | None) -> float:
    """Seconds from launch to ready for one kernel started as execbook's pool does."""
    start = time.perf_counter()
    manager = new_kernel_manager("python3", folder, dict(os.environ), fork=server)
    client = Client(nbformat.v4.new_notebook(), km=manager)
    try:
        run_sync(client.async_start_new_kernel_client)()
        return time.perf_counter() - start
    finally:
        close_channels(client)
        shutdown(manager)


def jupyter_client_ready(folder: Path) -> float:
    """The same for jupyter_client's own start-up and readiness check."""
    start = time.perf_counter()
    manager = AsyncKernelManager(kernel_name="python3")
    manager.transport, manager.ip = "ipc", ipc_address()
    run_sync(manager.start_kernel)(cwd=str(folder), extra_arguments=["--HistoryManager.enabled=False"])
    client = manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=60)
        return time.perf_counter() - start
    finally:
        client.stop_channels()
        run_sync(manager.shutdown_kernel)(now=True)


def ready_server(folder: Path, imports: tuple[str, ...], timeout: float = 120) -> ForkServer:
    """A fork server of this Python that preloaded ``imports``, once it is
    ready to fork (the caller closes it); SystemExit if it did not start."""
    server = ForkServer(sys.executable, imports, folder, dict(os.environ), None, ipc_address() + ".fork")
    deadline = time.monotonic() + timeout
    while server.state == "starting" and time.monotonic() < deadline:
        time.sleep(0.05)
    if server.state != "ready":
        server.close()
        raise SystemExit(f"the fork server did not start: {server.state}")
    return server


def median_ms(measure: Callable[[], float], kernels: int) -> float:
    measure()  # the first pays for the disk cache
    return statistics.median(measure() for _ in range(kernels)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = ready_server(folder, ("import json",))
        try:
            rows = {
                "jupyter_client (start_kernel, wait_for_ready)": median_ms(
                    lambda: jupyter_client_ready(folder), args.kernels
                ),
                "execbook, cold kernel": median_ms(lambda: execbook_ready(folder, None), args.kernels),
                "execbook, forked kernel": median_ms(lambda: execbook_ready(folder, server), args.kernels),
            }
        finally:
            server.close()
    baseline = next(iter(rows.values()))
    print(f"launch to ready, median of {args.kernels} kernels, one at a time:")
    for name, ms in rows.items():
        print(f"  {name:<48} {ms:7.1f} ms  {ms / baseline:5.2f}x")


if __name__ == "__main__":
    main()
