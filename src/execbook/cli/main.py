"""The execbook command: ``execbook build html|pdf|notebooks|slides|lib|eval``, ``check``, ``check-links``, ``serve``, ``deploy``, ``new``.

``build html`` is ``sphinx-build -M html . _build`` for people who think in
books, not in Sphinx; ``build lib`` writes the book's library into the book's
own folder for packaging, without building the site. A d2l-book project
(``config.ini``, no ``conf.py``) builds with the same commands.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import runpy
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import NoReturn

from sphinx.errors import ConfigError
from sphinx.util.matching import Matcher

from execbook.book import config as cfg
from execbook.compat import d2lbook
from execbook.book import uptodate
from execbook.book.files import book_pages, decode_page
from execbook.cli.pin import Pin, installed_pin, requested_pin, source_comment
from execbook.source.syntax import parse
from execbook.book.scan import book_left_out


@dataclass
class Book:
    """A book folder: its settings, validated, and the flags every sphinx-build of it takes."""

    folder: Path
    conf: SimpleNamespace
    options: cfg.ExecbookConfig
    flags: list[str] = field(default_factory=list)
    ini: d2lbook.Mapping | None = None  # for a d2l-book project (config.ini, no conf.py)

    def sphinx(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sphinx", *args, *self.flags]

    def run_sphinx(self, *args: str) -> int:
        """sphinx-build in this process: one interpreter start less than a child process."""
        from sphinx.cmd.build import main as sphinx_main

        return sphinx_main([*args, *self.flags])


def conf_namespace(values: dict) -> SimpleNamespace:
    names = {name: values.get(name, getattr(cfg.ExecbookConfig(), name.removeprefix("execbook_"))) for name in cfg.option_names()}
    return SimpleNamespace(
        **names, root_doc=values.get("root_doc", "index"), exclude_patterns=values.get("exclude_patterns", []),
        include_patterns=values.get("include_patterns", ["**"]), release=values.get("release", ""),
    )


def fail(lines: list[str]) -> NoReturn:
    for line in lines:
        print(line, file=sys.stderr)
    raise SystemExit(2)


def run_conf(conf_py: Path) -> dict:
    """conf.py's names; a conf.py that does not parse or raises exits 2 with ``conf.py:LINE`` and the error."""
    try:
        return runpy.run_path(str(conf_py))
    except SyntaxError as error:
        fail([f"{conf_py}:{error.lineno or 1}: ERROR: conf.py does not parse: {error.msg}; fix that line"])
    except Exception as error:  # the author's code: any exception is a mistake in the book, not in execbook
        fail([f"{conf_py}:{_conf_line(conf_py, error)}: ERROR: conf.py raised {type(error).__name__}: {error}"])


def _conf_line(conf_py: Path, error: BaseException) -> int:
    """The line of conf.py in the traceback nearest to where ``error`` was raised."""
    import traceback

    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename) == conf_py]
    return frames[-1].lineno or 1 if frames else 1


def load_book(folder: Path) -> Book:
    """The book in ``folder``: conf.py, or d2l-book's config.ini; a bad setting exits 2 naming its line."""
    conf_py, ini_path = folder / "conf.py", folder / d2lbook.INI_NAME
    if conf_py.is_file():
        conf = conf_namespace(run_conf(conf_py))
        try:
            return Book(folder, conf, cfg.from_sphinx(conf))  # type: ignore[arg-type]
        except ConfigError as error:
            fail([f"execbook: {conf_py}: {error}"])
    if not ini_path.is_file():
        fail([f"execbook: no conf.py or config.ini in {folder}; run this in a book's folder (see README, 'Your own book')"])
    mapping = d2lbook.map_ini(folder)
    problem = d2lbook.check_sphinx_configs(folder, mapping)
    errors = mapping.errors + ([problem] if problem else [])
    if errors:
        fail([note.format(ini_path) for note in errors])
    conf = conf_namespace(d2lbook.conf_values(str(folder), mapping))
    try:
        options = cfg.from_sphinx(conf)  # type: ignore[arg-type]
    except ConfigError as error:
        option = str(error).split(" ", 1)[0].rstrip(":").split("[", 1)[0]
        fail([f"{ini_path}:{mapping.lines.get(option, 1)}: ERROR: {error}"])
    flags = ["-c", str(d2lbook.write_conf(folder))] + (["-W", "--keep-going"] if mapping.warning_is_error else [])
    return Book(folder, conf, options, flags, mapping)


