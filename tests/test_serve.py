"""execbook serve: a live preview that rebuilds on save, and ends everything it
started when its own process alone is told to stop (as a process manager, an
editor's task runner or `timeout` would)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import end_processes, processes_under, sigint_at_default, wait_until_ended, write_book

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]

STOP_SECONDS = 10  # "within a few seconds", with room for a loaded machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def wait_for(url: str, text: str, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = fetch(url)
        if page is not None and text in page:
            return True
        time.sleep(0.5)
    return False


def port_is_free(port: int) -> bool:
    """Whether a new server could listen on ``port``: a fetch cannot tell a free
    port from one held by a hung server that accepts nothing."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no holder
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Path, int], subprocess.Popen]]:
    """Start `execbook serve` on a book, its output in serve.log; afterwards end whatever a failed stop left."""
    started: list[subprocess.Popen] = []

    def start(book: Path, port: int) -> subprocess.Popen:
        command = [sys.executable, "-m", "execbook.cli", "serve", "--book", str(book), "--port", str(port)]
        with (tmp_path / "serve.log").open("w") as log:  # the child keeps its own copy of the file
            started.append(
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=sigint_at_default)
            )
        return started[-1]

    yield start
    for server in started:
        if server.poll() is None:
            server.kill()
            server.wait()
    end_processes(processes_under(tmp_path))


def stop(server: subprocess.Popen, sig: signal.Signals, tmp_path: Path, port: int) -> None:
    """Send ``sig`` to the serve process alone; it must end with everything it started."""
    start = time.monotonic()
    server.send_signal(sig)
    server.wait(timeout=30)
    assert time.monotonic() - start < STOP_SECONDS, f"stopping took {time.monotonic() - start:.1f} s"
    survivors = [" ".join(process.cmdline()) for process in processes_under(tmp_path)]
    assert survivors == [], f"still running after {sig.name}:\n" + "\n".join(survivors)
    assert port_is_free(port), f"port {port} is still held after {sig.name}"


def test_serve_rebuilds_on_save_and_stops(tmp_path: Path, serve: Callable[[Path, int], subprocess.Popen]) -> None:
    page = "# Served\n\nFirst version of the text.\n\n```{.python .input}\nprint('ran once')\n```\n"
    book = write_book(tmp_path / "book", {"index.md": page}, tabs=("python",))
    port = free_port()
    server = serve(book, port)
    url = f"http://127.0.0.1:{port}/index.html"
    assert wait_for(url, "First version of the text."), "the first build was never served"
    assert "ran once" in fetch(url)
    (book / "index.md").write_text(page.replace("First version", "Second version"))
    assert wait_for(url, "Second version of the text."), "the edit was never served"
    report = (book / "_build" / "doctrees" / "execbook" / "report.json").read_text()
    assert '"ran": 0' in report  # saving prose ran no code
    stop(server, signal.SIGINT, tmp_path, port)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda sig: sig.name)
def test_a_stop_during_a_build_ends_the_build_and_its_kernel(
    tmp_path: Path, serve: Callable[[Path, int], subprocess.Popen], sig: signal.Signals
) -> None:
    running = tmp_path / "cell-running"  # outside the book: writing it must not trigger a rebuild
    page = "# Slow\n\n```{.python .input}\nprint('quick')\n```\n"
    book = write_book(tmp_path / "book", {"index.md": page}, tabs=("python",))
    port = free_port()
    server = serve(book, port)
    assert wait_for(f"http://127.0.0.1:{port}/index.html", "quick"), "the first build was never served"
    slow = f"import pathlib, time\npathlib.Path({str(running)!r}).touch()\ntime.sleep(300)"
    (book / "index.md").write_text(page.replace("print('quick')", slow))
    deadline = time.monotonic() + 120
    while not running.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running.exists(), "the rebuild never ran the slow cell"
    stop(server, sig, tmp_path, port)


def test_a_killed_serve_leaves_no_process_and_frees_its_port(
    tmp_path: Path, serve: Callable[[Path, int], subprocess.Popen]
) -> None:
    """SIGKILL, during the first build: no clean-up of serve's own can run."""
    running = tmp_path / "cell-running"
    slow = f"import pathlib, time\npathlib.Path({str(running)!r}).touch()\ntime.sleep(300)"
    book = write_book(
        tmp_path / "book", {"index.md": f"# Slow\n\n```{{.python .input}}\n{slow}\n```\n"}, tabs=("python",)
    )
    port = free_port()
    server = serve(book, port)
    deadline = time.monotonic() + 120
    while not running.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running.exists(), "the first build never ran the slow cell"
    server.kill()
    server.wait()
    survivors = [" ".join(process.cmdline()) for process in wait_until_ended(processes_under(tmp_path), STOP_SECONDS)]
    assert survivors == [], "still running after serve was killed:\n" + "\n".join(survivors)
    assert port_is_free(port), f"port {port} is still held after serve was killed"


def refused(book: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "execbook.cli", "serve", "--book", str(book), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_a_taken_port_is_refused_before_the_build(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": "# Book\n\n```{.python .input}\nprint(1)\n```\n"})
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = refused(book, "--port", str(port))
    assert done.returncode == 2
    assert f"port {port} on 127.0.0.1 is taken by another program; use --port " in done.stderr
    assert not (book / "_build").exists()  # refused before any build


def test_a_bad_host_is_refused_before_the_build(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": "# Book\n\n```{.python .input}\nprint(1)\n```\n"})
    for host in ("no-such-host.invalid", "192.0.2.1"):  # a name that does not resolve; an address not of this machine
        done = refused(book, "--host", host, "--port", str(free_port()))
        assert done.returncode == 2, done.stderr
        assert "use --host 127.0.0.1" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not (book / "_build").exists()
