"""benchmarks/rawsyntax.py: raw d2l markup in a built site's text is found, and only there."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from rawsyntax import check_site, main, raw_syntax  # noqa: E402


def kinds(html: str) -> list[str]:
    return [finding.kind for finding in raw_syntax("p.html", html)]


def test_each_kind_of_raw_markup_is_found() -> None:
    assert kinds("<p>See :numref:`fig_x` and :eqref:`eq_y`.</p>") == ["role", "role"]
    assert kinds("<pre>#@tab pytorch\nx = 1</pre>") == ["tab mark"]
    assert kinds("<pre>%%tab all\nx = 1</pre>") == ["tab mark"]
    assert kinds("<p>A [**bold claim**] and (~~hidden~~).</p>") == ["slide mark"] * 4
    assert kinds("<p>As shown in Section ??.</p>") == ["unresolved reference"]
    assert kinds("<p>See (??) and Fig. ??.</p>") == ["unresolved reference"] * 2


def test_code_and_writing_about_the_syntax_are_not_markup() -> None:
    assert kinds('<pre>def f():\n    """Defined in :numref:`sec_x`."""</pre>') == []  # the author's docstring
    assert kinds("<p>Write <code>%%tab pytorch</code> or <code>:numref:`x`</code> on the first line.</p>") == []
    assert kinds("<p>Type list?? to see its source.</p>") == []


def test_what_readers_never_see_is_not_searched() -> None:
    assert kinds("<script>var a = ':numref:`x`';</script><style>a::after{content:'??'}</style><p>Fine.</p>") == []
    assert kinds("<p>x = y if a else b; # a comment with @tab in it</p>") == []


def test_a_site_is_checked_page_by_page(tmp_path: Path, capsys) -> None:
    (tmp_path / "index.html").write_text("<p>Clean.</p>")
    (tmp_path / "search.html").write_text("<p>:label:`x`</p>")  # not a page of the book
    (tmp_path / "ch").mkdir()
    (tmp_path / "ch" / "a.html").write_text("<p>In :numref:`sec_b` we ...</p>")
    pages, findings = check_site(tmp_path)
    assert pages == 2 and [(f.page, f.kind) for f in findings] == [("ch/a.html", "role")]
    assert main([str(tmp_path)]) == 1
    assert "ch/a.html: role: ...In :numref:`sec_b` we ..." in capsys.readouterr().out
    (tmp_path / "ch" / "a.html").write_text("<p>In Section 2.1 we ...</p>")
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path / "ch")]) == 2  # not a site
