"""No d2l markup may reach a reader: find raw syntax in the text of a built site.

    python benchmarks/rawsyntax.py _build/html

prints each page that shows a raw ``:numref:``, ``:label:``, ``:eqlabel:``,
``:begin_tab:``, ``#@tab``, ``%%tab``, a slide mark or an unresolved
reference (``Section ??``) with the text around it, and exits 1 when there
is any. Prose is searched for all of them; code listings only for tab marks
(a ``#@tab`` left in a cell shows there; a role in a docstring is the
author's code). Inline code is the author writing *about* the syntax, and
what the reader never sees (scripts, styles, the search index) is skipped.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

RAW_MARKS = {
    "role": re.compile(r":(?:numref|label|eqlabel|eqref|ref|cite|citet|width|height|bibliography|begin_tab|end_tab):`"),
    "tab mark": re.compile(r"(?:^|\n)\s*(?:#@tab|%%tab)\b", re.IGNORECASE),
    "slide mark": re.compile(r"\[\*\*|\*\*\]|\(~~|~~\)"),
    "unresolved reference": re.compile(
        r"(?:Section|Sec\.|Chapter|Fig\.|Figure|Table|Tab\.|Eq\.|Equation)\s*\??\?\?|\(\?\?\)"
    ),
}
IN_LISTINGS = ("tab mark",)
SKIPPED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}


@dataclass(frozen=True)
class Finding:
    page: str
    kind: str
    context: str

    def format(self) -> str:
        return f"{self.page}: {self.kind}: ...{self.context}..."


def page_texts(html: str) -> tuple[str, str]:
    """(prose, code listings) of a page as a reader sees them."""
    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    listings = [pre.extract() for pre in soup("pre")]
    for inline in soup("code"):
        inline.decompose()
    return soup.get_text(), "\n".join(pre.get_text() for pre in listings)


def raw_syntax(page: str, html: str) -> list[Finding]:
    prose, listings = page_texts(html)
    found = []
    for kind, pattern in RAW_MARKS.items():
        text = prose + "\n" + listings if kind in IN_LISTINGS else prose
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
            found.append(Finding(page, kind, context.strip()))
    return found


def site_pages(site: Path) -> Iterator[Path]:
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site)
        if relative.parts[0] not in ("_static", "_sources", "_images") and relative.name not in SKIPPED_PAGES:
            yield path


def check_site(site: Path) -> tuple[int, list[Finding]]:
    """(pages read, findings)."""
    pages = list(site_pages(site))
    findings = [
        f
        for path in pages
        for f in raw_syntax(path.relative_to(site).as_posix(), path.read_text(encoding="utf-8", errors="replace"))
    ]
    return len(pages), findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="a built site, e.g. _build/html")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"rawsyntax: {args.site} is not a built site (no index.html)", file=sys.stderr)
        return 2
    pages, findings = check_site(args.site)
    for finding in findings:
        print(finding.format())
    print(f"rawsyntax: {pages} pages, {len(findings)} raw mark{'s' * (len(findings) != 1)}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
