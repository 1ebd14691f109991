"""execbook against the tools an author would pick instead, on one generated book, in one run.

    python benchmarks/bench.py [--pages 100] [--json _build/bench.json] [--only render] [--rounds 3]

Builds the generated book (benchmarks/genbook.py) with execbook (execution
off, with its speed-ups and with stock code only, ``EXECBOOK_SPEEDUPS=0``; on
with 1 and 2 workers, against the sleeps' lower bound and the
warm-kernel and kernel floors of warm_floor.py; no-op; a prose edit; an edit of one saved
function; one PDF; execution.py's heavy-import book with
execbook_preload_imports off and on, 1 and 2 workers), the same pages as MyST-NB notebooks (cache mode, serial
and -j 2), a plain Sphinx + MyST build (the render-only floor), and
d2l-book 1.0.3 on the same d2l-dialect pages (cold eval + HTML, no-op, the
same two edits, one PDF) where it is installed: in the venv
_build/bench/d2lbook-venv (see benchmarks/README.md), or on PATH. Prints a
table and ratios; exits non-zero only when something could not run (an
execbook build, or any of its jobs: a broken run prints no ratios), never
for a slow figure. A peer's step that fails is printed with its reason and
yields no ratio. ``--only render`` builds the render-only rows alone (the
floor, execbook with speed-ups and without, interleaved over ``--rounds``)
and leaves results.json as it is: a check in minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from execution import heavy_runs  # noqa: E402
from genbook import D2LBOOK_OUT, TABS, generate, to_d2lbook, to_myst_notebooks  # noqa: E402
from guard import check_run, read_report  # noqa: E402
from warm_floor import job_notebooks, kernel_floor, warm_floor  # noqa: E402

RESULTS = Path(__file__).parent / "results.json"  # committed: the guide's performance chapter draws it


def pss(pid: int) -> int | None:
    """A process's proportional set size (Linux ``smaps_rollup``), in bytes; None where unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def tree_memory(pid: int) -> tuple[int, int]:
    """Resident memory of a process and its descendants, in bytes: the sum of
    their RSS, and of their PSS (each shared page divided among the processes
    sharing it; kernels forked from one server share most of theirs, which
    RSS counts once per kernel). PSS falls back to RSS where it cannot be read."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    total_rss = total_pss = 0
    for proc in procs:
        try:
            rss = proc.memory_info().rss
        except psutil.Error:
            continue
        total_rss += rss
        proportional = pss(proc.pid)
        total_pss += rss if proportional is None else proportional
    return total_rss, total_pss


RENDER_ROUNDS = 3  # cold builds each for the render-only rows and their floor; the fastest counts
RENDER_ROWS = (  # the render-only rows, built in this order in each round
    "floor: Sphinx + MyST, render only",
    "execbook: cold, execution off",
    "execbook: cold, execution off, stock code",  # EXECBOOK_SPEEDUPS=0: no speed-up, stock Sphinx and MyST code
)


def run(
    command: list[str], cwd: Path, must_pass: bool = True, env: dict[str, str] | None = None
) -> tuple[float, int, int, str | None, str]:
    """Wall seconds, peak resident memory of the whole process tree (RSS and
    PSS sums), a failure reason (a peer that crashes is a finding; execbook
    crashing stops the run) and the command's output."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = tree_memory(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
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
        lines = output.strip().splitlines() or [f"exit status {proc.returncode}"]
        return elapsed, peak, peak_pss, (reason[-1] if reason else lines[-1])[:160], output
    return elapsed, peak, peak_pss, None, output


HEAVY_PAGES = 8  # pages (two jobs each) of execution.py's heavy-import book


def compile_execbook() -> None:
    """Write execbook's bytecode before any timed build, as ``pip install``
    does and as a first build does where Python writes bytecode. An editable
    install under ``PYTHONDONTWRITEBYTECODE`` (set on some CI machines) would
    otherwise compile its modules again in every timed build, a cost no
    user's second build pays, while its peers' packages come compiled."""
    import compileall

    import execbook

    compileall.compile_dir(Path(execbook.__file__).parent, quiet=1)


