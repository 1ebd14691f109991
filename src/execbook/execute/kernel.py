"""Run one job in a fresh kernel with nbclient: start it, watch it, stop it.

Longer than most modules on purpose: starting a kernel, watching it and stopping it
(with every process under it) share the same client and its timeouts; apart, each
would need the others' state.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import psutil
import zmq
from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_client.kernelspec import KernelSpec, NoSuchKernel
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_hook
from nbformat import NotebookNode

from execbook.execute import reaper
from execbook.execute.forkserver import ForkServer, fork_python, proxy_argv
from execbook.execute.jobs import OUTPUT_LIMIT, Job, job_notebook
from execbook.execute.results import CellError, Status, cell_errors
from execbook.execute.streams import StreamBuffer, order_streams

REAPER = str(Path(reaper.__file__))  # run as a script, in the build's Python with -I -S
LOCAL = "local-provisioner"
RECONNECT_MS = (5, 100)  # a client's first and longest wait before it tries again to reach a kernel


class KernelStartError(Exception):
    """The kernel did not become usable: it did not answer, or died before the first cell."""


class CellKilled(Exception):
    """A cell ran past its timeout and ignored the interrupt: its kernel was killed.

    Not nbclient's CellTimeoutError: nbclient leaves its IOPub reader task
    pending for those (a "Task was destroyed but it is pending!" at exit).
    """


@dataclass(frozen=True)
class KernelSettings:
    """How kernels are watched; none of it changes outputs, so none of it is in the cache key."""

    start_timeout: float = 60.0  # seconds for a kernel to answer (execbook_kernel_start_timeout)
    start_tries: int = 3  # a kernel that fails to start is replaced this many times, less one
    grace: float = 5.0  # seconds an interrupted cell has to stop before its kernel is killed
    preload_imports: bool = (
        True  # fork kernels from a server that imported the page's imports (execbook_preload_imports)
    )


class Client(NotebookClient):
    """nbclient, remembering which cell ran last and which ones timed out,
    with a start handshake that waits for slow kernels, timeouts that hold and
    stream outputs gathered in linear time."""

    def __init__(
        self,
        *args: Any,
        settings: KernelSettings = KernelSettings(),
        output_limit: int = OUTPUT_LIMIT,
        setup: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.output_limit = output_limit
        self.setup = setup
        self.current: NotebookNode | None = None
        self.timed_out: list[NotebookNode] = []
        self.streams: dict[tuple[int, str], tuple[NotebookNode, StreamBuffer]] = {}
        self.on_cell_start = self._started
        self.on_cell_executed = self._executed

    def _started(self, cell: NotebookNode, cell_index: int) -> None:
        self.current = cell

    def _executed(self, cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        if not any(cell is timed_out for timed_out in self.timed_out):  # those get mark_failure's output
            show_reported_error(cell, execute_reply)

    async def async_start_new_kernel_client(self) -> Any:
        """As nbclient's, with our own handshake, which also runs the job's setup (see ``wait_until_ready``)."""
        assert self.km is not None
        self.kc = self.km.client()
        # A kernel not yet listening refuses the connection, and zmq tries
        # again only after its default 100 ms: a kernel still starting cost
        # its job up to that much more. Sooner, then backing off to the default.
        self.kc.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS[0])
        self.kc.context.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_MS[1])
        # shell and IOPub only: nbclient asks the manager whether the kernel
        # lives (no heartbeat thread per job), and no cell may read stdin
        self.kc.start_channels(stdin=False, hb=False, control=False)  # not a coroutine, also in the async client
        await wait_until_ready(self.kc, self.km, self.settings.start_timeout, self.setup)
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> None:
        """Interrupt the cell; if it has not stopped after a grace period (it
        ignores SIGINT, or it is stuck in C code that never checks for
        signals), kill the kernel's whole process tree and stop the job."""
        assert self.km is not None and self.kc is not None
        if cell is not None:
            self.timed_out.append(cell)
        await ensure_async(self.km.interrupt_kernel())
        deadline = time.monotonic() + self.settings.grace
        while time.monotonic() < deadline:
            if await ensure_async(self.kc.shell_channel.msg_ready()):
                return None  # the cell stopped: nbclient reads its reply and goes on
            await asyncio.sleep(0.05)
        kill_tree(self.km)
        raise CellKilled(
            f"the cell ran past the {timeout} s timeout (execbook_timeout), ignored the interrupt "
            f"for {self.settings.grace:g} s and its kernel was killed"
        )

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        """Stream text goes into one bounded buffer per stream and cell; the rest as nbclient does it."""
        if msg["msg_type"] != "stream" or self.output_hook_stack[msg["parent_header"].get("msg_id")]:
            return super().output(outs, msg, display_id, cell_index)
        if self.clear_before_next_output:
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
        name = msg["content"].get("name", "stdout")
        known = self.streams.get((cell_index, name))
        if known is None or not any(output is known[0] for output in outs):  # new, or cleared since
            known = (nbformat.v4.new_output("stream", name=name, text=""), StreamBuffer(self.output_limit))
            self.streams[(cell_index, name)] = known
            outs.append(known[0])
        known[1].add(msg["content"].get("text", ""))
        return known[0]

    def finish_streams(self) -> None:
        """Write each buffer's text into its output, and order stdout before stderr."""
        for output, buffer in self.streams.values():
            output["text"] = buffer.text
        for cell in self.nb.cells:
            if cell.get("outputs"):
                cell["outputs"] = order_streams(cell["outputs"])


