"""Render-only against the floor, on make bench's book, with less noise than one run.

    python benchmarks/render_only.py [--pages 100] [--rounds 4] [--keep DIR] [--stock] [--src DIR ...]

Builds, interleaved, ``--rounds`` times each: the floor of ``make bench``
(plain Sphinx + MyST, its default theme: alabaster), the floor with the
PyData theme, a "same content" floor (PyData theme, numfig,
sphinxcontrib-bibtex citations, and every tab's code blocks, as execbook
renders them), and execbook with execution off; ``--stock`` adds execbook
with stock code only (``EXECBOOK_SPEEDUPS=0``), and each ``--src DIR`` the
execbook package of another source tree (``git worktree add /tmp/old
COMMIT``, then ``--src /tmp/old/src``: what a commit changed, measured
beside today's code on the same machine and dependencies). Prints each build's
minimum wall and CPU (user + system) seconds and the ratios to the floor:
on a shared machine the minimum CPU time is the steadiest figure. Use the
``--keep`` folder's books to profile one build (``python -m cProfile -o``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import compile_execbook, sphinx  # noqa: E402 - the same sphinx-build command make bench times
from genbook import TABS, generate, to_myst_notebooks, write_assets

FLOOR_CONF = (
    'project = "Bench"\nextensions = ["myst_parser"]\nexclude_patterns = ["_build"]\n'
    'myst_enable_extensions = ["dollarmath", "colon_fence", "amsmath"]\nsuppress_warnings = ["*"]\n'
)


def floor(book: Path, myst: Path, root: Path) -> dict[str, Path]:
    """The floor as make bench makes it (bench.py), and the two variants."""
    plain, themed, same = root / "floor", root / "floor-pydata", root / "floor-same-content"
    shutil.copytree(myst, plain)
    for md in plain.rglob("*.md"):
        md.write_text(md.read_text().split("---\n", 2)[-1].replace("```{code-cell} ipython3", "```python"))
    (plain / "conf.py").write_text(FLOOR_CONF)
    shutil.copytree(plain, themed)
    (themed / "conf.py").write_text(FLOOR_CONF + 'html_theme = "pydata_sphinx_theme"\n')

    from execbook.source.document import CodeCell, MarkdownCell
    from execbook.source.syntax import parse

    write_assets(same)
    (same / "conf.py").write_text(
        FLOOR_CONF.replace('["myst_parser"]', '["myst_parser", "sphinxcontrib.bibtex"]')
        + 'html_theme = "pydata_sphinx_theme"\nnumfig = True\nmath_numfig = True\n'
        'bibtex_bibfiles = ["refs.bib"]\n'
    )
    for md in sorted(book.rglob("*.md")):
        relative = md.relative_to(book)
        if relative.parts[0].startswith("_"):
            continue
        parts = []
        for cell in parse(md.read_text(), list(TABS)).cells:
            if isinstance(cell, MarkdownCell) and cell.tabs is None:
                parts.append(cell.text)
            elif isinstance(cell, CodeCell):
                parts += ["```python\n" + cell.code_for(tab) + "\n```" for tab in cell.tabs]
        target = same / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n\n".join(parts) + "\n")
    return {"floor (make bench's)": plain, "floor, PyData theme": themed, "floor, same content": same}


def build(book: Path, *options: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    shutil.rmtree(book / "_build", ignore_errors=True)
    start, before = time.perf_counter(), os.times()
    subprocess.run(sphinx(book, "html", *options), check=True, capture_output=True, env=env)
    after = os.times()
    return time.perf_counter() - start, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="build the books here and keep them")
    parser.add_argument("--stock", action="store_true", help="add execbook with EXECBOOK_SPEEDUPS=0")
    parser.add_argument("--src", type=Path, action="append", default=[], help="add execbook from this source tree")
    args = parser.parse_args()
    compile_execbook()
    root = args.keep or Path(tempfile.mkdtemp(prefix="render-only-"))
    try:
        book, myst = root / "d2l", root / "mystnb"
        generate(book, args.pages)
        to_myst_notebooks(book, myst)
        off = ["-D", "execbook_execute=off", "-D", "execbook_cache_dir=_build/cache"]
        cases = {**floor(book, myst, root), "execbook, execution off": book}
        options = {"execbook, execution off": off}
        environments: dict[str, dict[str, str]] = {}
        if args.stock:
            name = "execbook, stock code"
            cases[name], options[name], environments[name] = book, off, {**os.environ, "EXECBOOK_SPEEDUPS": "0"}
        for src in args.src:
            git = ["git", "-C", str(src), "rev-parse", "--short", "HEAD"]
            commit = subprocess.run(git, capture_output=True, text=True)
            name = f"execbook at {commit.stdout.strip() or src.resolve().parent.name}"
            cases[name], options[name] = book, off
            environments[name] = {**os.environ, "PYTHONPATH": str(src.resolve())}
        seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        loads = []
        for _ in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for name, path in cases.items():
                seconds[name].append(build(path, *options.get(name, []), env=environments.get(name)))
        base_wall, base_cpu = (min(x[i] for x in seconds["floor (make bench's)"]) for i in (0, 1))
        print(
            f"{args.pages} pages, {args.rounds} rounds, load average {min(loads):.1f}-{max(loads):.1f} "
            f"on {os.cpu_count()} cores; minimum of the rounds:"
        )
        for name, runs in seconds.items():
            wall, cpu = min(x[0] for x in runs), min(x[1] for x in runs)
            print(
                f"  {name:<28} wall {wall:6.2f} s ({wall / base_wall:.2f}x)   CPU {cpu:6.2f} s ({cpu / base_cpu:.2f}x)"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
