"""The speed-ups (html/speedups) change what a build costs, never what it does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest


def run_fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (so that nothing is imported yet); its stdout."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_shared_entry_points_select_what_a_fresh_scan_does() -> None:
    from importlib.metadata import entry_points

    from execbook.html.speedups.imports import shared_entry_points as sharing

    shared_entry_points = sharing(entry_points)
    for group in ("pybtex.style.formatting", "sphinx.html_themes", "pygments.lexers", "console_scripts"):
        assert sorted(shared_entry_points(group=group)) == sorted(entry_points(group=group))
    assert list(shared_entry_points(group="pybtex.database.input", name="bibtex")) == list(
        entry_points(group="pybtex.database.input", name="bibtex")
    )


def test_pygments_finds_plugin_lexers_as_before() -> None:
    out = run_fresh("""
        from pygments.lexers import get_lexer_by_name
        before = type(get_lexer_by_name("ipython3")).__name__
        from execbook.html import speedups
        speedups.apply(speedups)
        print(before, type(get_lexer_by_name("ipython3")).__name__, type(get_lexer_by_name("python")).__name__)
    """)
    before, after, python = out.split()
    assert before == after and python == "PythonLexer"


def test_myst_nb_writes_the_same_notebook_in_one_line() -> None:
    import nbformat as real

    from execbook.html.speedups.imports import _UncheckedNbformat

    unchecked = _UncheckedNbformat(real)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# T\n\né"),
            nbformat.v4.new_code_cell(
                "x = 1\nx", outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "1"}, execution_count=1)]
            ),
        ]
    )
    notebook.nbformat_minor = 4
    text = unchecked.writes(notebook)
    assert "\n" not in text.replace("\\n", "")  # one line: json's C encoder
    assert real.reads(text, as_version=4) == real.reads(real.writes(notebook), as_version=4)
    assert unchecked.NotebookNode is real.NotebookNode


def test_notebook_text_is_nbformats_text_and_leaves_the_notebook_as_it_was() -> None:
    import copy

    from execbook.source.notebooks import notebook_text

    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\nb\n"),
        nbformat.v4.new_output(
            "display_data",
            {
                "text/plain": "x\ny",
                "image/svg+xml": "<svg>\n</svg>",
                "image/png": "iVBOR",
                "application/json": {"k": [1, 2]},
            },
        ),
        nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["t1", "t2"]),
    ]
    markdown = nbformat.v4.new_markdown_cell("# T\n\né\n", attachments={"a.png": {"image/png": "iVBOR"}})
    markdown.metadata["trusted"] = True
    notebook = nbformat.v4.new_notebook(
        cells=[markdown, nbformat.v4.new_code_cell("x = 1\nx", outputs=outputs), nbformat.v4.new_raw_cell("raw\ntext")]
    )
    notebook.metadata["orig_nbformat"] = 3
    before = copy.deepcopy(notebook)
    text = notebook_text(notebook)
    assert notebook == before
    assert text == nbformat.v4.writes(notebook) == nbformat.writes(notebook)


def test_per_page_setup_done_once_gives_the_same_results() -> None:
    out = run_fresh("""
        from docutils.frontend import get_default_settings
        from docutils.parsers.rst import Parser
        from pygments.formatters import HtmlFormatter
        from sphinx.highlighting import PygmentsBridge
        import sphinx.highlighting as highlighting
        from execbook.html import speedups
        fresh = get_default_settings(Parser)
        class Build:
            pass
        speedups.apply(Build())
        speedups.apply(Build())  # a build within a build: wrapped once
        from myst_parser.mdit_to_docutils.base import make_document
        one, two = make_document(), make_document()
        def plain(settings):
            return {k: v for k, v in vars(settings).items() if k != "record_dependencies"}  # compared by identity
        assert plain(one.settings) == plain(fresh) and one.settings is not two.settings
        assert one.settings.record_dependencies is not two.settings.record_dependencies
        bridge = PygmentsBridge("html", "default")
        a, b = bridge.get_formatter(), bridge.get_formatter()
        assert a is b and bridge.get_formatter(linenos=True) is not a
        assert bridge.get_formatter(hl_lines=[1]) is not bridge.get_formatter(hl_lines=[1])  # unhashable: made afresh
        lexer = highlighting.get_lexer_by_name("ipython3", stripnl=False)
        assert type(lexer).__name__ == "IPython3Lexer" and lexer.stripnl is False
        assert highlighting.get_lexer_by_name("ipython3") is not highlighting.get_lexer_by_name("ipython3")
        one = bridge.get_lexer("x = 1", "ipython3")
        assert bridge.get_lexer("y = 2", "ipython3") is one and len(one.filters) == 1  # one error filter
        assert bridge.get_lexer("x", "ipython3", {"stripnl": False}) is not one
        assert bridge.get_lexer("x", "ipython3", force=True).filters == []
        assert PygmentsBridge("html", "default").get_lexer("x", "ipython3") is not one  # per builder
        assert type(bridge.get_lexer(">>> 1", "python")).__name__ == "PythonConsoleLexer"
        assert type(bridge.get_lexer("1", "python")).__name__ == "PythonLexer"
        code = "import os\\nprint(os.sep)\\n"
        ours = bridge.highlight_block(code, "ipython3")
        print(ours == PygmentsBridge("html", "default").highlight_block(code, "ipython3"))
    """)
    assert out.split() == ["True"]


def test_page_settings_made_once_are_the_same_and_follow_their_defaults(tmp_path) -> None:
    from sphinx.util import docutils as sphinx_docutils

    if not hasattr(sphinx_docutils, "_get_settings"):  # Sphinx 7.2: the speed-up finds no target and skips itself
        pytest.skip("this Sphinx has no sphinx.util.docutils._get_settings, the docutils-settings speed-up's target")
    out = run_fresh(f"""
        import os
        from docutils.readers import standalone
        from myst_nb.sphinx_ import Parser
        from sphinx.util import docutils as sphinx_docutils
        from execbook.html import speedups
        os.chdir({str(tmp_path)!r})  # ./docutils.conf is one of the files docutils reads
        env, locales = object(), []
        defaults = {{"traceback": True, "env": env, "smartquotes_locales": locales, "tab_width": 8}}
        def settings(**more):
            return sphinx_docutils._get_settings(
                standalone.Reader, Parser(), defaults={{**defaults, **more}}, read_config_files=True
            )
        fresh = settings()
        class Build:
            pass
        speedups.apply(Build())
        speedups.apply(Build())  # a build within a build: wrapped once
        one, two = settings(), settings()
        def plain(values):
            return {{k: v for k, v in vars(values).items() if k != "record_dependencies"}}
        assert plain(one) == plain(two) == plain(fresh), set(plain(one).items()) ^ set(plain(fresh).items())
        assert one is not two and one.record_dependencies is not two.record_dependencies
        one.tab_width = 2  # a page's own settings: not the next page's
        assert settings().tab_width == 8 and settings().env is env and settings().smartquotes_locales is locales
        assert settings(tab_width=4).tab_width == 4 and settings().tab_width == 8  # other defaults: made again
        with open("docutils.conf", "w") as conf:
            conf.write("[general]\\ntab_width: 3\\n")
        assert settings(tab_width=5).tab_width == 3  # a docutils.conf is read...
        with open("docutils.conf", "w") as conf:
            conf.write("[general]\\ntab_width: 6\\n")
        print(settings(tab_width=5).tab_width)  # ... and read again, as before
    """)
    assert out.split() == ["6"]


def test_search_stems_and_stylesheet_lists_kept_give_the_same_answers(tmp_path) -> None:
    (tmp_path / "a" / "css").mkdir(parents=True)
    (tmp_path / "a" / "css" / "minimal.css").write_text("")
    (tmp_path / "b").mkdir()
    out = run_fresh(f"""
        import os, types
        from docutils import utils
        from sphinx.search import IndexBuilder
        from sphinx.search.en import SearchEnglish
        from execbook.html import speedups
        speedups.apply(speedups)
        env = types.SimpleNamespace(_search_index_titles={{}}, _search_index_filenames={{}}, _search_index_mapping={{}},
            _search_index_title_mapping={{}}, _search_index_all_titles={{}}, _search_index_index_entries={{}},
            _search_index_objtypes={{}}, _search_index_objnames={{}}, domains=None, version={{}})
        english, german = IndexBuilder(env, "en", {{}}, ""), IndexBuilder(env, "de", {{}}, "")
        words = ["running", "runs", "ran", "tensors", "running"]
        assert [english.lang.stem(w) for w in words] == [SearchEnglish({{}}).stem(w) for w in words]
        assert english.lang.stem.cache_info().hits == 1  # "running" again
        print(german.lang.stem("laufende"), german.lang.stem.cache_info().hits)  # its own language, its own cache
        def stylesheets(**settings):
            values = {{"stylesheet_path": ["minimal.css"], "stylesheet": None, "stylesheet_dirs": ["css"], **settings}}
            return utils.get_stylesheet_list(types.SimpleNamespace(**values))
        os.chdir({str(tmp_path / "a")!r})
        print(*stylesheets(), *stylesheets(), *stylesheets(stylesheet_dirs=["."]))
        os.chdir({str(tmp_path / "b")!r})  # the same relative folder elsewhere: looked up again
        print(*stylesheets())
        stylesheets().append("x.css")  # each caller its own list
        print(*stylesheets())
    """)
    found, elsewhere = ["css/minimal.css"] * 2 + ["minimal.css"], ["minimal.css"] * 2
    assert out.split() == ["laufend", "0", *found, *elsewhere]


def test_the_collector_is_relaxed_for_a_build_and_as_before_after_it() -> None:
    out = run_fresh("""
        import gc
        from execbook.html import speedups
        class App:  # what apply and undo need of a Sphinx app: a weak-referable key
            pass
        gc.set_threshold(500, 11, 12)
        junk = [[] for _ in range(1000)]
        outer, inner = App(), App()
        speedups.apply(outer)
        frozen = gc.get_freeze_count()
        speedups.apply(inner)  # a build within a build (sphinx.testing in a build): left to the outer one
        print(frozen > 1000, gc.get_threshold() == (speedups.GEN0_THRESHOLD, 11, 12), gc.get_freeze_count() == frozen)
        speedups.undo(inner)
        print(gc.get_threshold() == (speedups.GEN0_THRESHOLD, 11, 12), gc.get_freeze_count() == frozen)
        speedups.undo(outer)  # build-finished, with or without an exception
        print(gc.get_threshold() == (500, 11, 12), gc.get_freeze_count() == 0)
        gc.freeze()  # a caller that froze objects itself: its freeze is left as it is
        mine = gc.get_freeze_count()
        speedups.apply(outer)
        print(gc.get_freeze_count() == mine, gc.get_threshold() == (speedups.GEN0_THRESHOLD, 11, 12))
        speedups.undo(outer)
        print(gc.get_freeze_count() == mine, gc.get_threshold() == (500, 11, 12))
    """)
    assert out.split() == ["True"] * 11


def test_plain_titles_render_once_and_again_when_they_change(tmp_path) -> None:
    (tmp_path / "conf.py").write_text('project = "T"\n')
    (tmp_path / "index.rst").write_text("T\\n=\\n")
    out = run_fresh(f"""
        from pathlib import Path
        from docutils import nodes
        from sphinx.builders.html import StandaloneHTMLBuilder
        from sphinx.testing.util import SphinxTestApp
        from execbook.html import speedups
        unshared = StandaloneHTMLBuilder.render_partial
        class Build:
            pass
        speedups.apply(Build())
        speedups.apply(Build())  # a build within a build: wrapped once
        app = SphinxTestApp("html", srcdir=Path({str(tmp_path)!r}))
        builder = app.builder
        made = []
        create_translator = builder.create_translator
        builder.create_translator = lambda *args: made.append(1) or create_translator(*args)
        def title(*children):
            return nodes.title("", "", *children)
        def fresh(node):
            return unshared(builder, node.deepcopy())
        quoted = title(nodes.Text('A "quoted" '), nodes.literal("x", "x"), nodes.emphasis("e", "e"))
        expected = fresh(quoted.deepcopy())
        first, second = builder.render_partial(quoted), builder.render_partial(quoted)
        print(first == second == expected, len(made))  # rendered once (made: 1 for expected, 1 for first)
        quoted += nodes.Text(" more")  # changed in place: rendered again
        again = builder.render_partial(quoted)
        print(again == fresh(quoted), "more" in builder.render_partial(quoted)["title"], len(made))
        pictured = title(nodes.Text("with "), nodes.image(uri="a.png"))
        builder.render_partial(pictured), builder.render_partial(pictured)  # not plain: rendered each time
        print(len(made))
        app.cleanup()
    """)
    assert out.split() == ["True", "2", "True", "True", "4", "6"]


@pytest.mark.sphinx
def test_a_language_pygments_does_not_know_is_warned_about_at_each_block(tmp_path: Path) -> None:
    """Lexers are kept per language (share_pygments_lexers), but not for an unknown one."""
    from conftest import build_in_process, write_book

    page = "# Book\n\n```nosuchlang\na = 1\n```\n\nProse.\n\n```nosuchlang\nb = 2\n```\n"
    built = build_in_process(write_book(tmp_path / "book", {"index.md": page}, conf='execbook_execute = "off"\n'))
    warnings = [line for line in built.output.splitlines() if "nosuchlang" in line]
    assert len(warnings) == 2 and "index.md:3" in warnings[0] and "index.md:9" in warnings[1], built.output


def test_what_an_interrupted_build_left_is_put_back_by_the_next_build() -> None:
    """Sphinx emits build-finished for an Exception, not for a KeyboardInterrupt:
    the next build puts back what the interrupted one replaced, and the collector."""
    out = run_fresh("""
        import gc
        from sphinx.highlighting import PygmentsBridge
        from execbook.html import speedups
        class App:
            pass
        stock, threshold = PygmentsBridge.get_formatter, gc.get_threshold()
        interrupted = App()
        speedups.apply(interrupted)  # and never undone
        print(PygmentsBridge.get_formatter is not stock, gc.get_freeze_count() > 0)
        del interrupted
        gc.collect()
        following = App()
        speedups.apply(following)
        print(PygmentsBridge.get_formatter is not stock)
        speedups.undo(following)
        print(PygmentsBridge.get_formatter is stock, gc.get_threshold() == threshold, gc.get_freeze_count() == 0)
    """)
    assert out.split() == ["True"] * 6