async def wait_until_ready(kc: Any, km: KernelManager, timeout: float, setup: str | None = None) -> None:
    """Return once the kernel has answered a ``kernel_info`` request, IOPub
    delivers messages and ``setup`` (code, if any) has run without error.

    Requests are repeated (1, 2, 4 then every 5 s) because a request sent
    before the kernel's sockets exist can be lost, and a reply to *any* of
    them counts: a kernel that needs longer than the interval to answer is
    still used as soon as it does. Stale replies are harmless, as nbclient
    only reads the replies whose parent is the cell it runs. jupyter_client's
    fixed 0.2 s IOPub flush is not paid: IOPub is known to be connected once
    it delivers anything (the status of a kernel_info request).

    ``setup`` is sent once, as soon as the kernel has answered, silently (no
    history, no execution count), and runs while IOPub is awaited: as a
    notebook cell, it cost every job a round trip of nbclient's more.
    KernelStartError if it fails.
    """
    started = time.monotonic()
    asked: set[str] = set()
    interval, next_ask = 0.5, started
    answered = False
    setup_id: str | None = None
    while True:
        now = time.monotonic()
        if now - started > timeout:
            raise KernelStartError(f"the kernel did not answer within {timeout:g} s (execbook_kernel_start_timeout)")
        if now >= next_ask:
            asked.add(kc.kernel_info())
            interval = 0.25 if answered else min(interval * 2, 5.0)
            next_ask = now + interval
        channel = kc.iopub_channel if answered else kc.shell_channel
        message = await next_message(channel, km, max(0.01, min(next_ask - now, 1.0)))
        if message is None:
            continue
        if answered:
            break
        if message.get("parent_header", {}).get("msg_id") in asked:
            answered = True
            if setup is not None:
                setup_id = kc.execute(setup, silent=True, store_history=False, allow_stdin=False)
            next_ask = time.monotonic() + 0.25  # IOPub may already hold the status of this request
    if setup_id is not None:
        # a budget of its own: a kernel that answered late, near the end of the
        # start timeout, on a loaded machine, still gets the time to run it
        await setup_done(kc, km, setup_id, timeout)


async def next_message(channel: Any, km: KernelManager, wait: float) -> dict[str, Any] | None:
    """The channel's next message within ``wait`` seconds, or None;
    KernelStartError if the kernel died meanwhile."""
    try:
        return await ensure_async(channel.get_msg(timeout=wait))
    except Empty:
        if not await ensure_async(km.is_alive()):
            raise KernelStartError("the kernel died while starting") from None
        return None


