"""What the reads hook (execute/reads.py) costs a job: the same opens timed
without it and then with it, in one fresh Python process (an audit hook
cannot be removed, so "off" runs first), and a cold ``import numpy, pandas``
in a fresh process each way, as a page's imports would.

``python benchmarks/reads_hook.py [--files N] [--rounds R]`` prints the
figures and the ratios. Opens outside the tracked tree (libraries, the
common case) take the hook's fast path; opens under it are recorded once.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

OPENS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {src!r})
    from execbook.execute.reads import kernel_code
    tree, outside, rounds = Path({tree!r}), Path({outside!r}), {rounds}
    inside_files = sorted(tree.glob("*.txt"))
    outside_files = sorted(outside.glob("*.txt"))

    def run(files):
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            for path in files:
                with open(path, "rb") as file:
                    file.read()
            best = min(best, time.perf_counter() - start)
        return best / len(files)

    off = (run(outside_files), run(inside_files))
    exec(kernel_code(tree, []))
    on = (run(outside_files), run(inside_files))
    print(*off, *on)
    """
)

IMPORTS = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {src!r})
    if {hook}:
        from execbook.execute.reads import kernel_code
        exec(kernel_code({tree!r}, []))
    start = time.perf_counter()
    import numpy, pandas
    print(time.perf_counter() - start)
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="files opened per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    src = str(Path(__file__).resolve().parent.parent / "src")
    with tempfile.TemporaryDirectory() as scratch:
        tree, outside = Path(scratch, "tree"), Path(scratch, "site-packages")
        for folder in (tree, outside):
            folder.mkdir()
            for number in range(args.files):
                (folder / f"{number}.txt").write_text("x" * 100)
        code = OPENS.format(src=src, tree=str(tree), outside=str(outside), rounds=args.rounds)
        figures = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        off_out, off_in, on_out, on_in = (float(x) * 1e6 for x in figures.split())
        print(f"open+read, outside the tree: {off_out:.2f} us off, {on_out:.2f} us on ({on_out / off_out:.3f}x)")
        print(f"open+read, under the tree:   {off_in:.2f} us off, {on_in:.2f} us on ({on_in / off_in:.3f}x)")
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for hook in (False, True):  # interleaved, so a loaded machine weighs on both alike
                code = IMPORTS.format(src=src, hook=hook, tree=str(tree))
                run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                times[hook].append(float(run.stdout))
        off, on = statistics.median(times[False]), statistics.median(times[True])
        print(f"cold import numpy, pandas (median of {args.rounds}): {off:.3f} s off, {on:.3f} s on ({on / off:.3f}x)")


if __name__ == "__main__":
    main()
