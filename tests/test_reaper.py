"""Processes die with their job: a daemon that a cell double-forks (re-parented
away from the kernel's tree) is killed when the job ends, whether the job was
"ok", failed, timed out or its kernel died; in cold and in forked kernels."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import run_sphinx, wait_until_ended, write_book

from execbook.execute import reaper

pytestmark = [pytest.mark.skipif(not reaper.SUPPORTED, reason="child subreapers are Linux's"), pytest.mark.kernels]

# the daemon writes its pid and becomes `sleep 300`, its parent gone at once: no walk of
# the kernel's process tree finds it any more
SETSID = """
import os, subprocess, time
daemon = "echo $$ > {pid_file}.tmp && mv {pid_file}.tmp {pid_file} && exec sleep 300 </dev/null >/dev/null 2>&1"
subprocess.run(["setsid", "-f", "sh", "-c", daemon], check=True)
"""
DOUBLE_FORK = """
import os, subprocess, time
child = os.fork()
if child == 0:
    if os.fork() == 0:
        os.setsid()
        with open("{pid_file}.tmp", "w") as handle:
            handle.write(str(os.getpid()))
        os.rename("{pid_file}.tmp", "{pid_file}")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execvp("sleep", ["sleep", "300"])
    os._exit(0)
os.waitpid(child, 0)
"""
WAIT = """
deadline = time.monotonic() + 30
while not os.path.exists("{pid_file}") and time.monotonic() < deadline:
    time.sleep(0.05)
print("daemon started", flush=True)
"""
ENDINGS = {
    "ok": "print('done')",
    "error": "raise ValueError('the cell failed')",
    "dead": "os.kill(os.getpid(), 9)",
    "timeout": "time.sleep(120)",
}


def daemon_page(name: str, spawn: str, ending: str, pid_file: Path) -> str:
    code = (spawn + WAIT).format(pid_file=pid_file).strip() + "\n" + ending
    return f"# {name}\n\n```{{.python .input}}\n{code}\n```\n"


def running_after(pids: list[int], seconds: float) -> list[int]:
    """The pids still running ``seconds`` from now (or when all have ended)."""
    processes = []
    for pid in pids:
        try:
            processes.append(psutil.Process(pid))
        except psutil.Error:  # ended already
            pass
    return [process.pid for process in wait_until_ended(processes, seconds)]


def kill_if_running(pids: list[int]) -> None:
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


@pytest.mark.sphinx
@pytest.mark.parametrize("preload", [False, True], ids=["cold", "forked"])
def test_a_double_forked_daemon_dies_with_its_job(tmp_path: Path, preload: bool) -> None:
    pids = tmp_path / "pids"  # outside the book
    pids.mkdir()
    pages = {
        "index.md": "# Daemons\n\n```toc\n"
        + "\n".join(f"{e}-{s}" for e in ENDINGS for s in ("setsid", "fork"))
        + "\n```\n"
    }
    for ending, code in ENDINGS.items():
        for spawn_name, spawn in (("setsid", SETSID), ("fork", DOUBLE_FORK)):
            name = f"{ending}-{spawn_name}"
            pages[f"{name}.md"] = daemon_page(name, spawn, code, pids / name)
    conf = f"execbook_workers = 2\nexecbook_timeout = 8\nexecbook_preload_imports = {preload}\n"
    root = write_book(tmp_path / "book", pages, conf=conf, tabs=("python",))
    started: list[int] = []
    try:
        built = run_sphinx(root, builder="dummy")
        started = [int(path.read_text()) for path in sorted(pids.iterdir()) if not path.name.endswith(".tmp")]
        report = json.loads((root / "_build" / "dummy" / ".doctrees" / "execbook" / "report.json").read_text())
        statuses = {entry["page"]: entry["status"] for entry in report["entries"]}
        assert statuses == {f"{e}-{s}": e for e in ENDINGS for s in ("setsid", "fork")}, built.output
        assert len(started) == 8, "a daemon never started"
        if preload:
            assert list((root / "_build" / "dummy" / ".doctrees" / "execbook" / "logs").glob("*forkserver*")), (
                "no kernel was forked"
            )
        assert running_after(started, 10) == [], "daemons outlived their jobs"
    finally:
        kill_if_running(started)


@pytest.mark.sphinx
def test_a_killed_build_takes_a_cold_kernels_daemon_with_it(tmp_path: Path) -> None:
    """The build dies by SIGKILL (no clean-up of ours runs): the kernel's reaper,
    told by the kernel's parent-death signal, kills the daemon."""
    pid_file = tmp_path / "daemon.pid"
    page = daemon_page("Stuck", SETSID, "time.sleep(300)", pid_file)
    root = write_book(
        tmp_path / "book", {"index.md": page}, conf="execbook_preload_imports = False\n", tabs=("python",)
    )
    build = subprocess.Popen(
        [sys.executable, "-m", "sphinx", "-b", "dummy", "-q", str(root), str(root / "_build")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    daemon = 0
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        daemon = int(pid_file.read_text())
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=60)
        assert running_after([daemon], 10) == [], "the daemon outlived its killed build"
    finally:
        build.kill()
        build.wait()
        if daemon:
            kill_if_running([daemon])


def test_sweep_kills_every_process_under_the_reaper(tmp_path: Path) -> None:
    """``reaper.py`` as the kernel's launcher: its command's exit code comes back, and
    a daemon the command double-forked is gone when it returns."""
    pid_file = tmp_path / "daemon.pid"
    script = f"setsid -f sh -c 'echo $$ > {pid_file}; exec sleep 300 >/dev/null 2>&1'; "
    script += f"while [ ! -s {pid_file} ]; do sleep 0.05; done; exit 3"
    done = subprocess.run(
        [sys.executable, "-I", "-S", reaper.__file__, str(os.getpid()), "--", "sh", "-c", script], timeout=60
    )
    daemon = int(pid_file.read_text())
    try:
        assert done.returncode == 3
        assert running_after([daemon], 0) == []
    finally:
        kill_if_running([daemon])