async def setup_done(kc: Any, km: KernelManager, msg_id: str, timeout: float) -> None:
    """Wait for the reply to the setup request ``msg_id``; KernelStartError
    if it failed, the kernel died or no reply came within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise KernelStartError("the kernel did not run the job's setup (execbook_kernel_start_timeout)")
        reply = await next_message(kc.shell_channel, km, min(left, 1.0))
        if reply is None or reply.get("parent_header", {}).get("msg_id") != msg_id:
            continue  # nothing yet, or a stale kernel_info reply
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise KernelStartError(
                f"the job's setup failed in the kernel: {content.get('ename', 'error')}: {content.get('evalue', '')}"
            )
        return


def kill_tree(manager: KernelManager) -> None:
    """SIGKILL the kernel and every process under it, also those that left its
    process group (``start_new_session=True``); the group kill of
    jupyter_client alone misses them."""
    pid = getattr(manager.provisioner, "pid", None) if manager.provisioner is not None else None
    processes = []
    spared = []
    for root_pid in (pid, forked_pid(manager)):  # a forked kernel is its server's child, not its proxy's
        if not root_pid:
            continue
        try:
            root = psutil.Process(root_pid)
            processes += [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        if root_pid == pid and getattr(manager, "execbook_reaper", False):
            # a cold kernel's root is its reaper (reaper.py): it outlives the rest, to take
            # in and kill what they fork meanwhile, and ends by itself once its kernel died
            spared.append(root)
    if not processes:
        return
    for process in processes:
        if process in spared:
            continue
        try:
            process.kill()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=5)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass


def forked_pid(manager: KernelManager) -> int | None:
    """The pid of a forked kernel (see forkserver.py), as its proxy wrote it."""
    pid_file = getattr(manager, "execbook_forked", None)
    if not pid_file:
        return None
    try:
        return int(Path(pid_file).read_text())
    except (OSError, ValueError):
        return None


def shutdown(manager: AsyncKernelManager) -> None:
    """Kill the kernel, its process group and every process under it; quiet
    when they are gone already."""
    try:
        kill_tree(manager)
    finally:
        try:
            run_sync(manager.shutdown_kernel)(now=True)  # also removes its connection file and sockets
        except Exception:
            pass
        pid_file = getattr(manager, "execbook_forked", None)
        if pid_file:
            Path(pid_file).unlink(missing_ok=True)


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


def new_kernel_manager(
    kernel: str, cwd: Path, env: dict[str, str], log: Path | None = None, fork: ForkServer | None = None
) -> AsyncKernelManager:
    """A started kernel. ``python3`` means the Python running this build.

    The kernel process's own stderr (crash messages, C-level warnings) goes to
    ``log``, read back when the kernel dies. With ``fork``, the kernel is
    forked by that server (see forkserver.py) behind a proxy process.
    """
    # nbclient drives kernels asynchronously: a sync KernelManager here loses
    # its timeouts and never notices a dead kernel
    manager = AsyncKernelManager(kernel_name=kernel)
    if os.name == "posix":
        manager.transport, manager.ip = "ipc", ipc_address()
    if fork is not None:
        python = fork_python(kernel)
        pid_file = ipc_address() + ".pid"
        manager._kernel_spec = KernelSpec(
            argv=proxy_argv(fork, pid_file, python[1] if python else []),
            display_name="Python (execbook, forked)",
            language="python",
        )
        manager.execbook_forked = pid_file  # type: ignore[attr-defined]
    elif kernel == "python3":
        # a user-level "python3" kernelspec may point at another environment
        manager._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python (execbook)",
            language="python",
        )
    if fork is None and reaper.SUPPORTED:
        under_reaper(manager)
    stderr = open(log, "wb") if log is not None else None  # noqa: SIM115 - the kernel process owns it
    try:
        run_sync(manager.start_kernel)(
            cwd=str(cwd), env=env, stderr=stderr, extra_arguments=["--HistoryManager.enabled=False"]
        )
    finally:
        if stderr is not None:
            stderr.close()  # the child has its own copy
    manager.execbook_log = log  # type: ignore[attr-defined]
    return manager


def under_reaper(manager: AsyncKernelManager) -> None:
    """Start ``manager``'s kernel under reaper.py, a child subreaper: what a
    cell double-forks is re-parented to it, not to init, and killed when the
    kernel ends (see reaper.py). Kernels of other provisioners than
    jupyter_client's local one start as they are."""
    spec = manager.kernel_spec  # NoSuchKernel here, as in start_kernel, for an unknown name
    if spec is None or spec.metadata.get("kernel_provisioner", {}).get("provisioner_name", LOCAL) != LOCAL:
        return
    manager._kernel_spec = KernelSpec(
        argv=[sys.executable, "-I", "-S", REAPER, str(os.getpid()), "--", *spec.argv],
        env=spec.env,
        display_name=spec.display_name,
        language=spec.language,
        interrupt_mode=spec.interrupt_mode,
        metadata=spec.metadata,
        resource_dir=spec.resource_dir,
    )
    manager.execbook_reaper = True  # type: ignore[attr-defined]


