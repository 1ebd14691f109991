"""The notebooks the website offers, written by the HTML build itself.

Every page's *Download the <framework> notebook* button points at
``notebooks/<tab>/<page>.ipynb`` inside the site. The HTML build writes those
files when it finishes (``build-finished``), from the environment it has just
resolved and the execution cache it has just filled: no code runs again, and
``make html`` alone gives a site whose buttons all work. References in them
link to the site's own pages (``../../chapters/x.html#sec``) and figures to
the site's own copies (``../../_images/x.svg``), or both to ``html_baseurl``
when set, so that a downloaded notebook finds them on the published site.

A page's notebooks are written again only when something they are made of
changed: the page's text, its jobs' cache entries, the book's numbers, labels,
titles and bibliography, or the settings. A no-op rebuild (or ``make serve``
after a prose edit elsewhere) rewrites nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book import scan as bookscan
from execbook.book.state import kept_state
from execbook.execute.layout import Layout
from execbook.execute.phase import outputs_for
from execbook.html.theme import SITE_NOTEBOOKS, site_offers_notebooks
from execbook.outputs.export import ImageLink, References, copy_if_changed, write_download_notebooks
from execbook.source.syntax import parse
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


def write_site_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """On ``build-finished`` of an HTML build: every offered notebook is in the site."""
    if exception is not None or not site_offers_notebooks(app.builder):
        return
    root = Path(app.outdir) / SITE_NOTEBOOKS
    refs = References(app.builder, site="../", page_uri=app.builder.get_target_uri)
    manifest = Manifest(Path(app.doctreedir) / "execbook" / f"site-notebooks-{app.builder.name}.json")
    book = book_digest(app)
    written = 0
    for docname in sorted(app.env.found_docs):
        tabs = app.env.metadata.get(docname, {}).get("execbook_notebook_tabs")
        if tabs is None:  # not a d2l page (no buttons either)
            continue
        try:
            written += write_page(app, refs, manifest, docname, list(tabs), book, root)
        except Exception as error:  # the rest of the site stands; the link check will name the buttons
            logger.warning(
                f"its notebooks could not be written ({type(error).__name__}: {error}); please report this to execbook",
                location=docname,
                type="execbook",
                subtype="notebooks",
            )
    manifest.save()
    if written:
        logger.info(f"execbook: wrote {written} notebooks into {root}")


def write_page(
    app: Sphinx, refs: References, manifest: Manifest, docname: str, tabs: list[str], book: str, root: Path
) -> int:
    """One page's notebooks, unless what they are made of is unchanged and
    they are all there; returns how many were written."""
    source = Path(app.env.doc2path(docname))
    text = source.read_text(encoding="utf-8", errors="replace")
    signature = page_digest(app, docname, text, tabs, book)
    before = manifest.old.get(docname, {})
    if before.get("digest") == signature and all((root / tab / f"{docname}.ipynb").is_file() for tab in tabs):
        for image, copy in before.get("images", []):  # a figure edited in place
            if Path(image).is_file():
                copy_if_changed(Path(image), Path(copy))
        manifest.new[docname] = before
        return 0
    doc = parse(text, cfg.get(app.config).tabs, left_out=bookscan.left_out(app))
    page = write_download_notebooks(
        app, refs, docname, source, doc, outputs_for(app, docname, doc), root, site_image(app, refs, docname)
    )
    images = {(str(original), str(copy)) for pairs in page.images.values() for original, copy in pairs}
    manifest.new[docname] = {"digest": signature, "images": sorted(images)}
    return len(page.notebooks)


def site_image(app: Sphinx, refs: References, docname: str) -> ImageLink:
    """The site's own copy of a figure (``_images/x.svg``, copied there by
    Sphinx for the page), so the site holds each image once; at
    ``html_baseurl``, a downloaded notebook shows its figures too."""
    srcdir = Path(app.srcdir).resolve()
    folder = getattr(app.builder, "imagedir", "_images")

    def link(original: Path) -> str | None:
        if not original.is_relative_to(srcdir):
            return None
        found = app.env.images.get(original.relative_to(srcdir).as_posix())
        return refs.site_file(docname, f"{folder}/{found[1]}") if found else None

    return link


def setup_site_notebooks(app: Sphinx) -> None:
    app.connect("build-finished", write_site_notebooks)
