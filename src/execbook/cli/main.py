"""The execbook command: ``execbook build html|pdf|notebooks|slides|lib|eval``, ``check``,
``check-links``, ``serve``, ``deploy``, ``new``.

``build html`` is ``sphinx-build -M html . _build`` for people who think in
books, not in Sphinx; ``build lib`` writes the book's library into the book's
own folder for packaging, without building the site. A d2l-book project
(``config.ini``, no ``conf.py``) builds with the same commands.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from execbook.book import uptodate
from execbook.book.files import BUILD_DIR
from execbook.cli.book import build_lib, check_book, load_book, only_tabs_args
from execbook.compat import config_ini


def port_number(text: str) -> int:
    """argparse's check of --port: a bad one stops before the book is built, not after."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a port such as 8000") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port; give one from 1 to 65535, such as 8000")
    return port


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="execbook", description="Build executable books written in d2l Markdown.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the book")
    build.add_argument(
        "what",
        choices=["html", "pdf", "notebooks", "slides", "lib", "eval"],
        help="html: the website; pdf: one PDF per framework; notebooks: .ipynb and a zip per framework; "
        "slides: reveal.js decks from slide marks; lib: the library into the book folder; eval: run the code only",
    )
    build.add_argument("--tab", help="build only these frameworks (comma-separated, e.g. pytorch); pdf: one framework")
    build.add_argument("--dask", metavar="ADDRESS", help="run the code on this Dask scheduler (tcp://host:8786)")
    build.add_argument("--book", type=Path, default=Path("."), help="the book's folder (default: here)")
    build.set_defaults(subparser=build)  # its usage line in an error about the arguments left over
    publish = commands.add_parser("deploy", help="publish the built site (and PDFs) to GitHub Pages")
    publish.add_argument("--book", type=Path, default=Path("."))
    publish.add_argument("--remote", help="a git remote of the book's repository (default: origin)")
    publish.add_argument("--branch", help="default: gh-pages (master for a config.ini [deploy] github_repo)")
    publish.add_argument("--force", action="store_true", help="publish even when the site has broken internal links")
    publish.set_defaults(subparser=publish)
    check = commands.add_parser(
        "check", help="report stored outputs, unknown tabs and other mistakes in the pages (exit 1)"
    )
    check.add_argument("--book", type=Path, default=Path("."))
    check.set_defaults(subparser=check)
    changed = commands.add_parser(
        "diff", help="compare the outputs with another cache folder or the site's notebooks (exit 1 if changed)"
    )
    changed.add_argument("other", type=Path, help="a cache folder, or the site's notebooks from an earlier build")
    changed.add_argument("--book", type=Path, default=Path("."))
    changed.set_defaults(subparser=changed)
    links = commands.add_parser("check-links", help="every internal link and anchor of a built site resolves (exit 1)")
    links.add_argument(
        "site", type=Path, nargs="?", default=Path("_build/html"), help="the built site (default: _build/html)"
    )
    links.set_defaults(subparser=links)
    serve = commands.add_parser("serve", help="serve the book on localhost, rebuild on save, reload the browser")
    serve.add_argument("--book", type=Path, default=Path("."))
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    new = commands.add_parser("new", help="write a new book, ready for `make html`")
    new.add_argument("folder", type=Path)
    new.add_argument("--title", default="My Book")
    new.add_argument("--author", default="The authors")
    new.add_argument(
        "--requirement",
        metavar="SPEC",
        help="requirements.txt's execbook line (default: the execbook running now, "
        "pinned to where it was installed from)",
    )
    new.set_defaults(subparser=new)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = command_line()
    argv = sys.argv[1:] if argv is None else argv
    args, extra = parser.parse_known_args(argv)  # for html, the rest goes to sphinx-build (-W, -j 2)
    if getattr(args, "dask", None):
        os.environ["EXECBOOK_DASK_SCHEDULER"] = args.dask  # read by the build, in the sphinx-build child too
    if args.command == "serve":
        from execbook.cli.serve import serve_book

        return serve_book(args.book.resolve(), args.host, args.port, extra)
    if extra and args.command != "build":  # only build hands what is left to sphinx-build
        args.subparser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "deploy":
        return deploy_book(args.book.resolve(), args.remote, args.branch, args.force)
    if args.command == "check-links":
        from execbook.outputs.linkcheck import main as check_links

        return check_links(args.site)
    if args.command == "check":
        return check_book(args.book.resolve())
    if args.command == "diff":
        from execbook.cli.diff import diff

        return diff(args.book.resolve(), args.other)
    if args.command == "new":
        return write_new_book(args.folder, args.title, args.author, args.requirement)
    if args.what == "lib":
        if extra:
            args.subparser.error(f"unknown arguments for build lib: {' '.join(extra)}")
        return write_lib(args.book.resolve())
    problem = sphinx_arguments_problem(extra)
    if problem:
        args.subparser.error(problem)
    return build(args.what, args.book.resolve(), args.tab, extra, argv)


