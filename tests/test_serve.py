"""execbook serve: a live preview that rebuilds on save."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import write_book

pytestmark = pytest.mark.sphinx


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


def test_serve_rebuilds_on_save_and_stops(tmp_path: Path) -> None:
    page = "# Served\n\nFirst version of the text.\n\n```{.python .input}\nprint('ran once')\n```\n"
    book = write_book(tmp_path / "book", {"index.md": page}, tabs=("python",))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "execbook.cli", "serve", "--book", str(book), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/index.html"
        assert wait_for(url, "First version of the text."), "the first build was never served"
        assert "ran once" in fetch(url)
        (book / "index.md").write_text(page.replace("First version", "Second version"))
        assert wait_for(url, "Second version of the text."), "the edit was never served"
        report = (book / "_build" / "doctrees" / "execbook" / "report.json").read_text()
        assert '"ran": 0' in report  # saving prose ran no code
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert fetch(f"http://127.0.0.1:{port}/index.html") is None
