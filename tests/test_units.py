"""Small pure pieces: tab pruning, image lines, slide marks, config, grouping."""

from __future__ import annotations

import pytest
from pathlib import Path
from docutils import nodes
from sphinx.errors import ConfigError

from execbook.book import config as cfg
from execbook.source.prose import parse_image_line, resolve_slide_marks
from execbook.source.syntax import CodeCell, select_tab
from execbook.html.tabs import split_runs, tab_block


@pytest.mark.parametrize(
    ("tab", "expected"),
    [
        ("pytorch", ["a = 1", "b = torch", "c = 3"]),
        ("numpy", ["a = 1", "c = 3"]),
    ],
)
def test_select_tab_keeps_or_drops_the_block(tab: str, expected: list[str]) -> None:
    lines = ["a = 1", "if tab.selected('pytorch'):", "    b = torch", "c = 3"]
    assert select_tab(lines, tab) == expected


def test_select_tab_accepts_a_list_argument_and_comments() -> None:
    lines = ["if tab.selected(['numpy', 'jax']):  # both", "    x = 1"]
    assert select_tab(lines, "jax") == ["x = 1"]
    assert select_tab(lines, "pytorch") == []


def test_code_for_keeps_save_marks_only_when_asked() -> None:
    cell = CodeCell(1, ("pytorch",), "def f():  #@save\n    pass")
    assert cell.code_for("pytorch") == "def f():\n    pass"
    assert cell.code_for("pytorch", keep_save_marks=True).startswith("def f():  #@save")


def test_inner_tab_marks_are_dropped_but_blanked_for_the_library() -> None:
    """The library maps each saved line back to the page, so there a mark is a blank line."""
    cell = CodeCell(1, ("pytorch",), "a = 1  #@save\n#@tab pytorch\nb = 2  #@save")
    assert cell.code_for("pytorch") == "a = 1\nb = 2"
    assert cell.code_for("pytorch", keep_save_marks=True).split("\n") == ["a = 1  #@save", "", "b = 2  #@save"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("![cap](a.svg)", ("cap", "a.svg")),
        ("   ![cap](a.svg)  ", ("cap", "a.svg")),
        ("![a [b](c) d](x.png)", ("a [b](c) d", "x.png")),
        ('![cap](a.svg "title")', ("cap", "a.svg")),
        ("![cap](a.svg) and text", None),
        ("text ![cap](a.svg)", None),
        ("    ![cap](a.svg)", None),  # indented code, not an image
        ("![cap]", None),
        ("![unbalanced](", None),
    ],
)
def test_parse_image_line(line: str, expected: tuple[str, str] | None) -> None:
    assert parse_image_line(line) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[**a**]", "a"),
        ("(**a**)", "a"),
        ("x[~~a~~]y", "xy"),
        ("x(~~a\nb~~)y", "x\ny"),
        ("[**a**](http://x)", "[**a**](http://x)"),
        ("f(**kwargs)", "f(**kwargs)"),
    ],
)
def test_slide_marks(text: str, expected: str) -> None:
    assert resolve_slide_marks(text) == expected


class FakeConfig:
    """Only the attributes ``from_sphinx`` reads."""

    def __init__(self, **values: object) -> None:
        defaults = cfg.ExecbookConfig()
        for name in cfg.option_names():
            setattr(self, name, values.get(name, getattr(defaults, name.removeprefix("execbook_"))))


def test_config_reads_valid_values() -> None:
    options = cfg.from_sphinx(FakeConfig(execbook_tabs=["pytorch", "numpy"], execbook_tab_labels={"numpy": "NP"}))
    assert options.default_tab == "pytorch"
    assert options.label("numpy") == "NP"
    assert options.label("pytorch") == "PyTorch"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"execbook_tabs": "pytorch"}, "execbook_tabs must be a list"),
        ({"execbook_tabs": []}, "execbook_tabs must name at least one"),
        ({"execbook_tabs": ["py torch"]}, "execbook_tabs: 'py torch' is not a valid tab name"),
        ({"execbook_tabs": ["all"]}, "not a valid tab name"),
        ({"execbook_tabs": ["a", "a"]}, "names a tab twice"),
        ({"execbook_tabs": [1]}, "execbook_tabs must hold only a strings"),
        ({"execbook_tab_labels": {"pytoch": "x"}}, "execbook_tab_labels names unknown tab 'pytoch'"),
        ({"execbook_header_switcher": "yes"}, "execbook_header_switcher must be True or False"),
    ],
)
def test_config_errors_name_the_option(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        cfg.from_sphinx(FakeConfig(**{"execbook_tabs": ["pytorch", "numpy"], **values}))


def code(tabs: tuple[str, ...]) -> nodes.container:
    return nodes.container(nb_element="cell_code", cell_metadata={"execbook": {"tabs": list(tabs)}})


def test_split_runs_groups_neighbours_of_one_kind() -> None:
    all_tabs = ("pytorch", "numpy")
    items = [
        tab_block(tabs=["pytorch"]),
        tab_block(tabs=["numpy"]),
        code(("pytorch",)),
        code(("numpy",)),
        nodes.paragraph(),
        code(("pytorch", "numpy")),  # covers every tab: shown plainly
        code(("numpy",)),
    ]
    runs = split_runs(items, all_tabs)
    assert [[items.index(node) for node in run] for run in runs] == [[0, 1], [2, 3], [6]]


def test_bibliography_files_from_markers_or_references_bib(tmp_path: Path) -> None:
    from execbook.html.references import bibliography_files

    (tmp_path / "references.bib").write_text("@book{a, title={A}}\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n")
    assert bibliography_files(tmp_path, [page]) == ["references.bib"]  # no marker: the conventional file
    (tmp_path / "other.bib").write_text("@book{b, title={B}}\n")
    page.write_text("# Page\n\n:bibliography:`other.bib`\n")
    assert bibliography_files(tmp_path, [page]) == ["other.bib"]
