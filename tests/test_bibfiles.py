""".bib files that cannot be read (an unclosed brace, the wrong encoding) are
reported at file:line with the entry and what to do, and the build goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build_in_process, write_book
from warned import typed

from execbook.html.bibcheck import problems_in

GOOD = "@misc{good,\n  title = {Good},\n  year = {2020},\n}\n\n"
UNCLOSED = GOOD + "@misc{broken,\n  title = {Unclosed,\n  year = {2020},\n}\n\n@misc{later,\n title={L}, year={2021}}\n"
LATIN1 = (GOOD + "@misc{caf,\n  author = {José Café},\n  title = {Café},\n  year = {2020},\n}\n").encode("latin-1")


def test_an_unclosed_brace_is_located_at_its_entry() -> None:
    [problem] = problems_in(UNCLOSED.encode(), "utf-8-sig")
    assert problem.line == 6  # @misc{broken, (pybtex itself stops at line 11, in the next entry)
    assert "entry 'broken' has a '{' that is never closed" in problem.text
    assert "syntax error in line 11" in problem.text and "close it" in problem.text


def test_a_file_in_another_encoding_is_located_at_its_byte() -> None:
    [problem] = problems_in(LATIN1, "utf-8-sig")
    assert problem.line == 7 and "byte 0xe9 in entry 'caf'" in problem.text
    assert "bibtex_encoding = 'latin-1'" in problem.text
    assert problems_in(LATIN1, "latin-1") == []


def test_a_readable_file_has_no_problems() -> None:
    assert problems_in(GOOD.encode(), "utf-8-sig") == []
    assert problems_in("@misc{x, title = {A {nested} value}}\n".encode(), "utf-8-sig") == []


PAGE = """
# Home

See :cite:`good`.

:bibliography:`references.bib`
"""


@pytest.mark.sphinx
@pytest.mark.parametrize(
    "content, where, says",
    [
        (UNCLOSED.encode(), "references.bib:6:", "entry 'broken' has a '{' that is never closed"),
        (LATIN1, "references.bib:7:", "byte 0xe9 in entry 'caf' cannot be read"),
    ],
)
def test_the_build_goes_on_and_says_where(tmp_path: Path, content: bytes, where: str, says: str) -> None:
    book = write_book(tmp_path / "book", {"index.md": PAGE}, conf='execbook_execute = "off"\n', tabs=("python",))
    (book / "references.bib").write_bytes(content)
    built = build_in_process(book)
    assert built.returncode == 0 and (built.outdir / "index.html").is_file()
    [warning] = [line for line in built.warnings if "references.bib:" in line]
    assert typed("bibtex") in warning
    assert where in warning and says in warning and "entries are left out of this build" in warning
    assert "Traceback" not in built.output and "Extension error" not in built.output

    (book / "references.bib").write_text(GOOD, encoding="utf-8")  # fixed: the citation resolves
    fixed = build_in_process(book)
    assert not [line for line in fixed.warnings if "references.bib" in line] and "bibtex key" not in fixed.output
    assert "Good" in fixed.main("index").get_text()
