"""execbook.html.tabs: grouping neighbouring cells and blocks into tab groups."""

from __future__ import annotations

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
    assert [[items.index(node) for node in run] for run in runs] == [[0, 1], [2, 3], [6]]
