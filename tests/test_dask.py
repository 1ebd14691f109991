"""Execution on a real Dask cluster: a scheduler and two workers on loopback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from config_stop import assert_cli_prints_only, first_line
from conftest import run_sphinx, write_book

from execbook.execute.cluster import CONNECT_TIMEOUT

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def cluster(workers: int = 2) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{n}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, procs
    finally:
        for proc in [*procs, scheduler]:
            proc.send_signal(signal.SIGTERM)
        for proc in [*procs, scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def page(n: int, seconds: float) -> str:
    return f"# Page {n}\n\n```{{.python .input}}\nimport time\ntime.sleep({seconds})\nprint('page {n} ran')\n```\n"


def book_with(tmp_path: Path, address: str, seconds: float, pages: int) -> Path:
    files = {"index.md": "# Book\n\n```toc\n" + "\n".join(f"p{n}" for n in range(pages)) + "\n```\n"}
    files.update({f"p{n}.md": page(n, seconds) for n in range(pages)})
    (tmp_path / "data").mkdir(exist_ok=True)
    return write_book(tmp_path / "book", files, conf=f"execbook_dask_scheduler = {address!r}\n", tabs=("python",))


def report(root: Path) -> dict:
    return json.loads((root / "_build" / "html" / ".doctrees" / "execbook" / "report.json").read_text())


def test_a_book_builds_through_two_dask_workers(tmp_path: Path) -> None:
    with cluster(2) as (address, _):
        root = book_with(tmp_path, address, 1.0, 4)
        built = run_sphinx(root)
        assert built.returncode == 0, built.output
        for n in range(4):
            assert f"page {n} ran" in built.main(f"p{n}").select_one(".cell_output").get_text()
        data = report(root)
        assert data["ran"] == 4 and len(data["workers"]) == 2
        assert all(worker.startswith("tcp://127.0.0.1:") for worker in data["workers"])
        again = run_sphinx(root)  # results came back into the local cache
        assert report(again.srcdir)["ran"] == 0


def test_a_job_on_a_killed_worker_is_retried_elsewhere(tmp_path: Path) -> None:
    with cluster(2) as (address, workers):
        root = book_with(tmp_path, address, 6.0, 2)
        build = subprocess.Popen(
            [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(root), str(root / "_build" / "html")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(4)  # both workers are in the middle of a 6 s job
        workers[0].kill()
        output = build.communicate(timeout=120)[0]
        assert build.returncode == 0, output
        data = report(root)
        assert [entry["status"] for entry in data["entries"]] == ["ok", "ok"]
        for n in range(2):
            assert f"page {n} ran" in (root / "_build" / "html" / f"p{n}.html").read_text()


def test_an_unreachable_scheduler_is_a_prompt_clear_error(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    root = book_with(tmp_path, address, 0, 1)
    result = run_sphinx(root)
    assert result.returncode != 0
    # sphinx-build: our line first, then Sphinx's report of the ConfigError it is; prompt,
    # as the line says: the client gives up after CONNECT_TIMEOUT (no clock read here)
    message = f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT} s"
    assert f"execbook: {message}" in first_line(result.output), result.output
    assert_cli_prints_only(root, message)


def test_a_linked_data_folder_travels_to_the_workers_and_a_loop_does_not(tmp_path: Path) -> None:
    """The copy tree holds ``data -> ../shared-data`` as a link: the payload carries its files
    under data/ (a worker has no such folder), and ``loop -> .`` or a link back from the target
    adds nothing (it was never in the payload: the cell failed with FileNotFoundError)."""
    import io
    import zipfile

    from execbook.execute.cluster import zip_folders

    tree, shared = tmp_path / "tree", tmp_path / "shared-data"
    (tree / "ch").mkdir(parents=True)
    (tree / "ch" / "page.txt").write_text("p")
    shared.mkdir()
    (shared / "set.csv").write_text("1,2\n")
    (shared / "back").symlink_to(tree)
    (tree / "data").symlink_to(shared)
    (tree / "loop").symlink_to(".")
    payload = zip_folders({"tree": tree}, limit_mb=1)
    names = sorted(zipfile.ZipFile(io.BytesIO(payload)).namelist())
    assert names == ["tree/ch/page.txt", "tree/data/set.csv"]
