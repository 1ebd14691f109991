"""The execution phase of a build, between Sphinx finding changes and reading.

On ``env-get-outdated`` every page is parsed (cheap), its jobs and their keys
worked out, the jobs missing from the cache run all at once on the pool, and
the pages whose keys changed are handed back to Sphinx to re-read. Reading a
page (``outputs_for``) then only loads notebooks from the cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book import scan as bookscan
from execbook.book.state import kept_state, run_state
from execbook.execute import reads as readlog
from execbook.execute.cache import Cache, DamagedEntry
from execbook.execute.changed import Earlier, reported
from execbook.execute.jobs import ExecOptions, Job, jobs_for
from execbook.execute.layout import Layout
from execbook.execute.pools import Pool
from execbook.execute.progress import Progress
from execbook.execute.report import Report
from execbook.execute.results import JobResult
from execbook.execute.tree import sync_tree
from execbook.execute.workers import WorkerSpec, plan_workers
from execbook.library.build import book_libraries, built_libraries, library_extras, library_spec
from execbook.library.extract import Library, job_library_names
from execbook.library.writer import LibrarySpec
from execbook.source.document import Document
from execbook.source.syntax import parse

logger = logging.getLogger(__name__)


def page_jobs(app: Sphinx, docname: str, doc: Document | None = None) -> list[Job]:
    options = cfg.get(app.config)
    path = app.env.doc2path(docname)
    if doc is None:
        doc = parse(
            Path(path).read_text(encoding="utf-8", errors="replace"), options.tabs, left_out=bookscan.left_out(app)
        )
    relative = os.path.relpath(path, app.srcdir)
    return jobs_for(
        docname, relative, doc, options.kernels, ExecOptions(timeout=options.timeout, output_limit=options.output_limit)
    )


def unchanged_page_jobs(app: Sphinx, env: BuildEnvironment, docname: str) -> list[Job]:
    """A page's jobs, parsed again only when its file changed (a no-op build parses nothing)."""
    known = kept_state(env).page_jobs
    stat = Path(env.doc2path(docname)).stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    if docname not in known or known[docname][0] != stamp:
        known[docname] = (stamp, page_jobs(app, docname))
    return known[docname][1]


def with_library(job: Job, libraries: dict[str, Library], spec: LibrarySpec | None, extras: dict[str, str]) -> Job:
    """The job, its key now covering exactly the library code it uses."""
    library = libraries.get(job.tab)
    if spec is None or library is None:
        return job
    names = job_library_names([cell.source for cell in job.cells], spec.package, spec.module(job.tab))
    if names == set():
        return job
    digest = library.digest(names)
    extra = extras.get(job.tab, "")
    if extra:  # any use of the library depends on them
        digest = hashlib.sha256(f"{digest}\n{extra}".encode()).hexdigest()
    return replace(job, library_digest=digest)


def on_env_get_outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    options = cfg.get(app.config)
    previous = kept_state(env).keys
    pages = [name for name in sorted(env.found_docs) if str(env.doc2path(name)).endswith(".md")]
    if options.execute == "off":
        current: dict[str, dict[str, str]] = {}
        jobs: list[Job] = []
    else:
        jobs = [job for name in pages for job in unchanged_page_jobs(app, env, name)]
        libraries = book_libraries(app, env)
        if libraries:
            spec = library_spec(app)
            extras = library_extras(app, spec)
            jobs = [with_library(job, libraries, spec, extras) for job in jobs]
        current = {}
        for job in jobs:
            current.setdefault(job.docname, {})[job.tab] = job.key
    layout = Layout.for_app(app)
    to_read = set(added) | set(changed) | {name for name in pages if previous.get(name, {}) != current.get(name, {})}
    stale = [job for job in jobs if options.execute == "force" or not layout.cache.has(job.key)]
    hashes = readlog.Hashes(layout.tree.parent / readlog.MEMO_FILE)
    missing = {job.key for job in stale}
    reasons = read_changes(layout.cache, Path(app.srcdir), [job for job in jobs if job.key not in missing], hashes)
    stale += [job for job in jobs if job.key in reasons]
    stale_ids = {job.id for job in stale}
    stale += [job for job in jobs if job.docname in to_read and job.id not in stale_ids and damaged(layout.cache, job)]
    stale = list({job.key: job for job in reversed(stale)}.values())[::-1]  # one run per key
    stale_ids = {job.id for job in stale}
    report = Report()
    earlier = Earlier.for_app(app, layout.cache)  # what the last build showed
    if stale:
        run_jobs(app, layout, stale, report, reasons, hashes, earlier)
        stale_keys = {job.key for job in stale}
        to_read |= {job.docname for job in jobs if job.key in stale_keys}
    report.add_cached([job for job in jobs if job.id not in stale_ids])
    report.changed = reported(earlier.changes, earlier.files)
    report.not_reproducible = reported(earlier.noise, earlier.files)
    earlier.remember(jobs)
    report.write(layout)
    hashes.save()
    kept_state(env).keys = current
    run_state(app).report = report
    return sorted(to_read - set(added) - set(changed))


