"""What one forked kernel costs: CPU (the kernel, its proxy, the build
process) and memory (the kernel's PSS), for a small job run as the pool runs
it (execbook's handshake and setup, then the cells with nbclient).

    python benchmarks/kernel_cost.py [--kernels 10] [--imports "import torch"] [--collect]

The server preloads ``--imports``; ``--collect`` adds a ``gc.collect()`` to
the job, as any long job ends up running one. The first two kernels are left
out (disk cache); the figures are medians. CPU times come from the kernel's
and the proxy's ``/proc`` counters, read after the last cell (10 ms steps).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
from pathlib import Path

import nbformat
import psutil
from kernel_ready import ready_server

from execbook.execute.forkserver import ForkServer
from execbook.execute.kernel import Client, close_channels, forked_pid, new_kernel_manager, setup_code, shutdown

CELLS = ["import time", "time.sleep(0.01)\n'x'", "time.sleep(0.01)\n'x'", "time.sleep(0.01)\n'x'"]


def own_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def one_kernel(server: ForkServer, folder: Path, collect: bool) -> dict[str, float]:
    build_before = own_cpu_ms()
    manager = new_kernel_manager("python3", folder, dict(os.environ), fork=server)
    cells = CELLS + (["import gc; gc.collect()"] if collect else [])
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = Client(notebook, km=manager, setup=setup_code(folder))
    try:
        proxy = psutil.Process(manager.provisioner.pid)
        client.execute()
        kernel = psutil.Process(forked_pid(manager))
        figures = {
            "kernel CPU (ms)": sum(kernel.cpu_times()[:2]) * 1000,
            "proxy CPU (ms)": sum(proxy.cpu_times()[:2]) * 1000,
            "kernel PSS (MB)": kernel.memory_full_info().pss / 1e6,
        }
    finally:
        close_channels(client)
        shutdown(manager)
    figures["build process CPU (ms)"] = own_cpu_ms() - build_before
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=10)
    parser.add_argument("--imports", default="import json", help="the server's preloaded import statement")
    parser.add_argument("--collect", action="store_true", help="the job also runs gc.collect()")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = ready_server(folder, (args.imports,))
        try:
            rows = [one_kernel(server, folder, args.collect) for _ in range(args.kernels + 2)][2:]
        finally:
            server.close()
    job = "a small job" + (" and gc.collect()" if args.collect else "")
    print(f"per forked kernel ({args.imports!r} preloaded; {job}), median of {args.kernels}:")
    for name in rows[0]:
        print(f"  {name:<24} {statistics.median(row[name] for row in rows):8.1f}")


if __name__ == "__main__":
    main()
