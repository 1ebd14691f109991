"""What each speed-up saves: make bench's render-only book built with each one off in turn.

    python benchmarks/speedups.py [--pages 100] [--rounds 3] [--only NAME,...] [--json FILE]

Builds the generated book of ``make bench`` (benchmarks/genbook.py, execution
off) with every speed-up on (``EXECBOOK_SPEEDUPS=1``), with none
(``EXECBOOK_SPEEDUPS=0``: stock Sphinx and MyST code) and with each one off
alone (``EXECBOOK_SPEEDUPS=-NAME``; the names are html/speedups' table).
Each variant is built three ways: cold (no ``_build``), a no-op rebuild, and
a rebuild after a one-page prose edit. The variants are interleaved: each
round builds every variant once, the order turned by one each round, so load
from elsewhere falls on all of them alike.

A speed-up saves, per build, the least CPU seconds (user + system of the
sphinx-build process tree, over the rounds) with it off minus the least with
all on. CPU minima, not wall time: on a shared machine they are the steadiest
figures. The spread of the all-on build's CPU over the rounds is printed as
the noise: a saving below it is not told apart from nothing. Savings need not
add up to the all-off figure (the collector's, for one, grows with what the
others leave allocated). ``uptime`` is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import compile_execbook, sphinx  # noqa: E402 - the same sphinx-build command make bench times
from genbook import generate  # noqa: E402

from execbook.html.speedups import SPEEDUPS  # noqa: E402

EDITED = ("ch00/p005.md", "Prose with inline math", "Edited prose with inline math")  # bench.py's prose edit
KINDS = ("cold", "no-op", "edit")


def uptime() -> str:
    done = subprocess.run(["uptime"], capture_output=True, text=True)
    return done.stdout.strip() or f"load average {os.getloadavg()}"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system of the process and its children) seconds of one build."""
    start, before = time.perf_counter(), os.times()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    after = os.times()
    if done.returncode != 0:
        sys.exit(f"speedups: {' '.join(command)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return time.perf_counter() - start, cpu


def build_three_ways(book: Path, switch: str) -> dict[str, tuple[float, float]]:
    """A cold build, a no-op rebuild and a rebuild after a prose edit, with ``EXECBOOK_SPEEDUPS=switch``."""
    command = sphinx(book, "off", "-D", "execbook_execute=off", "-D", "execbook_cache_dir=_build/cache-off")
    env = {**os.environ, "EXECBOOK_SPEEDUPS": switch}
    page, old, new = EDITED
    source = book / page
    original = source.read_text()
    assert old in original, (page, old)
    shutil.rmtree(book / "_build", ignore_errors=True)
    try:
        seconds = {"cold": timed(command, env), "no-op": timed(command, env)}
        source.write_text(original.replace(old, new, 1))
        seconds["edit"] = timed(command, env)
    finally:
        source.write_text(original)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="the speed-ups to turn off one at a time, NAME,... (default: every one)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",")] if args.only else list(SPEEDUPS)
    unknown = [name for name in names if name not in SPEEDUPS]
    if unknown:
        parser.error(f"unknown speed-up(s) {', '.join(unknown)}; the speed-ups are {', '.join(SPEEDUPS)}")
    variants = {"all on": "1", "all off": "0", **{name: f"-{name}" for name in names}}
    compile_execbook()
    print(f"before: {uptime()}")
    runs: dict[str, list[dict[str, tuple[float, float]]]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory(prefix="speedups-") as tmp:
        book = Path(tmp) / "d2l"
        generate(book, args.pages)
        order = list(variants)
        for round_ in range(args.rounds):
            turned = order[round_ % len(order) :] + order[: round_ % len(order)]
            for variant in turned:
                runs[variant].append(build_three_ways(book, variants[variant]))
            print(f"round {round_ + 1} of {args.rounds} done: {uptime()}", flush=True)
    print(f"after: {uptime()}")

    def least(variant: str, kind: str, index: int = 1) -> float:
        return min(run[kind][index] for run in runs[variant])

    base = {kind: least("all on", kind) for kind in KINDS}
    noise = {kind: max(run[kind][1] for run in runs["all on"]) - base[kind] for kind in KINDS}
    print(
        f"\n{args.pages} pages, execution off, {args.rounds} interleaved rounds on {os.cpu_count()} cores; "
        "CPU seconds (user + system, least over the rounds) of sphinx-build:"
    )
    header = "".join(f"{kind:>20}" for kind in KINDS)
    print(f"  {'':<22}{header}")
    for variant in ("all on", "all off"):
        row = "".join(f"{least(variant, kind):>18.2f} s" for kind in KINDS)
        print(f"  {variant:<22}{row}")
    print(f"  {'noise (all on, spread)':<22}" + "".join(f"{noise[kind]:>18.2f} s" for kind in KINDS))
    print("\nwhat each saves: CPU seconds with it off alone minus with all on (and % of the all-on build):")
    saved: dict[str, dict[str, float]] = {}
    for variant in ["all off", *names]:
        saved[variant] = {kind: least(variant, kind) - base[kind] for kind in KINDS}
        row = "".join(
            f"{saved[variant][kind]:>+11.2f} s ({100 * saved[variant][kind] / base[kind]:>+4.0f}%)" for kind in KINDS
        )
        print(f"  {variant:<22}{row}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "pages": args.pages,
            "rounds": args.rounds,
            "cores": os.cpu_count(),
            "uptime": uptime(),
            "cpu_least": {variant: {kind: round(least(variant, kind), 3) for kind in KINDS} for variant in runs},
            "wall_least": {variant: {kind: round(least(variant, kind, 0), 3) for kind in KINDS} for variant in runs},
            "noise": {kind: round(value, 3) for kind, value in noise.items()},
            "saved": {variant: {k: round(v, 3) for k, v in row.items()} for variant, row in saved.items()},
        }
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