def log_tail(manager: AsyncKernelManager, lines: int = 5) -> str:
    log = getattr(manager, "execbook_log", None)
    if log is None or not Path(log).is_file():
        return ""
    text = Path(log).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    useful = [line for line in text if "without encryption" not in line and line.strip()]
    return " | ".join(useful[-lines:])


# Linux's PR_SET_PDEATHSIG: the kernel gets SIGKILL when the build that started
# it dies, even by SIGKILL, when no cleanup of ours can run. (The kernel's own
# children are killed with its process tree on every other path.)
DIE_WITH_BUILD = """if __execbook_sys.platform == "linux":
    try:
        __import__("ctypes").CDLL(None).prctl(1, 9)
    except Exception:
        pass"""


def setup_code(workdir: Path, libdir: Path | None = None) -> str:
    """The job's setup, run before its first cell (``wait_until_ready``): the
    page's folder, the book's library on the path, the kernel tied to the
    build's life, and the record of the files its code reads (``reads.py``)."""
    from execbook.execute.reads import setup_for

    lines = [
        "import os as __execbook_os, sys as __execbook_sys",
        f"__execbook_os.chdir({str(workdir)!r})",
        DIE_WITH_BUILD,
    ]
    if libdir is not None:
        lines.append(f"__execbook_sys.path.insert(0, {str(libdir)!r})")
    lines.append("del __execbook_os, __execbook_sys")
    lines.append(setup_for(workdir, libdir))
    return "\n".join(lines)


Outcome = tuple[Status, "NotebookNode | None", list[CellError], str]  # status, notebook, errors, message


def run_job(
    job: Job,
    manager: AsyncKernelManager,
    tree: Path,
    libdir: Path | None = None,
    settings: KernelSettings = KernelSettings(),
) -> Outcome:
    """Execute ``job`` in an already started kernel; (status, notebook, errors, message).

    The status is ``ok``, ``error`` (a cell raised), ``timeout`` (a cell was
    interrupted after ``timeout`` seconds) or ``dead`` (the kernel died).
    KernelStartError when the kernel never became usable: it did not answer,
    or died before the book's first cell.
    """
    notebook = job_notebook(job)
    client = Client(
        notebook,
        km=manager,
        timeout=job.options.timeout,
        allow_errors=job.options.allow_errors,
        interrupt_on_timeout=True,
        coalesce_streams=False,  # done by Client.output in linear time
        record_timing=False,
        startup_timeout=int(settings.start_timeout),
        settings=settings,
        output_limit=job.options.output_limit,
        setup=setup_code(tree / job.workdir, libdir),
    )
    status, message = Status.OK, ""
    try:
        client.execute()
    except DeadKernelError:
        if client.current is None:
            raise KernelStartError("the kernel died before the first cell") from None
        status = Status.DEAD
        message = "the kernel died while running this cell" + (
            log_suffix(manager) or " (no message: out of memory, or a crash in native code?)"
        )
    except (CellTimeoutError, CellKilled) as error:
        status, message = Status.TIMEOUT, str(error).splitlines()[0]
    finally:
        close_channels(client)
    client.finish_streams()
    failed = client.current if status == Status.DEAD else (client.timed_out[0] if client.timed_out else None)
    if client.timed_out and status == Status.OK:
        status = Status.TIMEOUT
        message = f"the cell ran past the {job.options.timeout} s timeout (execbook_timeout) and was interrupted"
    if failed is not None:
        notebook.metadata.setdefault("execbook", {})["failed_line"] = failed.metadata.get("execbook", {}).get("line", 1)
        mark_failure(failed, "CellTimeout" if status == Status.TIMEOUT else "DeadKernel", message)
    errors = cell_errors(notebook)
    if status == Status.OK and errors:
        status = Status.ERROR
    return status, notebook, errors, message


