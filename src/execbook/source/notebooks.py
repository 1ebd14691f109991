"""``Document`` -> notebooks.

The page notebook is what MyST-NB renders: markdown cells in MyST, code cells
tagged with their tabs in ``metadata.execbook.tabs``, and a ``source_map`` so
that warnings point at the author's lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import nbformat
from nbformat import NotebookNode

from execbook.source.document import CodeCell, Document, MarkdownCell

TAB_DIRECTIVE = "execbook-tab"
TAB_FENCE = ":::::"  # longer than any colon fence the prose converter writes

LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def outputs_by_cell(notebook: NotebookNode) -> dict[int, list[NotebookNode]]:
    """Executed job notebook -> outputs per Document cell index."""
    result: dict[int, list[NotebookNode]] = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("execbook", {})
        if "index" in meta:
            result[meta["index"]] = cell.get("outputs", [])
    return result


def downloadable_notebook(cells: list[NotebookNode]) -> NotebookNode:
    """A notebook for readers (downloads, slides): Python 3 kernel metadata.

    Cells are numbered (``cell-0``, ...) where nbformat would draw random ids,
    so the same notebook is the same file; it is not schema-checked (a book's
    worth of checks took seconds; execbook makes every part of it)."""
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


SPLIT_MIMES = {"application/javascript", "image/svg+xml"}  # split into lines too (nbformat.v4.rwbase)
TRANSIENT = {"orig_nbformat", "orig_nbformat_minor", "signature"}


def _split_bundle(bundle: dict) -> dict:
    return {
        key: value.splitlines(True)
        if isinstance(value, str) and (key.startswith("text/") or key in SPLIT_MIMES)
        else value
        for key, value in bundle.items()
    }


def _split_output(output: dict) -> dict:
    kind = output.get("output_type")
    if kind in ("execute_result", "display_data") and "data" in output:
        return {**output, "data": _split_bundle(output["data"])}
    if kind == "stream" and isinstance(output.get("text"), str):
        return {**output, "text": output["text"].splitlines(True)}
    return output


def _split_cell(cell: dict) -> dict:
    new = dict(cell)
    if "metadata" in cell:
        new["metadata"] = {k: v for k, v in cell["metadata"].items() if k != "trusted"}
    if isinstance(cell.get("source"), str):
        new["source"] = cell["source"].splitlines(True)
    if cell.get("attachments"):
        new["attachments"] = {name: _split_bundle(bundle) for name, bundle in cell["attachments"].items()}
    if cell.get("cell_type") == "code" and "outputs" in cell:
        new["outputs"] = [_split_output(output) for output in cell.get("outputs", [])]
    return new


def notebook_text(notebook: NotebookNode) -> str:
    """``nbformat.v4.writes(notebook)``, the same text, for a version 4
    notebook: without its schema check (``nbformat.writes``) and without
    its deep copy of the notebook (the notebook is left as it was: each
    container that ``split_lines`` would change is copied, nothing else)."""
    from nbformat.v4.nbjson import BytesEncoder

    plain = dict(notebook)
    if "metadata" in notebook:
        plain["metadata"] = {k: v for k, v in notebook["metadata"].items() if k not in TRANSIENT}
    if "cells" in notebook:
        plain["cells"] = [_split_cell(cell) for cell in notebook["cells"]]
    return json.dumps(plain, cls=BytesEncoder, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)


def tab_block_source(cell: MarkdownCell) -> str:
    """A :begin_tab: block as MyST: a directive around its text, one line each side."""
    assert cell.tabs is not None
    return f"{TAB_FENCE}{{{TAB_DIRECTIVE}}} {' '.join(cell.tabs)}\n{cell.text}\n{TAB_FENCE}"


Show = Callable[[str, str], str]  # (tab, executed code) -> the code readers see


def as_written(tab: str, source: str) -> str:
    return source


def code_variants(
    index: int, cell: CodeCell, outputs: dict[str, dict[int, list[NotebookNode]]], show: Show = as_written
) -> list[tuple[tuple[str, ...], str, list[NotebookNode]]]:
    """Tabs that show the same code *and* the same outputs share one cell."""
    groups: dict[str, tuple[list[str], str, list[NotebookNode]]] = {}
    for tab in cell.tabs:
        source = show(tab, cell.code_for(tab))
        if not source.strip():
            continue
        tab_outputs = outputs.get(tab, {}).get(index, [])
        signature = json.dumps([source, tab_outputs], sort_keys=True, default=str)
        groups.setdefault(signature, ([], source, tab_outputs))[0].append(tab)
    return [(tuple(tabs), source, tab_outputs) for tabs, source, tab_outputs in groups.values()]


def markdown_cell(source: str) -> NotebookNode:
    """``nbformat.v4.new_markdown_cell`` without its id and its schema check."""
    return NotebookNode(cell_type="markdown", metadata=NotebookNode(), source=source)


def code_cell(source: str, tabs: tuple[str, ...], outputs: list[NotebookNode]) -> NotebookNode:
    """``nbformat.v4.new_code_cell`` without its id and its schema check."""
    return NotebookNode(
        cell_type="code",
        execution_count=None,
        source=source,
        metadata=nbformat.from_dict({"execbook": {"tabs": list(tabs)}}),
        outputs=nbformat.from_dict(list(outputs)),
    )


def rendered_notebook(
    doc: Document, executed: dict[str, NotebookNode] | None = None, show: Show = as_written
) -> NotebookNode:
    """The notebook Sphinx renders for one page, every tab's code included.

    ``source_map`` holds, per cell, the source line of its first line minus
    two: MyST-NB adds one to make lines 1-based and MyST adds another.
    ``executed`` maps tabs to their executed job notebooks, whose outputs are
    merged into the cells they came from; ``show`` gives the code readers see.
    Cells are built as nbformat's ``new_*`` functions build them but not
    schema-checked one by one: that was a third of reading a page, for cells
    whose shape is fixed here (``tests/test_notebooks.py`` checks it).
    """
    outputs = {tab: outputs_by_cell(notebook) for tab, notebook in (executed or {}).items()}
    cells: list[NotebookNode] = []
    source_map: list[int] = []
    for index, cell in enumerate(doc.cells):
        if isinstance(cell, MarkdownCell):
            if cell.tabs is None:
                cells.append(markdown_cell(cell.text))
                source_map.append(cell.line - 2)
            else:
                cells.append(markdown_cell(tab_block_source(cell)))
                source_map.append(cell.line - 3)
        elif isinstance(cell, CodeCell):
            for tabs, source, tab_outputs in code_variants(index, cell, outputs, show):
                cells.append(code_cell(source, tabs, tab_outputs))
                source_map.append(cell.line - 2)
    notebook = NotebookNode(nbformat=4, nbformat_minor=4, metadata=NotebookNode(), cells=cells)
    notebook.metadata.update(language_info=LANGUAGE_INFO, kernelspec=KERNELSPEC, source_map=source_map)
    return notebook
