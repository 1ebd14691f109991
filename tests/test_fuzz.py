"""Fuzzing (issue 15): generated page text, front matter, conf.py values and
config.ini texts never end in a traceback, in the parser, the option checks,
``execbook check`` or a real sphinx-build. A setting the option checks refuse stops
sphinx-build as any ConfigError does (our located line, then Sphinx's report of the
error): there, ``execbook build html`` must print the line alone, exit 2.

Cases per run (hypothesis ``max_examples``, fixed here so the count can be reported):

- test_parser_never_raises:            300 generated pages (parse, rendered_notebook, prose functions)
- test_generated_books_build:            8 generated books + 2 explicit examples (crashes it found),
  each 3-4 pages, real sphinx-build, execute off
- test_from_sphinx_raises_only_config_error: 300 random execbook_* option sets + 1 explicit example (a crash it found)
- test_bad_conf_values_build:            4 books with random bad conf.py values + 1 explicit example, real sphinx-build
- test_map_ini_never_raises:           200 generated config.ini texts
- test_check_on_generated_ini_books:     4 runs of ``python -m execbook.cli check --book DIR``

816 generated cases and 4 explicit ones in all (``CASES`` below).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from config_stop import assert_cli_prints_only, first_line
from conftest import run_sphinx, write_book
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sphinx.errors import ConfigError

from execbook.book import config as cfg
from execbook.book.files import decode_page
from execbook.cli.book import conf_namespace
from execbook.compat import config_ini, d2lbook
from execbook.source.notebooks import rendered_notebook
from execbook.source.prose import ProseConverter
from execbook.source.roles import convert_inline
from execbook.source.slidemarks import resolve_slide_marks
from execbook.source.syntax import parse

CASES = {
    "parser": 300,
    "books": 8,
    "from_sphinx": 300,
    "conf_builds": 4,
    "map_ini": 200,
    "check_ini": 4,
}
TABS = ["pytorch", "numpy"]
FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BUILD = dict(FAST, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: each case is a sphinx-build
CRASHES = ("Traceback", "Exception occurred", "Extension error")

# -- page text ----------------------------------------------------------------

words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
idents = st.from_regex(r"[a-z][a-z0-9_:-]{0,8}", fullmatch=True) | words
tab_names = st.sampled_from(
    ["pytorch", "numpy", "all", "jax", "PyTorch", "", "pytorch,numpy", "numpy, pytorch", "py torch", "@"]
)
code_lines = st.lists(
    st.sampled_from(
        [
            "x = 1",
            "print('é')",
            "#@save",
            "def f():  #@save",
            "    return 1",
            "if tab.selected('numpy'):",
            "    y = 2",
            "%load_ext d2lbook.tab",
            "tab.interact_select(['pytorch'])",
            "%%time",
            "!ls",
            "```",
            "",
        ]
    )
    | words,
    max_size=5,
)


@st.composite
def code_cell(draw: st.DrawFn) -> str:
    info = draw(
        st.sampled_from(
            ["{.python .input}", "{.python .input  n=3}", "{.json .output n=1}", "python", "", "{.python .input"]
        )
    )
    mark = draw(st.sampled_from(["", "#@tab ", "%%tab ", "#@TAB ", "%%Tab "]))
    first = [mark + draw(tab_names)] if mark else []
    body = first + draw(code_lines)
    fence = draw(st.sampled_from(["```", "````", "~~~"]))
    close = [] if draw(st.integers(0, 9)) == 0 else [fence]  # sometimes unclosed
    return "\n".join([fence + info, *body, *close])


@st.composite
def tab_block(draw: st.DrawFn) -> str:
    inner = draw(st.lists(st.one_of(prose_line, code_cell()), max_size=3))
    end = [] if draw(st.booleans()) and draw(st.booleans()) else [":end_tab:"]
    return "\n".join([f":begin_tab:`{draw(tab_names)}`", *inner, *end])


roles = st.builds(
    lambda name, body: f":{name}:`{body}`",
    st.sampled_from(
        ["label", "numref", "eqref", "cite", "citet", "ref", "width", "eqlabel", "bibliography", "numref", "nope"]
    ),
    idents,
)
broken_roles = st.sampled_from(
    [":label:`", ":numref:``", ":cite:`a,", ":eqref:`x", ":width:`3px", "`", "``x", ":begin_tab:", ":end_tab:`x`"]
)
slide = st.sampled_from(["[**", "**]", "(**", "**)", "[~~", "~~]", "(~~", "~~)"])
prose_line = st.lists(
    st.one_of(words, roles, broken_roles, slide, st.sampled_from(["*a*", "$x$", "$", "\\$", "<b>", "&amp;", "%"])),
    max_size=6,
).map(" ".join)


@st.composite
def math_block(draw: st.DrawFn) -> str:
    body = draw(
        st.lists(
            st.sampled_from(["x = y", "\\begin{aligned}", "\\end{aligned}", "a & b \\\\", "$"]) | words, max_size=3
        )
    )
    tail = [draw(st.sampled_from(["$$", "$$ extra", ""]))]
    label = [f":eqlabel:`{draw(idents)}`"] if draw(st.booleans()) else []
    return "\n".join(["$$", *body, *tail, *label])


@st.composite
def image(draw: st.DrawFn) -> str:
    caption = draw(prose_line)
    path = draw(
        st.sampled_from(["img/a.svg", "../outside.png", "/abs.png", "missing.png", "", "a b.png", "http://x/y.png"])
        | words
    )
    line = f"![{caption}]({path})" if draw(st.integers(0, 5)) else f"![{caption}]({path}"
    extra = (
        [draw(st.sampled_from([":width:`300px`", ":width:`abc`", ":label:`fig_x`", ":width:`"]))]
        if draw(st.booleans())
        else []
    )
    return "\n".join([line, *extra])


@st.composite
def table(draw: st.DrawFn) -> str:
    cols = draw(st.integers(1, 3))
    rows = draw(st.lists(st.lists(words, min_size=1, max_size=4), max_size=3))
    lines = [draw(st.sampled_from([": cap", ":caption", ": " + "é"])) + draw(words)] if draw(st.booleans()) else []
    lines.append("| " + " | ".join(["h"] * cols) + " |")
    lines.append(draw(st.sampled_from(["|" + "---|" * cols, "|:--|", "| -- |", ""])))
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if draw(st.booleans()):
        lines.append(f":label:`{draw(idents)}`")
    return "\n".join(lines)


@st.composite
def toc(draw: st.DrawFn) -> str:
    options = draw(
        st.lists(st.sampled_from([":maxdepth: 2", ":numbered:", ":maxdepth: x", ":glob:", ":unknown:"]), max_size=2)
    )
    entries = draw(
        st.lists(st.sampled_from(["p1", "p2.md", "p3", "missing", "../up", "/abs", "p1", "*"]) | words, max_size=4)
    )
    close = ["```"] if draw(st.integers(0, 7)) else []
    return "\n".join(["```toc", *options, "", *entries, *close])


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    value = draw(
        st.one_of(
            st.sampled_from(
                [
                    "{timeout: 60}",
                    "{timeout: -1}",
                    "{timeout: x}",
                    "{timeout: true}",
                    "5",
                    "[1, 2]",
                    "",
                    "{timeout: 1e9}",
                    "{timeout: [1]}",
                    "{: }",
                    "{timeout: 9999999999999999999999}",
                    "null",
                    "'é'",
                ]
            ),
            words.map(repr),
        )
    )
    lines = [draw(st.sampled_from(["execbook: ", "title: ", "- ", ": ", "execbook:\n  timeout: "])) + value]
    body = draw(st.sampled_from([lines, ["a: [", "b"], ["%YAML 9"], ["{"], ["!!python/object:os.system x"], []]))
    close = [draw(st.sampled_from(["---", "...", ""]))]
    return "\n".join(["---", *body, *close])


eval_rst = st.lists(
    st.sampled_from([".. math::", "   x", ".. only:: html", ".. bogus::", ":ref:`x`", ".. toctree::", "   p1"]) | words,
    max_size=3,
).map(lambda lines: "\n".join(["```eval_rst", *lines, "```"]))
comment = st.builds(lambda body, close: f"<!--{body}" + ("-->" if close else ""), prose_line, st.integers(0, 5))
heading = st.builds(lambda level, text: "#" * level + " " + text, st.integers(1, 7), prose_line)
setext = st.builds(lambda text, rule: f"{text}\n{rule}", prose_line, st.sampled_from(["===", "---", "==="]))
misc = st.sampled_from(
    [
        "",
        "\t",
        "\r\n",
        "\r",
        "\ufeff",
        "\x00",
        "(lbl)=",
        "---",
        ":bibliography:`references.bib`",
        ":bibliography:`missing.bib`",
        "```bash\nls\n```",
        "```",
        "$$",
        "\u2028",
        "\x0b",
    ]
)

fragment = st.one_of(
    prose_line,
    code_cell(),
    tab_block(),
    math_block(),
    image(),
    table(),
    toc(),
    eval_rst,
    comment,
    heading,
    setext,
    misc,
    roles,
)


@st.composite
def page(draw: st.DrawFn) -> str:
    head = [draw(front_matter())] if draw(st.integers(0, 3)) == 0 else []
    parts = head + draw(st.lists(fragment, max_size=12))
    return draw(st.sampled_from(["\n", "\n\n"])).join(parts)


def check_page(text: str) -> None:
    doc = parse(text, TABS, page_exists=lambda entry: entry in ("p1", "p2", "p3"))
    nbformat.validate(rendered_notebook(doc))
    doc.page_option("timeout")
    messages: list = []
    lines = resolve_slide_marks(text).split("\n")
    ProseConverter(messages).convert(lines, 1)
    for number, line in enumerate(lines, 1):
        convert_inline(line, number, messages)
    decode_page(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=CASES["parser"], **FAST)
@given(page())
def test_parser_never_raises(text: str) -> None:
    check_page(text)


def crashed(output: str) -> list[str]:
    return [word for word in CRASHES if word in output]


@pytest.mark.sphinx  # builds books: not part of `make unit`
@settings(max_examples=CASES["books"], **BUILD)
@given(st.lists(page(), min_size=3, max_size=4))
@example(
    pages=["# A", "# B\n\n![]()", "# C\n\ntext ![x]() and ![](img)\n\n![](.)"]
)  # found by this test: Sphinx raised IsADirectoryError
@example(
    pages=["# A", "# B\n\n:cite:`a b` :citet:`x{y`", "# C\n\nSee :cite:`ë· ×=𳀔:`."]
)  # found: sphinxcontrib-bibtex ValueError
def test_generated_books_build(tmp_path_factory, pages: list[str]) -> None:
    root = tmp_path_factory.mktemp("book")
    names = ["index.md", "p1.md", "p2.md", "p3.md"]
    files = {name: text for name, text in zip(names, pages)}
    files["index.md"] = "# Book\n\n```toc\np1\np2\np3\n```\n\n" + files["index.md"]
    files["img/a.svg"] = '<svg xmlns="http://www.w3.org/2000/svg"/>'
    files["references.bib"] = "@article{a, title={T}, author={A}, year={2020}}\n"
    write_book(root, {}, conf='execbook_execute = "off"\n', tabs=tuple(TABS))
    for name, text in files.items():  # as generated: write_book would dedent and strip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    built = run_sphinx(root)
    assert not crashed(built.output), built.output[-4000:]
    assert built.returncode in (0, 1), built.output[-4000:]


# -- conf.py and front matter values --------------------------------------------

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**20),
    st.floats(allow_nan=True),
    words,
    st.sampled_from(["auto", "off", "force", "pytorch", "numpy", "all", "dask", "local", "me/repo", "a4paper", "2"]),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(leaves.filter(lambda v: v.__hash__ is not None) | words, inner, max_size=3)
    ),
    max_leaves=8,
)
option_names = st.sampled_from(cfg.option_names())


def plausible(name: str) -> st.SearchStrategy:
    """A value of the option's shape, with random insides: reaches the checks past the type test."""
    shapes = {
        "execbook_tabs": st.lists(st.sampled_from(TABS + ["jax", "all", "1x", "a b", ""]), max_size=3),
        "execbook_library": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["d2l", "1x", ""]) | values,
                "modules": st.dictionaries(st.sampled_from(TABS + ["jax"]), values | words, max_size=2),
                "aliases": st.dictionaries(
                    st.sampled_from(TABS),
                    st.dictionaries(
                        st.sampled_from(["lib_name", "simple", "fluent", "args", "alias", "reverse", "x"]),
                        values | st.sampled_from(["a -> b", "x,y", "->", "a ->", "é"]),
                        max_size=3,
                    ),
                    max_size=2,
                ),
                "header": values,
                "version_file": values,
            },
        ),
        "execbook_pdf": st.dictionaries(
            st.sampled_from(["name", "paper", "fonts", "preamble", "post_latex", "x"]), values, max_size=3
        ),
        "execbook_install": st.dictionaries(st.sampled_from(TABS + ["jax"]), values, max_size=2),
        "execbook_colab": st.dictionaries(
            st.sampled_from(TABS), words | st.sampled_from(["me/repo", "a/..", "a/b.git"]), max_size=2
        ),
        "execbook_workers": st.one_of(values, st.lists(values, max_size=3)),
    }
    return shapes.get(name, values)