def build_lib(folder: Path) -> list[Path]:
    """The library into the book's folder (hand-written headers kept), from
    every page of the book; and, for d2l-book projects, ``__version__``."""
    from execbook.library.extract import LibrarySpec, extract_book, write_library

    book = load_book(folder)
    spec = LibrarySpec.from_option(book.options.library, folder)
    if spec is None:
        where = "[library-<tab>] lib_file in config.ini" if book.ini else "execbook_library in conf.py"
        raise SystemExit(f"execbook: this book has no {where}, so there is no library to write")
    pages = book_pages(folder, book.conf.exclude_patterns)
    left_out = book_left_out(folder, book.conf.exclude_patterns, book.options)
    docs = {name: parse(path.read_text(encoding="utf-8", errors="replace"), book.options.tabs, left_out=left_out)
            for name, path in pages.items()}
    libraries = extract_book(docs, book.conf.root_doc, [tab for tab in book.options.tabs if tab in spec.modules or not book.ini])
    for library in libraries.values():
        for docname, message in library.messages:
            print(f"{pages[docname]}:{message.line}: WARNING: {message.text}", file=sys.stderr)
    written = write_library(folder, spec, libraries, headers_from=folder)
    version = d2lbook.write_version(folder, book.options.library.get("version_file", ""), book.conf.release)
    return written + ([version] if version else [])


def check_book(folder: Path) -> int:
    """d2l-book's outputcheck and tabcheck, and every other mistake the parser finds: file:line, exit 1."""
    book = load_book(folder)
    include = Matcher(list(book.conf.include_patterns))
    pages = {name: path for name, path in book_pages(folder, book.conf.exclude_patterns).items() if include(f"{name}.md")}
    problems = 0
    left_out = book_left_out(folder, book.conf.exclude_patterns, book.options)
    for path in pages.values():
        text, undecodable = decode_page(path.read_bytes())
        doc = parse(text, book.options.tabs, lambda entry: True, left_out)
        for message in ([undecodable] if undecodable else []) + doc.messages:
            print(f"{path.relative_to(folder)}:{message.line}: {message.text} [execbook.{message.subtype}]")
            problems += 1
    print(f"execbook check: {len(pages)} pages, {problems} problem{'s' * (problems != 1)}", file=sys.stderr)
    return 1 if problems else 0


