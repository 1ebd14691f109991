"""Run one job in a fresh kernel with nbclient."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_hook
from nbformat import NotebookNode

from execbook.execute.jobs import Job, job_notebook
from execbook.execute.results import CellError


class Client(NotebookClient):
    """nbclient, remembering which cell ran last and which ones timed out."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.current: NotebookNode | None = None
        self.timed_out: list[NotebookNode] = []
        self.on_cell_start = self._started

    def _started(self, cell: NotebookNode, cell_index: int) -> None:
        self.current = cell

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> None:
        if cell is not None:
            self.timed_out.append(cell)
        return await super()._async_handle_timeout(timeout, cell)

    async def async_start_new_kernel_client(self) -> Any:
        """As nbclient's, without jupyter_client's fixed 0.2 s IOPub flush per kernel.

        Stale IOPub messages are harmless: nbclient only reads the messages
        whose parent is the cell it is running. On 40 short jobs the flush
        alone cost 8 s of a 33 s book.
        """
        assert self.km is not None
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        deadline = time.monotonic() + self.startup_timeout
        while True:
            request = self.kc.kernel_info()
            try:
                reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
            except Empty:
                reply = None
            if reply is not None and reply["parent_header"].get("msg_id") == request:
                try:  # IOPub is connected once it delivers anything (the kernel_info status)
                    await ensure_async(self.kc.iopub_channel.get_msg(timeout=1))
                    break
                except Empty:
                    pass
            if not await ensure_async(self.km.is_alive()):
                raise DeadKernelError("the kernel died while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kernel did not answer within {self.startup_timeout} s")
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc


def shutdown(manager: AsyncKernelManager) -> None:
    """Kill the kernel and its process group; quiet when it is gone already."""
    try:
        run_sync(manager.shutdown_kernel)(now=True)
    except Exception:
        pass


_ipc_dir: str | None = None
_ipc_lock = threading.Lock()


def ipc_address() -> str:
    """A socket path prefix of its own for one kernel, in a short folder (Unix
    socket paths are limited to about 100 bytes) removed when the build ends.

    With TCP, jupyter_client picks free ports and the kernel binds them a
    moment later; a kernel of another build on the machine can take one in
    between, and the kernel then never answers. Unix sockets have no such race.
    """
    global _ipc_dir
    with _ipc_lock:
        if _ipc_dir is None:
            _ipc_dir = tempfile.mkdtemp(prefix="execbook-")
            atexit.register(shutil.rmtree, _ipc_dir, True)
    return os.path.join(_ipc_dir, uuid.uuid4().hex[:12])


def new_kernel_manager(kernel: str, cwd: Path, env: dict[str, str], log: Path | None = None) -> AsyncKernelManager:
    """A started kernel. ``python3`` means the Python running this build.

    The kernel process's own stderr (crash messages, C-level warnings) goes to
    ``log``, read back when the kernel dies.
    """
    # nbclient drives kernels asynchronously: a sync KernelManager here loses
    # its timeouts and never notices a dead kernel
    manager = AsyncKernelManager(kernel_name=kernel)
    if os.name == "posix":
        manager.transport, manager.ip = "ipc", ipc_address()
    if kernel == "python3":
        # a user-level "python3" kernelspec may point at another environment
        manager._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python (execbook)",
            language="python",
        )
    stderr = open(log, "wb") if log is not None else None  # noqa: SIM115 - the kernel process owns it
    try:
        run_sync(manager.start_kernel)(cwd=str(cwd), env=env, stderr=stderr, extra_arguments=["--HistoryManager.enabled=False"])
    finally:
        if stderr is not None:
            stderr.close()  # the child has its own copy
    manager.execbook_log = log  # type: ignore[attr-defined]
    return manager


def log_tail(manager: AsyncKernelManager, lines: int = 5) -> str:
    log = getattr(manager, "execbook_log", None)
    if log is None or not Path(log).is_file():
        return ""
    text = Path(log).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    useful = [line for line in text if "without encryption" not in line and line.strip()]
    return " | ".join(useful[-lines:])


def setup_code(workdir: Path, libdir: Path | None = None) -> str:
    """The hidden first cell: the page's folder, and the book's library on the path."""
    lines = ["import os as __execbook_os, sys as __execbook_sys", f"__execbook_os.chdir({str(workdir)!r})"]
    if libdir is not None:
        lines.append(f"__execbook_sys.path.insert(0, {str(libdir)!r})")
    lines.append("del __execbook_os, __execbook_sys")
    return "\n".join(lines)


def run_job(
    job: Job, manager: AsyncKernelManager, tree: Path, libdir: Path | None = None
) -> tuple[str, NotebookNode, list[CellError], str]:
    """Execute ``job`` in an already started kernel; (status, notebook, errors, message).

    The status is ``ok``, ``error`` (a cell raised), ``timeout`` (a cell was
    interrupted after ``timeout`` seconds) or ``dead`` (the kernel died).
    """
    notebook = job_notebook(job, setup_code(tree / job.workdir, libdir))
    client = Client(
        notebook,
        km=manager,
        timeout=job.options.timeout,
        allow_errors=job.options.allow_errors,
        interrupt_on_timeout=True,
        coalesce_streams=True,
        record_timing=False,
        startup_timeout=120,
    )
    status, message = "ok", ""
    try:
        client.execute()
    except DeadKernelError:
        tail = log_tail(manager)
        status = "dead"
        message = "the kernel died while running this cell" + (
            f": {tail}" if tail else " (no message: out of memory, or a crash in native code?)"
        )
    except CellTimeoutError as error:
        status, message = "timeout", str(error).splitlines()[0]
    failed = client.current if status == "dead" else (client.timed_out[0] if client.timed_out else None)
    if client.timed_out and status == "ok":
        status = "timeout"
        message = f"the cell ran past the {job.options.timeout} s timeout (execbook_timeout) and was interrupted"
    notebook.cells = [cell for cell in notebook.cells if not cell.metadata.get("execbook", {}).get("setup")]
    if failed is not None:
        notebook.metadata.setdefault("execbook", {})["failed_line"] = failed.metadata.get("execbook", {}).get("line", 1)
        mark_failure(failed, "CellTimeout" if status == "timeout" else "DeadKernel", message)
    errors = cell_errors(notebook)
    if status == "ok" and errors:
        status = "error"
    return status, notebook, errors, message


def mark_failure(cell: NotebookNode, ename: str, message: str) -> None:
    """Show a timeout or a dead kernel in the cell where it happened, as an error output.

    A timed-out cell's own KeyboardInterrupt traceback (from the interrupt we
    sent) says nothing useful and is replaced.
    """
    outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt")]
    outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))
    cell["outputs"] = outputs


def cell_errors(notebook: NotebookNode) -> list[CellError]:
    errors = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                line = cell.metadata.get("execbook", {}).get("line", 0)
                errors.append(CellError(line, output.get("ename", "Error"), output.get("evalue", "")))
    return errors

