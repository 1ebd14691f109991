"""No replacement of another project's function outlives a build, and the
speed-ups change what a build costs, never what it writes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from test_d2lbook import execbook, mini_book_copy

from execbook.html import speedups

# Runs in a fresh interpreter: an earlier test's build in this process must not
# be taken for "before". Prints one JSON line: what differed, and when.
SCRIPT = r"""
import gc, json, sys, types
from pathlib import Path
from sphinx.testing.util import SphinxTestApp
from sphinx.util.docutils import docutils_namespace, patch_docutils

PACKAGES = ("sphinx", "docutils", "myst_parser", "myst_nb", "pygments", "pybtex", "sphinxcontrib.bibtex",
            "jinja2", "nbformat", "pydata_sphinx_theme")

def ours(name):
    return any(name == p or name.startswith(p + ".") for p in PACKAGES)

def walk(prefix, namespace, found, seen):
    for attr, value in list(namespace.items()):
        if callable(value) or isinstance(value, (types.ModuleType, staticmethod, classmethod, property)):
            found[f"{prefix}.{attr}"] = value
        if isinstance(value, type) and id(value) not in seen and ours(getattr(value, "__module__", "") or ""):
            seen.add(id(value))
            walk(f"{prefix}.{attr}", dict(vars(value)), found, seen)

def snapshot():
    found, seen = {}, set()
    for name, module in sorted(sys.modules.items()):
        if module is not None and ours(name):
            walk(name, dict(vars(module)), found, seen)
    found["gc"] = (gc.get_threshold(), gc.isenabled(), gc.get_freeze_count())
    return found

def differ(before, after):
    return sorted(k for k in before if k in after and after[k] is not before[k] and after[k] != before[k])

def build(srcdir, during=None, **overrides):
    with patch_docutils(srcdir), docutils_namespace():
        try:  # a wrong setting found at builder-inited stops Sphinx before it builds
            app = SphinxTestApp("html", srcdir=Path(srcdir), builddir=Path(srcdir) / "_build", confoverrides=overrides)
        except Exception as error:
            return repr(error)
        if during is not None:
            app.connect("html-page-context", lambda *args: during.setdefault("at", snapshot()) and None)
        try:
            app.build()
        except Exception as error:
            return repr(error)
        finally:
            app.cleanup()

