"""The execbook command: ``execbook build html|pdf|notebooks|slides|lib``, ``serve``, ``deploy``, ``new``.

``build html`` is ``sphinx-build -M html . _build`` for people who think in
books, not in Sphinx; ``build lib`` writes the book's library into the book's
own folder for packaging, without building the site.
"""

from __future__ import annotations

import argparse
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from sphinx.errors import ConfigError
from sphinx.util.matching import Matcher

from execbook import config as cfg
from execbook.extension import EXCLUDE
from execbook.syntax import parse


def read_conf(book: Path) -> SimpleNamespace:
    conf = book / "conf.py"
    if not conf.is_file():
        raise SystemExit(f"execbook: no conf.py in {book}; run this in a book's folder (see README, 'Your own book')")
    namespace = runpy.run_path(str(conf))
    values = {name: namespace.get(name, getattr(cfg.ExecbookConfig(), name.removeprefix("execbook_")))
              for name in cfg.option_names()}
    values.update(
        root_doc=namespace.get("root_doc", "index"),
        exclude_patterns=namespace.get("exclude_patterns", []),
    )
    return SimpleNamespace(**values)


def book_pages(book: Path, exclude: list[str]) -> dict[str, Path]:
    """The book's pages as Sphinx finds them: excluded folders are not entered."""
    matcher = Matcher([*exclude, *EXCLUDE])
    pages = {}
    for root, dirs, files in os.walk(book):
        here = Path(root).relative_to(book)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not matcher((here / d).as_posix()))
        for name in sorted(files):
            relative = (here / name).as_posix()
            if name.endswith(".md") and not matcher(relative):
                pages[relative[:-3]] = Path(root) / name
    return pages


