"""A process that nothing started under it outlives: a Linux child subreaper.

A cell can double-fork a daemon (``setsid -f``, ``nohup cmd &``, two
``os.fork()``): the daemon's parent exits at once, the daemon is re-parented,
and no walk of the kernel's process tree finds it any more. Linux re-parents
such orphans to the nearest ancestor marked ``PR_SET_CHILD_SUBREAPER``
instead of init. So the process that starts a kernel is made one (never the
build's own process, which may be someone else's Sphinx): a cold kernel runs
under this script (``reaper.py BUILD_PID -- KERNEL ARGV``), a forked kernel
under its fork server's watcher (forkkernel.py, which loads this file), and
``execbook serve`` runs sphinx-autobuild under it. When the command ends, or
the reaper is told to stop, every process left under it is killed
(``sweep``); orphans that turn up meanwhile are its children, so none escapes.

The script runs in the kernel's Python with ``-I -S``: the standard library
only, no ``site``. It ties itself to the build (PR_SET_PDEATHSIG with
SIGTERM, which it catches to sweep: a SIGKILL would leave its orphans to
init). SIGINT (jupyter_client's interrupt, sent to the whole process group)
is the command's to handle and does not stop the reaper; SIGTERM, SIGHUP and
SIGQUIT end the command and everything under it. Where ``prctl`` is missing
(not Linux), callers do not use it; ``become_subreaper`` says so.
"""

from __future__ import annotations

import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOPPING = ("SIGTERM", "SIGHUP", "SIGQUIT")
SUPPORTED = sys.platform == "linux"


def _prctl(option: int, value: int) -> bool:
    if not SUPPORTED:
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except Exception:  # no libc prctl: behave as on other systems
        return False


def become_subreaper() -> bool:
    """Make this process the one that orphans below it are re-parented to; False where Linux cannot."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """Get ``signum`` when the thread of ``parent`` that started this process
    ends; exit now if it has ended already (the signal would never come)."""
    _prctl(PR_SET_PDEATHSIG, signum)
    if SUPPORTED and os.getppid() != parent:
        os._exit(70)


def parents() -> dict[int, int]:
    """Every process's parent, read from /proc (no psutil: this runs without site-packages)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if fields and fields[0] not in (b"Z", b"X"):  # a zombie has ended; reaping it is enough
            found[int(name)] = int(fields[1])
        elif fields:
            found.setdefault(int(name), -1)
    return {pid: parent for pid, parent in found.items() if parent != -1}


def descendants(root: int) -> list[int]:
    """The running processes under ``root``, parents before their children."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents().items():
        children.setdefault(parent, []).append(pid)
    found, queue = [], list(children.get(root, []))
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue += children.get(pid, [])
    return found


def reap() -> dict[int, int]:
    """Collect every ended child (orphans re-parented here end as our zombies); pid -> wait status."""
    ended = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        ended[pid] = status
    return ended


def sweep(seconds: float = 10.0) -> dict[int, int]:
    """SIGKILL every process under this one until none is left (or ``seconds``
    passed), reaping them; pid -> wait status of the children reaped.

    A process forked between the look and the kill is orphaned by the kill
    and, this process being a subreaper, re-parented here: the next round
    finds it."""
    ended: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    while True:
        ended.update(reap())
        left = descendants(os.getpid())
        if not left or time.monotonic() > deadline:
            return ended
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


class _Stop(Exception):
    pass


def run(build: int, argv: list[str]) -> int:
    """Run ``argv`` as this subreaper's child and return its exit code (128 +
    the signal, as a shell says, when a signal ended it or us), after killing
    whatever it left behind."""
    become_subreaper()
    stopped: list[int] = []

    def stop(signum: int, frame: object) -> None:
        for name in STOPPING:  # the first one wins: a second must not cut the sweep short
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
        stopped.append(signum)
        raise _Stop

    # a handler (not SIG_IGN): exec resets it, so the command starts with SIGINT at its default
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    for name in STOPPING:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    try:
        die_with_parent(build)
        child = os.fork()
        if child == 0:
            try:
                os.environ["JPY_PARENT_PID"] = str(os.getppid())  # a kernel watches its real parent
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        while True:
            pid, status = os.waitpid(-1, 0)  # orphans re-parented here are reaped on the way
            if pid == child:
                code = os.waitstatus_to_exitcode(status)
                break
    except _Stop:
        code = -stopped[0]
    sweep()
    return code if code >= 0 else 128 - code


def main(args: list[str]) -> None:
    if len(args) < 3 or args[1] != "--":
        sys.exit(f"usage: {__file__} BUILD_PID -- COMMAND [ARGS...]")
    sys.exit(run(int(args[0]), args[2:]))


if __name__ == "__main__":
    main(sys.argv[1:])
