"""Bad input gives ``file:line: what is wrong; what to do``, never a traceback (issue 15).

One table of cases: a book (its files), a command run on it, the exit code and
the text the user must see. Adding the next bad input is one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BuiltBook
from warned import TYPES_SHOWN, typed

pytestmark = pytest.mark.sphinx  # each case builds a book or runs the CLI

CONF = 'project = "T"\nextensions = ["execbook"]\nexecbook_tabs = ["python"]\n'
INDEX = "# Home\n\n```toc\nother\n```\n"
OTHER = "# Other\n\nSome text.\n"
INI_BOOK = {"index.md": "# Home\n", "other.md": OTHER}


@dataclass
class Case:
    files: dict[str, str | bytes]  # the book: path -> text (or bytes, for encodings)
    command: list[str]  # execbook's arguments ("sphinx" first: sphinx-build the book into _build/html)
    code: int  # the exit code
    says: list[str]  # what the output must contain (file:line and the explanation)
    built: list[str] = field(default_factory=list)  # pages that must still be in _build/html
    env: dict[str, str] = field(default_factory=dict)  # environment variables for the command


def book(conf: str = CONF, **pages: str | bytes) -> dict[str, str | bytes]:
    return {"conf.py": conf, "index.md": INDEX, "other.md": OTHER, **pages}


NOT_UTF8 = b"# Bad\n\nsome \xff text\n"
INDEX_WITH_BAD = "# Home\n\n```toc\nother\nbad\n```\n"

CASES = {
    # 1: a byte that is not UTF-8: the page is named at its line, and the rest builds
    "not-utf8-build": Case(
        book(**{"bad.md": NOT_UTF8, "index.md": INDEX_WITH_BAD}),
        ["sphinx"],
        0,
        ["bad.md:3: WARNING: byte 0xff at offset 12 is not UTF-8", "index.md:5: WARNING: toc entry 'bad'"],
        ["index", "other"],
    ),
    "not-utf8-check": Case(
        book(**{"bad.md": NOT_UTF8}), ["check"], 1, ["bad.md:3: byte 0xff at offset 12 is not UTF-8"]
    ),
    # 2: a toc cycle is reported with its pages and lines, and the book builds
    "toc-cycle": Case(
        book(
            **{
                "index.md": "# Home\n\n```toc\na\n```\n",
                "a.md": "# A\n\n```toc\nb\n```\n",
                "b.md": "# B\n\nText.\n\n```toc\na.md\n```\n",
            }
        ),
        ["sphinx"],
        0,
        ["b.md:6: WARNING: toc cycle: a.md:4 lists b.md; b.md:6 lists a.md"],
        ["index", "a", "b"],
    ),
    # 3: a role after an eval_rst fence (here with an include that fails) keeps its line; MyST-NB no longer crashes
    "eval-after-eval-rst": Case(
        book(**{"index.md": "# Home\n\n```eval_rst\n.. include:: missing.rst\n```\n\nIt is {eval}`x`.\n"}),
        ["sphinx"],
        0,
        ['index.md:4: CRITICAL: Problems with "include"', "index.md:7: WARNING: "],
        ["index"],
    ),
    # 4: config.ini without a [section] header
    "ini-no-section": Case(
        {"config.ini": "name = x\n", **INI_BOOK},
        ["check"],
        2,
        ["config.ini:1: ERROR: cannot read 'name = x'", "[project]"],
    ),
    # 5: exclusions that leave out the index page leave nothing to build
    "exclusions-all-md": Case(
        {"config.ini": "[build]\nexclusions = *.md */*.md\n", **INI_BOOK},
        ["build", "html"],
        2,
        ["config.ini:2: ERROR: [build] exclusions: '*.md' leaves out the index page index.md"],
    ),
    "exclusions-everything": Case(
        {"config.ini": "[project]\nname = x\n[build]\nexclusions = **\n", **INI_BOOK},
        ["check"],
        2,
        ["config.ini:4: ERROR: [build] exclusions: '**' leaves out", "nothing is left to build"],
    ),
    # 6: conf.py that raises, or does not parse
    "conf-raises-check": Case(
        book(CONF + "x = 1\nraise ValueError('boom')\n"),
        ["check"],
        2,
        ["conf.py:5: ERROR: conf.py raised ValueError: boom"],
    ),
    "conf-raises-build": Case(
        book(CONF + "def f():\n    return 1 / 0\nf()\n"),
        ["build", "html"],
        2,
        ["conf.py:5: ERROR: conf.py raised ZeroDivisionError"],
    ),
    "conf-syntax-build": Case(
        book(CONF + 'html_title = ["x"\n'),
        ["build", "html"],
        2,
        ["conf.py:4: ERROR: conf.py does not parse: '[' was never closed"],
    ),
    "conf-syntax-check": Case(
        book(CONF + "if True\n    x = 1\n"), ["check"], 2, ["conf.py:4: ERROR: conf.py does not parse"]
    ),
    # 7: execbook new on a file
    "new-on-a-file": Case({"taken": "a file"}, ["new", "taken"], 1, ["taken is a file, not a folder"]),
    # 8: a port that is no port stops before any build
    "serve-bad-port": Case(book(), ["serve", "--port", "99999"], 2, ["--port: 99999 is not a TCP port"]),
    "serve-port-not-a-number": Case(book(), ["serve", "--port", "http"], 2, ["--port: 'http' is not a number"]),
    # 12: config errors inside a dict option name the line of its assignment
    "library-name-line": Case(
        book(CONF + "x = 1\nexecbook_library = {\n    'name': 'no-pkg'}\n"),
        ["build", "html"],
        2,
        ["conf.py:5: execbook_library['name'] must be a Python package name"],
    ),
    "pdf-paper-line": Case(
        book(CONF + "execbook_pdf = {'paper': 'a3'}\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_pdf['paper'] must be one of"],
    ),
    "install-line": Case(
        book(CONF + "execbook_install = {'python': {'d2l': 1}}\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_install['python'] must map module names"],
    ),
    # 14: an execbook_colab value is a GitHub 'owner/repo', never HTML
    "colab-not-a-repo": Case(
        book(CONF + "execbook_colab = {'python': 'x\" onmouseover=\"alert(1)'}\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_colab['python'] must be a GitHub repository as 'owner/repo'"],
    ),
    # 11: a cache folder where notebooks/ and durations.json would land among other files
    "cache-dir-root": Case(
        book(CONF + "execbook_cache_dir = '/'\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_cache_dir: '/' (/) is a filesystem root"],
    ),
    "cache-dir-parent": Case(
        book(CONF + "execbook_cache_dir = '..'\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_cache_dir: '..' (", "holds the book's sources"],
    ),
    "cache-dir-book": Case(
        book(CONF + "execbook_cache_dir = '.'\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_cache_dir: '.' (", "is the book's own folder"],
    ),
    # 12: silent mistakes now said at their line
    "front-matter-not-a-mapping": Case(
        book(**{"other.md": "---\ntitle: x\nexecbook: 5\n---\n# Other\n"}),
        ["sphinx"],
        0,
        ["other.md:3: WARNING: front matter 'execbook: 5' is not a mapping", "'execbook: {timeout: 60}'"],
        ["other"],
    ),
    "bibliography-missing": Case(
        book(**{"other.md": "# Other\n\nText.\n\n:bibliography:`nope.bib`\n"}),
        ["sphinx"],
        0,
        ["other.md:5: WARNING: :bibliography: file 'nope.bib' does not exist"],
        ["other"],
    ),
    "header-link-no-icon": Case(
        {
            "config.ini": "[html]\nheader_links = GitHub, https://github.com/x, fab fa-github\n"
            "    Docs, https://x.org\n",
            **INI_BOOK,
        },
        ["build", "html"],
        0,
        ["config.ini:3: WARNING: [html] header_links: 'Docs, https://x.org' must be 'name, URL, icon'"],
        ["index"],
    ),
    # 13: a path that leaves the book is reported and left out (tests/test_outside.py checks nothing is copied or shown)
    "outside-image": Case(
        book(**{"index.md": INDEX + f"\n![x]({'../' * 8}etc/passwd)\n"}),
        ["sphinx"],
        0,
        [
            f"index.md:7: WARNING: image '{'../' * 8}etc/passwd' is outside the book's folder (/etc/passwd)",
            "execbook_allow_outside",
            *([typed("outside").strip()] if TYPES_SHOWN else []),
        ],
        ["index"],
    ),
    "outside-literalinclude": Case(
        book(**{"index.md": INDEX + f"\n```eval_rst\n.. literalinclude:: {'../' * 8}etc/passwd\n```\n"}),
        ["sphinx"],
        0,
        [f"index.md:8: WARNING: literalinclude '{'../' * 8}etc/passwd' is outside"],
        ["index"],
    ),
    # 15 (issue 37): tracebacks that are now located messages with what to do
    "build-folder-is-a-file": Case(
        book(**{"_build": "a file"}), ["build", "html"], 2, ["_build is a file", "(rm _build)"]
    ),
    "html-folder-is-a-file": Case(
        book(**{"_build/html": "a file"}), ["build", "html"], 2, ["_build/html is a file", "(rm _build/html)"]
    ),
    "uptodate-stamp-is-a-folder": Case(
        book(**{"_build/execbook-uptodate.json/x": "x"}),
        ["build", "html"],
        2,
        ["cannot remove", "execbook-uptodate.json (Is a directory); remove it"],
    ),
    "dask-scheduler-garbage": Case(
        book(**{"other.md": OTHER + "\n```{.python .input}\nprint(1)\n```\n"}),
        ["build", "html"],
        2,
        ["'garbage://::' is not a Dask scheduler address", "such as tcp://host:8786 in EXECBOOK_DASK_SCHEDULER"],
        env={"EXECBOOK_DASK_SCHEDULER": "garbage://::"},
    ),
    "ini-index-outside": Case(
        {"config.ini": "[build]\nindex = ../outside\n", "../outside.md": "# Outside\n", **INI_BOOK},
        ["build", "html"],
        2,
        ["config.ini:2: ERROR: [build] index: '../outside' lies outside the book's folder", "(index = index)"],
    ),
    "build-extra-argument": Case(
        book(),
        ["build", "html", "extra-arg"],
        2,
        ["execbook build: error: unexpected argument 'extra-arg'", "sphinx-build's options only"],
    ),
    "build-unknown-flag": Case(
        book(), ["build", "eval", "--bogus"], 2, ["execbook build: error: sphinx-build option: unrecognized"]
    ),
    "check-extra-arguments": Case(
        book(), ["check", "extra", "--bogus"], 2, ["execbook check: error: unrecognized arguments: extra --bogus"]
    ),
    # issue 36, item 5: no silent configuration; issue 32, item 4: config errors keep their place
    "unknown-option-names": Case(
        book(CONF + "execbook_timout = 2\n"),
        ["build", "html", "-D", "execbook_executee=off"],
        0,
        [
            "conf.py:4: WARNING: execbook_timout is not an execbook option, so it is ignored; did you mean "
            "execbook_timeout?",
            "-D execbook_executee: not an execbook option, so it is ignored; did you mean execbook_execute?",
        ],
        ["index"],
    ),
    "bad-option-from-D": Case(
        book(), ["build", "html", "-D", "execbook_workers=-1"], 2, ["-D execbook_workers=-1: execbook_workers must be"]
    ),
    "bad-option-at-its-line": Case(
        book(CONF + "execbook_workers = 0\n"),
        ["build", "html"],
        2,
        ["conf.py:4: execbook_workers must be at least 1, got 0"],
    ),
    "conf-calls-sys-exit": Case(
        book(CONF + "import sys\nsys.exit()\n"),
        ["build", "html"],
        2,
        ["conf.py:5: ERROR: The configuration file (or one of the modules it imports) called sys.exit()"],
    ),
    "ini-boolean-typo": Case(
        {"config.ini": "[project]\nname = t\n\n[build]\neval_notebook = Ture\n", **INI_BOOK},
        ["build", "html"],
        2,
        ["config.ini:5: ERROR: [build] eval_notebook = 'Ture' is neither true nor false"],
    ),
    "new-in-proc": Case({}, ["new", "/proc/x"], 1, ["cannot create the book's folder /proc/x"]),
    "new-under-a-file": Case(
        {"afile": "a file"}, ["new", "afile/sub"], 1, ["cannot create the book's folder", "afile is a file, not a"]
    ),
}


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def run(
    root: Path, command: list[str], env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    if command[0] == "sphinx":
        argv = [sys.executable, "-m", "sphinx", "-b", "html", "-q", ".", "_build/html", *command[1:]]
    else:
        argv = [sys.executable, "-m", "execbook.cli", *command]
    return subprocess.run(
        [*prefix, *argv],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def assert_located(done: subprocess.CompletedProcess, code: int, says: list[str]) -> str:
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "Sphinx error" not in output and "Exception occurred" not in output, output
    assert done.returncode == code, output
    for text in says:
        assert text in output, output
    return output


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_a_located_message(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    root = tmp_path / "book"  # a folder of its own: a case may put a file beside the book ("../outside.md")
    root.mkdir()
    write(root, case.files)
    output = assert_located(run(root, case.command, case.env), case.code, case.says)
    for page in case.built:
        assert (root / "_build" / "html" / f"{page}.html").is_file(), output


def test_a_read_only_build_folder_is_a_message(tmp_path: Path) -> None:
    """A ``_build`` the user may not write into was an OSError traceback from the up-to-date
    stamp. Root may write anywhere: then the command runs as nobody (setpriv)."""
    prefix: tuple[str, ...] = ()
    root = tmp_path / "book"
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: a read-only folder cannot be made")
        root = Path(tempfile.mkdtemp(prefix="execbook-readonly-")) / "book"  # tmp_path is root's alone
        os.chmod(root.parent, 0o755)
        prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--")
    try:
        write(root, book(**{"_build/old.txt": "from a build as another user"}))
        os.chmod(root / "_build", 0o555)
        done = run(root, ["build", "html"], {"HOME": str(root.parent)}, prefix)
        assert_located(done, 2, [f"cannot write into {root / '_build'} (Permission denied)", "make it writable"])
    finally:
        os.chmod(root / "_build", 0o755)
        if prefix:
            shutil.rmtree(root.parent)


def test_new_writes_a_title_with_quotes_as_python(tmp_path: Path) -> None:
    title, author = 'My "Quoted" Book', "O'Brien \\ co"
    done = run(tmp_path, ["new", "b", "--title", title, "--author", author])
    assert done.returncode == 0, done.stderr
    import runpy

    conf = runpy.run_path(str(tmp_path / "b" / "conf.py"))
    assert (conf["project"], conf["author"], conf["html_title"]) == (title, author, title)
    assert conf["copyright"].endswith(f", {author}")


# 9: a token in a remote URL is never printed, wherever the URL came from
TOKEN = "SECRET123"
SITE = {"_build/html/index.html": "<html><body>Home</body></html>"}
SECRET_CASES = {
    "deploy-remote-url": ({**book(), **SITE}, ["deploy", "--remote", f"https://user:{TOKEN}@127.0.0.1:9/y.git"]),
    "ini-github-repo-scp": (
        {"config.ini": f"[deploy]\ngithub_repo = user:{TOKEN}@127.0.0.1:x.git\n", **INI_BOOK, **SITE},
        ["deploy"],
    ),
    "ini-github-repo-url": (
        {"config.ini": f"[deploy]\ngithub_repo = https://user:{TOKEN}@127.0.0.1:9/x.git\n", **INI_BOOK, **SITE},
        ["deploy"],
    ),
}


@pytest.mark.parametrize("name", SECRET_CASES)
def test_deploy_never_prints_a_token(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, command = SECRET_CASES[name]
    write(tmp_path, files)
    subprocess.run(["git", "init", "--quiet"], cwd=tmp_path, check=True)
    monkeypatch.setenv("GIT_SSH_COMMAND", "false")  # no ssh connection is tried: the push fails at once
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    done = run(tmp_path, command)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in output, output
    assert "***@127.0.0.1" in output and TOKEN not in output, output


def test_a_cell_inside_an_html_comment_is_hidden_and_not_run(tmp_path: Path) -> None:
    """Issue 15, item 10: the comment closes, the page after it shows, the cell never runs."""
    page = (
        '# Home\n\nBefore.\n\n<!--\n```{.python .input}\nopen("ran.txt", "w").write("x")\nprint("SECRET" '
        '+ "_RAN")\n```\n-->\n\n'
        "After the comment.\n"
    )
    write(tmp_path, {"conf.py": CONF, "index.md": page})
    done = run(tmp_path, ["sphinx", "-W"])
    assert done.returncode == 0, done.stdout + done.stderr
    html = (tmp_path / "_build" / "html" / "index.html").read_text(encoding="utf-8")
    import re

    visible = re.sub(r"<!--.*?-->", "", html, flags=re.DOTALL)
    assert "After the comment." in visible and "<!--" not in visible.split("Before.")[1], visible
    assert "SECRET" not in visible and "&gt;" not in visible.split("Before.")[1].split("After")[0]
    assert not list(tmp_path.rglob("ran.txt"))


def test_page_buttons_escape_what_reaches_html(tmp_path: Path, sphinx_in_process: Callable[..., BuiltBook]) -> None:
    """14: a page name with '&' (or a quote) stays inside its href."""
    conf = CONF + "execbook_colab = {'python': 'me/book'}\nexecbook_execute = 'off'\n"
    write(tmp_path, book(conf, **{"index.md": "# Home\n\n```toc\nq&x\n```\n", "q&x.md": "# Q\n\n```python\n1\n```\n"}))
    done = sphinx_in_process(tmp_path)  # runs no code, reads a page: no subprocess needed
    assert done.returncode == 0, done.output
    html = (tmp_path / "_build" / "html" / "q&x.html").read_text(encoding="utf-8")
    assert 'href="https://colab.research.google.com/github/me/book/blob/master/q&amp;x.ipynb"' in html
    assert 'href="notebooks/python/q&amp;x.ipynb"' in html


def test_cache_folders_execbook_creates_are_tagged_and_accepted(tmp_path: Path) -> None:
    """11: a tagged folder is execbook's own (https://bford.info/cachedir/), even where an untagged one is refused."""
    from execbook.execute.cache import Cache, unsafe_root

    cache = Cache(tmp_path / "new" / "cache")
    cache.record_durations({"job": 1.0})
    assert (cache.root / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "index.md").write_text("# Home\n")
    assert unsafe_root(tmp_path, tmp_path / "book") == "holds the book's sources"
    Cache(tmp_path).claim()  # a folder with files in it is not claimed
    assert not (tmp_path / "CACHEDIR.TAG").exists()
    (tmp_path / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    assert unsafe_root(tmp_path, tmp_path / "book") == ""


@pytest.mark.kernels
def test_a_tab_mark_in_another_case_is_a_tab_mark(tmp_path: Path) -> None:
    """12: ``%%TAB Python`` marks the cell, as ``%%tab python`` does, instead of running as an unknown IPython magic."""
    write(tmp_path, book(**{"other.md": "# Other\n\n```{.python .input}\n%%TAB Python\nprint('from the cell')\n```\n"}))
    done = run(tmp_path, ["sphinx"])
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "WARNING" not in output, output
    html = (tmp_path / "_build" / "html" / "other.html").read_text(encoding="utf-8")
    assert "from the cell" in html and "UsageError" not in html and "%%TAB" not in html


def test_an_incomplete_bibliography_entry_is_shown_with_a_warning(tmp_path: Path) -> None:
    """pybtex's plain style stops on an @article without journal; execbook's shows what the entry has."""
    from conftest import run_sphinx, write_book

    pages = {
        "index.md": "# Book\n\n```toc\ncites\nrefs\n```\n",
        "cites.md": "# Cites\n\nAs :cite:`lonely` found.\n",
        "refs.md": "# References\n\n:bibliography:`refs.bib`\n",
        "refs.bib": "@article{lonely, title={A Lonely Title}, author={Ann Author}, year={2020}}\n",
    }
    book = run_sphinx(write_book(tmp_path / "book", pages, conf='execbook_execute = "off"\n'))
    assert book.returncode == 0, book.output
    assert "Traceback" not in book.output and "FieldIsMissing" not in book.output
    assert (
        "WARNING: the bibliography entry 'lonely' (@article) has no journal, which pybtex's plain style needs "
        "for its type; add it to the .bib file (shown without it)" + typed("bibtex")
    ) in book.output
    entry = book.main("refs").get_text(" ", strip=True)
    assert "Ann Author. A Lonely Title. 2020." in entry
