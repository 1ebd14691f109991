"""Kernels forked from a server that did the page's imports once
(execbook_preload_imports): real builds, real kernels, and servers and forked
kernels that misbehave."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from conftest import (
    BuiltBook,
    describe,
    processes_under,
    run_sphinx,
    sigint_at_default,
    wait_until_ended,
    write_book,
)

from execbook.execute.forkserver import leading_imports, shadowed

pytestmark = pytest.mark.kernels  # tests here start Jupyter kernels


@pytest.mark.parametrize(
    ("source", "imports"),
    [
        (
            "import torch\nfrom d2l import torch as d2l\nx = 1\nimport math",
            ("import torch", "from d2l import torch as d2l"),
        ),
        ("%matplotlib inline\nimport numpy as np, json\n", ("import numpy as np, json",)),
        ("# a comment\n\nfrom os import path as p, sep\n!ls\nimport json", ("from os import path as p, sep",)),
        ("import os\nos.environ['X'] = '1'\nimport torch", ("import os",)),
        ("x = 1\nimport torch", ()),
        ("from . import sibling\nimport json", ()),
        ("from __future__ import annotations\nimport json", ()),
        ("import json\nthis is not python\nimport os", ("import json",)),
        ("%%time\nimport json", ()),
        ("import json\nx = '\x00'\nimport os", ("import json",)),  # a NUL byte: some Pythons raise ValueError
        ("", ()),
    ],
)
def test_leading_imports(source: str, imports: tuple[str, ...]) -> None:
    assert leading_imports(source) == imports


def test_a_module_of_the_pages_folder_is_not_preloaded(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("")
    (tmp_path / "pkg").mkdir()
    assert shadowed(("import json", "from helpers import f"), tmp_path)
    assert shadowed(("import pkg.sub as s",), tmp_path)
    assert not shadowed(("import json", "from os import path"), tmp_path)


# --- builds ---

HEAVY = """
import os, sys, time
with open(os.environ["HEAVY_LOG"], "a") as log:
    log.write(f"{os.getpid()}\\n")
time.sleep(float(os.environ.get("HEAVY_SLEEP", "0")))
STATE = []
"""

PAGE = """
# Page {name}

```{{.python .input}}
%matplotlib inline
import heavymod
import matplotlib.pyplot as plt
```

```{{.python .input}}
import os, sys
print("before", "secret" in globals(), len(heavymod.STATE), os.environ["FORK_TEST"], os.getcwd().endswith("{folder}"))
secret = "{name}"
heavymod.STATE.append("{name}")
print("after", secret, len(heavymod.STATE))
```

```{{.python .input}}
import gc, weakref
class Node:
    pass
node = Node(); node.self = node; alive = weakref.ref(node); del node; gc.collect()
print("own cycles collected:", alive() is None)
```

