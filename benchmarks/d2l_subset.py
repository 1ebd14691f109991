"""A subset of Dive into Deep Learning, run by d2l-book 1.0.3 and by execbook side by side.

    python benchmarks/d2l_subset.py CHECKOUT [--workers 2] [--skip-d2lbook] [--keep DIR]

CHECKOUT is a checkout of d2l-ai/d2l-en. The script copies the subset (the
PyTorch sections in SECTIONS, their chapter index pages with the toctrees
trimmed to them, the root index.md trimmed the same way, the references
page, the images the pages show, the ``d2l`` package, ``d2l.bib`` and
``static/``) into a temporary folder, once per tool so their caches do not
mix, with the book's own ``config.ini`` changed in one line: ``tabs =
pytorch``. Then, one after the other in this process:

- d2l-book: ``d2lbook build eval`` and ``d2lbook build html``, timed
  separately (d2l-book evaluates with 2 CPU workers on a machine without
  GPUs; it has no setting for it);
- execbook: ``python -m execbook build html --tab pytorch`` (the command users run) with
  execution on and ``execbook_workers`` = ``--workers``;
- a no-op rebuild of each, then a one-sentence prose edit of one page.

What differs from the book, the same for both tools unless said: use-gpu.md's
two ``.cuda(1)`` calls become ``.to(try_gpu(1))`` (CPU_ONLY: without a second
GPU they raise, and d2l-book stops its whole eval on a raising cell); for
d2l-book only, ``style = cambridge`` is blanked (its HTML build downloads the
PDF's LaTeX class, ``latex_url``, and there is no network here) and an
``nvidia-smi`` naming 2 GPUs is on PATH (d2l-book gives use-gpu.md 2 GPUs and
stops with "Not enough resources" on a machine with none; with 2 named it
still runs 2 notebooks at a time, on the CPU).

Both run with a stand-in torchvision on PYTHONPATH (d2l_en.py's) and the
book's folder, so that ``from d2l import torch as d2l`` imports. d2l-book's
venv (benchmarks/README.md) has no torch, pandas or scipy: its kernels get
those packages from execbook's venv (the same files, linked into a folder on
their PYTHONPATH; only distributions that d2l-book's venv lacks, so none of
its own are shadowed).

Prints a table (seconds per step, the ratio execbook / d2l-book), execbook's
jobs (from its execution report, checked by guard.py: a job that is not ok
stops the run with exit status 1, as ratios from a broken run mislead) and
the load average at the start and at the end.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import D2LBOOK_VENV, d2lbook_env, d2lbook_evaluated, find_d2lbook  # noqa: E402
from d2l_en import stand_in_path, timed  # noqa: E402
from guard import check_run, read_report  # noqa: E402

SECTIONS = {
    "chapter_preface": ["index"],
    "chapter_preliminaries": [
        "ndarray",
        "pandas",
        "linear-algebra",
        "calculus",
        "autograd",
        "probability",
        "lookup-api",
    ],
    "chapter_linear-regression": [
        "linear-regression",
        "oo-design",
        "synthetic-regression-data",
        "linear-regression-scratch",
        "linear-regression-concise",
        "weight-decay",
    ],
    "chapter_multilayer-perceptrons": ["mlp", "numerical-stability-and-init"],
    "chapter_builders-guide": [
        "model-construction",
        "parameters",
        "init-param",
        "lazy-init",
        "custom-layer",
        "read-write",
        "use-gpu",
    ],
    "chapter_convolutional-neural-networks": ["conv-layer", "padding-and-strides", "channels", "pooling"],
    "chapter_recurrent-neural-networks": ["sequence", "rnn"],
    "chapter_optimization": ["optimization-intro", "convexity", "gd"],
    "chapter_appendix-tools-for-deep-learning": ["utils"],
    "chapter_references": ["zreferences"],
}
FRONT = ("chapter_preface",)  # the root toctree of front matter (unnumbered)
BACK = ("chapter_references",)
# Cells that need a second GPU raise on a machine without one, and d2l-book stops
# its whole eval on a raising cell: here they fall back to the CPU (try_gpu(1) is cpu)
CPU_ONLY = {
    "chapter_builders-guide/use-gpu": [
        ("Z = X.cuda(1)", "Z = X.to(try_gpu(1))"),
        ("Z.cuda(1) is Z", "Z.to(try_gpu(1)) is Z"),
    ]
}
EDITED_PAGE = "chapter_optimization/gd.md"
ADDED_SENTENCE = " This sentence was added to time a prose edit."
TOC_RE = re.compile(r"^```toc\n(?P<options>(?::[^\n]*\n)*)(?P<body>.*?)^```\n", re.MULTILINE | re.DOTALL)
IMAGE_RE = re.compile(r"\.\./img/([\w.+-]+)")
KERNEL_DISTS = ("torch", "pandas", "scipy", "matplotlib", "pillow", "requests", "ipython")


def trim_toc(text: str, keep: set[str]) -> str:
    """Every toctree of a page with only the entries in ``keep``; a toctree left empty is dropped."""

    def trimmed(match: re.Match[str]) -> str:
        entries = [line for line in match["body"].splitlines() if line.strip() in keep]
        return f"```toc\n{match['options']}\n" + "".join(f"{e}\n" for e in entries) + "```\n" if entries else ""

    return TOC_RE.sub(trimmed, text)


def make_subset(checkout: Path, dest: Path) -> list[str]:
    """The subset book in ``dest``; its pages (docnames, index pages included)."""
    dest.mkdir(parents=True)
    docs: list[str] = []
    images: set[str] = set()
    for chapter, names in SECTIONS.items():
        (dest / chapter).mkdir()
        for name in names:
            text = (checkout / chapter / f"{name}.md").read_text(encoding="utf-8")
            for old, new in CPU_ONLY.get(f"{chapter}/{name}", []):
                assert old in text, (chapter, name, old)
                text = text.replace(old, new)
            images.update(IMAGE_RE.findall(text))
            (dest / chapter / f"{name}.md").write_text(text, encoding="utf-8")
            docs.append(f"{chapter}/{name}")
        index = checkout / chapter / "index.md"
        if "index" not in names and index.is_file():
            text = trim_toc(index.read_text(encoding="utf-8"), set(names))
            images.update(IMAGE_RE.findall(text))
            (dest / chapter / "index.md").write_text(text, encoding="utf-8")
            docs.append(f"{chapter}/index")
    root = (checkout / "index.md").read_text(encoding="utf-8")
    # the front page's raw HTML is a file d2l-en's CI copies in before building: not part of the subset
    root = re.sub(r"```eval_rst\n\.\. raw:: html\n.*?```\n", "", root, flags=re.DOTALL)
    kept = {f"{chapter}/{'index' if chapter not in BACK else SECTIONS[chapter][0]}" for chapter in SECTIONS}
    (dest / "index.md").write_text(trim_toc(root, kept), encoding="utf-8")
    docs.append("index")
    (dest / "img").mkdir()
    for image in sorted(images):
        if (checkout / "img" / image).is_file():
            shutil.copy2(checkout / "img" / image, dest / "img" / image)
    for folder in ("d2l", "static"):
        shutil.copytree(checkout / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("d2l.bib", "setup.py"):
        shutil.copy2(checkout / name, dest / name)
    config = (checkout / "config.ini").read_text(encoding="utf-8")
    config, count = re.subn(r"^tabs = .*$", "tabs = pytorch", config, count=1, flags=re.MULTILINE)
    assert count == 1, "config.ini has no 'tabs = ' line"
    (dest / "config.ini").write_text(config, encoding="utf-8")
    return docs


def add_sentence(page: Path) -> None:
    """A one-sentence prose edit: a sentence appended to the first paragraph line after the title."""
    lines = page.read_text(encoding="utf-8").split("\n")
    fenced = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif i > 0 and not fenced and line[:1].isalpha() and not line.startswith(":"):
            lines[i] = line.rstrip() + ADDED_SENTENCE
            page.write_text("\n".join(lines), encoding="utf-8")
            return
    raise SystemExit(f"d2l_subset: no prose line in {page}")


def kernel_packages(folder: Path, venv: Path) -> Path:
    """Links to execbook's venv's copies of what d2l-en's pages import (and what
    those need), leaving out every distribution d2l-book's venv already has."""
    theirs = {
        d.metadata["Name"].lower().replace("_", "-")
        for d in importlib.metadata.distributions(path=[str(p) for p in venv.glob("lib/python3*/site-packages")])
    }
    todo, seen = list(KERNEL_DISTS), set()
    folder.mkdir(parents=True, exist_ok=True)
    site = Path(importlib.metadata.distribution("torch").locate_file(""))
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen or name in theirs:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            target = folder / top
            if top != "__pycache__" and not target.exists() and (site / top).exists():
                target.symlink_to(site / top)
    return folder


