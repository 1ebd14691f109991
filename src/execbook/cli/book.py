"""A book folder as the commands load it: ``conf.py`` (run) or d2l-book's
``config.ini`` (mapped), validated, with the flags every sphinx-build of it takes;
and the commands that need no Sphinx build: ``build lib`` and ``check``."""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import NoReturn, TextIO

from sphinx.errors import ConfigError
from sphinx.util.matching import Matcher

from execbook.book import config as cfg
from execbook.book.files import BUILD_DIR, book_pages, decode_page
from execbook.book.scan import book_left_out
from execbook.book.uptodate import STRICT_FLAGS
from execbook.compat import config_ini, d2lbook
from execbook.execute.failures import FAILURES_FILE
from execbook.source.syntax import parse


@dataclass
class Book:
    """A book folder: its settings, validated, and the flags every sphinx-build of it takes."""

    folder: Path
    conf: SimpleNamespace
    options: cfg.ExecbookConfig
    flags: list[str] = field(default_factory=list)
    ini: config_ini.Mapping | None = None  # for a d2l-book project (config.ini, no conf.py)

    def sphinx(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sphinx", *with_keep_going([*args, *self.flags])]

    def run_sphinx(self, *args: str) -> int:
        """sphinx-build in this process: one interpreter start less than a child process.
        A wrong setting found during the build is its one located line, and exit 2."""
        from sphinx.cmd.build import main as sphinx_main

        with contextlib.redirect_stderr(UntilConfigError(sys.stderr)):
            return sphinx_main(with_keep_going([*args, *self.flags]))


def with_keep_going(arguments: list[str]) -> list[str]:
    """A -W build reports every warning and then fails (exit 1): Sphinx 8.1 on does so by
    default, Sphinx 7 stops at the first warning (exit 2) unless given --keep-going."""
    if STRICT_FLAGS & set(arguments) and "--keep-going" not in arguments:
        return [*arguments, "--keep-going"]
    return arguments


class UntilConfigError(io.TextIOBase):
    """stderr while Sphinx runs: once a handler raised an ``ExecbookConfigError``, its
    located line is printed (logged before the raise); what sphinx-build prints next
    about the exception (versions, a traceback file, a request to report a bug in
    Sphinx) is left out, as it is about a setting of the book, not a crash."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.before = len(cfg.raised)

    def write(self, text: str) -> int:
        # the located line itself may come later: Sphinx holds warnings back while it reads
        # (found by its text: Sphinx 7.2 shows no [execbook.config] after it)
        if len(cfg.raised) > self.before and not any(f"ERROR: {error}" in text for error in cfg.raised[self.before :]):
            return len(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # the stream's
        return getattr(self.stream, "encoding", "utf-8")


def conf_namespace(values: dict) -> SimpleNamespace:
    names = {
        f"execbook_{field.name}": values.get(f"execbook_{field.name}", cfg.option_default(field))
        for field in cfg.option_fields()
    }
    return SimpleNamespace(
        **names,
        root_doc=values.get("root_doc", "index"),
        exclude_patterns=values.get("exclude_patterns", []),
        include_patterns=values.get("include_patterns", ["**"]),
        release=values.get("release", ""),
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
    except SystemExit as stop:  # what Sphinx says of it (it would stop this process with no word)
        fail(
            [
                f"{conf_py}:{_conf_line(conf_py, stop)}: ERROR: The configuration file (or one of the modules "
                "it imports) called sys.exit(); remove the call"
            ]
        )
    except Exception as error:  # the author's code: any exception is a mistake in the book, not in execbook
        fail([f"{conf_py}:{_conf_line(conf_py, error)}: ERROR: conf.py raised {type(error).__name__}: {error}"])


def _conf_line(conf_py: Path, error: BaseException) -> int:
    """The line of conf.py in the traceback nearest to where ``error`` was raised."""
    import traceback

    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename) == conf_py]
    return frames[-1].lineno or 1 if frames else 1


def load_book(folder: Path) -> Book:
    """The book in ``folder``: conf.py, or d2l-book's config.ini; a bad setting exits 2 naming its line."""
    conf_py, ini_path = folder / "conf.py", folder / config_ini.INI_NAME
    if conf_py.is_file():
        conf = conf_namespace(run_conf(conf_py))
        try:
            return Book(folder, conf, cfg.from_sphinx(conf))  # type: ignore[arg-type]
        except ConfigError as error:
            line = cfg.setting_line(conf_py, str(error).split(" ", 1)[0].rstrip(":").split("[", 1)[0])
            fail([f"execbook: {conf_py}{f':{line}' if line else ''}: {error}"])
    if not ini_path.is_file():
        fail(
            [
                f"execbook: no conf.py or config.ini in {folder}; run this in a book's folder (see "
                "README, 'Your own book')"
            ]
        )
    mapping = config_ini.map_ini(folder)
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
    flags = ["-c", str(d2lbook.write_conf(folder))] + (["-W"] if mapping.warning_is_error else [])
    return Book(folder, conf, options, flags, mapping)


def build_lib(folder: Path) -> list[Path]:
    """The library into the book's folder (hand-written headers kept), from
    every page of the book; and, for d2l-book projects, ``__version__``."""
    from execbook.library.extract import book_messages, extract_book
    from execbook.library.writer import LibrarySpec, write_library

    book = load_book(folder)
    library = book.options.library
    spec = LibrarySpec.from_option(library, folder)
    if library is None or spec is None:
        where = "[library-<tab>] lib_file in config.ini" if book.ini else "execbook_library in conf.py"
        raise SystemExit(f"execbook: this book has no {where}, so there is no library to write")
    pages = book_pages(folder, book.conf.exclude_patterns)
    left_out = book_left_out(folder, book.conf.exclude_patterns, book.options)
    docs = {
        name: parse(path.read_text(encoding="utf-8", errors="replace"), book.options.tabs, left_out=left_out)
        for name, path in pages.items()
    }
    libraries = extract_book(
        docs, book.conf.root_doc, [tab for tab in book.options.tabs if tab in spec.modules or not book.ini]
    )
    for docname, message in book_messages(libraries):
        print(f"{pages[docname]}:{message.line}: WARNING: {message.text}", file=sys.stderr)
    written = write_library(folder, spec, libraries, headers_from=folder)
    version = d2lbook.write_version(folder, library.version_file, book.conf.release)
    return written + ([version] if version else [])


def check_book(folder: Path) -> int:
    """d2l-book's outputcheck and tabcheck, and every other mistake the parser finds: file:line, exit 1."""
    book = load_book(folder)
    include = Matcher(list(book.conf.include_patterns))
    pages = {
        name: path for name, path in book_pages(folder, book.conf.exclude_patterns).items() if include(f"{name}.md")
    }
    problems = 0
    left_out = book_left_out(folder, book.conf.exclude_patterns, book.options)
    for path in pages.values():
        text, undecodable = decode_page(path.read_bytes())
        doc = parse(text, book.options.tabs, lambda entry: True, left_out)
        for message in ([undecodable] if undecodable else []) + doc.messages:
            print(f"{path.relative_to(folder)}:{message.line}: {message.text} [execbook.{message.subtype}]")
            problems += 1
    for failure in stored_failures(folder, set(pages)):
        where = os.path.relpath(failure["file"], folder)
        print(f"{where}:{failure['line']}: {failure['text']} (stored outputs) [execbook.{failure['subtype']}]")
        problems += 1
    print(f"execbook check: {len(pages)} pages, {problems} problem{'s' * (problems != 1)}", file=sys.stderr)
    return 1 if problems else 0


def stored_failures(folder: Path, pages: set[str]) -> list[dict]:
    """The failing cells of the last build's outputs (``failures.json``, written by every build),
    of the pages the book still has: a failure the cache holds is a problem until the code is fixed."""
    path = folder / BUILD_DIR / "doctrees" / "execbook" / FAILURES_FILE
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    keys = {"page", "file", "line", "text", "subtype"}
    return [
        entry
        for entry in listed
        if isinstance(listed, list)
        if isinstance(entry, dict) and keys <= set(entry) and entry["page"] in pages
    ]


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