def read_changes(cache: Cache, book: Path, jobs: list[Job], hashes: readlog.Hashes) -> dict[str, str]:
    """By key, why a cached job must run again because of the files its code
    read: one changed, disappeared or appeared in the book (or an extra root),
    or its entry holds no record of them (cached by an earlier execbook)."""
    reasons: dict[str, str] = {}
    checked: set[str] = set()
    for job in jobs:
        if job.key in checked:
            continue
        checked.add(job.key)
        try:
            reads = hashes.entry_reads(job.key, cache.path(job.key), functools.partial(stored_reads, cache, job.key))
        except DamagedEntry:
            if damaged(cache, job):  # warned about, and removed
                reasons[job.key] = "its cache entry was damaged"
                continue
            reads = None
        if reads is None:
            reasons[job.key] = "its cache entry has no record of the files its code reads"
            continue
        reason = readlog.stale_reason(reads, lambda read: hashes.digest(readlog.book_path(read, book)))
        if reason:
            reasons[job.key] = reason
    return reasons


def stored_reads(cache: Cache, key: str) -> dict[str, str] | None:
    """The reads kept with the entry of ``key``; DamagedEntry when it cannot be read."""
    notebook = cache.load(key)
    return readlog.parse_reads(notebook.metadata.get("execbook")) if notebook is not None else None


def track_roots(app: Sphinx) -> list[Path]:
    """``execbook_track_reads_in``: folders (or files) outside the book whose reads are tracked too."""
    return [(Path(app.confdir) / Path(root).expanduser()).resolve() for root in cfg.get(app.config).track_reads_in]


def damaged(cache: Cache, job: Job) -> bool:
    try:
        cache.load(job.key)
        return False
    except DamagedEntry as error:
        logger.warning(
            f"damaged cache entry for {job.docname} ({job.tab}), running it again: {error}",
            type="execbook",
            subtype="cache",
        )
        cache.discard(job.key)
        return True


def remembered_durations(cache: Cache) -> dict[str, float]:
    """Earlier runs' durations (only an ordering hint): what is malformed is warned about once and left out."""
    durations, problem = cache.read_durations()
    if problem:
        logger.warning(
            f"{cache.durations_path}: {problem}; it is rewritten after this build", type="execbook", subtype="cache"
        )
    return durations


def record_durations(cache: Cache, finished: dict[str, float]) -> None:
    try:
        cache.record_durations(finished)
    except OSError as error:  # a read-only cache: the next build only orders its jobs less well
        logger.warning(
            f"could not record job durations in {cache.durations_path}: {error}", type="execbook", subtype="cache"
        )