@st.composite
def option_sets(draw: st.DrawFn) -> dict:
    chosen = draw(st.lists(option_names, max_size=4, unique=True))
    return {name: draw(st.one_of(values, plausible(name))) for name in chosen}


@settings(max_examples=CASES["from_sphinx"], **FAST)
@given(option_sets())
@example(
    options={"execbook_kernel_start_timeout": None}
)  # found by this test: KeyError naming float, not a ConfigError
@example(options={"execbook_pdf": {None: None, False: None}})  # found: TypeError sorting the unknown keys
def test_from_sphinx_raises_only_config_error(options: dict) -> None:
    config = conf_namespace({"execbook_tabs": list(TABS), **options})
    try:
        cfg.from_sphinx(config)  # type: ignore[arg-type]
    except ConfigError:
        pass


@pytest.mark.sphinx  # builds books: not part of `make unit`
@settings(max_examples=CASES["conf_builds"], **BUILD)
@given(option_sets().filter(bool))
@example(options={"execbook_kernel_start_timeout": "60"})
def test_bad_conf_values_build(tmp_path_factory, options: dict) -> None:
    root = tmp_path_factory.mktemp("conf")
    conf = "nan, inf = float('nan'), float('inf')\n" + "".join(
        f"{name} = {value!r}\n" for name, value in options.items()
    )
    write_book(
        root,
        {"index.md": "# Book\n\n```{.python .input}\nx = 1\n```\n"},
        conf='execbook_execute = "off"\n' + conf,
        tabs=tuple(TABS),
    )
    built = run_sphinx(root)
    stop = setting_stop(built.output)
    if stop:  # the command users run prints the located line alone
        assert_cli_prints_only(root, stop)
    else:
        assert not crashed(built.output), conf + built.output[-4000:]
    assert built.returncode in (0, 1, 2), conf + built.output[-4000:]


