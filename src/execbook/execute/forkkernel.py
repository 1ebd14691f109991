"""The processes of the fork server: the server, the kernel it forks, and the
proxy that jupyter_client starts as "the kernel".

This file runs as a script (``python forkkernel.py ipykernel-server|proxy ...``), in the
kernel's Python, which need not have execbook installed: it uses only the
standard library, and ipykernel and reaper.py (loaded from this file's
folder) in the server. The design and its trade-offs are in
``execbook.execute.forkserver``.

Server (one per worker and import prefix)::

    forkkernel.py ipykernel-server SOCKET BUILD_PID LIBDIR IMPORTS_JSON

binds SOCKET, imports ipykernel's kernel app and the import statements (in a
throwaway namespace), prints one line to stdout, ``ready`` or ``unsafe:
REASON``, then forks one kernel per request until killed.

Proxy (the command in the kernelspec)::

    forkkernel.py proxy SOCKET SERVER_PID BUILD_PID PID_FILE -f CONNECTION_FILE [kernel args]

sends its working folder, environment, kernel arguments and its stdin, stdout
and stderr to the server, writes the forked kernel's pid to PID_FILE, forwards
signals (SIGINT interrupts, SIGTERM...) to the kernel's process group, and
exits when the kernel does.

Per request the server forks a *watcher*, which forks the kernel: the watcher
reports the kernel's pid and exit status to the proxy, and when the proxy
dies, even by SIGKILL, it reads EOF on the proxy's socket and kills the
kernel's process tree. The kernel dies with its watcher (PR_SET_PDEATHSIG).
The watcher is a child subreaper (reaper.py): what a cell double-forks is
re-parented to it, and killed when the kernel or its proxy ends.

Longer than most modules on purpose: it runs as a script in the kernel's Python,
where execbook need not be installed, so it cannot be split into modules that import each other.
"""

from __future__ import annotations

# The proxy, started once per kernel, imports no more than these (the C
# modules behind socket and signal: their enums cost milliseconds); json,
# socket, array and traceback added 25 ms to every kernel's start. The
# server imports what it needs where it uses it.
import _signal
import _socket
import os
import struct
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, which type checkers know by its name, without importing typing
if TYPE_CHECKING:
    from types import ModuleType

MPL_INLINE = "module://matplotlib_inline.backend_inline"  # what ipykernel sets when MPLBACKEND is unset
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def die_with(parent: int) -> None:
    """SIGKILL this process when the thread of ``parent`` that started it ends
    (Linux's PR_SET_PDEATHSIG); exit now if that happened already."""
    if sys.platform == "linux":
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, _signal.SIGKILL)
        except Exception:
            pass
    if os.getppid() != parent:
        os._exit(70)


# --- the wire: one length-prefixed request (an ASCII Python literal), with three file descriptors ---