```{{.python .input}}
plt.plot([1, 2, 3], [1, 4, 9])
```
"""


@pytest.fixture
def heavy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed module whose every import appends a line to a file."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "heavymod.py").write_text(textwrap.dedent(HEAVY))
    log = tmp_path / "imports.log"
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("HEAVY_LOG", str(log))
    monkeypatch.setenv("FORK_TEST", "from the build")
    return log


def report(book: BuiltBook) -> dict:
    return json.loads((book.outdir / ".doctrees" / "execbook" / "report.json").read_text())


def statuses(book: BuiltBook) -> dict[str, str]:
    return {entry["page"]: entry["status"] for entry in report(book)["entries"]}


def three_pages(root: Path, conf: str = "") -> Path:
    pages = {"index.md": "# Book\n\n```toc\na\nsub/b\nsub/c\n```\n"}
    for docname in ("a", "sub/b", "sub/c"):
        folder = docname.rpartition("/")[0] or "tree"
        pages[f"{docname}.md"] = PAGE.format(name=docname.replace("/", "-"), folder=folder)
    return write_book(root, pages, conf='execbook_workers = 1\nexecbook_execute = "force"\n' + conf, tabs=("python",))


def same_but_addresses(one: str, other: str) -> bool:
    """Equal once object addresses (``<Line2D at 0x7f...>``) are masked."""
    return re.sub(r"0x[0-9a-f]+", "0x?", one) == re.sub(r"0x[0-9a-f]+", "0x?", other)


def imports_logged(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.sphinx
def test_pages_sharing_imports_import_once_and_stay_independent(
    tmp_path: Path, heavy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = three_pages(tmp_path / "book")
    cold = run_sphinx(root, "-D", "execbook_preload_imports=0")
    assert cold.returncode == 0, cold.output
    assert imports_logged(heavy) == 3  # one cold kernel per page
    # read now: the next build writes its pages over these
    cold_pages = {docname: cold.main(docname) for docname in ("a", "sub/b", "sub/c")}
    monkeypatch.setenv("HEAVY_SLEEP", "3")  # and a server whose imports take 3 s: its kernels wait for it
    warm = run_sphinx(root)
    assert warm.returncode == 0, warm.output
    assert imports_logged(heavy) == 4  # once in the server, for all three pages
    assert set(statuses(warm).values()) == {"ok"}
    # a -q build's terminal shows warnings only: no forked kernel's "To connect another client" banner
    assert "--existing" not in warm.output and "Ctrl-C will not work" not in warm.output, warm.output
    for docname in ("a", "sub/b", "sub/c"):
        text = warm.main(docname).get_text()
        assert "before False 0 from the build True" in text  # no other page's globals or module state; env and cwd
        assert f"after {docname.replace('/', '-')} 1" in text
        assert "own cycles collected: True" in text  # the collector works in a forked kernel
        assert same_but_addresses(text, cold_pages[docname].get_text())
        images = warm.main(docname).select("img")
        assert len(images) == 1 and images[0]["src"].endswith(".png"), images
        assert len(cold_pages[docname].select("img")) == 1


@pytest.mark.sphinx
def test_two_workers_share_one_server(tmp_path: Path, heavy: Path) -> None:
    """CPU workers have the same environment: their kernels fork from one server."""
    root = three_pages(tmp_path / "book", conf="execbook_workers = 2\n")
    built = run_sphinx(root)
    assert built.returncode == 0, built.output
    assert set(statuses(built).values()) == {"ok"}
    assert {entry["worker"] for entry in report(built)["entries"]} == {"cpu0", "cpu1"}
    assert imports_logged(heavy) == 1
    for docname in ("a", "sub/b", "sub/c"):
        assert f"after {docname.replace('/', '-')} 1" in built.main(docname).get_text()  # no state shared


@pytest.mark.sphinx
def test_forked_kernels_draw_different_random_numbers(tmp_path: Path) -> None:
    """The server seeded NumPy's and PyTorch's generators at import; each
    forked kernel reseeds them, as a cold kernel would seed its own."""
    page = (
        "# Draw {n}\n\n```{{.python .input}}\nimport numpy\nimport torch\n```\n\n"
        "```{{.python .input}}\nprint('draw', numpy.random.randint(2**31), torch.initial_seed(), {n})\n```\n"
    )
    root = write_book(tmp_path / "book", numbered_pages(page, 3), conf="execbook_workers = 1\n", tabs=("python",))
    built = run_sphinx(root)
    assert built.returncode == 0, built.output
    assert list((built.outdir / ".doctrees" / "execbook" / "logs").glob("*forkserver*.log")), "no server started"
    draws = [
        next(line for line in built.main(f"p{n}").get_text().splitlines() if line.startswith("draw")) for n in range(3)
    ]
    numpy_draws, torch_seeds = {draw.split()[1] for draw in draws}, {draw.split()[2] for draw in draws}
    assert len(numpy_draws) == 3 and len(torch_seeds) == 3, draws


@pytest.mark.sphinx
def test_option_is_checked(tmp_path: Path) -> None:
    root = write_book(
        tmp_path / "book", {"index.md": "# Hi\n"}, conf='execbook_preload_imports = "yes"\n', tabs=("python",)
    )
    book = run_sphinx(root)
    assert book.returncode != 0
    assert "execbook_preload_imports must be True or False, got 'yes'" in book.output


KILLS_ITS_SERVER = """
# Page {n}

```{{.python .input}}
import json
import heavymod
```

