"""``execbook serve``: sphinx-autobuild in a process group of its own, under a
child subreaper tied to this process (reaper.py), and every process it started
stopped with it (kernels included), whatever stops us, SIGKILL too. The port
and host are checked before the first build."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

from execbook.book.files import BUILD_DIR, NOT_SOURCES_RE
from execbook.cli.book import load_book, with_keep_going

# Ctrl-C, `kill` (a process manager, an editor's task runner, `timeout`) and a closed terminal
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Stop(Exception):
    """A stop signal, raised in the main thread so that ``serve_book`` cleans up on its way out."""


def _raise_stop(signum: int, frame: object) -> NoReturn:
    for sig in STOP_SIGNALS:  # the first one wins: a second Ctrl-C must not cut the cleanup short
        signal.signal(sig, signal.SIG_IGN)
    raise _Stop(signal.Signals(signum).name)


def serve_book(book: Path, host: str, port: int, sphinx_args: list[str]) -> int:
    """Live preview with sphinx-autobuild: an incremental build per save (prose
    edits run no code; a code edit runs just its jobs) and a browser reload.
    A stop signal to this process alone ends everything it started."""
    problem = address_problem(host, port)
    if problem:
        print(f"execbook serve: {problem}", file=sys.stderr)
        return 2
    command = [
        *under_reaper(),
        sys.executable,
        "-m",
        "execbook.cli.autobuild",
        str(book),
        str(book / BUILD_DIR / "html"),
        "-d",
        str(book / BUILD_DIR / "doctrees"),
        "--host",
        host,
        "--port",
        str(port),
        "--re-ignore",
        NOT_SOURCES_RE,
        *with_keep_going([*load_book(book).flags, *sphinx_args]),
    ]
    previous = {sig: signal.signal(sig, _raise_stop) for sig in STOP_SIGNALS}
    server = None
    try:
        # its own session: one killpg reaches the server and its builds, and Ctrl-C in a
        # terminal reaches this process only, which then stops the tree in order
        server = subprocess.Popen(command, start_new_session=True)
        return server.wait()
    except (_Stop, KeyboardInterrupt):
        return 0  # being stopped is how a preview ends
    finally:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if server is not None:
            stop_tree(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def under_reaper() -> list[str]:
    """The launcher that ties sphinx-autobuild, its builds and their kernels to
    this process (reaper.py: a child subreaper that kills everything under it
    when this process dies, even by SIGKILL, and so frees the port); none where
    Linux's prctl is missing."""
    from execbook.execute import reaper

    if not reaper.SUPPORTED:
        return []
    return [sys.executable, "-I", "-S", reaper.__file__, str(os.getpid()), "--"]


def address_problem(host: str, port: int) -> str:
    """Why sphinx-autobuild could not listen on ``host``:``port``, found before
    the first build (which can take minutes); '' when it can."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        return (
            f"--host {host!r} is no address of this machine ({error}); "
            "use --host 127.0.0.1 (or 0.0.0.0 for every interface)"
        )
    family, kind, proto, _, address = addresses[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no holder
        try:
            sock.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is taken by another program; use --port {free_port(host, port)}"
            if error.errno == errno.EACCES:
                return f"port {port} needs privileges to listen on; use --port {free_port(host, 8000)}"
            return f"cannot listen on {host}:{port} ({error.strerror}); use --host 127.0.0.1"
    return ""


def free_port(host: str, start: int) -> int:
    """The first port from ``start`` on that ``host`` can listen on (8000 as a last guess)."""
    for port in range(max(start, 1024), min(start + 100, 65536)):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                return port
            except OSError:
                continue
    return 8000


def stop_tree(server: subprocess.Popen, grace: float = 3.0, term_grace: float = 1.0) -> None:
    """End ``server``, the leader of its own process group, and everything it started.

    SIGINT first, as Ctrl-C in a terminal would: sphinx-autobuild and its build then
    stop their kernels themselves. Whatever is alive ``grace`` seconds later gets
    SIGTERM, then SIGKILL. Kernels run in sessions of their own (jupyter_client), out
    of the group's reach, so the tree is walked while it stands: a kernel orphaned
    by its build is still known.
    """
    import psutil

    known = _descendants(server)
    kill = getattr(signal, "SIGKILL", signal.SIGTERM)  # on Windows both are TerminateProcess
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, term_grace), (kill, term_grace)):
        with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):  # no killpg on Windows
            os.killpg(server.pid, sig)
        if sig != signal.SIGINT:  # to a kernel, SIGINT interrupts a cell and ends nothing
            for process in _alive(known):
                with contextlib.suppress(psutil.Error):
                    process.send_signal(sig)
        if _ended(server, known, wait):
            return


def _ended(server: subprocess.Popen, known: set, seconds: float) -> bool:
    """Wait up to ``seconds`` for the server and every known descendant to end; learn new ones meanwhile."""
    deadline = time.monotonic() + seconds
    while True:
        known |= _descendants(server)  # while a build runs, its kernels are still its children
        if server.poll() is not None and not _alive(known):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _descendants(server: subprocess.Popen) -> set:
    import psutil

    if server.returncode is not None:  # reaped: its pid may be someone else's by now
        return set()
    try:
        return set(psutil.Process(server.pid).children(recursive=True))
    except psutil.Error:
        return set()


def _alive(processes: set) -> list:
    """The processes still running: a zombie has ended, whether or not anyone reaps it."""
    import psutil

    alive = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    return alive
