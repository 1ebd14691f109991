"""A generated book for benchmarks, in the d2l dialect and as plain MyST notebooks.

N pages in chapters of 10, two frameworks, prose with math, a figure, cross
references and citations on every page, code cells whose cost is a known
sleep, and saved library functions that later pages use.

    python benchmarks/genbook.py OUT [--pages 100] [--myst OUT2]
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path

TABS = ("pytorch", "numpy")
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60">'
    '<rect width="120" height="60" fill="#4c9a6a"/></svg>\n'
)
BIB = "\n".join(
    f"@article{{Author{n}.20{n:02d}, title={{Paper {n}}}, author={{Author{n}, A. and Other, B.}}, "
    f"journal={{Journal}}, year={{20{n:02d}}}}}"
    for n in range(10)
)


@dataclass
class Book:
    pages: list[str] = field(default_factory=list)  # docnames in book order
    cell_seconds: dict[str, float] = field(default_factory=dict)  # "page|tab" -> total sleep
    helper_users: dict[str, list[str]] = field(default_factory=dict)  # saved helper -> pages using it


def write_assets(root: Path) -> None:
    """The figure and the bibliography both versions of the book use."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    (root / "img" / "box.svg").write_text(SVG)
    (root / "refs.bib").write_text(BIB + "\n")


def cell(tab: str, code: str) -> str:
    return f"```{{.python .input}}\n#@tab {tab}\n{code}\n```\n"


def generate(root: Path, pages: int = 100, seed: int = 0) -> Book:
    rng = random.Random(seed)
    book = Book()
    write_assets(root)
    (root / "conf.py").write_text(
        'project = "Bench"\nextensions = ["execbook"]\n'
        f"execbook_tabs = {list(TABS)!r}\n"
        'execbook_library = {"name": "benchlib"}\n'
    )
    chapters = [list(range(start, min(start + 10, pages))) for start in range(0, pages, 10)]
    index = ["# Bench Book\n", "```toc\n:maxdepth: 2\n:numbered:\n"]
    for number, members in enumerate(chapters):
        chapter = f"ch{number:02d}"
        index.append(f"{chapter}/index")
        toc = "\n".join(f"p{page:03d}" for page in members)
        (root / chapter).mkdir(exist_ok=True)
        (root / chapter / "index.md").write_text(f"# Chapter {number}\n:label:`chap_{number}`\n\n```toc\n{toc}\n```\n")
        book.pages.append(f"{chapter}/index")
        for page in members:
            book.pages.append(f"{chapter}/p{page:03d}")
            (root / chapter / f"p{page:03d}.md").write_text(page_text(page, rng, book, chapter))
    index.append("```\n\n```toc\nreferences\n```\n")
    (root / "index.md").write_text("\n".join(index))
    (root / "references.md").write_text("# References\n\n:bibliography:`refs.bib`\n")
    return book


def page_text(page: int, rng: random.Random, book: Book, chapter: str) -> str:
    name = f"p{page:03d}"
    parts = [
        f"# Page {page}\n:label:`sec_{name}`\n",
        f"Prose with inline math $x_{page}^2$ and a citation :cite:`Author{page % 10}.20{page % 10:02d}`.\n",
        f"$$y = w_{page} x + b.$$\n:eqlabel:`eq_{name}`\n",
        f"As :eqref:`eq_{name}` shows, and as :numref:`fig_{name}` draws"
        + (f" (see also :numref:`sec_p{page - 1:03d}`)" if page else "")
        + ".\n",
        f"![A box for page {page}.](../img/box.svg)\n:width:`120px`\n:label:`fig_{name}`\n",
    ]
    helper = f"helper{page // 10}"
    first_of_chapter = page % 10 == 0
    for tab in TABS:
        seconds = [round(rng.uniform(*SLEEP), 3) for _ in range(rng.randint(2, 4))]
        book.cell_seconds[f"{chapter}/{name}|{tab}"] = sum(seconds)
        module = "torch" if tab == "pytorch" else tab
        lines = [f"import time\nfrom benchlib import {module} as lib"]
        if first_of_chapter:
            lines.append(f"def {helper}(x):  #@save\n    return x * {page // 10 + 1}")
        else:
            book.helper_users.setdefault(helper, []).append(f"{chapter}/{name}")
            lines.append(f"lib.{helper}({page})")
        parts.append(cell(tab, "\n".join(lines)))
        for value in seconds:
            parts.append(cell(tab, f"time.sleep({value})\n'{tab} {value}'"))
    return "\n".join(parts)


