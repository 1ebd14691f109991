"""Pay the framework import once per build, not once per job: a fork server.

A book's pages mostly start the same way (``import torch``, ``from d2l import
torch as d2l``), and in a fresh kernel those imports, with ipykernel's own, are
often half of a job's time. So, per import prefix and per group of workers
with the same environment (the CPU workers; the workers sharing a GPU), one
long-lived process (the *server*, ``forkkernel.py ipykernel-server``; tools
that look for "ipykernel" in command lines see it and its kernels) imports
ipykernel's kernel app and the page's leading import statements once; each
job's kernel is then a fresh ``fork()`` of it, with a new user namespace.
Every job still runs in a process of its own, so nothing leaks between pages,
and the job's own import cells find their modules in ``sys.modules``.

How it plugs into jupyter_client. The kernelspec of a forked kernel is a small
proxy (``forkkernel.py proxy``), which jupyter_client starts, watches,
interrupts and kills as it does any kernel. The proxy hands its working
folder, environment, arguments (``-f {connection_file}``) and stdin, stdout
and stderr (over the Unix socket, SCM_RIGHTS) to the server, which forks; the
child applies them, starts its own session (so an interrupt reaches its
subprocesses, as with a cold kernel) and runs IPKernelApp. The proxy forwards
signals to the child's process group and exits with its status, so
``interrupt_kernel``, timeouts, ``wait_until_ready`` and ``is_alive`` work
unchanged. The alternative, a jupyter_client ``KernelProvisioner``, would
avoid the proxy process (about 20 ms of Python's own start-up) but must be registered as
an entry point and re-implements polling, signalling and killing; the proxy
keeps all of that in jupyter_client's tested code. The proxy imports only
Python's C modules (its request is an ASCII literal, not JSON): json,
socket, traceback and their enums had cost each kernel 25 ms of its start.

Nothing outlives the build. The kernel is not the proxy's child, so
``kill_tree`` (psutil, from the proxy) would not see it: the proxy writes the
kernel's pid to a file that ``kill_tree`` reads. And for each request the
server forks a *watcher* that forks the kernel: the watcher waits on the
proxy's socket, and when the proxy dies (SIGKILLed with the tree, or by
PR_SET_PDEATHSIG when the build dies, even by SIGKILL) it kills the kernel's
process tree; the kernel dies with its watcher (PR_SET_PDEATHSIG). The
watcher is a child subreaper (reaper.py): a daemon a cell double-forks is
re-parented to it, not to init, and killed when the kernel ends or its proxy
does (a cold kernel runs under reaper.py itself, to the same end). A thread
in the kernel could not do the watcher's work: a cell stuck in C code holds
the GIL. The server also dies with the build (PR_SET_PDEATHSIG). The kernel
does not die with the server: a server that dies leaves the running job
alone; the next jobs use cold kernels. The cost: one small extra process
per running kernel (a fork of the server, blocked in ``select``).

When it is not used (a cold kernel, as before):

- ``execbook_preload_imports = False``; the Dask backend (its workers start
  cold kernels); kernels other than the build's Python or a kernelspec of the
  form ``PYTHON -m ipykernel_launcher -f {connection_file}``; not Linux.
- The job's first cell does not start with ``import``/``from ... import``
  statements (a leading ``%matplotlib inline`` is skipped), or one of those
  modules is a file or folder in the page's own folder (it would shadow the
  installed one in a cold kernel).
- No server of the workers with this worker's environment preloads a
  leading part of the job's imports, and
  fewer than 2 of the jobs not yet started begin with the job's first import
  statement: a server costs an extra process and its memory, and pays off
  from the second job. A new server preloads the longest leading part of the
  job's imports that every waiting job beginning as it does shares (d2l-en's
  pages begin ``from d2l import torch as d2l`` and then differ: one server
  serves them all; the job's cell runs its imports again, the preloaded ones
  are no-ops, in the job's own order). A worker uses at most 2 servers
  (``pool.MAX_SERVERS``), a server is closed when no worker uses it any
  more, and a worker lets go of those no waiting job can use first, then
  those the fewest can.
- The server found forking unsafe (reported once): the imports started
  threads (a forked child has only the forking thread), initialised CUDA
  (``torch.cuda.is_initialized()``; a library that initialises CUDA, or
  touches the GPU, on import makes forking unsafe: a forked CUDA context does
  not work), or printed something (a warning a cold kernel would show in the
  first cell). Or the server died, or a forked kernel failed to start: that
  job's next try, and that prefix's later jobs, get cold kernels.

What is kept equal: the environment, the working folder and the arguments are
the job's; ``MPLBACKEND`` is set in the server as ipykernel sets it, so
pyplot imported there picks the backend a kernel would, and the inline
backend's hooks are installed once the child's shell exists (its import,
done in the server, would have done it); NumPy's global random state and
PyTorch's CPU generator are reseeded (Python's ``random`` reseeds itself
after fork); the book's library
folder is on ``sys.path`` only while the server imports, the job's setup puts
it first again. Imports run in the server's working folder, the book's copy;
a library that reads the working folder at import time would see that one,
not the page's.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

FORKKERNEL = str(Path(__file__).with_name("forkkernel.py"))
SUPPORTED = sys.platform == "linux"  # PR_SET_PDEATHSIG; and macOS frameworks are not fork-safe


def leading_imports(source: str) -> tuple[str, ...]:
    """The plain import statements a cell starts with, each as one line of code.

    ``%matplotlib inline`` lines before them are skipped (the kernel handles
    them); the first other statement ends the list. Relative and
    ``__future__`` imports end it too.
    """
    lines = source.splitlines()
    while lines and (
        not lines[0].strip() or lines[0].strip().startswith("#") or lines[0].strip() == "%matplotlib inline"
    ):
        lines.pop(0)
    for end, line in enumerate(lines):  # IPython syntax (%magic, !shell) is not Python: parse what comes before
        if line.lstrip().startswith(("%", "!")) or "\0" in line:  # a NUL byte's error names no line
            lines = lines[:end]
            break
    tree = None
    while tree is None and lines:
        try:
            tree = ast.parse("\n".join(lines))
        except (SyntaxError, ValueError) as error:  # ValueError: a NUL byte, on some Pythons
            lines = lines[: max(0, (getattr(error, "lineno", None) or 1) - 1)]
    statements = []
    for node in tree.body if tree is not None else []:
        if isinstance(node, ast.Import) or (
            isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__"
        ):
            statements.append(ast.unparse(node))
        else:
            break
    return tuple(statements)


def top_level_names(imports: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for statement in imports:
        node = ast.parse(statement).body[0]
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def shadowed(imports: Iterable[str], folder: Path) -> bool:
    """A module of the page's own folder would be imported instead in a cold kernel."""
    return any((folder / f"{name}.py").exists() or (folder / name).is_dir() for name in top_level_names(imports))


