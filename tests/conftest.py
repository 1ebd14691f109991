"""Shared helpers: build small books (with the real sphinx-build in a subprocess, or
in this process through ``sphinx.testing``), parse the HTML; fail the run if a test
leaves a process behind."""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from bs4 import BeautifulSoup
from hypothesis import settings

# CI runs the property tests with fixed seeds (HYPOTHESIS_PROFILE=ci in .ci/run): a landing never
# waits on a new random case; a developer's run keeps exploring and adds what it finds as @example
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Sphinx colours its messages even into a pipe where CI=true (as CI services set it), and
# the tests read those messages as text: every build and command the tests start is plain
os.environ["NO_COLOR"] = "1"

# Every kernel a test starts (in a subprocess build too) appends its pid to this process's
# log: IPython runs $PYTHONSTARTUP when a kernel starts, and no Python that is not
# interactive reads it. pytest_runtest_teardown below fails a test that started a kernel
# without the `kernels` marker, so `pytest -m "not kernels"` starts none. The startup line
# binds no name: it runs in the kernel's user namespace.
KERNEL_LOG_ENV = "EXECBOOK_TEST_KERNEL_LOG"
# one log per pytest process (each xdist worker has its own), kept if this module is
# imported a second time under another name (``tests.conftest``)
if os.environ.get("EXECBOOK_TEST_KERNEL_WATCH_PID") == str(os.getpid()):
    _kernel_watch = Path(os.environ["EXECBOOK_TEST_KERNEL_WATCH"])
else:
    _kernel_watch = Path(tempfile.mkdtemp(prefix="execbook-kernel-watch-"))
    atexit.register(shutil.rmtree, _kernel_watch, True)
    os.environ["EXECBOOK_TEST_KERNEL_WATCH"] = str(_kernel_watch)
    os.environ["EXECBOOK_TEST_KERNEL_WATCH_PID"] = str(os.getpid())
(_kernel_watch / "startup.py").write_text(
    "(lambda os, log: log and (lambda fd: (os.write(fd, b'%d\\n' % os.getpid()), os.close(fd)))"
    "(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)))"
    f"(__import__('os'), __import__('os').environ.get({KERNEL_LOG_ENV!r}))\n",
    encoding="utf-8",
)
KERNEL_LOG = _kernel_watch / "kernels.log"
os.environ["PYTHONSTARTUP"] = str(_kernel_watch / "startup.py")
os.environ[KERNEL_LOG_ENV] = str(KERNEL_LOG)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


@dataclass
class BuiltBook:
    srcdir: Path
    outdir: Path
    returncode: int
    output: str  # stdout + stderr of sphinx-build

    def html(self, page: str) -> BeautifulSoup:
        return BeautifulSoup((self.outdir / f"{page}.html").read_text(encoding="utf-8"), "html.parser")

    def main(self, page: str) -> BeautifulSoup:
        soup = self.html(page)
        return soup.select_one("article.bd-article") or soup

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if "WARNING" in line or "ERROR" in line]


def sigint_at_default() -> None:
    """``preexec_fn`` of a child a test sends SIGINT to: a shell running the tests
    in the background ignores SIGINT, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_sphinx(srcdir: Path, *args: str, builder: str = "html") -> BuiltBook:
    outdir = srcdir / "_build" / builder
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", builder, "-q", str(srcdir), str(outdir), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    return BuiltBook(srcdir, outdir, proc.returncode, proc.stdout + proc.stderr)


def build_in_process(srcdir: Path, builder: str = "html", confoverrides: dict[str, object] | None = None) -> BuiltBook:
    """Build ``srcdir`` with ``sphinx.testing``'s ``SphinxTestApp`` in this process, into
    the folders ``run_sphinx`` uses. Saves a Python start-up and Sphinx's imports per
    book; only for books that run no code (``execbook_execute = "off"``) and tests that
    read the pages. Execution, kernels, clean-up of processes, the CLI, exit codes,
    ``-W`` and what the terminal shows stay with ``run_sphinx``: a subprocess is the
    point there. ``output`` holds the warnings, as ``-q`` would print them; an
    exception in the build is raised here, not turned into a return code."""
    from sphinx.errors import ConfigError
    from sphinx.testing.util import SphinxTestApp
    from sphinx.util.console import strip_colors
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    # the roles, directives and nodes a build registers are undone when it ends
    with patch_docutils(srcdir), docutils_namespace():
        # our own stream: SphinxTestApp.warning is newer than Sphinx 7.2, our floor
        warning_stream = io.StringIO()
        app = SphinxTestApp(
            builder,
            srcdir=srcdir,
            builddir=srcdir / "_build",
            confoverrides=confoverrides or {},
            warning=warning_stream,
        )
        try:
            if app.config.execbook_execute != "off":
                raise ConfigError("build_in_process builds books that run no code: set execbook_execute = 'off'")
            app.build()
        finally:
            app.cleanup()
    return BuiltBook(srcdir, Path(app.outdir), app.statuscode, strip_colors(warning_stream.getvalue()))


@pytest.fixture(scope="session")
def sphinx_in_process() -> Callable[..., BuiltBook]:
    """``build_in_process`` as a fixture, for module- or session-scoped books."""
    return build_in_process


def write_book(root: Path, pages: dict[str, str], conf: str = "", tabs: tuple[str, ...] = ("pytorch", "numpy")) -> Path:
    """Write a book: ``pages`` maps paths ('index.md', 'img/a.svg') to their text."""
    root.mkdir(parents=True, exist_ok=True)
    conf_text = f'project = "Test"\nextensions = ["execbook"]\nexecbook_tabs = {list(tabs)!r}\n' + textwrap.dedent(conf)
    (root / "conf.py").write_text(conf_text, encoding="utf-8")
    for name, text in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    """The repository's demo book, copied and built once with -W."""
    src = tmp_path_factory.mktemp("demo") / "book"
    ignore = shutil.ignore_patterns("_build", ".*", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, src, ignore=ignore)
    return run_sphinx(src, "-W", "--keep-going")