SLEEP = (0.01, 0.08)


def to_myst_notebooks(src: Path, dst: Path, tab: str = "pytorch") -> None:
    """The same pages as MyST Markdown notebooks for MyST-NB: one framework,
    MyST roles, plain imports instead of the generated library."""
    import re

    from execbook.source.document import CodeCell, MarkdownCell
    from execbook.source.syntax import parse

    write_assets(dst)
    (dst / "conf.py").write_text(
        'project = "Bench"\nextensions = ["myst_nb", "sphinxcontrib.bibtex"]\nbibtex_bibfiles = ["refs.bib"]\n'
        'nb_execution_mode = "cache"\nnumfig = True\nmath_numfig = True\n'
        'myst_enable_extensions = ["dollarmath", "colon_fence", "amsmath"]\n'
        'exclude_patterns = ["_build"]\nnb_execution_timeout = 600\n'
    )
    header = "---\nfile_format: mystnb\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n"
    for md in sorted(src.rglob("*.md")):
        relative = md.relative_to(src)
        if relative.parts[0].startswith("_"):
            continue
        doc = parse(md.read_text(), list(TABS))
        parts = []
        for cell in doc.cells:
            if isinstance(cell, MarkdownCell) and cell.tabs is None:
                parts.append(cell.text)
            elif isinstance(cell, CodeCell) and tab in cell.tabs:
                code = re.sub(r"from benchlib import \w+ as lib\n?", "", cell.code_for(tab))
                code = re.sub(r"lib\.(helper\d+)\((\d+)\)", r"\2", code)  # the helper's use, without the library
                parts.append("```{code-cell} ipython3\n" + code + "\n```")
        target = dst / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(header + "\n\n".join(parts) + "\n")


D2LBOOK_OUT = "_build/d2lbook"  # d2l-book's output folder, relative to the book


def to_d2lbook(root: Path, workers: int = 2) -> None:
    """Make the d2l-dialect book at ``root`` a d2l-book 1.0.3 project too: its
    ``config.ini`` (both tabs, notebooks evaluated, the library saved where
    the pages import it from). d2l-book evaluates with 2 CPU workers on a
    machine without GPUs; it has no setting for that number (``workers`` is
    checked against it)."""
    assert workers == 2, "d2l-book 1.0.3 always evaluates with 2 CPU workers where there is no GPU"
    (root / "benchlib").mkdir(exist_ok=True)
    modules = {"pytorch": "torch", "numpy": "numpy"}
    library = "".join(f"\n[library-{tab}]\nlib_file = benchlib/{modules[tab]}.py\n" for tab in TABS)
    (root / "config.ini").write_text(
        "[project]\nname = bench\ntitle = Bench Book\nauthor = Bench\n\n"
        f"[build]\nindex = index\nnotebooks = **/*.md\nexclusions = _build/** benchlib/**\nresources = img/ refs.bib\n"
        f"eval_notebook = True\noutput_dir = {D2LBOOK_OUT}\ntabs = {', '.join(TABS)}\n\n"
        "[pdf]\nbibfile = refs.bib\n" + library
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--myst", type=Path, help="also write the MyST-NB version here")
    args = parser.parse_args()
    book = generate(args.out, args.pages)
    print(f"{len(book.pages)} pages, {sum(book.cell_seconds.values()):.1f} s of cells")
    if args.myst:
        to_myst_notebooks(args.out, args.myst)


if __name__ == "__main__":
    main()
