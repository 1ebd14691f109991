"""The notebooks the website offers, written by the HTML build itself.

Every page's *Download the <framework> notebook* button points at
``notebooks/<tab>/<page>.ipynb`` inside the site. The HTML build writes those
files from the environment it has just resolved and the execution cache it
has just filled: no code runs again, and ``make html`` alone gives a site
whose buttons all work. They are planned when Sphinx starts writing pages
(``write-started``, Sphinx 7.2's ``env-check-consistency``: numbers, labels and titles are final) and written by a
forked copy of the build beside it (``forked.py``), on the second core Sphinx
leaves idle; ``build-finished`` waits for them, and writes them itself where
no fork was made or the fork failed. References in them
link to the site's own pages (``../../chapters/x.html#sec``), or to
``html_baseurl`` when set; figures are the site's own copies at
``html_baseurl``, else attached to their cells, so that a downloaded notebook
shows them wherever it is opened.

A page's notebooks are written again only when something they are made of
changed: the page's text, its jobs' cache entries, the book's numbers, labels,
titles and bibliography, or the settings. A no-op rebuild (or ``make serve``
after a prose edit elsewhere) rewrites nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book.boundary import OutsideError, readable_folders, real_inside_any
from execbook.book.parsed import page_document
from execbook.book.state import kept_state
from execbook.book.versions import has_event
from execbook.execute.layout import Layout
from execbook.execute.phase import outputs_for
from execbook.html import forked
from execbook.html.theme import SITE_NOTEBOOKS, site_offers_notebooks
from execbook.outputs.export import ATTACH, ImageLink, References, copy_if_changed, write_download_notebooks
from execbook.version import __version__

logger = logging.getLogger(__name__)


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def book_digest(app: Sphinx) -> str:
    """What every notebook's text may depend on beyond its own page: the
    labels, numbers and titles references resolve to, the bibliography, the
    settings, and how the site names its pages."""
    env = app.env
    bibdata = env.domaindata.get("cite", {}).get("bibdata")
    bibfiles = getattr(bibdata, "bibfiles", {}) or {}
    return digest(
        {
            "execbook": __version__,
            "builder": app.builder.name,
            "options": repr(cfg.get(app.config)),
            "baseurl": app.config.html_baseurl,
            "numfig_format": app.config.numfig_format,
            "labels": env.domaindata.get("std", {}).get("labels", {}),
            "math": env.domaindata.get("math", {}).get("objects", {}),
            "secnumbers": env.toc_secnumbers,
            "fignumbers": env.toc_fignumbers,
            "titles": {name: title.astext() for name, title in env.titles.items()},
            "images": {path: unique for path, (_, unique) in env.images.items()},
            "bib": {str(path): getattr(info, "mtime", None) for path, info in bibfiles.items()},
        }
    )


def page_digest(app: Sphinx, docname: str, text: str, tabs: list[str], book: str) -> str:
    """The page's text and the cache entries its outputs come from (a partial
    entry, from a timeout, is replaced by the next build under the same key)."""
    cache = Layout.for_app(app).cache
    keys = kept_state(app.env).keys.get(docname, {})
    entries = {}
    for tab, key in sorted(keys.items()):
        for path in (cache.path(key), cache.path(key, partial=True)):
            if path.is_file():
                entries[tab] = (path.name, path.stat().st_mtime_ns)
                break
    return digest([book, docname, text, tabs, keys, entries])


class Manifest:
    """Per page, the digest its notebooks were written from and the images
    copied beside them; kept with the build's state, not in the site."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.old: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.old = {}
        self.new: dict[str, Any] = {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.new, indent=0, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)


FORK_AT = 8  # pages to write before writing them beside Sphinx pays for the fork
PLAN = "_execbook_site_notebooks"  # the builder's attribute holding this build's Plan


@dataclass
class Plan:
    """The pages whose notebooks must be written, and the child writing them."""

    root: Path
    manifest: Manifest
    pending: list[tuple[str, list[str], str, str]] = field(default_factory=list)  # docname, tabs, text, digest
    child: forked.Forked | None = None


def plan_site_notebooks(app: Sphinx) -> Plan | None:
    """Every page whose notebooks changed, or are missing; None when the site offers none.
    Unchanged pages keep their manifest entry, and their figures are copied again if edited."""
    if not site_offers_notebooks(app.builder):
        return None
    plan = Plan(
        Path(app.outdir) / SITE_NOTEBOOKS,
        Manifest(Path(app.doctreedir) / "execbook" / f"site-notebooks-{app.builder.name}.json"),
    )
    book = book_digest(app)
    folders = readable_folders(app.srcdir, app.doctreedir, app.config)
    for docname in sorted(app.env.found_docs):
        tabs = app.env.metadata.get(docname, {}).get("execbook_notebook_tabs")
        if tabs is None:  # not a d2l page (no buttons either)
            continue
        text = Path(app.env.doc2path(docname)).read_text(encoding="utf-8", errors="replace")
        signature = page_digest(app, docname, text, list(tabs), book)
        before = plan.manifest.old.get(docname, {})
        if (
            before.get("digest") == signature
            and all((plan.root / tab / f"{docname}.ipynb").is_file() for tab in tabs)
            and recopy_images(before.get("images", []), plan.root, folders)
        ):
            plan.manifest.new[docname] = before
        else:
            plan.pending.append((docname, list(tabs), text, signature))
    return plan