def book_options(book: Path) -> tuple[SimpleNamespace, cfg.ExecbookConfig]:
    """conf.py's values and the validated execbook options; a bad value exits 2 naming it."""
    conf = read_conf(book)
    try:
        return conf, cfg.from_sphinx(conf)  # type: ignore[arg-type]
    except ConfigError as error:
        print(f"execbook: {book / 'conf.py'}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def build_lib(book: Path) -> list[Path]:
    from execbook.library import LibrarySpec, extract_book, write_library

    conf, options = book_options(book)
    spec = LibrarySpec.from_option(options.library, book)
    if spec is None:
        raise SystemExit("execbook: this book has no execbook_library in conf.py, so there is no library to write")
    pages = book_pages(book, conf.exclude_patterns)
    docs = {name: parse(path.read_text(encoding="utf-8", errors="replace"), options.tabs) for name, path in pages.items()}
    libraries = extract_book(docs, conf.root_doc, options.tabs)
    for library in libraries.values():
        for docname, message in library.messages:
            print(f"{pages[docname]}:{message.line}: WARNING: {message.text}", file=sys.stderr)
    return write_library(book, spec, libraries, keep_headers=True)


def build_pdf(book: Path, only: str | None, sphinx_args: list[str]) -> int:
    """One PDF per framework into _build/pdf: <name>.pdf, <name>-<tab>.pdf."""
    from execbook.latex import TEX_PACKAGES, explain_failure, missing_tools

    missing = missing_tools()
    if missing:
        print(f"execbook: making PDFs needs TeX Live ({', '.join(missing)} not found); install it with\n"
              f"    sudo apt-get install {TEX_PACKAGES}", file=sys.stderr)
        return 2
    conf, options = book_options(book)
    if only is not None and only not in options.tabs:
        print(f"execbook: --tab {only}: the book's tabs are {', '.join(options.tabs)}", file=sys.stderr)
        return 2
    pdfs = book / "_build" / "pdf"
    pdfs.mkdir(parents=True, exist_ok=True)
    for tab in [only] if only else options.tabs:
        outdir = book / "_build" / "latex" / tab
        command = [sys.executable, "-m", "sphinx", "-b", "latex", str(book), str(outdir),
                   "-d", str(book / "_build" / "doctrees"), "-D", f"execbook_pdf_tab={tab}", "-q", *sphinx_args]
        status = subprocess.call(command)
        if status:
            return status
        for tex in sorted(outdir.glob("*.tex")):
            print(f"execbook: typesetting {tex.name} ({tab}) with xelatex")
            env = {**os.environ, "LATEXOPTS": "-halt-on-error -interaction=nonstopmode -file-line-error"}
            done = subprocess.run(["latexmk", "-pdf", "-dvi-", "-ps-", tex.name], cwd=outdir, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if done.returncode != 0:
                print(f"execbook: {explain_failure(tex).format()}", file=sys.stderr)
                return 1
            target = pdfs / (f"{tex.stem}.pdf" if tab == options.tabs[0] else f"{tex.stem}-{tab}.pdf")
            shutil.copy2(tex.with_suffix(".pdf"), target)
            print(f"wrote {target.relative_to(book)}")
    return 0


# what a build writes into the book folder must not trigger another build
SERVE_IGNORE = r"(^|/)(_build|\.venv|venv|\.git|__pycache__|\.ipynb_checkpoints)(/|$)"


def serve_book(book: Path, host: str, port: int, sphinx_args: list[str]) -> int:
    """Live preview with sphinx-autobuild: an incremental build per save (prose
    edits run no code; a code edit runs just its jobs) and a browser reload."""
    command = [
        sys.executable, "-m", "sphinx_autobuild", str(book), str(book / "_build" / "html"),
        "-d", str(book / "_build" / "doctrees"), "--host", host, "--port", str(port),
        "--re-ignore", SERVE_IGNORE, *sphinx_args,
    ]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


NEW_BOOK = Path(__file__).parent / "templates" / "newbook"
RENAMES = {"gitignore": ".gitignore", "github": ".github"}  # dotfiles do not travel well in package data


def new_book(target: Path, title: str, author: str) -> list[Path]:
    """Write a working book in the standard layout."""
    import datetime
    import re as regex

    from execbook import __version__

    if target.exists() and any(target.iterdir()):
        raise SystemExit(f"execbook: {target} exists and is not empty; choose a new folder")
    package = regex.sub(r"\W+", "_", title.lower()).strip("_") or "book"
    package = package if package[0].isalpha() else f"book_{package}"
    values = {
        "title": title, "underline": "=" * len(title), "author": author, "year": datetime.date.today().year,
        "package": package[:20], "version": __version__,
    }
    written = []
    for source in sorted(NEW_BOOK.rglob("*")):
        if source.is_dir():
            continue
        parts = [RENAMES.get(part, part) for part in source.relative_to(NEW_BOOK).parts]
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(source.read_text(encoding="utf-8").format(**values), encoding="utf-8")
        written.append(destination)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="execbook", description="Build executable books written in d2l Markdown.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the book")
    build.add_argument(
        "what", choices=["html", "pdf", "notebooks", "slides", "lib"],
        help="html: the website; pdf: one PDF per framework; notebooks: .ipynb and a zip per framework; "
        "slides: reveal.js decks from slide marks; lib: the library into the book folder",
    )
    build.add_argument("--tab", help="pdf: only this framework")
    build.add_argument("--dask", metavar="ADDRESS", help="run the code on this Dask scheduler (tcp://host:8786)")
    build.add_argument("--book", type=Path, default=Path("."), help="the book's folder (default: here)")
    publish = commands.add_parser("deploy", help="publish the built site (and PDFs) to GitHub Pages")
    publish.add_argument("--book", type=Path, default=Path("."))
    publish.add_argument("--remote", default="origin")
    publish.add_argument("--branch", default="gh-pages")
    serve = commands.add_parser("serve", help="serve the book on localhost, rebuild on save, reload the browser")
    serve.add_argument("--book", type=Path, default=Path("."))
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    new = commands.add_parser("new", help="write a new book, ready for `make html`")
    new.add_argument("folder", type=Path)
    new.add_argument("--title", default="My Book")
    new.add_argument("--author", default="The authors")
    args, extra = parser.parse_known_args(argv)  # for html, the rest goes to sphinx-build (-W, -j 2)
    if getattr(args, "dask", None):
        os.environ["EXECBOOK_DASK_SCHEDULER"] = args.dask  # read by the build, in the sphinx-build child too
    if args.command == "serve":
        return serve_book(args.book.resolve(), args.host, args.port, extra)
    if args.command == "deploy":
        from execbook.deploy import deploy

        return deploy(args.book.resolve(), args.remote, args.branch)
    if args.command == "new":
        files = new_book(args.folder.resolve(), args.title, args.author)
        print(f"wrote {len(files)} files into {args.folder}; now: cd {args.folder} && make html")
        return 0
    book = args.book.resolve()
    if args.what == "html":
        command = [sys.executable, "-m", "sphinx", "-M", "html", str(book), str(book / "_build"), *extra]
        return subprocess.call(command)
    if args.what == "pdf":
        return build_pdf(book, args.tab, extra)
    if args.what in ("notebooks", "slides"):
        command = [sys.executable, "-m", "sphinx", "-b", args.what, str(book), str(book / "_build" / args.what),
                   "-d", str(book / "_build" / "doctrees"), "-q", *extra]
        return subprocess.call(command)
    if extra:
        parser.error(f"unknown arguments for build lib: {' '.join(extra)}")
    for path in build_lib(book):
        print(f"wrote {path.relative_to(book)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
