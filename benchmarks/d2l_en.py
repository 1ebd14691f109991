"""The real Dive into Deep Learning book, built unchanged from its own folder.

    python benchmarks/d2l_en.py PATH [--tab pytorch] [--pdf] [--keep]

PATH is a checkout of d2l-ai/d2l-en, built with its own ``config.ini``;
its code is not run (``-D execbook_execute=off``: the whole book runs for
hours on GPUs) unless ``--execute`` is given. The script builds the website cold
(``PATH/_build`` removed first unless ``--keep``), then again (a no-op), and
prints pages, times, peak memory, the warnings by kind (with the first of
each) and the raw d2l markup left in the site's text (``rawsyntax.py``).
``--pdf`` then builds ``execbook build pdf --tab T`` (the first of ``--tab``,
default pytorch) and prints its pages and time.

The book's API page imports its library (``d2l.torch`` imports torchvision):
where torchvision is missing or broken, a stand-in package is put on the
build's ``PYTHONPATH`` so that autodoc can import the library; the figures say
so. Frameworks that are not installed are reported by the build, one warning
each; build with ``--tab pytorch`` to leave them out.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rawsyntax import check_site  # noqa: E402

WARNING_RE = re.compile(
    r"^(?P<where>.*?): (?P<level>WARNING|ERROR|CRITICAL): (?P<text>.*?)(?: \[(?P<kind>[\w.-]+)\])?$"
)
TORCHVISION_STAND_IN = '''"""A stand-in for torchvision: `import torchvision` and its submodules succeed."""
import types as _types
import sys as _sys

def _stand_in(attr):
    if attr.startswith("__"):  # __file__, __path__, ...: inspect.getmodule() walks sys.modules and reads them
        raise AttributeError(attr)
    return type(attr, (), {})


for _name in ("datasets", "transforms", "models", "io", "ops", "utils"):
    _module = _types.ModuleType(f"torchvision.{_name}")
    _module.__getattr__ = _stand_in
    _sys.modules[f"torchvision.{_name}"] = _module
    globals()[_name] = _module
'''


def execbook() -> list[str]:
    return [sys.executable, "-m", "execbook"]  # the command users run: an unchanged book is answered without Sphinx


def torchvision_works() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True)
    return probe.returncode == 0


def stand_in_path() -> str:
    folder = Path(tempfile.mkdtemp(prefix="d2l-en-stand-in-")) / "torchvision"
    folder.mkdir()
    (folder / "__init__.py").write_text(TORCHVISION_STAND_IN)
    return str(folder.parent)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, exit status, output)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def warnings_by_kind(log: str) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for line in log.splitlines():
        match = WARNING_RE.match(line.strip())
        if match:
            kind = match.group("kind") or match.group("level").lower()
            kinds.setdefault(kind, []).append(line.strip())
    return kinds


def pdf_pages(pdf: Path) -> str:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True)
    match = re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE)
    return match.group(1) if match else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("book", type=Path, help="a checkout of d2l-ai/d2l-en")
    parser.add_argument("--tab", help="build only these frameworks (comma-separated)")
    parser.add_argument("--pdf", action="store_true", help="also build the PDF of one framework")
    parser.add_argument("--keep", action="store_true", help="keep PATH/_build (no cold build)")
    parser.add_argument("--execute", action="store_true", help="run the book's code as config.ini says (hours)")
    args = parser.parse_args(argv)
    book = args.book.resolve()
    if not (book / "config.ini").is_file():
        print(f"d2l_en: {book} has no config.ini; pass a checkout of d2l-ai/d2l-en", file=sys.stderr)
        return 2
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if not torchvision_works():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [stand_in_path(), env.get("PYTHONPATH", "")]))
        print("d2l_en: torchvision does not import here; a stand-in package is on PYTHONPATH")
    if not args.keep:
        shutil.rmtree(book / "_build", ignore_errors=True)
    tab_args = (["--tab", args.tab] if args.tab else []) + ([] if args.execute else ["-D", "execbook_execute=off"])
    cold, status, log = timed([*execbook(), "build", "html", *tab_args], book, env)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    (book / "_build").mkdir(exist_ok=True)
    (book / "_build" / "d2l_en-html.log").write_text(log)
    if status != 0:
        print(log[-4000:])
        print(f"d2l_en: execbook build html failed (exit {status}) after {cold:.1f} s")
        return 1
    noop, _, _ = timed([*execbook(), "build", "html", *tab_args], book, env)
    site = book / "_build" / "html"
    pages, findings = check_site(site)
    kinds = warnings_by_kind(log)
    print(
        f"website: {pages} pages, cold {cold:.1f} s, no-op {noop:.1f} s, peak RSS {rss_mb:.0f} MB"
        f"{' (' + args.tab + ')' if args.tab else ''}"
    )
    total = sum(len(lines) for lines in kinds.values())
    print(f"warnings and errors: {total}")
    for kind, lines in sorted(kinds.items(), key=lambda item: -len(item[1])):
        print(f"  {len(lines):5d}  {kind}: {lines[0][:220]}")
    counts = Counter(finding.kind for finding in findings)
    print(f"raw d2l markup in the site's text: {len(findings)}" + (f" ({dict(counts)})" if counts else ""))
    for finding in findings[:10]:
        print(f"  {finding.format()[:220]}")
    if args.pdf:
        tab = (args.tab or "pytorch").split(",")[0]
        no_code = [] if args.execute else ["-D", "execbook_execute=off"]
        seconds, status, pdf_log = timed([*execbook(), "build", "pdf", "--tab", tab, *no_code], book, env)
        (book / "_build" / "d2l_en-pdf.log").write_text(pdf_log)
        written = re.findall(r"^wrote (\S+\.pdf)$", pdf_log, re.MULTILINE)
        if status != 0 or not written:
            print(pdf_log[-3000:])
            print(f"d2l_en: execbook build pdf --tab {tab} failed (exit {status}) after {seconds:.1f} s")
            return 1
        print(f"pdf ({tab}): {written[-1]}, {pdf_pages(book / written[-1])} pages, {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