def recopy_images(images: list[list[str]], root: Path, folders: list[Path]) -> bool:
    """Copy a page's figures again where they were edited in place; False (write the page
    anew) when the manifest names a figure outside the book's folders or a copy outside
    ``root``, as one written by an execbook before the boundary check may."""
    for image, copy in images:
        if real_inside_any(folders, image) is None:
            return False
        if Path(image).is_file():
            try:
                copy_if_changed(Path(image), Path(copy), root)
            except OutsideError:
                return False
    return True


def write_planned(app: Sphinx, plan: Plan) -> dict[str, Any]:
    """Write the plan's pages: how many notebooks, their manifest entries, and
    per page that failed, why (JSON, as the forked child hands it back)."""
    refs = References(app.builder, site="../", page_uri=app.builder.get_target_uri)
    outcome: dict[str, Any] = {"written": 0, "entries": {}, "failed": []}
    for docname, tabs, text, signature in plan.pending:
        try:
            count, images = write_page(app, refs, docname, tabs, text, plan.root)
        except Exception as error:  # the rest of the site stands; the link check will name the buttons
            outcome["failed"].append([docname, f"{type(error).__name__}: {error}"])
            continue
        outcome["written"] += count
        outcome["entries"][docname] = {"digest": signature, "images": images}
    return outcome


def start_site_notebooks(app: Sphinx, builder: Any) -> None:
    """On ``write-started``: the environment is final, so the notebooks can be
    written now, by a forked copy of the build, while Sphinx writes the pages."""
    plan = plan_site_notebooks(app)
    if plan is not None and len(plan.pending) >= FORK_AT:
        plan.child = forked.start(lambda: write_planned(app, plan))
    setattr(builder, PLAN, plan)


def write_site_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """On ``build-finished`` of an HTML build: every offered notebook is in the site."""
    plan = getattr(app.builder, PLAN, None)
    if plan is not None:
        delattr(app.builder, PLAN)
    if exception is not None:
        if plan is not None and plan.child is not None:
            plan.child.cancel()
        return
    if plan is None:
        plan = plan_site_notebooks(app)  # a builder that never started writing
        if plan is None:
            return
    outcome = None
    if plan.child is not None:
        answer = plan.child.result()
        if answer is not None:
            outcome, records = answer
            forked.replay(records)
    if outcome is None:  # written here: no child, or it failed (what it wrote is checked again)
        outcome = write_planned(app, plan)
    for docname, reason in outcome["failed"]:
        logger.warning(
            f"its notebooks could not be written ({reason}); please report this to execbook",
            location=docname,
            type="execbook",
            subtype="notebooks",
        )
    plan.manifest.new.update(outcome["entries"])
    plan.manifest.save()
    if outcome["written"]:
        logger.info(f"execbook: wrote {outcome['written']} notebooks into {plan.root}")


def write_page(
    app: Sphinx, refs: References, docname: str, tabs: list[str], text: str, root: Path
) -> tuple[int, list[list[str]]]:
    """One page's notebooks: how many, and the figures copied beside them (original, copy)."""
    source = Path(app.env.doc2path(docname))
    doc = page_document(app, docname, text)
    page = write_download_notebooks(
        app, refs, docname, source, doc, outputs_for(app, docname, doc), root, site_image(app, refs, docname)
    )
    images = {(str(original), str(copy)) for pairs in page.images.values() for original, copy in pairs}
    return len(page.notebooks), [list(pair) for pair in sorted(images)]


def site_image(app: Sphinx, refs: References, docname: str) -> ImageLink:
    """The site's own copy of a figure (``_images/x.svg``, copied there by
    Sphinx for the page) at ``html_baseurl``, so the site holds each image once
    and a downloaded notebook finds it; without a base URL, the image is
    attached to its cell: a path relative to the site would break as soon as
    the notebook leaves it (downloaded alone, opened in Colab)."""
    srcdir = Path(app.srcdir).resolve()
    folder = getattr(app.builder, "imagedir", "_images")

    def link(original: Path) -> str | None:
        if not original.is_relative_to(srcdir):  # an allowed folder beside the book: not in the site
            return ATTACH
        found = app.env.images.get(original.relative_to(srcdir).as_posix())
        if not app.config.html_baseurl:
            return ATTACH
        return refs.site_file(docname, f"{folder}/{found[1]}") if found else ATTACH

    return link


def setup_site_notebooks(app: Sphinx) -> None:
    if has_event(app, "write-started"):
        app.connect("write-started", start_site_notebooks)
    else:  # Sphinx 7.2: its last event before pages are written, with numbers final (only where some page was read)
        app.connect("env-check-consistency", lambda app, env: start_site_notebooks(app, app.builder))
    app.connect("build-finished", write_site_notebooks)