def sphinx_arguments_problem(extra: list[str]) -> str | None:
    """What is wrong with the arguments ``execbook build`` hands to sphinx-build, judged by
    sphinx-build's own parser: a word that is no option's value would be taken for a page to
    build (``build html extra-arg`` stopped with Sphinx's traceback)."""
    from sphinx.cmd.build import get_parser

    parser = get_parser()

    def refuse(message: str) -> NoReturn:
        raise ValueError(message)

    parser.error = refuse  # type: ignore[method-assign]  # our own parser object: report, don't exit
    try:
        parsed = parser.parse_intermixed_args(["SOURCE", "OUTPUT", *extra])  # a word after an option too
    except ValueError as error:
        return f"sphinx-build option: {error}"
    if parsed.filenames:
        words = " ".join(map(repr, parsed.filenames))
        return (
            f"unexpected argument{'s' * (len(parsed.filenames) > 1)} {words}: after `build WHAT` come sphinx-build's "
            "options only (such as -W, -j 2, -D name=value); name the book's folder with --book DIR"
        )
    return None


def build_folder_problem(book: Path, what: str) -> str | None:
    """Why the build cannot write its output under ``book/_build`` (a file where a folder
    belongs, a folder it may not write), or None. Found before the build: each was a
    traceback (from the up-to-date stamp or from Sphinx)."""
    build_dir = book / BUILD_DIR
    folders = [build_dir, build_dir / "doctrees", build_dir / what] + ([build_dir / "latex"] if what == "pdf" else [])
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            return (
                f"{folder} is a file, but the build writes its output into a folder of that name; "
                f"move or remove the file (rm {os.path.relpath(folder)}) and build again"
            )
    try:
        build_dir.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=build_dir):
            pass
    except OSError as error:
        return (
            f"cannot write into {build_dir} ({error.strerror or error}); the build writes its output there: "
            f"make it writable (chmod -R u+w {os.path.relpath(build_dir)}) or build a copy of the book"
        )
    return None


def build(what: str, book: Path, tabs: str | None, extra: list[str], argv: list[str]) -> int:
    """``execbook build html|pdf|notebooks|slides|eval``: sphinx-build with the book's flags."""
    if what == "pdf":
        from execbook.outputs.pdf import build_pdfs, missing_tex

        missing = missing_tex()
        if missing:
            print(missing, file=sys.stderr)
            return 2
    loaded = load_book(book)  # first: a folder that is no book gets no _build
    problem = build_folder_problem(book, what)
    if problem:
        print(f"execbook: {problem}", file=sys.stderr)
        return 2
    if what == "pdf":
        return build_pdfs(book, loaded.options, loaded.sphinx, tabs, extra)
    if tabs:
        extra = [*only_tabs_args(tabs, loaded.options.tabs), *extra]
    if what == "html":
        inputs = uptodate.inputs_digest(book, argv)  # before the build: an edit made while it runs is seen next time
        try:
            uptodate.forget(book)
        except OSError as error:  # the stamp's name taken by a folder, say: found before Sphinx starts
            print(
                f"execbook: cannot remove {book / uptodate.STAMP} ({error.strerror or error}); "
                "remove it and build again",
                file=sys.stderr,
            )
            return 2
        status = loaded.run_sphinx("-M", "html", str(book), str(book / BUILD_DIR), *extra)
        if status == 0:
            try:
                uptodate.record(book, inputs, strict=uptodate.is_strict([*extra, *loaded.flags]))
            except OSError as error:  # the site is built; only the next build's shortcut is lost
                print(f"execbook: note: could not record the build for the unchanged-book shortcut ({error})")
        return status
    # eval: Sphinx's dummy builder reads every page (as the website does: -t html), which
    # runs the stale code, and writes nothing
    builder = ["-b", "dummy", "-t", "html"] if what == "eval" else ["-b", what]
    return loaded.run_sphinx(
        *builder, str(book), str(book / BUILD_DIR / what), "-d", str(book / BUILD_DIR / "doctrees"), "-q", *extra
    )


def write_lib(book: Path) -> int:
    for path in build_lib(book):
        print(f"wrote {path.relative_to(book)}")
    return 0


def deploy_book(folder: Path, remote: str | None, branch: str | None, force: bool) -> int:
    from execbook.outputs.deploy import deploy, deploy_to_repository, github_remote

    if remote is None and not (folder / "conf.py").is_file() and (folder / config_ini.INI_NAME).is_file():
        book = load_book(folder)
        if book.ini and book.ini.deploy_repo:  # d2l-book pushes the site to [deploy] github_repo's master
            message = f"Version {book.conf.release}" if book.conf.release else "Publish the book"
            return deploy_to_repository(
                folder, github_remote(book.ini.deploy_repo, folder), branch or "master", message, force=force
            )
    return deploy(folder, remote or "origin", branch or "gh-pages", force=force)


def write_new_book(folder: Path, title: str, author: str, requirement: str | None) -> int:
    from execbook.cli.newbook import new_book
    from execbook.cli.pin import installed_pin, requested_pin

    pin = requested_pin(requirement) if requirement else installed_pin()
    files = new_book(folder.resolve(), title, author, pin)
    print(f"wrote {len(files)} files into {folder}; requirements.txt: {pin.line}")
    if pin.note:
        print(f"execbook: note: {pin.note}", file=sys.stderr)
    print(f"now: cd {folder} && make html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
