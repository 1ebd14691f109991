"""execbook.html.references: which bibliography files a book cites from."""

from __future__ import annotations

from pathlib import Path

from execbook.html.references import bibliography_files


def test_bibliography_files_from_markers_or_references_bib(tmp_path: Path) -> None:
    (tmp_path / "references.bib").write_text("@book{a, title={A}}\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n")
    assert bibliography_files(tmp_path, [page]) == ["references.bib"]  # no marker: the conventional file
    (tmp_path / "other.bib").write_text("@book{b, title={B}}\n")
    page.write_text("# Page\n\n:bibliography:`other.bib`\n")
    assert bibliography_files(tmp_path, [page]) == ["other.bib"]
