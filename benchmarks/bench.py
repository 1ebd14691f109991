"""execbook against the tools an author would pick instead, on one generated book, in one run.

    python benchmarks/bench.py [--pages 100] [--json _build/bench.json]

Builds the generated book (benchmarks/genbook.py) with execbook (execution
off; on with 1 and 2 workers; no-op; a prose edit; an edit of one saved
function), the same pages as MyST-NB notebooks (cache mode, serial and
-j 2), a plain Sphinx + MyST build (the render-only floor), and d2l-book
1.0.3 where it is installed. Prints a table and ratios; exits non-zero only
when something could not run (an execbook build, or any of its jobs: a
broken run prints no ratios), never for a slow figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from genbook import generate, to_myst_notebooks  # noqa: E402
from guard import check_run, read_report  # noqa: E402


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(command: list[str], cwd: Path, must_pass: bool = True) -> tuple[float, int, str | None]:
    """Wall seconds, peak resident memory of the whole process tree, and a
    failure reason (a peer that crashes is a finding; execbook crashing stops the run)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        if must_pass:
            sys.exit(f"benchmark: {' '.join(command)} failed:\n{output[-3000:]}")
        reason = [line.strip() for line in output.splitlines() if "Error" in line and ":" in line]
        return elapsed, peak, (reason[-1] if reason else output.strip().splitlines()[-1])[:160]
    return elapsed, peak, None


def sphinx(book: Path, out: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(book), str(book / "_build" / out),
            "-d", str(book / "_build" / f"{out}-doctrees"), *options]


