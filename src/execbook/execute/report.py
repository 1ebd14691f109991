"""What the execution phase did: a JSON file, a timeline picture, a page in the site."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphinx.application import Sphinx

from execbook.book.files import atomic_write
from execbook.book.state import run_state
from execbook.execute.jobs import Job
from execbook.execute.results import JobResult, Status

if TYPE_CHECKING:
    from execbook.execute.layout import Layout

REPORT_PAGE = "execbook-report"
COLOURS = {
    Status.OK: "#4c9a6a",
    Status.ERROR: "#d9534f",
    Status.TIMEOUT: "#e0a030",
    Status.DEAD: "#8e44ad",
    Status.INTERRUPTED: "#999999",
}


@dataclass
class Entry:
    page: str
    tab: str
    status: Status
    cached: bool
    worker: str = ""
    start: float = 0.0
    duration: float = 0.0
    message: str = ""
    errors: int = 0
    key: str = ""
    reason: str = ""  # why a cached job ran again: "data/values.csv changed" ("" when its key was new)


class Report:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.wall = 0.0
        self.changed: list[dict[str, Any]] = []  # outputs that differ from the last build's (execute.changed)
        self.not_reproducible: list[dict[str, Any]] = []  # outputs that differ run to run, listed apart
        self.rechecked = 0  # jobs run a second time to tell changed outputs from run-to-run noise

    def add(self, result: JobResult, reason: str = "") -> None:
        self.entries.append(
            Entry(
                result.job.docname,
                result.job.tab,
                result.status,
                False,
                result.worker,
                round(result.start, 3),
                round(result.duration, 3),
                result.message,
                len(result.errors),
                result.job.key,
                reason,
            )
        )

    def add_cached(self, jobs: list[Job]) -> None:
        """Jobs not run: from the cache, or sharing the run of a job with the same key."""
        runs = {entry.key: entry for entry in self.entries if not entry.cached}
        for job in jobs:
            twin = runs.get(job.key)
            if twin is None:
                self.entries.append(Entry(job.docname, job.tab, Status.CACHED, True, key=job.key))
            else:
                self.entries.append(
                    Entry(
                        job.docname,
                        job.tab,
                        twin.status,
                        True,
                        twin.worker,
                        key=job.key,
                        message=f"same code as {twin.page} ({twin.tab}): one run served both",
                    )
                )

    @property
    def ran(self) -> list[Entry]:
        return [entry for entry in self.entries if not entry.cached]

    def as_dict(self) -> dict[str, Any]:
        ran = self.ran
        return {
            "jobs": len(self.entries),
            "ran": len(ran),
            "cached": len(self.entries) - len(ran),
            "failed": sum(not entry.status.good for entry in ran),
            "wall": round(self.wall, 3),
            "workers": sorted({entry.worker for entry in ran}),
            "entries": [entry.__dict__ for entry in sorted(self.entries, key=lambda e: (e.page, e.tab))],
            "changed": self.changed,
            "not_reproducible": self.not_reproducible,
            "rechecked": self.rechecked,
        }

    def write(self, layout: Layout) -> None:
        folder = layout.tree.parent
        atomic_write(folder / "report.json", json.dumps(self.as_dict(), indent=1))
        atomic_write(folder / "timeline.svg", self.timeline_svg())

    def timeline_svg(self, width: int = 900) -> str:
        """One row per worker, one bar per job run in this build."""
        ran = self.ran
        workers = sorted({entry.worker for entry in ran})
        end = max((entry.start + entry.duration for entry in ran), default=1.0) or 1.0
        row, left = 26, 90
        height = row * max(1, len(workers)) + 40
        scale = (width - left - 10) / end
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            'font-family="sans-serif" font-size="11">',
            f"<title>Jobs on workers ({len(ran)} jobs, {end:.1f} s)</title>",
        ]
        for i, worker in enumerate(workers):
            y = 10 + i * row
            parts.append(f'<text x="4" y="{y + 15}">{html.escape(worker)}</text>')
            for entry in (e for e in ran if e.worker == worker):
                x, w = left + entry.start * scale, max(1.0, entry.duration * scale)
                label = f"{entry.page} ({entry.tab}) {entry.status} {entry.duration:.1f} s"
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 6}" '
                    f'fill="{COLOURS.get(entry.status, "#777")}" '
                    f'stroke="#fff"><title>{html.escape(label)}</title></rect>'
                )
        axis_y = 10 + len(workers) * row + 14
        for step in range(0, 6):
            seconds = end * step / 5
            x = left + seconds * scale
            parts.append(f'<text x="{x:.1f}" y="{axis_y}" text-anchor="middle">{seconds:.1f} s</text>')
        parts.append("</svg>")
        return "\n".join(parts)


def collect_report_page(app: Sphinx) -> Any:
    """``html-collect-pages``: the execution report as a page of the site."""
    report = run_state(app).report
    if report is None or not report.entries:
        return []
    data = report.as_dict()
    context = {"title": "Execution report", "execbook_report": data, "execbook_timeline": report.timeline_svg()}
    yield REPORT_PAGE, context, "execbook-report.html"