def chapter_number(book: BuiltBook, page: str) -> str:
    """The chapter number the website gives ``page`` ('12' for a page numbered 12.1): the
    demo book's example chapters follow the guide's parts, however many there are."""
    number = book.main(page).select_one("h1").get_text(" ", strip=True).split(".")[0]
    assert number.isdigit(), f"{page} has no numbered heading"
    return number


def running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """The processes not yet ended: a zombie has ended, whether or not anyone reaps it."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            pass
    return alive


def processes_under(folder: Path) -> list[psutil.Process]:
    """Running processes whose command line names ``folder`` or whose working
    directory is in it (a kernel's command line names only its connection file)."""
    # the folder itself or a path in it: pytest-5 must not match another run's pytest-50
    names = re.compile(re.escape(str(folder)) + r"(?![\w.-])").search
    found = []
    ourselves = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}  # pytest --basetemp=folder
    for process in psutil.process_iter():
        if process.pid in ourselves:
            continue
        try:
            if any(names(part) for part in process.cmdline()) or Path(process.cwd()).is_relative_to(folder):
                found.append(process)
        except psutil.Error:  # ended meanwhile, or not ours to read
            continue
    return running(found)


def wait_until_ended(processes: Iterable[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Wait up to ``seconds``; return the processes still running then."""
    deadline = time.monotonic() + seconds
    alive = running(processes)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = running(alive)
    return alive


def end_processes(processes: Iterable[psutil.Process], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL what is still running ``grace`` seconds later."""
    for stage in (psutil.Process.terminate, psutil.Process.kill):
        alive = running(processes)
        for process in alive:
            try:
                stage(process)
            except psutil.Error:
                pass
        processes = wait_until_ended(alive, grace)
        if not processes:
            return


def leftover_processes(basetemp: Path) -> list[psutil.Process]:
    """Processes the tests started and left running: this process's descendants, and
    orphans (their parent gone, re-parented to init) that name a test's tmp folder."""
    try:
        descendants = psutil.Process().children(recursive=True)
    except psutil.Error:
        descendants = []
    unique = {process.pid: process for process in [*descendants, *processes_under(basetemp)]}
    return running(unique.values())


def describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid}: {' '.join(process.cmdline())[:300]}"
    except psutil.Error:
        return f"pid {process.pid} (ended)"


# fixtures whose book runs code: every test using one is a kernel test, the first to ask
# for it builds it (the demo book in conftest, the others in their test modules)
KERNEL_FIXTURES = frozenset({"demo_book", "bad_book", "site", "mini_book", "notebooks", "hostile_book"})


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests using a book that runs code get the ``kernels`` marker. ``make test`` runs the
    suite in two pytest-xdist workers with ``--dist loadgroup``: a module's tests stay in
    one worker (its module-scoped books are built once), and the tests reading the demo
    book share one worker, which builds it once (with kernels)."""
    for item in items:
        if KERNEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kernels)
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = "demo_book" if "demo_book" in getattr(item, "fixturenames", ()) else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


def kernels_started() -> int:
    """How many kernels the tests of this process have started so far."""
    try:
        return len(KERNEL_LOG.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return 0


KERNELS_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures: a module-scoped book counts for its first test
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[KERNELS_BEFORE] = kernels_started()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test (or a fixture it set up) that started a kernel carries the ``kernels`` marker:
    ``-m "not kernels"`` is the suite without kernels only if every such test says so."""
    result = yield
    started = kernels_started() - item.stash.get(KERNELS_BEFORE, kernels_started())
    if started and item.get_closest_marker("kernels") is None:
        pytest.fail(
            f"{item.nodeid} started {started} Jupyter kernel(s) without the `kernels` marker: "
            "add `pytestmark = pytest.mark.kernels` to its module, or mark the test",
            pytrace=False,
        )
    return result


LEAKS_FROM_WORKERS: list[str] = []  # pytest-xdist: what each worker found, for the controller to report


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    LEAKS_FROM_WORKERS.extend(getattr(node, "workeroutput", {}).get("leaked_processes", []))


@pytest.hookimpl(trylast=True)  # after pytest-xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a test left a process running (a kernel, a Dask worker, a
    server): it would hold ports and memory long after the run. They are ended here."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    # a few seconds for what is shutting down already (a kernel told to stop, a worker being reaped)
    leaked = wait_until_ended(leftover_processes(factory.getbasetemp()), seconds=5)
    lines = [describe(process) for process in leaked] + LEAKS_FROM_WORKERS
    end_processes(leaked)
    if not lines:
        return
    if hasattr(session.config, "workeroutput"):  # an xdist worker: the controller reports
        session.config.workeroutput["leaked_processes"] = lines
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")  # the progress line is still open
        reporter.write_sep("=", "leaked processes", red=True)
        reporter.write_line("tests left these processes running (now ended):")
        for line in lines:
            reporter.write_line(f"  {line}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# -- the browser tests' Chromium (Debian's, driven by Playwright) ----------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed: apt-get install chromium (CI does this in .ci/run)"
        if os.environ.get("EXECBOOK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
