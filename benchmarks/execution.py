"""Execution benchmark: a generated book of 40 jobs with known cell durations.

Prints, for 1, 2 and 4 workers, the execution phase's wall time against its
lower bound max(total / workers, longest job), the kernel start-up cost per
job, the same book on a Dask cluster of 2 workers on loopback (overhead per
job against the local pool), a no-op rebuild against a build with
execution off, and a heavy-import book (each page imports a generated module
that costs 1 s of CPU, then sleeps standing for GPU time) with
``execbook_preload_imports`` on and off. Every figure is
measured in this process's run; nothing is compared with numbers from
elsewhere. A build in which any job is not ok stops the run, naming the
jobs: a broken run prints no figures.

    python benchmarks/execution.py [--pages 20] [--workers 1 2 4] [--heavy-pages 8] [--heavy-only] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from guard import check_run, read_report  # noqa: E402

TABS = ("pytorch", "numpy")


def generate(root: Path, pages: int, seed: int = 0) -> dict[str, float]:
    """Write a book; return each job's (page|tab) total sleep time."""
    rng = random.Random(seed)
    durations: dict[str, float] = {}
    names = [f"page{n:02d}" for n in range(pages)]
    root.mkdir(parents=True, exist_ok=True)
    (root / "conf.py").write_text(f'project = "bench"\nextensions = ["execbook"]\nexecbook_tabs = {list(TABS)!r}\n')
    (root / "index.md").write_text("# Bench\n\n```toc\n" + "\n".join(names) + "\n```\n")
    for name in names:
        parts = [f"# {name}\n\nSome prose with math $x^2$.\n"]
        for tab in TABS:
            cells = [round(rng.uniform(0.05, 0.6), 2) for _ in range(rng.randint(1, 4))]
            durations[f"{name}|{tab}"] = sum(cells)
            for seconds in cells:
                parts.append(
                    f"```{{.python .input}}\n#@tab {tab}\nimport time\ntime.sleep({seconds})\n'{tab} {seconds}'\n```\n"
                )
        (root / f"{name}.md").write_text("\n".join(parts))
    return durations


HEAVY_MODULE = """
# a framework stand-in: 1 s of CPU at import, as `import torch` or `from d2l import torch as d2l` cost
import time
_start = time.process_time()
while time.process_time() - _start < 1.0:
    pass
"""


def generate_heavy(root: Path, pages: int, seed: int = 1) -> dict[str, float]:
    """A book whose every job first imports ``heavylib`` (installed: on
    PYTHONPATH, outside the book), then runs sleep cells (the GPU's time);
    return each job's total sleep time."""
    rng = random.Random(seed)
    durations: dict[str, float] = {}
    names = [f"heavy{n:02d}" for n in range(pages)]
    root.mkdir(parents=True, exist_ok=True)
    (root.parent / "site").mkdir(exist_ok=True)
    (root.parent / "site" / "heavylib.py").write_text(HEAVY_MODULE)
    (root / "conf.py").write_text(f'project = "heavy"\nextensions = ["execbook"]\nexecbook_tabs = {list(TABS)!r}\n')
    (root / "index.md").write_text("# Heavy\n\n```toc\n" + "\n".join(names) + "\n```\n")
    for name in names:
        parts = [f"# {name}\n"]
        for tab in TABS:
            parts.append(f"```{{.python .input}}\n#@tab {tab}\nimport time\nimport heavylib\n```\n")
            cells = [round(rng.uniform(0.2, 0.8), 2) for _ in range(rng.randint(1, 3))]
            durations[f"{name}|{tab}"] = sum(cells)
            for seconds in cells:
                parts.append(
                    f"```{{.python .input}}\n#@tab {tab}\ntime.sleep({seconds})\n'{name} {tab} {seconds}'\n```\n"
                )
        (root / f"{name}.md").write_text("\n".join(parts))
    return durations


def build(root: Path, outdir: Path, *settings: str, env: dict[str, str] | None = None) -> tuple[float, dict]:
    conf = root / "conf.py"
    base = conf.read_text().split("# bench settings")[0]
    conf.write_text(base + "# bench settings\n" + "\n".join(settings) + "\n")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(root), str(outdir)],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, read_report(outdir / ".doctrees" / "execbook" / "report.json")


