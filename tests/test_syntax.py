"""The reader, case by case: input and expected result side by side in fixture files.

Each case in ``fixtures/*.txt`` is a title line, then ``.``, the d2l input,
``.``, the expected dump of the ``Document``, ``.``. Titles may end with
``[tabs: a, b]`` to change the book's tabs (default ``pytorch, numpy``).
``python tests/regen_fixtures.py`` rewrites the expected parts from the
current parser (then read the diff before committing it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from execbook.source.notebooks import code_variants
from execbook.source.syntax import CodeCell, Document, MarkdownCell, parse

FIXTURES = Path(__file__).parent / "fixtures"
KNOWN_PAGES = {"intro", "chapter_basics/index", "chapter_basics/tensors", "chapter_more/extra"}
TABS_RE = re.compile(r"\[tabs:\s*([^\]]+)\]\s*$")


def dump(doc: Document) -> str:
    out: list[str] = []
    for index, cell in enumerate(doc.cells):
        if isinstance(cell, MarkdownCell):
            tabs = f" tabs={','.join(cell.tabs)}" if cell.tabs is not None else ""
            out += [f"[md {cell.line}{tabs}]", cell.text]
        elif isinstance(cell, CodeCell):
            for tabs, source, _ in code_variants(index, cell, {}):
                out += [f"[code {cell.line} tabs={','.join(tabs)}]", source]
    for message in doc.messages:
        out.append(f"[warning {message.line} {message.subtype}] {message.text}")
    return "\n".join(out)


def read_cases(path: Path) -> list[tuple[str, str, str, int]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    cases, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        title, start = lines[i], i
        assert lines[i + 1] == ".", f"{path.name}:{i + 2}: expected '.' after the title"
        j = lines.index(".", i + 2)
        k = lines.index(".", j + 1)
        cases.append((title, "\n".join(lines[i + 2 : j]), "\n".join(lines[j + 1 : k]), start))
        i = k + 1
    return cases


def run_case(title: str, source: str) -> str:
    match = TABS_RE.search(title)
    tabs = [t.strip() for t in match.group(1).split(",")] if match else ["pytorch", "numpy"]
    return dump(parse(source, tabs, page_exists=lambda entry: entry in KNOWN_PAGES))


FILES = sorted(FIXTURES.glob("*.txt"))
CASES = [(path, case) for path in FILES for case in read_cases(path)]


@pytest.mark.parametrize(("path", "case"), CASES, ids=[f"{p.stem}:{c[0]}" for p, c in CASES])
def test_fixture(path: Path, case: tuple[str, str, str, int]) -> None:
    title, source, expected, _ = case
    assert run_case(title, source) == expected