def sphinx(book: Path, out: str, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        str(book),
        str(book / "_build" / out),
        "-d",
        str(book / "_build" / f"{out}-doctrees"),
        *options,
    ]


def report(book: Path, out: str, name: str, jobs: int) -> dict:
    """The build's execution report, once every one of its ``jobs`` is known to be ok
    (the generated pages never raise); the run stops here, naming the jobs, if not."""
    data = read_report(book / "_build" / f"{out}-doctrees" / "execbook" / "report.json")
    data["statuses"] = dict(check_run(name, data, jobs))
    return data


D2LBOOK_VENV = Path(__file__).resolve().parents[1] / "_build" / "bench" / "d2lbook-venv"


def find_d2lbook(venv: Path) -> tuple[Path | None, str | None]:
    """d2l-book's command (from its venv, else from PATH), or why it cannot run here."""
    exe = venv / "bin" / "d2lbook"
    if not exe.exists():
        found = shutil.which("d2lbook")
        if found is None:
            return None, (
                f"not installed (python3 -m venv {venv} && {venv}/bin/pip install d2lbook==1.0.3 "
                "pybtex==0.24.0 'setuptools<81')"
            )
        exe = Path(found)
    if shutil.which("pandoc") is None:
        return None, "pandoc not found (apt-get install pandoc): d2l-book converts Markdown cells to RST with it"
    return exe, None


def d2lbook_env(exe: Path, book: Path) -> dict[str, str]:
    """d2l-book's venv first on PATH (it calls sphinx-build by name), and the
    book on PYTHONPATH, where ``d2lbook build lib`` writes the library its pages import."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{exe.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(book)
    return env


def render_only(
    figures: dict[str, dict], floor_dir: Path, book_dir: Path, stock_dir: Path, rounds: int
) -> dict[str, float]:
    """The floor and execbook's cold render-only build, with its speed-ups and
    without (on a copy of the book), interleaved: each round builds each once,
    from a clean ``_build``, so a burst of load elsewhere slows all three alike.
    Records each row's fastest wall time and least CPU time (user + system of
    the build's process tree: on a shared machine the steadiest figure) and
    returns their ratios to the floor."""
    off = ["-D", "execbook_execute=off", "-D", "execbook_cache_dir=_build/cache-off"]
    rows = {
        RENDER_ROWS[0]: (sphinx(floor_dir, "html"), floor_dir, None),
        RENDER_ROWS[1]: (sphinx(book_dir, "off", *off), book_dir, None),
        RENDER_ROWS[2]: (sphinx(stock_dir, "off", *off), stock_dir, {**os.environ, "EXECBOOK_SPEEDUPS": "0"}),
    }
    runs: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in rows}
    for _ in range(rounds):
        for name, (command, cwd, env) in rows.items():
            shutil.rmtree(cwd / "_build", ignore_errors=True)
            before = os.times()
            seconds, peak, pss, _failed, _output = run(command, cwd, env=env)  # a failure stops the run
            after = os.times()
            cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
            runs[name].append((seconds, cpu, peak, pss))
    for name, results in runs.items():
        seconds, cpu = min(r[0] for r in results), min(r[1] for r in results)
        peak, pss = max(r[2] for r in results), max(r[3] for r in results)
        figures[name] = {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "peak_mb": round(peak / 1e6),
            "peak_pss_mb": round(pss / 1e6),
            "rounds": rounds,
        }
        print(
            f"{name:<44} {seconds:7.1f} s   CPU {cpu:6.1f} s   peak {peak / 1e6:6.0f} MB (PSS {pss / 1e6:4.0f} MB)"
            f"   best of {rounds}, interleaved"
        )
    floor = figures[RENDER_ROWS[0]]
    ratios = {}
    for name, label in ((RENDER_ROWS[1], "speed-ups on"), (RENDER_ROWS[2], "stock code, EXECBOOK_SPEEDUPS=0")):
        wall, cpu = figures[name]["seconds"] / floor["seconds"], figures[name]["cpu_seconds"] / floor["cpu_seconds"]
        figures[name] |= {"vs_floor": round(wall, 3), "cpu_vs_floor": round(cpu, 3)}
        ratios[label] = wall
        print(f"{'':<44} {label}: {wall:.2f}x the floor's wall time, {cpu:.2f}x its CPU")
    return ratios


def d2lbook_build(exe: Path) -> list[str]:
    """What a d2l-book project with tabs runs for its website: the library,
    each tab's notebooks (2 CPU workers each), then the merged HTML."""
    d2lbook = shlex.quote(str(exe))
    steps = [
        f"{d2lbook} build lib",
        *(f"{d2lbook} build eval --tab {tab}" for tab in TABS),
        f"{d2lbook} build html --tab all",
    ]
    return ["sh", "-c", "set -e; " + "; ".join(steps)]