def kernel_startup(samples: int = 5) -> float:
    """Seconds from asking for a kernel to it running a first cell."""
    from jupyter_core.utils import run_sync

    from execbook.execute.kernel import new_kernel_manager, shutdown

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(samples):
            start = time.perf_counter()
            manager = new_kernel_manager("python3", Path(tmp), {}, Path(tmp) / "kernel.log")
            client = manager.client()
            client.start_channels()
            run_sync(client.wait_for_ready)(timeout=60)
            run_sync(client.execute_interactive)("pass")
            times.append(time.perf_counter() - start)
            client.stop_channels()
            shutdown(manager)
    return sorted(times)[len(times) // 2]


def dask_run(root: Path, tmp: Path, workers: int, jobs: int) -> dict | None:
    """The same book on a Dask cluster of ``workers`` workers on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        from distributed import Client

        time.sleep(1)
        procs += [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        with Client(address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=60)
        _, report = build(
            root,
            tmp / "out-dask",
            f"execbook_dask_scheduler = {address!r}",
            f"execbook_cache_dir = {str(tmp / 'cache-dask')!r}",
        )
        check_run(f"dask, {workers} workers", report, jobs)  # SystemExit: not skipped like a missing cluster
        return {"workers": workers, "exec_wall": report.get("wall", float("nan")), "ran": report.get("ran")}
    except Exception as error:  # noqa: BLE001 - the benchmark reports and goes on
        print(f"dask run skipped: {error}")
        return None
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


def heavy_runs(tmp: Path, pages: int, workers: list[int]) -> list[dict]:
    """The heavy-import book with execbook_preload_imports on and off, per worker count."""
    root = tmp / "heavy" / "book"
    durations = generate_heavy(root, pages)
    total, longest = sum(durations.values()), max(durations.values())
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root.parent / "site"), os.environ.get("PYTHONPATH")])),
    }
    print(
        f"heavy-import book: {pages} pages, {len(durations)} jobs, each importing a module that costs 1 s of CPU, "
        f"then {total:.1f} s of sleeps in all (longest job {longest:.2f} s)"
    )
    print(f"{'workers':>7} {'preload':>8} {'exec wall':>10} {'bound':>8} {'ratio':>6}")
    runs = []
    for count in workers:
        bound = max(total / count, longest)
        for preload in (False, True):
            label = f"heavy, {count} worker(s), preload {'on' if preload else 'off'}"
            _, report = build(
                root,
                tmp / "heavy" / f"out-{count}-{preload}",
                f"execbook_workers = {count}",
                f"execbook_preload_imports = {preload}",
                'execbook_execute = "force"',
                f"execbook_cache_dir = {str(tmp / 'heavy' / 'cache')!r}",
                env=env,
            )
            check_run(label, report, len(durations))
            wall = report.get("wall", float("nan"))
            print(f"{count:>7} {'on' if preload else 'off':>8} {wall:>9.2f}s {bound:>7.2f}s {wall / bound:>6.2f}")
            runs.append(
                {
                    "workers": count,
                    "preload": preload,
                    "exec_wall": round(wall, 2),
                    "lower_bound": round(bound, 2),
                    "ratio": round(wall / bound, 3),
                }
            )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages (two jobs each)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--heavy-pages", type=int, default=8, help="pages (two jobs each) of the heavy-import book")
    parser.add_argument("--heavy-only", action="store_true", help="only the heavy-import book")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    results: dict = {"jobs": 2 * args.pages, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        results["heavy"] = heavy_runs(Path(tmp), args.heavy_pages, args.workers)
        print()
        if args.heavy_only:
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))
            return
        root = Path(tmp) / "book"
        durations = generate(root, args.pages)
        total, longest = sum(durations.values()), max(durations.values())
        startup = kernel_startup()
        results.update(
            total_cell_seconds=round(total, 2), longest_job=round(longest, 2), kernel_startup=round(startup, 3)
        )
        print(f"book: {args.pages} pages, {len(durations)} jobs, {total:.1f} s of cells, longest job {longest:.2f} s")
        print(f"kernel start-up (median of 5, ask -> first cell done): {startup:.2f} s per job")
        print()
        print(f"{'workers':>7} {'exec wall':>10} {'bound':>8} {'ratio':>6} {'no-overlap est.':>16} {'build':>7}")
        for workers in args.workers:
            cache = Path(tmp) / f"cache-{workers}"
            elapsed, report = build(
                root,
                Path(tmp) / f"out-{workers}",
                f"execbook_workers = {workers}",
                f"execbook_cache_dir = {str(cache)!r}",
            )
            check_run(f"{workers} worker(s)", report, len(durations))  # the generated cells never raise
            bound = max(total / workers, longest)
            wall = report.get("wall", float("nan"))
            serial_startup = bound + startup * len(durations) / workers
            ran = report.get("ran")
            print(
                f"{workers:>7} {wall:>9.2f}s {bound:>7.2f}s {wall / bound:>6.2f} "
                f"{serial_startup:>15.2f}s {elapsed:>6.1f}s" + ("" if ran == len(durations) else f"  (ran {ran} jobs!)")
            )
            results["runs"].append(
                {
                    "workers": workers,
                    "exec_wall": wall,
                    "lower_bound": round(bound, 2),
                    "ratio": round(wall / bound, 3),
                    "build": round(elapsed, 2),
                    "ran": ran,
                }
            )
        # compared with the local 2-worker run, so only when there is one
        dask = dask_run(root, Path(tmp), workers=2, jobs=len(durations)) if 2 in args.workers else None
        if dask is not None:
            local = next(run for run in results["runs"] if run["workers"] == 2)
            per_job = (dask["exec_wall"] - local["exec_wall"]) / len(durations) * 2  # two jobs run at a time
            print(
                f"dask, 2 workers: {dask['exec_wall']:.2f} s vs local pool {local['exec_wall']:.2f} s "
                f"-> overhead {per_job * 1000:.0f} ms per job"
            )
            results["dask"] = {**dask, "overhead_per_job": round(per_job, 3)}
        # the last worker count's output folder is warm: a no-op rebuild
        last = args.workers[-1]
        cache = Path(tmp) / f"cache-{last}"
        noop, report = build(
            root, Path(tmp) / f"out-{last}", f"execbook_workers = {last}", f"execbook_cache_dir = {str(cache)!r}"
        )
        check_run("no-op rebuild", report, len(durations))
        off, _ = build(root, Path(tmp) / "out-off", 'execbook_execute = "off"')
        print()
        print(
            f"no-op rebuild: {noop:.2f} s ({report.get('ran')} jobs ran); "
            f"cold build with execution off: {off:.2f} s; ratio {noop / off:.2f}"
        )
        results.update(noop_rebuild=round(noop, 2), noop_jobs=report.get("ran"), cold_execution_off=round(off, 2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