def only_tabs_args(requested: str, tabs: list[str]) -> list[str]:
    """``--tab pytorch,jax`` as the Sphinx override that builds only those tabs."""
    names = [name.strip() for name in requested.split(",") if name.strip()]
    for name in names:
        if name not in tabs:
            close = difflib.get_close_matches(name, tabs, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise SystemExit(f"execbook: --tab {name}: the book's tabs are {', '.join(tabs)}{hint}")
    if not names:
        raise SystemExit(f"execbook: --tab names no framework; the book's tabs are {', '.join(tabs)}")
    return ["-D", f"execbook_only_tabs={','.join(names)}"]


def build_pdf(book: Path, only: str | None, sphinx_args: list[str]) -> int:
    """One PDF per framework into _build/pdf: <name>.pdf, <name>-<tab>.pdf."""
    from execbook.outputs.latex import TEX_PACKAGES, explain_failure, missing_tools, run_post_latex, typeset

    missing = missing_tools()
    if missing:
        print(f"execbook: making PDFs needs TeX Live ({', '.join(missing)} not found); install it with\n"
              f"    sudo apt-get install {TEX_PACKAGES}", file=sys.stderr)
        return 2
    loaded = load_book(book)
    options = loaded.options
    if only is not None and only not in options.tabs:
        print(f"execbook: --tab {only}: the book's tabs are {', '.join(options.tabs)}", file=sys.stderr)
        return 2
    pdfs = book / "_build" / "pdf"
    pdfs.mkdir(parents=True, exist_ok=True)
    for tab in [only] if only else options.tabs:
        outdir = book / "_build" / "latex" / tab
        command = loaded.sphinx("-b", "latex", str(book), str(outdir), "-d", str(book / "_build" / "doctrees"),
                                "-D", f"execbook_pdf_tab={tab}", "-q", *sphinx_args)
        status = subprocess.call(command)
        if status:
            return status
        for tex in sorted(outdir.glob("*.tex")):
            if options.pdf.get("post_latex"):  # d2l-book's hook: `python script book.tex`, from the book's folder
                failure = run_post_latex(options.pdf["post_latex"], tex, book)
                if failure:
                    print(f"execbook: {failure}", file=sys.stderr)
                    return 1
            print(f"execbook: typesetting {tex.name} ({tab}) with xelatex")
            done = typeset(tex)
            if not done.ok:
                print(f"execbook: {explain_failure(tex).format()}", file=sys.stderr)
                return 1
            print(f"execbook: {done.passes} xelatex pass{'es' if done.passes != 1 else ''} in {done.seconds:.0f} s")
            target = pdfs / (f"{tex.stem}.pdf" if tab == options.tabs[0] else f"{tex.stem}-{tab}.pdf")
            shutil.copy2(tex.with_suffix(".pdf"), target)
            print(f"wrote {target.relative_to(book)}")
    return 0


# what a build writes into the book folder must not trigger another build
SERVE_IGNORE = r"(^|/)(_build|\.venv|venv|\.git|__pycache__|\.ipynb_checkpoints)(/|$)"
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
    command = [
        sys.executable, "-m", "sphinx_autobuild", str(book), str(book / "_build" / "html"),
        "-d", str(book / "_build" / "doctrees"), "--host", host, "--port", str(port),
        "--re-ignore", SERVE_IGNORE, *load_book(book).flags, *sphinx_args,
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


NEW_BOOK = Path(__file__).parent.parent / "skeleton"
RENAMES = {"gitignore": ".gitignore", "github": ".github"}  # dotfiles do not travel well in package data


def new_book(target: Path, title: str, author: str, pin: Pin) -> list[Path]:
    """Write a working book in the standard layout, whose requirements.txt installs execbook as ``pin`` says."""
    import datetime
    import re as regex

    from execbook.version import __version__

    if target.exists() and not target.is_dir():
        raise SystemExit(f"execbook: {target} is a file, not a folder; choose a new folder for the book")
    if target.exists() and any(target.iterdir()):
        raise SystemExit(f"execbook: {target} exists and is not empty; choose a new folder")
    package = regex.sub(r"\W+", "_", title.lower()).strip("_") or "book"
    package = package if package[0].isalpha() else f"book_{package}"
    values = {
        "title": title, "underline": "=" * len(title), "author": author, "year": datetime.date.today().year,
        # conf.py gets Python literals: a quote or a backslash in a title must not break its syntax
        "title_repr": repr(title), "author_repr": repr(author),
        "copyright_repr": repr(f"{datetime.date.today().year}, {author}"),
        "package": package[:20], "version": __version__, "requirement": pin.line,
        "requirement_comment": source_comment(pin, with_line=False),
        "workflow_comment": source_comment(pin, indent=" " * 6),
    }
    written = []
    for source in sorted(NEW_BOOK.rglob("*")):
        # pip compiles the skeleton's conf.py when it installs execbook's wheel: its __pycache__ is no book file
        if source.is_dir() or "__pycache__" in source.relative_to(NEW_BOOK).parts:
            continue
        parts = [RENAMES.get(part, part) for part in source.relative_to(NEW_BOOK).parts]
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(source.read_text(encoding="utf-8").format(**values), encoding="utf-8")
        written.append(destination)
    return written


def port_number(text: str) -> int:
    """argparse's check of --port: a bad one stops before the book is built, not after."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a port such as 8000") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port; give one from 1 to 65535, such as 8000")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="execbook", description="Build executable books written in d2l Markdown.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the book")
    build.add_argument(
        "what", choices=["html", "pdf", "notebooks", "slides", "lib", "eval"],
        help="html: the website; pdf: one PDF per framework; notebooks: .ipynb and a zip per framework; "
        "slides: reveal.js decks from slide marks; lib: the library into the book folder; eval: run the code only",
    )
    build.add_argument("--tab", help="build only these frameworks (comma-separated, e.g. pytorch); pdf: one framework")
    build.add_argument("--dask", metavar="ADDRESS", help="run the code on this Dask scheduler (tcp://host:8786)")
    build.add_argument("--book", type=Path, default=Path("."), help="the book's folder (default: here)")
    publish = commands.add_parser("deploy", help="publish the built site (and PDFs) to GitHub Pages")
    publish.add_argument("--book", type=Path, default=Path("."))
    publish.add_argument("--remote", help="a git remote of the book's repository (default: origin)")
    publish.add_argument("--branch", help="default: gh-pages (master for a config.ini [deploy] github_repo)")
    publish.add_argument("--force", action="store_true", help="publish even when the site has broken internal links")
    check = commands.add_parser("check", help="report stored outputs, unknown tabs and other mistakes in the pages (exit 1)")
    check.add_argument("--book", type=Path, default=Path("."))
    links = commands.add_parser("check-links", help="every internal link and anchor of a built site resolves (exit 1)")
    links.add_argument("site", type=Path, nargs="?", default=Path("_build/html"), help="the built site (default: _build/html)")
    serve = commands.add_parser("serve", help="serve the book on localhost, rebuild on save, reload the browser")
    serve.add_argument("--book", type=Path, default=Path("."))
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    new = commands.add_parser("new", help="write a new book, ready for `make html`")
    new.add_argument("folder", type=Path)
    new.add_argument("--title", default="My Book")
    new.add_argument("--author", default="The authors")
    new.add_argument("--requirement", metavar="SPEC",
                     help="requirements.txt's execbook line (default: the execbook running now, "
                     "pinned to where it was installed from)")
    argv = sys.argv[1:] if argv is None else argv
    args, extra = parser.parse_known_args(argv)  # for html, the rest goes to sphinx-build (-W, -j 2)
    if getattr(args, "dask", None):
        os.environ["EXECBOOK_DASK_SCHEDULER"] = args.dask  # read by the build, in the sphinx-build child too
    if args.command == "serve":
        return serve_book(args.book.resolve(), args.host, args.port, extra)
    if args.command == "deploy":
        from execbook.outputs.deploy import deploy, deploy_to_repository, github_remote

        folder = args.book.resolve()
        if args.remote is None and not (folder / "conf.py").is_file() and (folder / d2lbook.INI_NAME).is_file():
            book = load_book(folder)
            if book.ini and book.ini.deploy_repo:  # d2l-book pushes the site to [deploy] github_repo's master
                message = f"Version {book.conf.release}" if book.conf.release else "Publish the book"
                return deploy_to_repository(folder, github_remote(book.ini.deploy_repo, folder), args.branch or "master",
                                            message, force=args.force)
        return deploy(folder, args.remote or "origin", args.branch or "gh-pages", force=args.force)
    if args.command == "check-links":
        from execbook.outputs.linkcheck import main as check_links

        return check_links(args.site)
    if args.command == "check":
        return check_book(args.book.resolve())
    if args.command == "new":
        pin = requested_pin(args.requirement) if args.requirement else installed_pin()
        files = new_book(args.folder.resolve(), args.title, args.author, pin)
        print(f"wrote {len(files)} files into {args.folder}; requirements.txt: {pin.line}")
        if pin.note:
            print(f"execbook: note: {pin.note}", file=sys.stderr)
        print(f"now: cd {args.folder} && make html")
        return 0
    book = args.book.resolve()
    if args.what == "pdf":
        return build_pdf(book, args.tab, extra)
    if args.what != "lib":
        loaded = load_book(book)
        if args.tab:
            extra = [*only_tabs_args(args.tab, loaded.options.tabs), *extra]
    if args.what == "html":
        inputs = uptodate.inputs_digest(book, argv)  # before the build: an edit made while it runs is seen next time
        uptodate.forget(book)
        status = loaded.run_sphinx("-M", "html", str(book), str(book / "_build"), *extra)
        if status == 0:
            uptodate.record(book, inputs)
        return status
    if args.what in ("notebooks", "slides", "eval"):
        # eval: Sphinx's dummy builder reads every page (as the website does: -t html), which
        # runs the stale code, and writes nothing
        builder = ["-b", "dummy", "-t", "html"] if args.what == "eval" else ["-b", args.what]
        return loaded.run_sphinx(*builder, str(book), str(book / "_build" / args.what),
                                 "-d", str(book / "_build" / "doctrees"), "-q", *extra)
    if extra:
        parser.error(f"unknown arguments for build lib: {' '.join(extra)}")
    for path in build_lib(book):
        print(f"wrote {path.relative_to(book)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