def send_request(sock: _socket.socket, request: dict, fds: list[int]) -> None:
    data = ascii(request).encode("ascii")  # read with ast.literal_eval: no json import in the proxy
    payload = struct.pack("!I", len(data)) + data
    rights = struct.pack(f"{len(fds)}i", *fds)
    sock.sendmsg([payload[:4096]], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
    if len(payload) > 4096:
        sock.sendall(payload[4096:])


def receive_request(sock: _socket.socket) -> tuple[dict, list[int]]:
    import ast

    size_of_int = struct.calcsize("i")
    data, ancillary, _, _ = sock.recvmsg(4096, _socket.CMSG_LEN(3 * size_of_int))
    fds: list[int] = []
    for level, kind, raw in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            count = len(raw) // size_of_int
            fds += struct.unpack(f"{count}i", raw[: count * size_of_int])
    while len(data) < 4:
        more = sock.recv(4096)
        if not more:
            raise EOFError("the request ended early")
        data += more
    size = struct.unpack("!I", data[:4])[0]
    while len(data) < 4 + size:
        more = sock.recv(65536)
        if not more:
            raise EOFError("the request ended early")
        data += more
    try:
        request = ast.literal_eval(data[4 : 4 + size].decode("ascii"))
    except (SyntaxError, MemoryError, RecursionError) as error:  # not from our proxy: the caller drops it
        raise ValueError(f"the request is not a literal: {error}") from None
    if not isinstance(request, dict):
        raise ValueError("the request is not a dict")
    return request, fds


# --- the server ---


def preload(imports: list[str], libdir: str) -> str:
    """Run the import statements in a throwaway namespace; '' when it is safe to fork after them.

    Anything the imports write (a warning, a banner) would show in a cold
    kernel's first cell but not in a forked one's: such a prefix is unsafe.
    A failing import stops the preloading there; the job's own cell raises
    the same error.
    """
    if not os.environ.get("MPLBACKEND"):  # as ipykernel does before any user code: pyplot picks the same backend
        os.environ["MPLBACKEND"] = MPL_INLINE
    import tempfile

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            if libdir:
                sys.path.insert(0, libdir)
            for statement in imports:
                try:
                    exec(compile(statement, "<execbook preload>", "exec"), {"__name__": "__execbook_preload__"})
                except BaseException:
                    break
        finally:
            if libdir and libdir in sys.path:
                sys.path.remove(libdir)  # the job's setup puts it back, first, as in a cold kernel
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        capture.seek(0)
        written = capture.read(300).decode("utf-8", "replace").strip()
    if written:
        return f"the imports print something ({written.splitlines()[0][:120]!r}), which a forked kernel would not show"
    return unsafe_now()


# What a kernel's ``IPKernelApp.initialize`` imports beyond ``ipykernel.kernelapp``
# (ipykernel 6-7): the shell, the debugger (debugpy, pydevd), pdb, psutil,
# tornado's asyncio glue. A cold kernel imports them too, before any cell
# runs; a kernel forked without them paid 0.1-0.2 s of CPU for them, each.
KERNEL_MODULES = (
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "pdb",
    "psutil",
    "faulthandler",
    "tornado.platform.asyncio",
    "IPython.extensions",
    "IPython.extensions.storemagic",  # loaded by every shell
    "IPython.core.oinspect",  # the shell's inspector (IPython 8-9 import it lazily)
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.utils.wildcard",
    "ctypes",  # the job's setup ties the kernel to the build with it
)


def preload_kernel_modules() -> None:
    """Import ``KERNEL_MODULES``; whatever they print goes to the log, never
    to stdout, where the server's first line says ``ready``."""
    import contextlib
    import importlib

    with contextlib.redirect_stdout(sys.stderr):
        for name in KERNEL_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # another ipykernel version: the kernel imports what it needs itself
                pass


def unsafe_now() -> str:
    """Why forking now would be unsafe; '' when it is not."""
    import threading

    if threading.active_count() > 1:
        names = ", ".join(thread.name for thread in threading.enumerate() if thread is not threading.main_thread())
        return f"the imports start threads ({names}), which a forked kernel would lack"
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_initialized():
                return "the imports initialise CUDA, which a forked process cannot use"
        except Exception:
            pass
    return ""


reaper: ModuleType  # reaper.py, loaded by the server (serve) before any watcher: the kernels' subreapers


def load_reaper() -> ModuleType:
    """reaper.py, next to this file, under a private name: execbook need not be
    installed in the kernel's Python, and a kernel's ``sys.modules`` must not
    hold a name a page's own module could have."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_execbook_reaper", os.path.join(os.path.dirname(os.path.abspath(__file__)), "reaper.py")
    )
    assert spec is not None and spec.loader is not None  # a file path always gives both
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(path: str, build: int, libdir: str, imports: list[str]) -> None:
    import select
    import socket

    die_with(build)
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # this script's folder; ipykernel_launcher removes its own entry too
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # proxies may connect while the imports run; they wait
    global reaper
    reaper = load_reaper()
    import ipykernel.kernelapp  # noqa: F401 - the point: imported once, not per kernel

    preload_kernel_modules()
    problem = preload(imports, libdir)
    print(f"unsafe: {problem}" if problem else "ready", flush=True)
    if problem:
        return  # connected proxies read EOF: the build starts a cold kernel instead
    while True:
        reaper.reap()  # ended watchers
        readable, _, _ = select.select([listener], [], [], 0.5)
        if not readable:
            continue
        conn, _ = listener.accept()
        conn.settimeout(10)  # a proxy that connects and says nothing must not stall the server
        try:
            request, fds = receive_request(conn)
        except (OSError, ValueError, EOFError):
            conn.close()
            continue
        problem = unsafe_now()  # a kernel of ours never runs here, but stay sure
        if problem:
            print(f"unsafe: {problem}", flush=True)
            return
        if os.fork() == 0:
            watch(conn, listener, request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        conn.close()


def watch(conn: _socket.socket, listener: _socket.socket, request: dict, fds: list[int]) -> None:
    """The forked kernel's parent: fork the kernel, tell the proxy its pid,
    then wait. When the kernel ends, kill what it left (orphans come here: this
    process is a child subreaper) and send the proxy its exit status; when the
    proxy ends (killed with the kernel's tree, or by PR_SET_PDEATHSIG with
    the build, even by SIGKILL), kill the kernel and every process under it.
    The kernel dies with this process (PR_SET_PDEATHSIG), and this process
    runs no user code: a cell stuck in C code, holding the GIL, cannot stop
    it, as it would a thread of the kernel."""
    import select
    import traceback

    code = 1
    try:
        listener.close()
        # orphans of the kernel's tree (a daemon a cell double-forked) come here, not
        # to init, and are killed with the rest once the kernel or its proxy is gone
        reaper.become_subreaper()
        # the server's stdout is a pipe the build reads until EOF: a watcher (and
        # its kernel) outliving a closed server must not hold it open
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        conn.settimeout(None)
        parent = os.getpid()
        kernel = os.fork()
        if kernel == 0:
            become_kernel(conn, parent, request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        conn.sendall(f"pid {kernel}\n".encode())
        while True:
            ended = reaper.reap()  # the kernel, or orphans that ended here
            if kernel in ended:
                reaper.sweep()  # before the proxy hears of it: the job is over only when all is gone
                conn.sendall(f"exit {os.waitstatus_to_exitcode(ended[kernel])}\n".encode())
                code = 0
                break
            readable, _, _ = select.select([conn], [], [], 0.2)
            if readable and not conn.recv(64):  # the proxy is gone: the kernel's tree goes too
                break
    except BaseException:
        traceback.print_exc()
    try:
        reaper.sweep()
    finally:
        os._exit(code)


def become_kernel(conn: _socket.socket, parent: int, request: dict, fds: list[int]) -> None:
    """In the forked child: become the job's kernel, as ``python -m ipykernel_launcher`` would be."""
    import traceback

    code = 1
    try:
        conn.close()
        die_with(parent)
        os.setsid()  # its own process group, as jupyter_client gives a kernel: interrupts reach its subprocesses
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # the handlers a fresh Python starts with
        _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        reseed()
        import ipykernel_launcher

        sys.argv = [ipykernel_launcher.__file__, *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        # parent_handle's default was read from JPY_PARENT_PID when the server imported
        # ipykernel, where it is unset; 0 would print the `ipython kernel` banner to the
        # build's terminal and watch no parent. A cold kernel watches its launcher: this
        # one watches its watcher, which dies with the proxy jupyter_client launched.
        app = IPKernelApp.instance(parent_handle=parent)
        app.initialize(request["argv"])
        inline = sys.modules.get("matplotlib_inline.backend_inline")
        if inline is not None:  # imported before the shell existed: do what its import does in a kernel
            inline._enable_matplotlib_integration()
        app.start()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
    try:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def reseed() -> None:
    """Forked kernels must not share random streams seeded in the server.

    Python's ``random`` reseeds itself after fork; NumPy's global legacy state
    and PyTorch's CPU generator, seeded from the OS at import, do not (every
    page would draw the same "random" tensors). PyTorch's CUDA generators
    are made when CUDA starts, in the kernel, as in a cold one.
    """
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        try:
            numpy_random.seed()
        except Exception:
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch.default_generator.seed()
        except Exception:
            pass


# --- the proxy ---


def connect(path: str, server: int) -> _socket.socket:
    """Connect to the server, waiting while it starts (it binds its socket
    before its imports, but after Python's own start-up)."""
    import time

    deadline = time.monotonic() + 60
    while True:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if not alive(server) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def proxy(path: str, server: int, build: int, pid_file: str, argv: list[str]) -> int:
    die_with(build)
    child = 0
    pending: list[int] = []

    def forward(signum: int, frame: object) -> None:
        if child:
            try:
                os.killpg(child, signum)
            except OSError:
                pass
        else:
            pending.append(signum)

    for name in FORWARDED:
        if hasattr(_signal, name):
            _signal.signal(getattr(_signal, name), forward)
    try:
        sock = connect(path, server)
        send_request(sock, {"cwd": os.getcwd(), "env": dict(os.environ), "argv": argv}, [0, 1, 2])
    except OSError as error:
        print(f"execbook: the fork server at {path} cannot be reached: {error}", file=sys.stderr, flush=True)
        return 75
    buffer = b""
    code = 1
    while True:
        try:
            data = sock.recv(4096)
        except InterruptedError:
            continue
        except OSError:
            data = b""
        if not data:
            if not child:
                print("execbook: the fork server ended before forking a kernel", file=sys.stderr, flush=True)
                return 75
            wait_gone(child)  # the server died: the kernel still holds its end; it is gone now
            return code
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            word, _, value = line.decode().partition(" ")
            if word == "pid":
                child = int(value)
                with open(pid_file + ".tmp", "w") as handle:
                    handle.write(str(child))
                os.replace(pid_file + ".tmp", pid_file)
                for signum in pending:
                    forward(signum, None)
            elif word == "exit":
                status = int(value)
                return status if status >= 0 else 128 - status


def wait_gone(pid: int) -> None:
    """Until ``pid`` has ended (a zombie nobody reaps has ended too)."""
    import time

    while alive(pid):
        time.sleep(0.1)


def main(args: list[str]) -> None:
    if args[:1] == ["ipykernel-server"]:
        import json

        serve(args[1], int(args[2]), args[3], json.loads(args[4]))
        os._exit(0)
    if args[:1] == ["proxy"]:
        sys.exit(proxy(args[1], int(args[2]), int(args[3]), args[4], args[5:]))
    sys.exit(
        f"usage: {__file__} ipykernel-server SOCKET BUILD_PID LIBDIR IMPORTS_JSON | proxy SOCKET "
        "SERVER_PID BUILD_PID PID_FILE ARGS..."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