def setting_stop(output: str) -> str:
    """The message of a build a setting stopped, or "". Sphinx 9 follows any ConfigError
    with its report, traceback included: not a crash when the error raised is ours, with the
    located line it logged first, and nothing but that error in the report."""
    line = first_line(output)
    if not (line.startswith("ERROR: ") and line.endswith(" [execbook.config]")):
        return ""
    text = line.removeprefix("ERROR: ").removesuffix(" [execbook.config]")
    report = output.split("\nConfiguration error!\n", 1)
    if len(report) != 2 or crashed(report[0]) or f"ExecbookConfigError: {text}" not in report[1]:
        return ""
    return text.split(": ", 1)[-1]  # without its place: execbook build may give a shorter one


# -- config.ini -----------------------------------------------------------------

ini_sections = list(config_ini.DEFAULTS) + [
    "library-pytorch",
    "library-numpy",
    "library-JAX",
    "translation",
    "bogus",
    "Project",
    "",
]
ini_keys = sorted(
    {key for keys in config_ini.DEFAULTS.values() for key in keys}
    | set(config_ini.LIBRARY_TAB_KEYS)
    | {key for _, key in config_ini.IGNORED}
    | {"unknown", "Tabs", ""}
)
ini_values = st.one_of(
    words,
    st.sampled_from(
        [
            "pytorch, numpy",
            "pytorch,,numpy",
            "all",
            "True",
            "false",
            "100%",
            "%(x)s",
            "%%",
            "**/*.md",
            "*.ipynb",
            "index",
            "missing",
            "../x",
            "/abs",
            "me/repo",
            "a -> b",
            "x,y",
            "d2l/torch.py",
            "é",
            "[x]",
            "a = b",
            "a\n  b\n  c",
            "\n  continued",
            ";comment",
            "#c",
            "img/*.svg",
            "title: 'x'",
            "name:d2l",
        ]
    ),
)


