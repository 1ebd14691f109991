"""Labels in the looser shapes that d2l books use resolve to numbered references.

Each shape is one the real book writes (a caption over several lines, a blank
line before a label, a ':Caption' with its label above the table, a label
under the table, an :eqlabel: after a blank line); the text is our own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import BuiltBook, write_book

pytestmark = pytest.mark.sphinx

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n'

PAGES = {
    "index.md": """
        # Book

        ```toc
        :maxdepth: 2
        :numbered:

        shapes
        ```
        """,
    "shapes.md": """
        # Shapes
        :label:`sec_shapes`

        See :numref:`fig_long`, :numref:`fig_gap`, :numref:`tab_above`,
        :numref:`tab_spaced`, :numref:`tab_below` and :eqref:`eq_gap`.

        ![A caption that runs over
        two lines with $x$.](img/a.svg)
        :label:`fig_long`

        ![A caption set off from its label.](img/b.svg)

        :label:`fig_gap`

        :Toy sizes
        :label:`tab_above`

        |Set|Size|
        |:--|:-|
        |small|3|

        : Toy options
        :label:`tab_spaced`

        | Name | Range |
        | :--: | :---: |
        | rate | 1 |

        :Toy speeds.

        | Part | Time |
        | :--- | ---: |
        | fast | 1 ns |
        :label:`tab_below`

        $$z = g(a, b).$$

        :eqlabel:`eq_gap`

        ```{.python .input}
        %%tab all
        x = 1

        #@tab all
        y = 2
        ```
        """,
    "img/a.svg": SVG,
    "img/b.svg": SVG,
}


@pytest.fixture(scope="module")
def shapes_book(tmp_path_factory: pytest.TempPathFactory, sphinx_in_process: Callable[..., BuiltBook]) -> BuiltBook:
    root = write_book(tmp_path_factory.mktemp("shapes") / "book", PAGES, conf='execbook_execute = "off"\n')
    return sphinx_in_process(root)  # runs no code, reads pages: no subprocess needed


def test_loose_label_shapes_build_without_warnings(shapes_book: BuiltBook) -> None:
    assert shapes_book.returncode == 0, shapes_book.output
    assert shapes_book.warnings == []


def test_loose_label_shapes_resolve_to_numbers(shapes_book: BuiltBook) -> None:
    links = [
        " ".join(a.get_text(" ", strip=True).split())
        for a in shapes_book.main("shapes").select("p a.reference.internal")
    ]
    assert links[:6] == ["Fig. 1.1", "Fig. 1.2", "Table 1.1", "Table 1.2", "Table 1.3", "(1.1)"]
    captions = [
        " ".join(c.get_text(" ", strip=True).split()) for c in shapes_book.main("shapes").select(".caption-number")
    ]
    assert captions == ["Fig. 1.1", "Fig. 1.2", "Table 1.1", "Table 1.2", "Table 1.3"]


def test_inner_tab_marks_are_not_shown(shapes_book: BuiltBook) -> None:
    code = shapes_book.main("shapes").select_one("div.cell").get_text()
    assert "y = 2" in code
    assert "#@tab" not in code and "%%tab" not in code