```{{.python .input}}
import psutil
watcher = psutil.Process().parent()  # forked: the kernel's watcher, a child of the server
server = watcher.parent() if "forkkernel" in " ".join(watcher.cmdline()) else None
if server is not None and "forkkernel" in " ".join(server.cmdline()):
    server.kill()  # under the running kernel
    print("killed", "the server")
print("page", {n}, "ran")
```
"""

CRASHES_WHEN_FORKED = """
import os
os.register_at_fork(after_in_child=lambda: os._exit(3))  # every kernel a server forks dies at once
"""


def numbered_pages(template: str, count: int = 4) -> dict[str, str]:
    pages = {"index.md": "# Book\n\n```toc\n" + "\n".join(f"p{n}" for n in range(count)) + "\n```\n"}
    for n in range(count):
        pages[f"p{n}.md"] = template.format(n=n)
    return pages


@pytest.mark.sphinx
@pytest.mark.parametrize(
    "case", ["server dies", "forked kernel crashes", "imports start a thread", "imports print", "imports use CUDA"]
)
def test_a_failing_server_costs_no_job(tmp_path: Path, heavy: Path, case: str) -> None:
    site = Path(str(heavy.parent / "site"))
    if case == "forked kernel crashes":
        (site / "heavymod.py").write_text(CRASHES_WHEN_FORKED)
    elif case == "imports start a thread":
        (site / "heavymod.py").write_text(
            "import threading, time\nthreading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
        )
    elif case == "imports print":
        (site / "heavymod.py").write_text("print('heavymod says hello')\n")
    elif case == "imports use CUDA":  # a stand-in for torch after a CUDA call at import
        (site / "heavymod.py").write_text(
            "import sys, types\nsys.modules['torch'] = "
            "types.SimpleNamespace(cuda=types.SimpleNamespace(is_initialized=lambda: True))\n"
        )
    root = write_book(
        tmp_path / "book", numbered_pages(KILLS_ITS_SERVER), conf="execbook_workers = 1\n", tabs=("python",)
    )
    book = run_sphinx(root)
    assert book.returncode == 0, book.output
    assert set(statuses(book).values()) == {"ok"}, report(book)
    for n in range(4):
        text = book.main(f"p{n}").get_text()
        assert f"page {n} ran" in text
        assert ("heavymod says hello" in text) == (case == "imports print")  # as a cold kernel shows it
    killed = sum("killed the server" in book.main(f"p{n}").get_text() for n in range(4))
    assert killed == (1 if case == "server dies" else 0)  # a crashing or unsafe server forks no kernel
    warnings = [line for line in book.warnings if "kernels start cold" in line]
    if case == "imports start a thread":
        assert len(warnings) == 1 and "the imports start threads" in warnings[0], book.output
    elif case == "imports print":
        assert len(warnings) == 1 and "the imports print something" in warnings[0], book.output
    elif case == "imports use CUDA":
        assert len(warnings) == 1 and "the imports initialise CUDA" in warnings[0], book.output
    else:
        assert warnings == [], book.output
    assert [describe(p) for p in wait_until_ended(processes_under(root), 10)] == []


STUBBORN = """
---
execbook:
  timeout: 2
---
# Stubborn {n}

```{{.python .input}}
import json
import signal, subprocess, sys, time
```

```{{.python .input}}
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", "MARKER"], start_new_session=True)
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.1)
```