@st.composite
def ini_text(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.integers(0, 4)) == 0:
        lines.append(f"{draw(st.sampled_from(ini_keys))} = {draw(ini_values)}")  # before any header
    for _ in range(draw(st.integers(0, 5))):
        section = draw(st.sampled_from(ini_sections) | words)
        lines.append(draw(st.sampled_from([f"[{section}]", f"[{section}", f" [{section}]", f"[{section}] x"])))
        for _ in range(draw(st.integers(0, 4))):
            key = draw(st.sampled_from(ini_keys) | words)
            sep = draw(st.sampled_from([" = ", "=", ": ", " ", " == "]))
            lines.append(f"{key}{sep}{draw(ini_values)}")
    lines += draw(st.lists(misc_ini, max_size=2))
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


misc_ini = st.sampled_from(["", "  indented", "%", "; c", "# c", "=", ":", "[", "]", "\ufeff[project]", "\x00"])


def write_ini_book(root: Path, text: str, raw: bytes | None = None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.md").write_text("# Book\n\n```toc\np1\n```\n", encoding="utf-8")
    (root / "p1.md").write_text("# P\n\n```{.python .input}\n#@tab pytorch\nx = 1\n```\n", encoding="utf-8")
    (root / "config.ini").write_bytes(raw if raw is not None else text.encode("utf-8", "surrogatepass"))


counter = itertools.count()


@settings(max_examples=CASES["map_ini"], **FAST)
@given(ini_text(), st.booleans())
def test_map_ini_never_raises(tmp_path_factory, text: str, latin1: bool) -> None:
    root = tmp_path_factory.getbasetemp() / "ini" / str(next(counter))
    raw = text.encode("latin-1", "replace") + b"\xe9" if latin1 else None
    write_ini_book(root, text, raw)
    mapping = config_ini.map_ini(root)
    for note in mapping.notes:
        assert note.line >= 1, note
        note.format(root / "config.ini")
    d2lbook.check_sphinx_configs(root, mapping)
    if not mapping.errors:
        d2lbook.conf_values(str(root), mapping)


@pytest.mark.sphinx  # builds books: not part of `make unit`
@settings(max_examples=CASES["check_ini"], **BUILD)
@given(ini_text())
def test_check_on_generated_ini_books(tmp_path_factory, text: str) -> None:
    root = tmp_path_factory.mktemp("inibook")
    write_ini_book(root, text)
    proc = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "check", "--book", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, text + "\n" + output[-4000:]
    assert proc.returncode in (0, 1, 2), text + "\n" + output[-4000:]