def fork_python(kernel: str) -> tuple[str, list[str]] | None:
    """The Python a forked kernel of ``kernel`` runs, and the kernelspec's extra
    arguments; None when the kernel cannot be forked."""
    if not SUPPORTED:
        return None
    if kernel == "python3":
        return sys.executable, []
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel)
    except Exception:
        return None
    argv = list(spec.argv)
    if len(argv) < 5 or argv[1:5] != ["-m", "ipykernel_launcher", "-f", "{connection_file}"] or spec.env:
        return None
    if getattr(spec, "interrupt_mode", "signal") != "signal" or "{connection_file}" in argv[5:]:
        return None
    return argv[0], argv[5:]


class ForkServer:
    """One server process: started at once, used as soon as it accepts."""

    def __init__(
        self,
        python: str,
        imports: tuple[str, ...],
        cwd: Path,
        env: dict[str, str],
        libdir: Path | None,
        socket_path: str,
        log: Path | None = None,
    ) -> None:
        self.imports = imports
        self.socket = socket_path
        self.state = "starting"  # then "ready", "unsafe: ...", "ended"
        self.failed = ""  # why this server is not used any more
        stderr = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - the server owns it
        try:
            self.process = subprocess.Popen(
                [
                    python,
                    FORKKERNEL,
                    "ipykernel-server",
                    socket_path,
                    str(os.getpid()),
                    str(libdir or ""),
                    json.dumps(list(imports)),
                ],
                cwd=str(cwd),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        finally:
            if log is not None:
                stderr.close()  # type: ignore[union-attr]
        self.reader = threading.Thread(target=self._read, name="execbook-forkserver", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line == "ready" or line.startswith("unsafe:"):
                self.state = line
        if not self.unsafe:
            self.state = "ended"

    @property
    def unsafe(self) -> str:
        return self.state[len("unsafe: ") :] if self.state.startswith("unsafe:") else ""

    def usable(self) -> bool:
        return not self.failed and not self.unsafe and self.state != "ended" and self.process.poll() is None

    def close(self) -> None:
        """Kill the server; the kernels it forked are their proxies' to end."""
        try:
            self.process.kill()
        except OSError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        # the reader ends at EOF; closing the pipe under its blocked read would wait
        # for that EOF, which never comes while any process still holds the write end
        self.reader.join(2)
        if self.process.stdout is not None and not self.reader.is_alive():
            self.process.stdout.close()
        try:
            os.unlink(self.socket)
        except OSError:
            pass


def proxy_argv(server: ForkServer, pid_file: str, extra: list[str]) -> list[str]:
    """The kernelspec argv of a kernel forked by ``server``. The proxy needs
    only the standard library: ``-S`` skips ``site`` and the ``.pth`` files
    of the environment's packages (3-4 ms of every kernel's start)."""
    return [
        sys.executable,
        "-I",
        "-S",
        FORKKERNEL,
        "proxy",
        server.socket,
        str(server.process.pid),
        str(os.getpid()),
        pid_file,
        "-f",
        "{connection_file}",
        *extra,
    ]