```{{.python .input}}
print("never", "printed")
```
"""


@pytest.mark.sphinx
def test_a_forked_kernel_that_hangs_is_interrupted_then_killed_with_its_tree(tmp_path: Path) -> None:
    marker = f"execbook-fork-test-{tmp_path.name}"
    root = write_book(
        tmp_path / "book",
        numbered_pages(STUBBORN.replace("MARKER", marker), 2),
        conf="execbook_workers = 1\n",
        tabs=("python",),
    )
    book = run_sphinx(root)
    assert book.returncode == 0, book.output
    assert (
        "p0.md:12: WARNING: [python] the cell ran past the 2 s timeout (execbook_timeout), ignored the interrupt"
        in book.output
    )
    assert set(statuses(book).values()) == {"timeout"}
    assert "never printed" not in book.main("p0").get_text()
    survivors = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert survivors == [], "a process the cell started outlived its kernel"
    assert [describe(p) for p in wait_until_ended(processes_under(root), 10)] == []


def forked_kernels(root: Path) -> list[psutil.Process]:
    """Kernels a fork server forked for builds of ``root``: children of a server process."""
    found = []
    for process in processes_under(root):
        try:
            if "ipykernel-server" in process.cmdline() and "ipykernel-server" in process.parent().cmdline():
                found.append(process)
        except (psutil.Error, AttributeError):
            continue
    return found


@pytest.mark.sphinx
@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["Ctrl-C", "SIGTERM", "SIGKILL"]
)
def test_a_stopped_build_leaves_no_forked_kernel_or_server(tmp_path: Path, signum: int) -> None:
    page = (
        "# Stuck {n}\n\n```{{.python .input}}\nimport json\n```\n\n"
        "```{{.python .input}}\nprint('started', {n}, flush=True)\nsum(range(10**13))\n```\n"
    )
    root = write_book(tmp_path / "book", numbered_pages(page, 3), conf="execbook_workers = 1\n", tabs=("python",))
    build = subprocess.Popen(
        [sys.executable, "-m", "sphinx", "-b", "dummy", "-q", str(root), str(root / "_build")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=sigint_at_default,
    )
    try:
        deadline = time.monotonic() + 120
        while not forked_kernels(root) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert forked_kernels(root), "no kernel was forked"
        time.sleep(3)  # into the stuck cell
        build.send_signal(signum)
        build.wait(timeout=60)
    finally:
        build.kill()
    assert [describe(p) for p in wait_until_ended(processes_under(root), 10)] == []


@pytest.mark.sphinx  # real kernels: not a pure unit test
def test_one_server_serves_kernels_with_their_own_env_and_folder(tmp_path: Path) -> None:
    """Each forked kernel has its job's environment and working folder, not the
    server's; an interrupt reaches it through its proxy; shutting it down ends it."""
    import os

    from jupyter_core.utils import run_sync

    from execbook.execute.forkserver import ForkServer
    from execbook.execute.kernel import ipc_address, new_kernel_manager, shutdown

    server = ForkServer(
        sys.executable,
        ("import json",),
        tmp_path,
        {**os.environ, "WHO": "server"},
        None,
        ipc_address() + ".fork",
        tmp_path / "server.log",
    )
    try:
        for n in range(2):
            folder = tmp_path / f"job{n}"
            folder.mkdir()
            manager = new_kernel_manager(
                "python3", folder, {**os.environ, "WHO": f"job {n}"}, tmp_path / f"k{n}.log", fork=server
            )
            client = manager.client()
            client.start_channels()
            try:
                run_sync(client.wait_for_ready)(timeout=60)
                texts: list[str] = []

                def hook(message: dict) -> None:
                    if message["msg_type"] == "stream":
                        texts.append(message["content"]["text"])
                    elif message["msg_type"] == "error":
                        texts.append(message["content"]["ename"])

                code = (
                    "import os, sys; "
                    "print(os.environ['WHO'], os.getcwd(), 'json' in sys.modules, 'seen' in globals()); seen = 1"
                )
                run_sync(client.execute_interactive)(code, output_hook=hook, timeout=30)
                assert "".join(texts).strip() == f"job {n} {folder} True False"
                kernel = psutil.Process(int(Path(manager.execbook_forked).read_text()))
                assert "ipykernel-server" in kernel.parent().cmdline()  # forked (by its watcher, a fork of the server)
                texts.clear()
                msg_id = client.execute("import time; time.sleep(30)")
                time.sleep(1)
                run_sync(manager.interrupt_kernel)()
                reply = run_sync(client.get_shell_msg)(timeout=10)
                assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["ename"] == "KeyboardInterrupt"
            finally:
                client.stop_channels()
                shutdown(manager)
            assert wait_until_ended([kernel], 10) == []
    finally:
        server.close()


@pytest.mark.sphinx
def test_pages_with_their_own_imports_start_cold(tmp_path: Path) -> None:
    """No server for a prefix only one job has, nor for a first cell that does not start with imports."""
    pages = {
        "index.md": "# Book\n\n```toc\na\nb\nc\nd\n```\n",
        "a.md": "# A\n\n```{.python .input}\nimport json\nprint('a', json.dumps(1))\n```\n",
        "b.md": "# B\n\n```{.python .input}\nimport csv\nprint('b', csv.QUOTE_ALL)\n```\n",
        "c.md": "# C\n\n```{.python .input}\nimport os\nos.environ['C'] = '1'\nprint('c')\n```\n",
        "d.md": "# D\n\n```{.python .input}\nx = 1\nimport os\nprint('d', x)\n```\n",
    }
    root = write_book(tmp_path / "book", pages, conf="execbook_workers = 1\n", tabs=("python",))
    book = run_sphinx(root)
    assert book.returncode == 0, book.output
    assert set(statuses(book).values()) == {"ok"}
    logs = book.outdir / ".doctrees" / "execbook" / "logs"
    assert logs.is_dir() and not list(logs.glob("*forkserver*"))


@pytest.mark.sphinx  # real kernels
def test_closing_a_server_returns_while_a_kernel_it_forked_lives(tmp_path: Path) -> None:
    """A worker closes a server whose forked kernel (a spare, or a running job's)
    is still alive: close() must return, and the kernel keep working. (Its watcher
    held the server's stdout pipe, so the build waited for an EOF that never came.)"""
    import os
    import threading

    from jupyter_core.utils import run_sync

    from execbook.execute.forkserver import ForkServer
    from execbook.execute.kernel import ipc_address, new_kernel_manager, shutdown

    server = ForkServer(
        sys.executable,
        ("import json",),
        tmp_path,
        dict(os.environ),
        None,
        ipc_address() + ".fork",
        tmp_path / "server.log",
    )
    manager = new_kernel_manager("python3", tmp_path, dict(os.environ), tmp_path / "k.log", fork=server)
    client = manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=60)
        closing = threading.Thread(target=server.close, daemon=True)
        closing.start()
        closing.join(15)
        assert not closing.is_alive(), "ForkServer.close() hangs while a kernel it forked is alive"
        texts: list[str] = []
        run_sync(client.execute_interactive)(
            "print(6 * 7)", timeout=30, output_hook=lambda m: texts.append(m["content"].get("text", ""))
        )
        assert "".join(texts).strip() == "42"
    finally:
        client.stop_channels()
        shutdown(manager)