def report(book: Path, out: str, name: str, jobs: int) -> dict:
    """The build's execution report, once every one of its ``jobs`` is known to be ok
    (the generated pages never raise); the run stops here, naming the jobs, if not."""
    data = read_report(book / "_build" / f"{out}-doctrees" / "execbook" / "report.json")
    data["statuses"] = dict(check_run(name, data, jobs))
    return data


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="at least 12")
    parser.add_argument("--json", type=Path, default=Path("_build/bench.json"))
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        book_dir, myst_dir, floor_dir = Path(tmp) / "d2l", Path(tmp) / "mystnb", Path(tmp) / "floor"
        book = generate(book_dir, args.pages)
        to_myst_notebooks(book_dir, myst_dir)
        shutil.copytree(myst_dir, floor_dir)
        for md in floor_dir.rglob("*.md"):  # plain MyST: no notebooks, no execution
            text = md.read_text().split("---\n", 2)[-1]
            md.write_text(text.replace("```{code-cell} ipython3", "```python"))
        (floor_dir / "conf.py").write_text('project = "Bench"\nextensions = ["myst_parser"]\nexclude_patterns = ["_build"]\n'
                                           'myst_enable_extensions = ["dollarmath", "colon_fence", "amsmath"]\nsuppress_warnings = ["*"]\n')
        jobs = len(book.cell_seconds)
        total, longest = sum(book.cell_seconds.values()), max(book.cell_seconds.values())
        print(f"book: {len(book.pages)} pages, {jobs} jobs, {total:.1f} s of cells, longest job {longest:.2f} s\n")

        def measure(name: str, command: list[str], cwd: Path, **extra: object) -> dict:
            seconds, peak, failed = run(command, cwd, must_pass=name.startswith("execbook"))
            figures[name] = {"seconds": round(seconds, 2), "peak_mb": round(peak / 1e6), **extra}
            if failed:
                figures[name]["failed"] = failed
            print(f"{name:<44} {seconds:7.1f} s   peak {peak / 1e6:6.0f} MB"
                  + (f"   FAILED: {failed}" if failed else ""))
            return figures[name]

        measure("floor: Sphinx + MyST, render only", sphinx(floor_dir, "html"), floor_dir)
        measure("execbook: cold, execution off", sphinx(book_dir, "off", "-D", "execbook_execute=off",
                                                         "-D", "execbook_cache_dir=_build/cache-off"), book_dir)
        for workers in (1, 2):
            out = f"w{workers}"
            result = measure(f"execbook: cold, execution, {workers} worker(s)",
                             sphinx(book_dir, out, "-D", f"execbook_workers={workers}", "-D", f"execbook_cache_dir=_build/cache-{out}"),
                             book_dir)
            data = report(book_dir, out, f"cold, {workers} worker(s)", jobs)
            bound = max(total / workers, longest)
            result.update(exec_wall=data["wall"], lower_bound=round(bound, 2), ran=data["ran"],
                          statuses=data["statuses"])
            print(f"{'':<44} execution {data['wall']:.1f} s vs lower bound {bound:.1f} s: {data['wall'] / bound:.2f}x")
        w2 = ["-D", "execbook_workers=2", "-D", "execbook_cache_dir=_build/cache-w2"]
        noop = measure("execbook: no-op rebuild", sphinx(book_dir, "w2", *w2), book_dir)
        noop["ran"] = report(book_dir, "w2", "no-op rebuild", jobs)["ran"]
        edit(book_dir / "ch00" / "p005.md", "Prose with inline math", "Edited prose with inline math")
        prose = measure("execbook: one-page prose edit", sphinx(book_dir, "w2", *w2), book_dir)
        prose["ran"] = report(book_dir, "w2", "prose edit", jobs)["ran"]
        users = sorted(set(book.helper_users["helper1"]))  # defined on ch01/p010, used by the rest of chapter 1
        edit(book_dir / "ch01" / "p010.md", "return x * 2", "return x * 2 + 0")
        library = measure("execbook: edit of one saved function", sphinx(book_dir, "w2", *w2), book_dir)
        entries = report(book_dir, "w2", "edit of one saved function", jobs)["entries"]
        ran = sorted({e["page"] for e in entries if not e["cached"]})
        library.update(ran_pages=len(ran), pages_using_it=len(users), exact=ran == sorted(users + ["ch01/p010"]))
        print(f"{'':<44} re-ran {len(ran)} pages: the {len(users)} that use helper1 "
              f"and the one defining it -> exact: {library['exact']}")

        measure("MyST-NB: cold, cache mode, serial", sphinx(myst_dir, "serial"), myst_dir)
        shutil.rmtree(myst_dir / "_build" / ".jupyter_cache", ignore_errors=True)
        measure("MyST-NB: cold, cache mode, -j 2", sphinx(myst_dir, "j2", "-j", "2"), myst_dir)
        measure("MyST-NB: no-op rebuild", sphinx(myst_dir, "serial"), myst_dir)
        edit(myst_dir / "ch00" / "p005.md", "Prose with inline math", "Edited prose with inline math")
        measure("MyST-NB: one-page prose edit", sphinx(myst_dir, "serial"), myst_dir)

        if shutil.which("d2lbook") is None:
            print("d2l-book 1.0.3: skipped, not installed (pip install d2lbook==1.0.3 pybtex==0.24.0 and pandoc)")
            figures["d2l-book"] = {"skipped": "not installed"}

    print("\nratios (execbook / other, same run; a peer that failed is left out):")

    def ok(name: str) -> bool:
        return "failed" not in figures.get(name, {"failed": True})

    ratios = {
        "cold render-only vs floor": figures["execbook: cold, execution off"]["seconds"] / figures["floor: Sphinx + MyST, render only"]["seconds"],
        "execution (2 workers) vs lower bound": figures["execbook: cold, execution, 2 worker(s)"]["exec_wall"]
        / figures["execbook: cold, execution, 2 worker(s)"]["lower_bound"],
        "cold with execution (2 workers) vs MyST-NB -j 2": figures["execbook: cold, execution, 2 worker(s)"]["seconds"]
        / figures["MyST-NB: cold, cache mode, -j 2"]["seconds"],
        "cold with execution (1 worker) vs MyST-NB serial": figures["execbook: cold, execution, 1 worker(s)"]["seconds"]
        / figures["MyST-NB: cold, cache mode, serial"]["seconds"],
        "no-op vs MyST-NB no-op": figures["execbook: no-op rebuild"]["seconds"] / figures["MyST-NB: no-op rebuild"]["seconds"],
        "prose edit vs MyST-NB prose edit": figures["execbook: one-page prose edit"]["seconds"] / figures["MyST-NB: one-page prose edit"]["seconds"],
        "peak memory (1 worker) vs MyST-NB serial": figures["execbook: cold, execution, 1 worker(s)"]["peak_mb"]
        / max(1, figures["MyST-NB: cold, cache mode, serial"]["peak_mb"]),
    }
    if not ok("MyST-NB: cold, cache mode, -j 2"):
        ratios.pop("cold with execution (2 workers) vs MyST-NB -j 2")
    for name, value in ratios.items():
        print(f"  {name:<50} {value:5.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"figures": figures, "ratios": {k: round(v, 3) for k, v in ratios.items()}}, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
