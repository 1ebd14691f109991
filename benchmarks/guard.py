"""A benchmark figure is only worth printing when every job ran: count the
jobs of a build by status (from its execution report) and stop the run,
naming the jobs, when any is not ok.

A job that died, timed out or raised is quicker than one that ran, so a
broken run looks fast; its ratios would be wrong, not merely slow.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

GOOD = ("ok", "cached")  # "cached": ran fine in an earlier build of the same run


def read_report(path: Path) -> dict[str, Any]:
    """A build's report.json; an empty report (no jobs) when the build wrote none."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"entries": []}


def count_statuses(report: dict[str, Any]) -> Counter[str]:
    return Counter(entry["status"] for entry in report.get("entries", []))


def broken_jobs(report: dict[str, Any], raising_pages: Collection[str] = ()) -> list[str]:
    """Every job that is not ok, as "page (tab): status, message"; a job whose
    cells raise on purpose (its page in ``raising_pages``) may end in "error"."""
    broken = []
    for entry in report.get("entries", []):
        status = entry["status"]
        if status in GOOD or (status == "error" and entry["page"] in raising_pages):
            continue
        message = f": {entry['message']}" if entry.get("message") else ""
        broken.append(f"{entry['page']} ({entry['tab']}) {status}{message}")
    return broken


def check_run(
    name: str, report: dict[str, Any], jobs: int | None = None, raising_pages: Collection[str] = ()
) -> Counter[str]:
    """The jobs of one build counted by status; SystemExit (non-zero, the jobs
    named) when any is not ok, or when the report does not hold the ``jobs`` expected."""
    counts = count_statuses(report)
    problems = broken_jobs(report, raising_pages)
    total = sum(counts.values())
    if jobs is not None and total != jobs:
        problems.append(f"the report holds {total} jobs, the book has {jobs}")
    if problems:
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        raise SystemExit(
            f"benchmark: {name}: not every job ran ok ({summary}); no figures from a broken run:\n  "
            + "\n  ".join(problems)
        )
    return counts


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/guard.py REPORT.json``: exit non-zero, naming the
    jobs, unless every job of that build ran ok (CI runs it after a fresh clone's
    first ``make html``)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("report", type=Path)
    args = parser.parse_args(argv)
    report = read_report(args.report)
    if not report["entries"]:
        raise SystemExit(f"benchmark: {args.report}: no execution report, or no jobs in it")
    counts = check_run(str(args.report), report)
    print(f"{args.report}: " + ", ".join(f"{count} {status}" for status, count in sorted(counts.items())))


if __name__ == "__main__":
    main()