def close_channels(client: NotebookClient) -> None:
    """Close the client's channels and its zmq context now. nbclient leaves them
    open for a kernel it did not start, and a client collected later with its
    channels open logs "Could not destroy zmq context" (once some import has
    configured the root logger, that is a line in the build's output)."""
    kc = client.kc
    if kc is None:
        return
    with contextlib.suppress(Exception):  # sockets already gone: nothing left to close
        # the two channels the job opened (``stop_channels`` would first make
        # and connect the three it never opened, only to close them)
        for channel in (kc.shell_channel, kc.iopub_channel):
            if channel.is_alive():
                channel.stop()


def run_in_fresh_kernel(
    job: Job,
    start: Callable[[], AsyncKernelManager],
    retire: Callable[[AsyncKernelManager], None],
    tree: Path,
    libdir: Path | None = None,
    settings: KernelSettings = KernelSettings(),
    first: AsyncKernelManager | None = None,
) -> Outcome:
    """Run ``job``, replacing a kernel that fails to start (``first``, a
    spare started ahead, or one from ``start``) up to ``settings.start_tries``
    times in all. Only then is the job reported dead, with every try's reason
    and the last kernel's log."""
    problems: list[str] = []
    for attempt in range(settings.start_tries):
        manager = first if attempt == 0 else None
        try:
            if manager is None:
                manager = start()
            return run_job(job, manager, tree, libdir, settings)
        except KernelStartError as error:
            problems.append(f"{error}{log_suffix(manager)}")
        except Exception as error:  # noqa: BLE001 - a broken kernelspec, a full disk: reported below
            if isinstance(error, NoSuchKernel):  # no use trying again
                return Status.DEAD, None, [], kernel_problem(job.kernel, error)
            problems.append(kernel_problem(job.kernel, error))
        finally:
            if manager is not None:
                retire(manager)
    tries = f"{len(problems)} tries" if len(problems) > 1 else "1 try"
    return (
        Status.DEAD,
        None,
        [],
        f"the kernel {job.kernel!r} could not start ({tries}): " + "; ".join(dict.fromkeys(problems)),
    )


def kernel_problem(kernel: str, error: Exception) -> str:
    if isinstance(error, NoSuchKernel):
        return (
            f"no Jupyter kernel named {kernel!r} (execbook_kernels): install it "
            "(python -m ipykernel install --user --name ...) or fix the name; `jupyter kernelspec list` shows them"
        )
    return f"{type(error).__name__}: {error}"


def log_suffix(manager: AsyncKernelManager | None) -> str:
    tail = log_tail(manager) if manager is not None else ""
    return f" (its log: {tail})" if tail else ""


NO_TRACEBACK = (
    'the kernel reported an error but sent no traceback (IPython prints "Unexpected exception formatting '
    "exception\" when it cannot format one); see the cell's printed output"
)


def show_reported_error(cell: NotebookNode, reply: dict[str, Any] | None) -> None:
    """A cell whose ``execute_reply`` says it failed shows an error output.

    IPython sends none when formatting the traceback fails (a module in
    ``sys.modules`` that breaks ``inspect``, an exception whose
    ``_render_traceback_`` raises, an ``ExceptionGroup``): it prints
    "Unexpected exception formatting exception" and a plain traceback as
    stream text instead, and the cell would pass for one that ran. The
    reply still names the exception.
    """
    content = (reply or {}).get("content") or {}
    if content.get("status") != "error" or any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return
    ename, evalue = str(content.get("ename") or ""), str(content.get("evalue") or "")
    if not ename:
        ename, evalue = "Error", NO_TRACEBACK
    traceback = [str(line) for line in content.get("traceback") or []] or [
        f"{ename}: {evalue}" if evalue else ename,
        f"(execbook: {NO_TRACEBACK})" if evalue != NO_TRACEBACK else "",
    ]
    cell.setdefault("outputs", []).append(
        nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[line for line in traceback if line])
    )


def mark_failure(cell: NotebookNode, ename: str, message: str) -> None:
    """Show a timeout or a dead kernel in the cell where it happened, as an error output.

    A timed-out cell's own KeyboardInterrupt traceback (from the interrupt we
    sent) says nothing useful and is replaced.
    """
    outputs = [
        o
        for o in cell.get("outputs", [])
        if not (o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt")
    ]
    outputs.append(nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"]))
    cell["outputs"] = outputs