def run_jobs(
    app: Sphinx,
    layout: Layout,
    stale: list[Job],
    report: Report,
    reasons: dict[str, str] | None = None,
    hashes: readlog.Hashes | None = None,
    earlier: Earlier | None = None,
) -> None:
    """Run ``stale`` on the pool; ``reasons`` (by key) says which re-run because of a file their code read;
    ``earlier`` compares each result with what the page showed before."""
    options = cfg.get(app.config)
    reasons = reasons or {}
    hashes = hashes or readlog.Hashes(layout.tree.parent / readlog.MEMO_FILE)
    book = Path(app.srcdir)
    for job in stale:
        if job.key in reasons:
            logger.info(f"execbook: re-running {job.docname} ({job.tab}): {reasons[job.key]}")
    durations = remembered_durations(layout.cache)
    stale.sort(key=lambda job: durations.get(job.id, 0.0), reverse=True)  # longest first
    workers = plan_workers(options.workers) if not (options.executor == "dask" or dask_address(app)) else []
    for problem in sync_tree(
        Path(app.srcdir), layout.tree, {Path(app.outdir), Path(app.doctreedir), layout.cache.root}
    ):
        logger.warning(
            f"{problem}: not copied into the folder the code runs in ({layout.tree}); code that reads it will not "
            "find it (make it readable)",
            type="execbook",
            subtype="tree",
        )
    try:  # the extra roots each job's setup tracks (reads.setup_for)
        readlog.write_roots(layout.tree.parent, track_roots(app))
    except OSError as error:
        logger.warning(
            f"could not write {layout.tree.parent / readlog.ROOTS_FILE} ({error}): files read outside the book "
            "are not tracked in this build",
            type="execbook",
            subtype="cache",
        )
    finished: dict[str, float] = {}
    started = time.monotonic()

    live = sys.stderr.isatty() and not getattr(app, "quiet", False)
    with Progress(len(stale), min(len(workers), len(stale)) or 1, live) as progress:

        def on_done(result: JobResult) -> None:
            before = earlier.before(result.job) if earlier is not None else None  # read before a re-store
            store_result(layout.cache, result, unstored(app), book, hashes)
            if earlier is not None:
                earlier.compare(before, result)
            if result.status.final:
                finished[result.job.id] = result.duration
            report.add(result, reasons.get(result.job.key, ""))
            progress.finished(result)

        try:
            run_on_pool(app, make_pool(app, workers, layout), stale, on_done, progress, started)
        finally:
            record_durations(layout.cache, finished)
            report.wall = time.monotonic() - started
    if earlier is not None and options.recheck_changed_outputs:
        report.rechecked = recheck(app, workers, layout, earlier, live)


def recheck(app: Sphinx, workers: list[WorkerSpec], layout: Layout, earlier: Earlier, live: bool) -> int:
    """Run the jobs whose outputs changed once more, with the same inputs, and tell real changes from
    run-to-run noise; what the second run gives is compared, never stored or shown. Returns how many ran."""
    jobs = earlier.to_recheck()
    if not jobs:
        return 0
    logger.info(
        f"execbook: running {len(jobs)} job(s) again, with the same inputs, to tell changed outputs from "
        "run-to-run noise (execbook_recheck_changed_outputs)"
    )
    with Progress(len(jobs), min(len(workers), len(jobs)) or 1, live) as progress:

        def on_done(result: JobResult) -> None:
            earlier.recheck(result)
            progress.finished(result)

        run_on_pool(app, make_pool(app, workers, layout), jobs, on_done, progress)
    return len(jobs)


def run_on_pool(
    app: Sphinx,
    pool: Pool,
    jobs: list[Job],
    on_done: Callable[[JobResult], None],
    progress: Progress,
    epoch: float | None = None,
) -> None:
    """Run ``jobs``; a cluster that cannot be reached or used is the config's error, at its line."""
    try:
        pool.run(jobs, on_done, progress.started, epoch)
    except Exception as error:
        if type(error).__name__ != "DaskError":
            raise
        cfg.report_config_error(app, str(error), in_settings=False)


def dask_address(app: Sphinx) -> str:
    """The scheduler: EXECBOOK_DASK_SCHEDULER, else execbook_dask_scheduler."""
    return os.environ.get("EXECBOOK_DASK_SCHEDULER") or cfg.get(app.config).dask_scheduler


