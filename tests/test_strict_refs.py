"""Strict on unresolved references: Sphinx warns about a reference to nothing only
when it writes the page, so html/strict.py gives the warning again in every build
that leaves the page as it is, and ``-W`` fails each time."""

from __future__ import annotations

import pytest
from conftest import BuiltBook, run_sphinx, write_book
from warned import warning_lines

PAGES = {
    "index.md": "# Book\n\n```toc\nbroken\nother\n```\n",
    "broken.md": "# Broken\n\nSome prose.\n\nAs :numref:`fig_nowhere` shows, nothing.\n",
    "other.md": "# Other\n\nFine.\n",
}
EXECUTE_OFF = 'execbook_execute = "off"\n'


def missing(built: BuiltBook) -> list[str]:
    return [line for line in warning_lines(built.output) if "fig_nowhere" in line]


@pytest.mark.sphinx
def test_a_missing_reference_fails_every_strict_build(tmp_path) -> None:
    root = write_book(tmp_path / "book", PAGES, conf=EXECUTE_OFF)
    plain = run_sphinx(root)
    assert plain.returncode == 0, plain.output
    [first] = missing(plain)
    assert "broken.md:5" in first, first  # at its line, with what to do

    for _ in range(2):  # nothing changed: Sphinx writes no page and would say nothing
        strict = run_sphinx(root, "-W")
        assert strict.returncode != 0, strict.output
        assert missing(strict) == [first], strict.output

    other = root / "other.md"  # another page rewritten: the broken page's warning is still given, once
    other.write_text(other.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    again = run_sphinx(root, "-W")
    assert again.returncode != 0 and missing(again) == [first], again.output

    broken = root / "broken.md"  # fixed: the record goes with the page's next writing
    broken.write_text(broken.read_text(encoding="utf-8").replace(":numref:`fig_nowhere`", "the text"))
    fixed = run_sphinx(root, "-W")
    assert fixed.returncode == 0 and missing(fixed) == [], fixed.output
    assert run_sphinx(root, "-W").returncode == 0
