"""startup.py's shortcuts change what a build costs, never what it does."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import nbformat


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (so that nothing is imported yet); its stdout."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_myst_nb_execution_clients_are_the_real_ones_when_used() -> None:
    out = run_fresh("""
        import logging, sys
        from execbook.html import startup
        startup.defer_myst_nb_execution()
        import myst_nb.sphinx_ext  # what app.setup_extension("myst_nb") imports
        print("imported:", "jupyter_cache" in sys.modules, "sqlalchemy" in sys.modules, "nbclient" in sys.modules)
        import nbformat
        from myst_nb.core.config import NbParserConfig
        from myst_nb.core.execute import create_client
        for mode in ("cache", "force", "inline", "off"):
            client = create_client(nbformat.v4.new_notebook(), "<string>", NbParserConfig(execution_mode=mode),
                                   logging.getLogger("test"))
            print(mode, type(client).__module__, type(client).__name__)
    """)
    lines = out.splitlines()
    assert lines[0] == "imported: False False False"
    assert lines[1:] == [
        "cache myst_nb.core.execute.cache NotebookClientCache",
        "force myst_nb.core.execute.direct NotebookClientDirect",
        "inline myst_nb.core.execute.inline NotebookClientInline",
        "off myst_nb.core.execute.base NotebookClientBase",
    ]


def test_shared_entry_points_select_what_a_fresh_scan_does() -> None:
    from importlib.metadata import entry_points

    from execbook.html.startup import shared_entry_points

    for group in ("pybtex.style.formatting", "sphinx.html_themes", "pygments.lexers", "console_scripts"):
        assert sorted(shared_entry_points(group=group)) == sorted(entry_points(group=group))
    assert list(shared_entry_points(group="pybtex.database.input", name="bibtex")) == list(
        entry_points(group="pybtex.database.input", name="bibtex"))


def test_pygments_finds_plugin_lexers_as_before() -> None:
    out = run_fresh("""
        from pygments.lexers import get_lexer_by_name
        before = type(get_lexer_by_name("ipython3")).__name__
        from execbook.html import startup
        startup.share_entry_point_scans()
        print(before, type(get_lexer_by_name("ipython3")).__name__, type(get_lexer_by_name("python")).__name__)
    """)
    before, after, python = out.split()
    assert before == after and python == "PythonLexer"


def test_myst_nb_writes_the_same_notebook_text() -> None:
    import nbformat as real

    from execbook.html.startup import _UncheckedNbformat

    unchecked = _UncheckedNbformat(real)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n\né"),
                                               nbformat.v4.new_code_cell("x = 1\nx", outputs=[
                                                   nbformat.v4.new_output("execute_result", {"text/plain": "1"},
                                                                          execution_count=1)])])
    notebook.nbformat_minor = 4
    assert unchecked.writes(notebook) == real.writes(notebook)
    assert unchecked.NotebookNode is real.NotebookNode
