"""The outputs a build changed: which earlier run a job is compared with, and
where the author reads what moved (report.json, the report page, the build's
last lines, ``execbook diff``).

A job's key changes with its code, so the cache alone cannot say which entry
was the page's last result for a framework. ``last.json``, beside the entries,
can: page and framework -> the key of the outputs the last build showed. It
lives in the cache folder, so the cache copied from CI, or kept from before an
upgrade, is all ``execbook diff`` needs.

Some outputs differ on every run (unseeded random numbers, timings): listed
as changes, they would bury the real ones. An output is *not reproducible*
when two runs with the same inputs disagree on it: a forced re-run against its
own cache entry, or a second run of a job whose outputs changed
(``execbook_recheck_changed_outputs``). ``unstable.json``, beside
``last.json``, remembers those outputs by page, framework, cell source and
kind, so later builds (and ``execbook diff``) list them apart without running
anything twice. Errors are never put apart: one that comes and goes is still
an error.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from sphinx.application import Sphinx
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book.files import atomic_write
from execbook.book.state import run_state
from execbook.execute.cache import Cache, DamagedEntry
from execbook.execute.changes import Change, compare_notebooks, counted, ordered, plural, thumbnail
from execbook.execute.jobs import Job
from execbook.execute.results import JobResult

logger = logging.getLogger(__name__)

INDEX_FILE = "last.json"  # in the cache folder: {"page|tab": key}
UNSTABLE_FILE = "unstable.json"  # in the cache folder: {"page|tab": [Change.output_id, ...]}
SHOWN = 10  # changes named one by one in the build's last lines


def index_id(page: str, tab: str) -> str:
    return f"{page}|{tab}"


def read_index(root: Path) -> dict[str, str]:
    """The keys of the outputs the last build showed, by page and framework ({} when none or unreadable:
    an earlier result is a courtesy, never a reason to stop a build)."""
    try:
        data = json.loads((root / INDEX_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def read_unstable(root: Path) -> dict[str, set[str]]:
    """The outputs known to differ run to run, by page and framework ({} when none or unreadable)."""
    try:
        data = json.loads((root / UNSTABLE_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: {i for i in v if isinstance(i, str)} for k, v in data.items() if isinstance(v, list)}


def split_unstable(changes: list[Change], unstable: dict[str, set[str]]) -> tuple[list[Change], list[Change]]:
    """(changes, not reproducible): those of outputs known to differ run to run go apart (errors never do)."""
    kept: list[Change] = []
    noise: list[Change] = []
    for change in changes:
        known = unstable.get(index_id(change.page, change.tab), set())
        (noise if not change.is_error and change.output_id in known else kept).append(change)
    return kept, noise


def index_pairs(index: dict[str, str]) -> list[tuple[str, str, str]]:
    """(page, tab, key), in order."""
    return sorted((*name.rsplit("|", 1), key) for name, key in index.items() if "|" in name)  # type: ignore[misc]


@dataclass
class Earlier:
    """This build's view of the last one: what each re-run job is compared with, the changes found,
    and the outputs found not reproducible."""

    cache: Cache
    tolerance: float
    index: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    noise: list[Change] = field(default_factory=list)  # outputs that differ run to run, listed apart
    unstable: dict[str, set[str]] = field(default_factory=dict)  # "page|tab" -> Change.output_id
    files: dict[str, str] = field(default_factory=dict)  # page -> its file, relative to the book
    firsts: dict[str, tuple[Job, NotebookNode]] = field(default_factory=dict)  # job id -> this build's run
    lock: threading.Lock = field(default_factory=threading.Lock)  # results arrive on the pool's threads

    @classmethod
    def for_app(cls, app: Sphinx, cache: Cache) -> Earlier:
        tolerance = cfg.get(app.config).output_tolerance  # finite and >= 0: checked where it is declared
        return cls(cache, float(tolerance), read_index(cache.root), unstable=read_unstable(cache.root))

    def before(self, job: Job) -> NotebookNode | None:
        """The notebook this page showed for this framework last time; call it before the new
        run is stored (a forced run stores under the same key)."""
        key = self.index.get(index_id(job.docname, job.tab))
        if not key:
            return None
        try:
            notebook = self.cache.load(key)
        except DamagedEntry:
            return None
        if notebook is None or notebook.metadata.get("execbook", {}).get("status") not in ("ok", "error"):
            return None  # a timeout's or dead kernel's partial outputs are no result to compare with
        return notebook

    def compare(self, earlier: NotebookNode | None, result: JobResult) -> None:
        if earlier is None or result.notebook is None or not result.status.final:
            return
        job = result.job
        self.files[job.docname] = job.path
        found = compare_notebooks(earlier, result.notebook, job.docname, job.tab, self.tolerance)
        with self.lock:
            if self.index.get(index_id(job.docname, job.tab)) == job.key:  # same inputs: a forced re-run
                self.learn([change for change in found if not change.is_error])
            kept, noise = split_unstable(found, self.unstable)
            self.changes += kept
            self.noise += noise
            if any(not change.is_error for change in kept):
                self.firsts[job.id] = (job, result.notebook)

    def to_recheck(self) -> list[Job]:
        """Jobs with a changed output that may be run-to-run noise: run them once more to tell."""
        return [job for job, _ in self.firsts.values()]

    def recheck(self, result: JobResult) -> None:
        """A second run of a job with the same inputs: what differs from the first is not reproducible."""
        job = result.job
        first = self.firsts.get(job.id)
        if first is None or result.notebook is None or not result.status.final:
            return
        found = compare_notebooks(first[1], result.notebook, job.docname, job.tab, self.tolerance)
        with self.lock:
            self.learn([change for change in found if not change.is_error])
            self.changes, noise = split_unstable(self.changes, self.unstable)
            self.noise += noise

    def learn(self, noisy: list[Change]) -> None:
        for change in noisy:
            self.unstable.setdefault(index_id(change.page, change.tab), set()).add(change.output_id)

    def remember(self, jobs: list[Job]) -> None:
        """``last.json`` now names what this build shows (jobs whose run is not final keep their earlier
        entry); ``unstable.json`` what differs run to run, for the pages and frameworks still built."""
        # another build sharing the cache may have written its own tabs since this one began
        written_index, written_unstable = read_index(self.cache.root), read_unstable(self.cache.root)
        index = dict(written_index)
        for job in jobs:
            if self.cache.has(job.key):
                index[index_id(job.docname, job.tab)] = job.key
        unstable = {**written_unstable, **self.unstable}
        unstable = {name: outputs for name, outputs in unstable.items() if name in index and outputs}
        if index != written_index:
            self.write(INDEX_FILE, index)
        if unstable != written_unstable:
            self.write(UNSTABLE_FILE, {name: sorted(outputs) for name, outputs in unstable.items()})

    def write(self, name: str, data: dict[str, Any]) -> None:
        try:
            atomic_write(self.cache.root / name, json.dumps(data, indent=0, sort_keys=True))
        except OSError as error:
            logger.warning(
                f"could not write {self.cache.root / name} ({error}): the next build cannot say which outputs changed",
                type="execbook",
                subtype="cache",
            )


# -- the report's data --------------------------------------------------------------


def data_uri(image: bytes | None, media: str) -> str:
    if image is None:
        return ""
    kind = "image/svg+xml" if media == "image/svg+xml" else "image/png"
    return f"data:{kind};base64,{base64.b64encode(thumbnail(image, media)).decode()}"


def change_data(change: Change, files: dict[str, str]) -> dict[str, Any]:
    """One change as report.json and the report page hold it: text, and thumbnails as data URIs."""
    data = {
        "page": change.page,
        "file": files.get(change.page, ""),
        "tab": change.tab,
        "line": change.line,
        "kind": change.kind,
        "source": change.source,
        "old": change.old,
        "new": change.new,
        "diff": change.diff,
    }
    if change.kind == "image":
        data.update(
            image_type=change.image_type,
            score=change.score,
            old_image=data_uri(change.old_image, change.image_type),
            new_image=data_uri(change.new_image, change.image_type),
            difference=data_uri(change.highlight, "image/png"),
        )
    return data


def reported(changes: list[Change], files: dict[str, str]) -> list[dict[str, Any]]:
    """The changes (or the outputs not reproducible) as report.json and the report page hold them, in order."""
    return [change_data(change, files) for change in ordered(changes)]


def located(change: dict[str, Any]) -> str:
    """``chapters/x.md:12: [pytorch] text: loss 0.5 -> loss 0.7`` (one line)."""
    where = f"{change['file'] or change['page']}:{change['line']}"
    if change["kind"] == "image" and change.get("image_type") == "image/svg+xml":
        what = "the SVG drawing differs"  # compared as text: there is no share of pixels to give
    elif change["kind"] == "image":
        what = f"{round(change['score'] * 100, 2)}% of the pixels"
    else:
        what = f"{short(change['old'])} -> {short(change['new'])}"
    return f"{where}: [{change['tab']}] {change['kind']}: {what}"


def short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split()) or "(nothing)"
    return flat if len(flat) <= width else flat[: width - 3] + "..."


# -- the build's last lines ------------------------------------------------------------


def report_place(app: Sphinx) -> str:
    """The report page of an HTML build, else report.json: where the author reads the changes."""
    from execbook.execute.layout import Layout

    if getattr(app.builder, "format", "") == "html":
        place = Path(app.outdir) / "execbook-report.html"
    else:
        place = Layout.for_app(app).tree.parent / "report.json"
    try:
        return os.path.relpath(place)
    except ValueError:  # another drive (Windows)
        return str(place)


def announce_changes(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: ``execbook: 3 outputs changed on 2 pages (see ...)``, the first few at file:line,
    and how many outputs were not reproducible run to run; with ``execbook_fail_on_changed_outputs``, an
    error and exit status 1 (outputs that are not reproducible do not count)."""
    report = run_state(app).report
    if exception is not None or report is None:
        return
    changed, noise = report.changed, report.not_reproducible
    if not changed and not noise:
        return
    for change in changed[:SHOWN]:
        logger.info(f"  {located(change)}")
    if len(changed) > SHOWN:
        logger.info(f"  ... and {len(changed) - SHOWN} more")
    line = "execbook: " + (counted(len(changed), len({c["page"] for c in changed})) if changed else "no output changed")
    if noise:
        line += f"; {len(noise)} not reproducible run to run, on {plural(len({c['page'] for c in noise}), 'page')}"
    line += f" (see {report_place(app)})"
    if changed and cfg.get(app.config).fail_on_changed_outputs:
        logger.error(f"{line}; execbook_fail_on_changed_outputs = True")
        app.statuscode = 1
    else:
        logger.info(line)