def test_a_server_imports_what_every_kernel_would_and_stays_safe_to_fork() -> None:
    """The kernel modules a server imports ahead (KERNEL_MODULES: the shell, the
    debugger...) all exist in this ipykernel, start no thread and print nothing
    on stdout, where the server's first line must be ``ready``."""
    import execbook.execute.forkkernel as forkkernel

    script = (
        "import json, sys, threading\n"
        f"sys.path.insert(0, {str(Path(forkkernel.__file__).parent)!r})\n"
        "import forkkernel\n"
        "forkkernel.preload_kernel_modules()\n"
        "missing = [name for name in forkkernel.KERNEL_MODULES if name not in sys.modules]\n"
        "print(json.dumps({'threads': threading.active_count(), 'missing': missing, "
        "'unsafe': forkkernel.unsafe_now()}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"threads": 1, "missing": [], "unsafe": ""}, done.stdout


def test_a_request_crosses_the_wire_whole_with_its_descriptors() -> None:
    """The proxy's request (its folder, its whole environment, the kernel's
    arguments) arrives unchanged with its three descriptors: text that is not
    ASCII or not even UTF-8 (a surrogate-escaped byte), and more than one
    4096-byte message."""
    import os
    import socket

    from execbook.execute.forkkernel import receive_request, send_request

    env = {
        "LANG": "C.UTF-8",
        "NAME": "Zoë 数学",
        "RAW": b"\xff\xfe".decode("utf-8", "surrogateescape"),
        "BIG": "x" * 20000,
    }
    request = {"cwd": "/tmp/ü", "env": env, "argv": ["-f", "/run/kernel-1.json", "--flag='quoted'"]}
    pipes = [os.pipe() for _ in range(3)]
    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        send_request(sender, request, [write for _, write in pipes])
        received, fds = receive_request(receiver)
        assert received == request
        assert len(fds) == 3
        for n, ((read, write), fd) in enumerate(zip(pipes, fds)):
            os.write(fd, f"through {n}".encode())  # the received descriptor is the pipe's write end
            os.close(fd)
            os.close(write)
            assert os.read(read, 100) == f"through {n}".encode()
            os.close(read)
    finally:
        sender.close()
        receiver.close()


def test_the_proxy_starts_without_the_servers_imports() -> None:
    """The proxy runs once per kernel: started as the kernelspec starts it,
    importing its script loads none of the modules that made each kernel's
    start 25 ms slower, nor ``site`` (the environment's ``.pth`` files)."""
    from types import SimpleNamespace

    import execbook.execute.forkkernel as forkkernel
    from execbook.execute.forkserver import FORKKERNEL, proxy_argv

    argv = proxy_argv(SimpleNamespace(socket="unused", process=SimpleNamespace(pid=1)), "unused", [])  # type: ignore[arg-type]
    interpreter = argv[: argv.index(FORKKERNEL)]  # the Python and its flags, as the proxy is started
    script = (
        f"import sys; sys.path.insert(0, {str(Path(forkkernel.__file__).parent)!r}); import forkkernel; "
        "heavy = {'json', 'socket', 'traceback', 'threading', 'array', 'enum', 're', 'site'}; "
        "print(' '.join(sorted(heavy & set(sys.modules))))"
    )
    done = subprocess.run([*interpreter, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("payload", [b"{'cwd': '/tmp'", b"__import__('os')", b"['not', 'a', 'dict']", b"\xff\xfe"])
def test_a_request_that_is_not_a_proxys_is_refused_as_such(payload: bytes) -> None:
    """Whatever connects to a server's socket and sends something else gets
    ValueError (the server drops the connection and goes on), never code run."""
    import socket
    import struct

    from execbook.execute.forkkernel import receive_request

    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sender.sendall(struct.pack("!I", len(payload)) + payload)
        with pytest.raises(ValueError):
            receive_request(receiver)
    finally:
        sender.close()
        receiver.close()