plain, book = sys.argv[1], sys.argv[2]
stock = {}
build(plain, stock)  # everything the plain project imports, imported (and Sphinx's first-build imports done)
import execbook, myst_nb, myst_nb.sphinx_, myst_parser, pybtex.plugin, sphinxcontrib.bibtex, pydata_sphinx_theme
import pygments.lexers, nbformat, jinja2
before = snapshot()
build(plain, stock)
sphinx_own = set(differ(before, stock["at"]))  # what Sphinx itself swaps while it builds (docutils' get_language)
result = {}
during = {}
result["error"] = build(book, during, **json.loads(sys.argv[3]))
result["during"] = [name for name in differ(before, during.get("at", before)) if name not in sphinx_own]
build(plain)
result["after"] = differ(before, snapshot())
print(json.dumps(result))
"""


def demo_like_book(root: Path) -> Path:
    book = root / "book"
    book.mkdir(parents=True)
    for name in ("index.md", "chapters", "conf.py", "references.bib", "_static", "_templates"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, book / name)
    return book


def plain_project(root: Path) -> Path:
    plain = root / "plain"
    plain.mkdir()
    (plain / "conf.py").write_text('project = "Plain"\n')
    (plain / "index.rst").write_text("Plain\n=====\n\n.. code-block:: python\n\n   x = 1\n\nSee :numref:`x`.\n")
    return plain


def patches_seen(tmp_path: Path, conf: str = "", speedups: str = "", **overrides: object) -> dict[str, object]:
    """Build the demo-like book (``conf`` added to its conf.py; ``EXECBOOK_SPEEDUPS=speedups``)
    between two builds of a plain project."""
    book, plain = demo_like_book(tmp_path), plain_project(tmp_path)
    (book / "conf.py").write_text((book / "conf.py").read_text() + textwrap.dedent(conf))
    overrides = {"execbook_execute": "off", **overrides}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(plain), str(book), json.dumps(overrides)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "EXECBOOK_SPEEDUPS": speedups},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def outlived(seen: dict[str, object]) -> list[str]:
    return list(seen["after"])  # type: ignore[call-overload]


FIXES = [  # the upstream work-arounds (html/speedups/fixes.py), applied during a build even without speed-ups
    "myst_nb.core.loggers.SphinxDocLogger.process",
    "myst_parser.mdit_to_docutils.base.DocutilsRenderer.render_restructuredtext",
    "myst_parser.mdit_to_docutils.base.MockIncludeDirective.run",  # the class of myst_parser.mocking, seen here first
]


@pytest.mark.sphinx
def test_nothing_is_replaced_after_a_build_and_the_collector_is_as_before(tmp_path: Path) -> None:
    seen = patches_seen(tmp_path)
    assert seen["error"] is None, seen
    assert outlived(seen) == [], seen["after"]  # a plain project built afterwards runs stock code
    assert "gc" in seen["during"] and any(name.endswith(".PygmentsBridge.get_formatter") for name in seen["during"])


@pytest.mark.sphinx
def test_without_speedups_a_build_runs_stock_code_but_the_two_fixes(tmp_path: Path) -> None:
    seen = patches_seen(tmp_path, execbook_speedups=False)
    assert seen["error"] is None, seen
    assert seen["during"] == FIXES and outlived(seen) == [], seen


@pytest.mark.sphinx
def test_a_build_that_fails_puts_everything_back(tmp_path: Path) -> None:
    failing = """
        def setup(app):
            def fail(app, doctree, docname):
                raise RuntimeError("a broken extension")
            app.connect("doctree-resolved", fail)
    """
    seen = patches_seen(tmp_path, failing)
    assert "a broken extension" in str(seen["error"]), seen
    assert outlived(seen) == [], seen["after"]


TITLES = "StandaloneHTMLBuilder.render_partial"  # speed-up "titles"
FORMATTERS = "PygmentsBridge.get_formatter"  # speed-up "formatters"


def replaced(during: list[str], name: str) -> bool:
    """A class attribute is seen under the first module the walk finds its class in."""
    return any(seen.endswith(f".{name}") for seen in during)


@pytest.mark.sphinx
def test_one_speedup_turned_off_runs_its_stock_target_and_the_others_patched(tmp_path: Path) -> None:
    seen = patches_seen(tmp_path, speedups="-titles,-collector")
    assert seen["error"] is None, seen
    during = seen["during"]
    assert not replaced(during, TITLES) and "gc" not in during, during  # stock render_partial, collector untouched
    assert replaced(during, FORMATTERS) and "sphinx.highlighting.get_lexer_by_name" in during, during
    assert all(fix in during for fix in FIXES), during
    assert outlived(seen) == [], seen["after"]


@pytest.mark.sphinx
def test_only_the_speedups_named_are_applied(tmp_path: Path) -> None:
    seen = patches_seen(tmp_path, speedups="titles")
    assert seen["error"] is None, seen
    others = [name for name in seen["during"] if name not in FIXES]  # type: ignore[attr-defined]
    assert len(others) == 1 and others[0].endswith(f".{TITLES}") and all(fix in seen["during"] for fix in FIXES), seen


@pytest.mark.sphinx
def test_an_unknown_speedup_stops_the_build_naming_the_known_ones(tmp_path: Path) -> None:
    seen = patches_seen(tmp_path, speedups="-titels")
    error = str(seen["error"])
    assert "ConfigError" in error and "EXECBOOK_SPEEDUPS=-titels: unknown speed-up(s) titels" in error, error
    assert "titles" in error.split("the speed-ups are", 1)[1], error
    assert outlived(seen) == [], seen["after"]


@pytest.mark.sphinx
def test_the_cli_reports_an_unknown_speedup_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = mini_book_copy(tmp_path, "eval_notebook = True", "eval_notebook = False")
    monkeypatch.setenv("EXECBOOK_SPEEDUPS", "-titles,lexers")
    done = execbook(book, "build", "html")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and [line for line in lines if "ERROR" in line] == lines[-1:], lines
    assert "ERROR: execbook: EXECBOOK_SPEEDUPS=-titles,lexers: it mixes names to turn off (-NAME)" in lines[-1], lines


def test_every_speedup_is_named_in_the_table() -> None:
    names = {patch.name for patch in speedups.all_patches() if not patch.fix}
    assert names <= set(speedups.SPEEDUPS) and all(patch.name == "" for patch in speedups.all_patches() if patch.fix)
    # the three that are execbook's own code, not a replacement
    assert set(speedups.SPEEDUPS) - names == {"collector", "templates", "unchanged"}


@pytest.mark.parametrize(
    ("variable", "configured", "expected"),
    [
        ("", True, "all"),
        ("", False, set()),
        ("0", True, set()),
        ("off", True, set()),
        ("1", False, "all"),
        ("-titles, -collector", True, "all but titles collector"),
        ("Titles,LEXERS", False, {"titles", "lexers"}),
    ],
)
def test_the_switch_reads_all_none_all_but_and_only(variable: str, configured: bool, expected: object) -> None:
    every = set(speedups.SPEEDUPS)
    if expected == "all":
        expected = every
    elif isinstance(expected, str):
        expected = every - set(expected.split()[2:])
    assert speedups.chosen(variable, configured) == expected


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("-nope", "unknown speed-up(s) nope; the speed-ups are entry-points, "),
        ("titles,-lexers", "mixes names to turn off (-NAME) with names to keep on"),
    ],
)
def test_the_switch_refuses_what_it_cannot_read(variable: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        speedups.chosen(variable)


BUILD_IDS = re.compile(
    r"(\?v=|digest=|DOCUMENTATION_OPTIONS\.BUILD_ID = )[\w.\"']+|\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?"
)


def site(book: Path) -> dict[str, str]:
    html = book / "_build" / "html"
    return {
        str(path.relative_to(html)): BUILD_IDS.sub("<id>", path.read_text(encoding="utf-8"))
        for path in sorted(html.rglob("*.html"))
    }


@pytest.mark.sphinx
def test_a_d2l_book_is_the_same_with_speedups_and_without(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = mini_book_copy(tmp_path / "fast", "eval_notebook = True", "eval_notebook = False")
    stock = mini_book_copy(tmp_path / "stock", "eval_notebook = True", "eval_notebook = False")
    assert execbook(fast, "build", "html").returncode == 0
    monkeypatch.setenv("EXECBOOK_SPEEDUPS", "0")  # the CLI's switch, through sphinx-build to the extension
    done = execbook(stock, "build", "html")
    assert done.returncode == 0, done.stdout + done.stderr
    fast_site, stock_site = site(fast), site(stock)
    assert len(fast_site) > 5 and fast_site.keys() == stock_site.keys()
    for page, text in fast_site.items():
        assert text == stock_site[page], page
    # the stock path compiled its templates afresh: no cache of compiled templates was written
    assert list((fast / "_build").rglob("execbook/jinja/*"))
    assert not list((stock / "_build").rglob("execbook/jinja/*"))


def test_every_speedup_is_documented_with_what_it_saves() -> None:
    """Issue 32: the README names each speed-up, and the performance chapter's table says what it saves."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = (ROOT / "chapters" / "guide" / "performance.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\* - `([\w-]+)`\n  - .+\n  - (.+)$", table, re.MULTILINE)  # the list-table's rows
    assert {name for name, _ in rows} == set(speedups.SPEEDUPS), rows
    assert all(re.fullmatch(r"(—|\d+\.\d\d)(, (—|\d+\.\d\d)){2}", saves) for _, saves in rows), rows
    assert all(f"`{name}`" in readme for name in speedups.SPEEDUPS)
    assert "benchmarks/speedups.py" in readme and "benchmarks/speedups.py" in table
