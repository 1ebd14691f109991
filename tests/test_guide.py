"""execbook's own guide (the book at the repository root): its reference pages are
generated from the code and complete, its performance charts come from the committed
results file, and the README is a front door to it."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, build_in_process, run_sphinx, write_book

SRC = ROOT / "src" / "execbook"
REFERENCE = ROOT / "chapters" / "reference"
PERFORMANCE = ROOT / "chapters" / "guide" / "performance.md"


# -- every warning subtype the code can emit, found in the source itself


def _strings(node: ast.AST, constants: dict[str, str]) -> set[str]:
    """The strings an expression can be: a literal, a module constant named, both arms of
    `"a" if x else "b"`, the operands of `a or "b"`. Anything else (a value read at run time,
    such as a stored warning's `warning.get("subtype")`) names no subtype of its own."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name) and node.id in constants:
        return {constants[node.id]}
    if isinstance(node, ast.IfExp):
        return _strings(node.body, constants) | _strings(node.orelse, constants)
    if isinstance(node, ast.BoolOp):
        return set().union(*(_strings(value, constants) for value in node.values))
    return set()


def _subtype_positions(trees: list[ast.Module]) -> dict[str, int]:
    """Callables with a ``subtype`` parameter or field (Message, Failure, Parser.warn) -> its position."""
    positions = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = [
                    s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
                if "subtype" in fields:
                    positions[node.name] = fields.index("subtype")
            elif isinstance(node, ast.FunctionDef):
                names = [arg.arg for arg in node.args.posonlyargs + node.args.args if arg.arg not in ("self", "cls")]
                if "subtype" in names:
                    positions[node.name] = names.index("subtype")
    return positions


def emitted_subtypes() -> dict[str, str]:
    """subtype -> one place that emits it: ``subtype="x"`` keywords, ``subtype`` defaults, and the
    positional ``subtype`` of any callable that takes one (``Message(line, text, "tab")``)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in SRC.rglob("*.py")}
    positions = _subtype_positions(list(trees.values()))
    found: dict[str, str] = {}
    for path, tree in trees.items():
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            values: set[str] = set()
            if isinstance(node, ast.Call):
                values |= {s for kw in node.keywords if kw.arg == "subtype" for s in _strings(kw.value, constants)}
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in positions and len(node.args) > positions[name]:
                    values |= _strings(node.args[positions[name]], constants)
            elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "subtype" and node.value:
                values |= _strings(node.value, constants)
            elif isinstance(node, ast.FunctionDef):
                args = node.args.posonlyargs + node.args.args
                for arg, default in zip(args[len(args) - len(node.args.defaults) :], node.args.defaults):
                    if arg.arg == "subtype":
                        values |= _strings(default, constants)
            for value in values:
                found.setdefault(value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_subtype_finder_sees_each_way_of_passing_one() -> None:
    found = emitted_subtypes()
    # a keyword (html/outside.py), a Message's third argument (source/prose.py), a default (source/messages.py)
    assert {"outside", "figure", "syntax", "tab", "cell", "config"} <= set(found)


def test_every_emitted_subtype_is_declared() -> None:
    from execbook.book.warnings import subtypes

    missing = {subtype: where for subtype, where in emitted_subtypes().items() if subtype not in subtypes()}
    assert missing == {}, f"declare these in src/execbook/book/warnings.py: {missing}"


# -- the reference pages, built from the guide's own sources


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):
    book = write_book(
        tmp_path_factory.mktemp("reference") / "book",
        {"index.md": "# Guide\n\n```toc\nchapters/reference/index\n```\n"},
        conf='extensions = ["execbook", "execbook.cli.reference"]\nexecbook_execute = "off"\n',
    )
    shutil.copytree(REFERENCE, book / "chapters" / "reference")
    return build_in_process(book)


def table_text(built, page: str, table_id: str) -> str:
    table = built.main(f"chapters/reference/{page}").find(id=table_id)
    assert table is not None, f"no generated table on {page}.html"
    # one space between words (a literal's words are spans); Sphinx's smart quotes turn ' and " into typographic ones
    return " ".join(table.get_text(" ").split()).translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))


@pytest.mark.sphinx
def test_options_page_lists_every_declared_option(reference) -> None:
    from execbook.book.config import option_default, option_fields

    text = table_text(reference, "options", "execbook-options")
    for field in option_fields():
        assert f"execbook_{field.name}" in text
        assert field.metadata["help"].split(";")[0].split(":")[0][:40] in text
        assert repr(option_default(field)) in text


@pytest.mark.sphinx
def test_commands_page_lists_every_command_and_argument(reference) -> None:
    import argparse

    from execbook.cli.main import command_line
    from execbook.cli.reference import subcommands

    text = table_text(reference, "commands", "execbook-commands")
    commands = subcommands(command_line())
    assert {name for name, _, _ in commands} >= {"build", "deploy", "check", "check-links", "serve", "new"}
    for name, _, parser in commands:
        assert f"execbook {name}" in text
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for flag in action.option_strings:
                assert re.search(rf"(^|\s){re.escape(flag)}\b", text), f"{name} {flag}"
            if action.choices and not action.option_strings:
                assert all(str(choice) in text for choice in action.choices)


@pytest.mark.sphinx
def test_warnings_page_lists_every_subtype_the_code_emits(reference) -> None:
    text = table_text(reference, "warnings", "execbook-warnings")
    for subtype in emitted_subtypes():
        assert f"execbook.{subtype}" in text, subtype


# -- the performance chapter draws the committed results file


def _results(machine: str, cold: float) -> dict:
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    for run in ("make_bench", "d2l_subset"):
        results[run]["machine"] = f"{machine} ({run})"
    results["make_bench"]["figures"]["execbook: cold, execution, 2 worker(s)"]["seconds"] = cold
    return results


def _chart_hashes(built, page: str) -> list[str]:
    images = built.main(page).select(".cell_output img")
    return [hashlib.sha256((built.outdir / Path(page).parent / img["src"]).read_bytes()).hexdigest() for img in images]


@pytest.mark.sphinx
@pytest.mark.kernels
def test_performance_charts_are_drawn_from_the_results_file(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": "# Guide\n\n```toc\nchapters/guide/performance\n```\n"})
    (book / "chapters" / "guide").mkdir(parents=True)
    shutil.copy(PERFORMANCE, book / "chapters" / "guide" / "performance.md")
    (book / "benchmarks").mkdir()
    results = book / "benchmarks" / "results.json"
    results.write_text(json.dumps(_results("machine-one", 36.9)), encoding="utf-8")
    first = run_sphinx(book)
    assert first.returncode == 0, first.output
    text = first.main("chapters/guide/performance").get_text(" ")
    assert "machine-one (make_bench)" in text and "machine-one (d2l_subset)" in text
    charts = _chart_hashes(first, "chapters/guide/performance")
    assert len(charts) == 3

    # new figures in the file: the page's code runs again and draws them
    results.write_text(json.dumps(_results("machine-two", 300.0)), encoding="utf-8")
    second = run_sphinx(book)
    assert second.returncode == 0, second.output
    assert "machine-two (make_bench)" in second.main("chapters/guide/performance").get_text(" ")
    redrawn = _chart_hashes(second, "chapters/guide/performance")
    assert len(redrawn) == 3 and redrawn[0] != charts[0]


def test_the_committed_results_say_where_they_come_from() -> None:
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    for run in ("make_bench", "d2l_subset"):
        assert {"machine", "date", "commit", "figures"} <= set(results[run])
    assert "make bench" in results["about"]


# -- the README is a front door to the guide


def guide_parts() -> list[str]:
    """The pages of the index's numbered toc before the example book's preface."""
    index = (ROOT / "index.md").read_text(encoding="utf-8")
    entries = re.findall(r"^(chapters/\S+)$", index, re.MULTILINE)
    return entries[: entries.index("chapters/preface")]


def test_readme_is_short_and_links_every_part_of_the_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    parts = guide_parts()
    assert len(parts) >= 8
    for part in parts:
        assert f"]({part}.md)" in readme, f"README links no source of {part}"
        assert f"{part}.html" in readme, f"README names no site page of {part}"
    screenshot = re.search(r"!\[[^\]]*\]\(([^)]+\.png)\)", readme)
    assert screenshot and (ROOT / screenshot.group(1)).stat().st_size < 200_000


def test_readme_shows_the_guides_host_settings_in_one_block() -> None:
    """Issue 33: the README shows a host's settings in one block, the guide's own."""
    guide = (ROOT / "chapters" / "guide" / "publishing.md").read_text(encoding="utf-8")
    section = guide.split("## A Host's Settings", 1)[1]
    block = re.search(r"```python\n.*?\n```", section, re.DOTALL)
    assert block and "html_baseurl" in block.group(0)
    assert block.group(0) in (ROOT / "README.md").read_text(encoding="utf-8")
