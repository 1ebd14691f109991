"""execbook.html.tabs: grouping neighbouring cells and blocks into tab groups."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import build_in_process, write_book
from docutils import nodes

from execbook.html.tabs import split_runs, tab_block


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
    assert [[items.index(node) for node in run] for run in runs] == [[0, 1, 2, 3], [6]]  # prose, then its code: one run


def test_prose_and_the_code_after_it_form_one_run() -> None:
    all_tabs = ("pytorch", "numpy")
    items = [
        tab_block(tabs=["pytorch"]),
        tab_block(tabs=["numpy"]),
        code(("pytorch",)),
        code(("numpy",)),
        tab_block(tabs=["numpy"]),  # text after code: a new run
    ]
    runs = split_runs(items, all_tabs)
    assert [[items.index(node) for node in run] for run in runs] == [[0, 1, 2, 3], [4]]


PAGE = """
# Page

:begin_tab:`numpy`
NumPy readers only.
:end_tab:

Between.

:begin_tab:`pytorch`
The PyTorch code below.
:end_tab:

```{.python .input}
#@tab pytorch
x = 1
```

```{.python .input}
#@tab numpy
y = 2
```
"""


@pytest.fixture(scope="module")
def tabs_page(tmp_path_factory: pytest.TempPathFactory) -> BeautifulSoup:
    root = write_book(
        tmp_path_factory.mktemp("tabs") / "book",
        {"index.md": "# Book\n\n```{toctree}\npage\n```\n", "page.md": PAGE},
        conf='execbook_execute = "off"\n',
    )
    built = build_in_process(root)
    assert built.returncode == 0, built.output
    return built.html("page")


@pytest.mark.sphinx
def test_groups_are_whole_without_javascript_and_chrome_is_not_text(tabs_page: BeautifulSoup) -> None:
    groups = tabs_page.select(".execbook-tabs")
    assert [group["class"][1] for group in groups] == ["execbook-tabs-text", "execbook-tabs-code"]
    # prose + code: one group, one bar, each pane holding the prose and the code of its framework
    panes = groups[1].select(":scope > .execbook-pane")
    assert [pane["data-tab"] for pane in panes] == ["pytorch", "numpy"]
    assert "The PyTorch code below." in panes[0].get_text() and "x" in panes[0].select_one("pre").get_text()
    # no pane hidden in the HTML (JavaScript hides them), each labelled
    assert not tabs_page.select(".execbook-pane[hidden]")
    assert [pane["data-label"] for pane in panes] == ["PyTorch", "NumPy"]
    # Sphinx's search snippets are the text of [role=main]: no tab labels, no notes there
    text = tabs_page.select_one('[role="main"]').get_text()
    assert "PyTorchNumPy" not in text and "Not available" not in text
    # the class that turns tabs on is set before the first paint, by a script in <head>
    head_scripts = " ".join(script.get_text() for script in tabs_page.head.select("script:not([src])"))
    assert 'classList.add("execbook-js")' in head_scripts


@pytest.mark.sphinx
def test_tabs_and_panes_point_at_each_other(tabs_page: BeautifulSoup) -> None:
    ids = set()
    for bar in tabs_page.select(".execbook-tabbar"):
        assert bar["role"] == "tablist" and bar["aria-label"] == "Framework"
        for tab in bar.select('[role="tab"]'):
            pane = tabs_page.find(id=tab["aria-controls"])
            assert pane is not None and pane["role"] == "tabpanel" and pane["aria-labelledby"] == tab["id"]
            assert tab["aria-label"] and tab["aria-selected"] in ("true", "false")
            ids |= {tab["id"], pane["id"]}
    assert len(ids) == 2 * 3  # unique across the page's groups


@pytest.mark.sphinx
def test_search_index_waits_for_a_search_and_results_come_as_you_type(tabs_page: BeautifulSoup) -> None:
    import pydata_sphinx_theme

    if "search_as_you_type" not in (Path(pydata_sphinx_theme.__file__).parent / "theme").joinpath(
        "pydata_sphinx_theme", "theme.conf"
    ).read_text(encoding="utf-8"):
        pytest.skip("this PyData theme (before 0.16) has no search as you type; its layout is left as it is")
    head = tabs_page.head
    assert not head.select('script[src*="searchindex.js"]')
    searchtools = head.select_one('script[src*="searchtools.js"]')
    assert searchtools is not None and searchtools.has_attr("defer")
    assert tabs_page.select('script[src*="execbook-search.js"]')
    assert "search_as_you_type = true" in " ".join(s.get_text() for s in tabs_page.select("script:not([src])"))