def fake_gpus(folder: Path) -> Path:
    """A folder with an ``nvidia-smi`` that names 2 GPUs and has none.

    d2l-book 1.0.3 gives a notebook that mentions GPUs (``try_gpu()``,
    ``try_all_gpus``: use-gpu.md) up to 2 of them, and stops with "Not enough
    resources" on a machine without any. With 2 named, it still evaluates with
    2 workers (one per GPU), and the pages run on the CPU: torch finds no CUDA."""
    folder.mkdir(parents=True, exist_ok=True)
    smi = folder / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'Stand-in GPU 0'\necho 'Stand-in GPU 1'\n")
    smi.chmod(0o755)
    return folder


def tracebacks(site: Path) -> list[str]:
    """Pages whose outputs show a traceback. A job is "ok" in the report when no
    cell sent an error; an exception that IPython fails to format (it prints
    "Unexpected exception formatting exception" and the traceback to stderr)
    sends none, so the report alone would call such a page ok."""
    return sorted(
        str(page.relative_to(site))
        for page in site.rglob("*.html")
        if "Traceback (most recent call last)" in page.read_text(encoding="utf-8", errors="replace")
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of d2l-ai/d2l-en")
    parser.add_argument("--workers", type=int, default=2, help="execbook's workers (d2l-book always uses 2)")
    parser.add_argument("--skip-d2lbook", action="store_true", help="build with execbook only")
    parser.add_argument("--keep", type=Path, help="build in this (new) folder and keep it, instead of a temporary one")
    parser.add_argument("--d2lbook-venv", type=Path, default=D2LBOOK_VENV, help="where d2l-book 1.0.3 is installed")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    if not (checkout / "config.ini").is_file():
        print(f"d2l_subset: {checkout} has no config.ini; pass a checkout of d2l-ai/d2l-en", file=sys.stderr)
        return 2
    print(f"load average at start: {load()}  ({os.cpu_count()} CPUs)")
    work = Path(tempfile.mkdtemp(prefix="d2l-subset-")) if args.keep is None else args.keep.resolve()
    work.mkdir(parents=True, exist_ok=True)
    stand_in = stand_in_path()
    try:
        return measure_all(args, checkout, work, stand_in)
    finally:
        shutil.rmtree(Path(stand_in), ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        print(f"load average at end: {load()}")


def measure_all(args: argparse.Namespace, checkout: Path, work: Path, stand_in: str) -> int:
    ours_dir, theirs_dir = work / "execbook", work / "d2lbook"
    docs = make_subset(checkout, ours_dir)
    shutil.copytree(ours_dir, theirs_dir)
    # d2l-book's HTML build fetches the PDF's LaTeX class (latex_url) when style = cambridge;
    # offline that stops it, and the website does not use it
    config = theirs_dir / "config.ini"
    config.write_text(re.sub(r"^style = cambridge$", "style =", config.read_text(encoding="utf-8"), flags=re.MULTILINE))
    code_pages = [d for d in docs if "```{.python .input" in (ours_dir / f"{d}.md").read_text(encoding="utf-8")]
    print(f"subset: {len(docs)} pages ({len(code_pages)} with code), in {work}")
    seconds: dict[str, dict[str, float]] = {"execbook": {}, "d2l-book": {}}
    failures: list[str] = []

    def step(tool: str, row: str, command: list[str], cwd: Path, env: dict[str, str], must_pass: bool) -> str:
        # no memory sampling: on 2 cores a sampler's CPU would be charged to the builds
        wall, status, output = timed(command, cwd, env)
        seconds[tool][row] = wall
        (work / "logs").mkdir(exist_ok=True)
        log = work / "logs" / f"{tool}-{row.replace(' ', '-').replace(':', '')}.log"
        log.write_text(output)
        print(
            f"  {tool:<9} {row:<18} {wall:7.1f} s  load {load()}"
            + (f"  FAILED (exit {status}), see {log}" if status else "")
        )
        if status:
            if must_pass:
                print(output[-3000:])
                raise SystemExit(f"d2l_subset: {tool} {row} failed (exit {status})")
            failures.append(f"{tool} {row}: exit {status}")
        return output

    # execbook
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [stand_in, env.get("PYTHONPATH", "")]))
    build = [
        sys.executable,
        "-m",
        "execbook",
        "build",
        "html",
        "--tab",
        "pytorch",
        "-D",
        f"execbook_workers={args.workers}",
    ]
    report_path = ours_dir / "_build" / "doctrees" / "execbook" / "report.json"
    print(f"execbook ({args.workers} workers): {' '.join(build[1:])}")
    reports = {}
    sphinx_ran = {}  # an unchanged book is answered before Sphinx starts: the report stays as it was
    for row in ("cold", "no-op", "prose edit"):
        if row == "prose edit":
            add_sentence(ours_dir / EDITED_PAGE)
        before = report_path.stat().st_mtime_ns if report_path.exists() else None
        step("execbook", row, build, ours_dir, env, must_pass=True)
        sphinx_ran[row] = report_path.stat().st_mtime_ns != before
        reports[row] = read_report(report_path)
        check_run(f"execbook, {row}", reports[row])
        hidden = tracebacks(ours_dir / "_build" / "html")
        if hidden:
            raise SystemExit(
                f"d2l_subset: execbook, {row}: a traceback in the output of {', '.join(hidden)}; "
                "no figures from a broken run"
            )

    # d2l-book
    if args.skip_d2lbook:
        print("d2l-book: skipped (--skip-d2lbook)")
    else:
        exe, why_not = find_d2lbook(args.d2lbook_venv.resolve())
        if exe is None:
            print(f"d2l-book: skipped, {why_not}")
        else:
            env = d2lbook_env(exe, theirs_dir)
            packages = kernel_packages(work / "kernel-packages", args.d2lbook_venv.resolve())
            env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], stand_in, str(packages)])
            env["PYTHONWARNINGS"] = "ignore"
            env["PATH"] = f"{fake_gpus(work / 'fake-nvidia-smi')}{os.pathsep}{env['PATH']}"
            print(f"d2l-book (2 CPU workers): {exe} build eval; {exe} build html")
            for row in ("cold", "no-op", "prose edit"):
                if row == "prose edit":
                    add_sentence(theirs_dir / EDITED_PAGE)
                output = step("d2l-book", f"{row}: eval", [str(exe), "build", "eval"], theirs_dir, env, must_pass=False)
                print(f"  {'':<9} {'':<18} evaluated {d2lbook_evaluated(output)} notebooks")
                if not failures:
                    step("d2l-book", f"{row}: html", [str(exe), "build", "html"], theirs_dir, env, must_pass=False)
                if failures:
                    break
                seconds["d2l-book"][row] = seconds["d2l-book"][f"{row}: eval"] + seconds["d2l-book"][f"{row}: html"]

    cold = reports["cold"]
    ran = sorted((e for e in cold["entries"] if not e["cached"]), key=lambda e: -e["duration"])
    print(
        f"\nexecbook's jobs, cold: {cold['jobs']} ({cold['ran']} ran, {cold['failed']} failed), execution wall "
        f"{cold['wall']:.1f} s, {sum(e['duration'] for e in ran):.1f} s of jobs on workers {', '.join(cold['workers'])}"
    )
    for entry in ran:
        print(f"  {entry['duration']:6.1f} s  {entry['status']:<6} {entry['worker']:<10} {entry['page']}")
    for row in ("no-op", "prose edit"):
        if sphinx_ran[row]:
            print(f"execbook's jobs, {row}: {reports[row]['ran']} ran, {reports[row]['cached']} cached")
        else:
            print(f"execbook's jobs, {row}: none looked at (the unchanged book was answered before Sphinx started)")

    print(f"\n{'step':<20} {'d2l-book':>9} {'execbook':>9} {'ratio':>6}")
    for row in ("cold: eval", "cold: html", "cold", "no-op", "prose edit"):
        theirs, ours = seconds["d2l-book"].get(row), seconds["execbook"].get(row)
        ratio = f"{ours / theirs:5.2f}x" if ours and theirs and not failures else ""
        print(f"{row:<20} {theirs and f'{theirs:8.1f}s' or '':>9} {ours and f'{ours:8.1f}s' or '':>9} {ratio:>6}")
    if failures:
        print("no ratios: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