def make_pool(app: Sphinx, workers: list[WorkerSpec], layout: Layout) -> Pool:
    from execbook.execute.kernel import KernelSettings  # Jupyter's client stack is imported only when code runs
    from execbook.execute.pool import LocalPool

    options = cfg.get(app.config)
    settings = KernelSettings(start_timeout=options.kernel_start_timeout, preload_imports=options.preload_imports)
    address = dask_address(app)
    if options.executor == "dask" or address:
        from execbook.execute.cluster import DaskPool

        if not address:
            cfg.report_config_error(
                app,
                "execbook_executor = 'dask' needs execbook_dask_scheduler (or EXECBOOK_DASK_SCHEDULER)",
                in_settings=False,
            )
        return DaskPool(
            address,
            layout.tree,
            layout.lib,
            shared_fs=options.dask_shared_fs,
            gpus_per_job=options.gpus_per_job,
            limit_mb=options.dask_max_payload_mb,
            settings=settings,
        )
    return LocalPool(workers, layout.tree, layout.logs, layout.lib, settings)


def unstored(app: Sphinx) -> dict[str, NotebookNode]:
    """Notebooks, by key, that ran in this build but could not be cached: the
    pages of this build show them from here (forked parallel readers inherit it)."""
    return run_state(app).unstored


def store_result(
    cache: Cache,
    result: JobResult,
    held: dict[str, NotebookNode],
    book: Path | None = None,
    hashes: readlog.Hashes | None = None,
) -> None:
    """Cache the job's notebook, with the files its code read (hashed from the
    ``book``'s copies); a cache that cannot take it costs a re-run next
    build, never this build's outputs, and never the worker that calls this."""
    if result.notebook is None:
        logger.warning(
            f"[{result.job.tab}] {result.message}", location=(result.job.docname, 1), type="execbook", subtype="kernel"
        )
        return
    paths = readlog.take_reads(result.notebook)  # always: they are no output for readers
    reads = readlog.record(paths, book, hashes) if book is not None and hashes is not None else {}
    result.notebook.metadata["execbook"] = {
        **result.notebook.metadata.get("execbook", {}),
        "status": result.status,
        "message": result.message,
        "worker": result.worker,
        "duration": round(result.duration, 3),
        "reads": reads,
    }
    job = result.job
    try:
        # outputs of a timeout or dead kernel are shown, but the job runs again next build
        cleared = cache.store(job.key, result.notebook, partial=not result.status.final)
    except Exception as error:  # noqa: BLE001 - a read-only folder, a file where a folder belongs, ...
        held[job.key] = result.notebook
        logger.warning(
            f"[{job.tab}] the outputs could not be cached ({error}): they are shown in this build "
            "and the code runs again next build",
            location=job.docname,
            type="execbook",
            subtype="cache",
        )
        return
    if hashes is not None and result.status.final:
        hashes.remember_entry(job.key, cache.path(job.key), reads)
    if cleared:
        logger.warning(
            f"[{job.tab}] damaged cache entry (a folder) replaced: {cache.path(job.key)}",
            location=job.docname,
            type="execbook",
            subtype="cache",
        )


def outputs_for(app: Sphinx, docname: str, doc: Document) -> dict[str, Any]:
    """Per tab, the executed job notebook of this page (from the cache)."""
    if cfg.get(app.config).execute == "off":
        return {}
    cache = Layout.for_app(app).cache
    held = unstored(app)  # ran in this build, not in the cache
    notebooks = {}
    libraries = built_libraries(app.env)
    spec = library_spec(app)
    extras = library_extras(app, spec)
    for job in page_jobs(app, docname, doc):
        job = with_library(job, libraries, spec, extras)
        notebook = held.get(job.key)
        if notebook is None:
            try:
                notebook = cache.load(job.key)
            except DamagedEntry:
                notebook = None
        if notebook is not None:
            notebooks[job.tab] = notebook
    return notebooks