def d2lbook_evaluated(output: str) -> int:
    """Notebooks d2l-book evaluated in a build (it logs 'N notebooks are outdated' per tab)."""
    return sum(int(n) for n in re.findall(r"(\d+) notebooks are outdated", output))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="at least 12")
    parser.add_argument("--json", type=Path, default=Path("_build/bench.json"))
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="the committed figures the guide's performance chapter draws"
    )
    parser.add_argument("--d2lbook-venv", type=Path, default=D2LBOOK_VENV, help="where d2l-book 1.0.3 is installed")
    parser.add_argument(
        "--only", choices=["render"], help="render: only the render-only rows (results.json is left as it is)"
    )
    parser.add_argument("--rounds", type=int, default=RENDER_ROUNDS, help="interleaved rounds of the render-only rows")
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    compile_execbook()
    with tempfile.TemporaryDirectory() as tmp:
        book_dir, myst_dir, floor_dir = Path(tmp) / "d2l", Path(tmp) / "mystnb", Path(tmp) / "floor"
        book = generate(book_dir, args.pages)
        stock_dir = Path(tmp) / "d2l-stock"  # the same pages, for the stock-code render-only row
        shutil.copytree(book_dir, stock_dir)
        d2lbook_dir = Path(tmp) / "d2lbook"
        shutil.copytree(book_dir, d2lbook_dir)  # the same pages, before any build writes into the book
        to_d2lbook(d2lbook_dir)
        to_myst_notebooks(book_dir, myst_dir)
        shutil.copytree(myst_dir, floor_dir)
        for md in floor_dir.rglob("*.md"):  # plain MyST: no notebooks, no execution
            text = md.read_text().split("---\n", 2)[-1]
            md.write_text(text.replace("```{code-cell} ipython3", "```python"))
        (floor_dir / "conf.py").write_text(
            'project = "Bench"\nextensions = ["myst_parser"]\nexclude_patterns = ["_build"]\n'
            'myst_enable_extensions = ["dollarmath", "colon_fence", "amsmath"]\nsuppress_warnings = ["*"]\n'
        )
        jobs = len(book.cell_seconds)
        total, longest = sum(book.cell_seconds.values()), max(book.cell_seconds.values())
        print(f"book: {len(book.pages)} pages, {jobs} jobs, {total:.1f} s of cells, longest job {longest:.2f} s\n")

        outputs: dict[str, str] = {}

        def measure(
            name: str,
            command: list[str],
            cwd: Path,
            must_pass: bool | None = None,
            env: dict[str, str] | None = None,
            rounds: int = 1,
            **extra: object,
        ) -> dict:
            """Run ``command`` (``rounds`` times, each from a clean ``cwd/_build``;
            the fastest counts) and record its figures under ``name``."""
            must = name.startswith("execbook") if must_pass is None else must_pass
            best = None
            for round_ in range(rounds):
                if round_:
                    shutil.rmtree(cwd / "_build", ignore_errors=True)
                result = run(command, cwd, must_pass=must, env=env)
                if best is None or result[0] < best[0]:
                    best = result
            seconds, peak, pss, failed, outputs[name] = best
            figures[name] = {
                "seconds": round(seconds, 2),
                "peak_mb": round(peak / 1e6),
                "peak_pss_mb": round(pss / 1e6),
                **({"rounds": rounds} if rounds > 1 else {}),
                **extra,
            }
            if failed:
                figures[name]["failed"] = failed
            print(
                f"{name:<44} {seconds:7.1f} s   peak {peak / 1e6:6.0f} MB (PSS {pss / 1e6:4.0f} MB)"
                + (f"   best of {rounds}" if rounds > 1 else "")
                + (f"   FAILED: {failed}" if failed else "")
            )
            return figures[name]

        # render-only, the fastest of 3 interleaved cold builds each: one build of a
        # few seconds is mostly noise on a shared machine (the first also reads
        # MyST-NB, the theme and execbook from a cold disk cache)
        render_ratios = render_only(figures, floor_dir, book_dir, stock_dir, args.rounds)
        if args.only == "render":
            write_json(args.json, figures, {f"cold render-only vs floor, {k}": v for k, v in render_ratios.items()})
            print(f"\nwrote {args.json} (results.json left as it is: --only render)")
            return 0
        for workers in (1, 2):
            out = f"w{workers}"
            result = measure(
                f"execbook: cold, execution, {workers} worker(s)",
                sphinx(
                    book_dir, out, "-D", f"execbook_workers={workers}", "-D", f"execbook_cache_dir=_build/cache-{out}"
                ),
                book_dir,
            )
            data = report(book_dir, out, f"cold, {workers} worker(s)", jobs)
            bound = max(total / workers, longest)
            result.update(
                exec_wall=data["wall"], lower_bound=round(bound, 2), ran=data["ran"], statuses=data["statuses"]
            )
            print(f"{'':<44} execution {data['wall']:.1f} s vs lower bound {bound:.1f} s: {data['wall'] / bound:.2f}x")
            if workers == 1:  # the same jobs on one kernel started beforehand: what start-ups leave out
                notebooks = job_notebooks(book_dir / "_build" / out)
                libdir = book_dir / "_build" / f"{out}-doctrees" / "execbook" / "lib"
                warm = warm_floor(notebooks, libdir, book_dir)
                figures["warm-kernel floor"] = {"seconds": round(warm, 2), "jobs": len(notebooks)}
                print(
                    f"{'warm-kernel floor (1 kernel, no start-up)':<44} {warm:7.1f} s   "
                    f"({len(notebooks)} jobs: {warm / bound:.2f}x the lower bound; the protocol's cost per cell)"
                )
                ahead = kernel_floor(notebooks, libdir, book_dir)
                figures["kernel floor"] = {"seconds": round(ahead, 2), "jobs": len(notebooks)}
                print(
                    f"{'kernel floor (every cell sent ahead)':<44} {ahead:7.1f} s   "
                    f"({ahead / bound:.2f}x the lower bound: the kernel's own cost per cell, no client's)"
                )
            floor = figures["warm-kernel floor"]["seconds"] / workers
            result["warm_floor"] = round(floor, 2)
            print(f"{'':<44} execution vs warm-kernel floor / {workers}: {data['wall'] / floor:.2f}x")
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
        print(
            f"{'':<44} re-ran {len(ran)} pages: the {len(users)} that use helper1 "
            f"and the one defining it -> exact: {library['exact']}"
        )
        if shutil.which("latexmk") and shutil.which(
            "xelatex"
        ):  # one PDF, the first framework's, from the cached outputs
            execbook = Path(sys.executable).with_name("execbook")
            measure(
                f"execbook: PDF ({TABS[0]})",
                [str(execbook), "build", "pdf", "--tab", TABS[0], "--book", str(book_dir), *w2],
                book_dir,
                must_pass=False,
            )
        else:
            print(f"execbook: PDF ({TABS[0]}): skipped, TeX Live not found (latexmk, xelatex)")
            figures[f"execbook: PDF ({TABS[0]})"] = {"skipped": "TeX Live not found (latexmk, xelatex)"}

        print()  # item 1 of the speed work: the book's heavy imports paid once per worker, not once per job
        figures["heavy-import workload"] = heavy_runs(Path(tmp), HEAVY_PAGES, [1, 2])
        print()

        measure("MyST-NB: cold, cache mode, serial", sphinx(myst_dir, "serial"), myst_dir)
        shutil.rmtree(myst_dir / "_build" / ".jupyter_cache", ignore_errors=True)
        measure("MyST-NB: cold, cache mode, -j 2", sphinx(myst_dir, "j2", "-j", "2"), myst_dir)
        measure("MyST-NB: no-op rebuild", sphinx(myst_dir, "serial"), myst_dir)
        edit(myst_dir / "ch00" / "p005.md", "Prose with inline math", "Edited prose with inline math")
        measure("MyST-NB: one-page prose edit", sphinx(myst_dir, "serial"), myst_dir)

        exe, why_not = find_d2lbook(args.d2lbook_venv.resolve())
        if exe is None:
            print(f"d2l-book 1.0.3: skipped, {why_not}")
            figures["d2l-book"] = {"skipped": why_not}
        else:
            env = d2lbook_env(exe, d2lbook_dir)
            steps = [
                ("cold, eval + html (2 workers)", None),
                ("no-op rebuild", None),
                ("one-page prose edit", ("ch00/p005.md", "Prose with inline math", "Edited prose with inline math")),
                ("edit of one saved function", ("ch01/p010.md", "return x * 2", "return x * 2 + 0")),
            ]
            for step, change in steps:
                if change:
                    edit(d2lbook_dir / change[0], *change[1:])
                name = f"d2l-book: {step}"
                result = measure(name, d2lbook_build(exe), d2lbook_dir, env=env)
                result["notebooks_evaluated"] = d2lbook_evaluated(outputs[name])
                print(
                    f"{'':<44} evaluated {result['notebooks_evaluated']} notebooks"
                    + (
                        " (d2l-book re-runs the pages whose file changed, not those using the edited function)"
                        if "saved function" in step
                        else ""
                    )
                )
            if not (shutil.which("latexmk") and shutil.which("xelatex")):
                print(f"d2l-book: PDF ({TABS[0]}): skipped, TeX Live not found (latexmk, xelatex)")
            else:
                name = f"d2l-book: PDF ({TABS[0]})"
                measure(name, [str(exe), "build", "pdf"], d2lbook_dir, env=env)
                if "failed" not in figures[name] and not list((d2lbook_dir / D2LBOOK_OUT / "pdf").glob("*.pdf")):
                    figures[name]["failed"] = "no PDF written"
                    print(f"{'':<44} FAILED: no PDF written")

    print("\nratios (execbook / other, same run; a peer that failed is left out):")

    def ok(name: str) -> bool:
        return "failed" not in figures.get(name, {"failed": True})

    ratios = {
        "cold render-only vs floor": figures["execbook: cold, execution off"]["seconds"]
        / figures["floor: Sphinx + MyST, render only"]["seconds"],
        "cold render-only, stock code (EXECBOOK_SPEEDUPS=0) vs floor": figures[RENDER_ROWS[2]]["seconds"]
        / figures[RENDER_ROWS[0]]["seconds"],
    }
    for workers in (1, 2):  # execution against the sleeps' bound, and the warm-kernel floor divided by the workers
        built = figures[f"execbook: cold, execution, {workers} worker(s)"]
        label = "1 worker" if workers == 1 else f"{workers} workers"
        floor = "warm-kernel floor" + (f" / {workers}" if workers > 1 else "")
        ratios[f"execution ({label}) vs lower bound"] = built["exec_wall"] / built["lower_bound"]
        ratios[f"execution ({label}) vs {floor}"] = built["exec_wall"] / built["warm_floor"]
    ratios |= {
        "cold with execution (2 workers) vs MyST-NB -j 2": figures["execbook: cold, execution, 2 worker(s)"]["seconds"]
        / figures["MyST-NB: cold, cache mode, -j 2"]["seconds"],
        "cold with execution (1 worker) vs MyST-NB serial": figures["execbook: cold, execution, 1 worker(s)"]["seconds"]
        / figures["MyST-NB: cold, cache mode, serial"]["seconds"],
        "no-op vs MyST-NB no-op": figures["execbook: no-op rebuild"]["seconds"]
        / figures["MyST-NB: no-op rebuild"]["seconds"],
        "prose edit vs MyST-NB prose edit": figures["execbook: one-page prose edit"]["seconds"]
        / figures["MyST-NB: one-page prose edit"]["seconds"],
        "peak memory (1 worker) vs MyST-NB serial": figures["execbook: cold, execution, 1 worker(s)"]["peak_mb"]
        / max(1, figures["MyST-NB: cold, cache mode, serial"]["peak_mb"]),
    }
    ratios["peak PSS (1 worker) vs MyST-NB serial"] = figures["execbook: cold, execution, 1 worker(s)"][
        "peak_pss_mb"
    ] / max(1, figures["MyST-NB: cold, cache mode, serial"]["peak_pss_mb"])
    if ok("MyST-NB: cold, cache mode, -j 2"):
        ratios["peak memory (2 workers) vs MyST-NB -j 2"] = figures["execbook: cold, execution, 2 worker(s)"][
            "peak_mb"
        ] / max(1, figures["MyST-NB: cold, cache mode, -j 2"]["peak_mb"])
    else:
        ratios.pop("cold with execution (2 workers) vs MyST-NB -j 2")
    pairs = [
        (
            "cold with execution (2 workers)",
            "execbook: cold, execution, 2 worker(s)",
            "d2l-book: cold, eval + html (2 workers)",
        ),
        ("no-op", "execbook: no-op rebuild", "d2l-book: no-op rebuild"),
        ("prose edit", "execbook: one-page prose edit", "d2l-book: one-page prose edit"),
        ("edit of one saved function", "execbook: edit of one saved function", "d2l-book: edit of one saved function"),
        (f"PDF ({TABS[0]})", f"execbook: PDF ({TABS[0]})", f"d2l-book: PDF ({TABS[0]})"),
    ]
    for label, ours, theirs in pairs:  # a step of either side that failed or was skipped gives no ratio
        if ok(ours) and ok(theirs) and "seconds" in figures[ours] and "seconds" in figures[theirs]:
            ratios[f"{label} vs d2l-book"] = figures[ours]["seconds"] / figures[theirs]["seconds"]
    for workers in (1, 2):
        runs = {run["preload"]: run for run in figures["heavy-import workload"] if run["workers"] == workers}
        ratios[f"heavy imports, {workers} worker(s): execution, preload on vs off"] = (
            runs[True]["exec_wall"] / runs[False]["exec_wall"]
        )
        ratios[f"heavy imports, {workers} worker(s): execution, preload on vs lower bound"] = runs[True]["ratio"]
    for name, value in ratios.items():
        print(f"  {name:<50} {value:5.2f}")
    write_json(args.json, figures, ratios)
    print(f"\nwrote {args.json}")
    write_results(args.results, figures)
    print(f"wrote {args.results} (commit it: the guide's performance chapter draws it)")
    return 0


def write_json(path: Path, figures: dict, ratios: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"figures": figures, "ratios": {k: round(v, 3) for k, v in ratios.items()}}, indent=1))


def write_results(path: Path, figures: dict) -> None:
    """This run's figures, with where and when they were measured, as the guide's charts read them."""
    results = json.loads(path.read_text()) if path.exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    results["make_bench"] = {
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, load {os.getloadavg()[0]:.1f}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": commit or "unknown",
        "book": "generated by benchmarks/genbook.py",
        "figures": figures,
    }
    path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
