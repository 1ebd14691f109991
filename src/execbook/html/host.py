"""What a host needs from a published book, from one base URL (``html_baseurl``).

With ``html_baseurl`` set, the site gets ``sitemap.xml`` (every page, written
here from the environment, so an incremental build lists the pages it did
not rewrite too: sphinx-sitemap lists only the pages written by the build that
made it) and a ``robots.txt`` pointing at it; Sphinx writes the canonical
link; sphinxext-opengraph the Open Graph/Twitter tags and the meta
description, with the page's first raster figure or the book's logo as image
(Open Graph readers do not show SVG); sphinx-notfound-page a ``404.html``
whose links and assets are absolute paths under the base URL, so it works at
any depth; sphinx-last-updated-by-git the date of the page's last commit, when
the book is in a git work tree. ``execbook_repository_url`` adds an edit
button per page and links to the repository and its issues. d2l-book's
version placeholders in header links are filled from
``execbook_header_placeholders``, or the link is dropped with one warning.

``execbook_version`` makes the site one version among others: its pages live
under ``<html_baseurl><version>/`` (canonical links, sitemap, 404 page and
notebooks say so), the theme's version switcher reads ``switcher.json`` at the
base URL, and the build notes the version for ``execbook deploy``, which
publishes into that folder and writes the switcher file.
"""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book.boundary import checked_write_target, real_path
from execbook.book.config import setdefault
from execbook.book.versions import early_config_value, pydata_theme_has_option
from execbook.outputs.deploy import SWITCHER, VERSION_RE
from execbook.outputs.site_note import write_site_note

logger = logging.getLogger(__name__)

PLACEHOLDER_RE = re.compile(r"###_([A-Z_]+)_###")
GITHUB_URL_RE = re.compile(r"^https://github\.com/(?P<user>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?(?:/tree/(?P<rest>.+))?/?$")
OG_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}  # what link previews show (no SVG)


def base_url(config: Config) -> str:
    """The site's address with one trailing slash, or '' when the book sets none."""
    base = (early_config_value(config, "html_baseurl") or "").strip()  # also while extensions load
    return base.rstrip("/") + "/" if base else ""


def in_git_work_tree(folder: Path) -> bool:
    """Whether ``folder`` is inside a git work tree (a ``.git`` folder or file above it);
    outside one, git-based dates would only warn on every page."""
    return any((parent / ".git").exists() for parent in (folder.resolve(), *folder.resolve().parents))


def setup_host(app: Sphinx) -> None:
    """The maintained extensions, where a base URL says where the site lives;
    ``html_baseurl`` is one of Sphinx's own values, known before extensions load."""
    if base_url(app.config):
        app.setup_extension("notfound.extension")
        app.setup_extension("sphinxext.opengraph")
        if in_git_work_tree(Path(app.srcdir)):
            app.setup_extension("sphinx_last_updated_by_git")
        app.connect("html-page-context", page_image, priority=400)  # before opengraph (500) reads it
        app.connect("html-page-context", note_extra_page)
        app.connect("build-finished", write_sitemap)
    app.connect("build-finished", note_site)  # also without a base URL: forgets an earlier one
    app.connect("config-inited", configure_host, priority=110)  # after theme.configure (100)


def configure_host(app: Sphinx, config: Config) -> None:
    options = cfg.get(config)
    root = base_url(config)
    if options.version:
        versioned_site(app, config, options.version, root)
    base = base_url(config)
    if base:
        setdefault(config, "notfound_urls_prefix", urlparse(base).path or "/")
        setdefault(config, "ogp_site_url", base)
        setdefault(config, "ogp_social_cards", {"enable": False})  # a matplotlib PNG per page otherwise
        if "sphinx_last_updated_by_git" in app.extensions:
            setdefault(config, "git_untracked_show_sourcelink", True)  # a new page keeps its source link
            # a shallow CI clone gives no date, not one warning per page that fails -W
            config.suppress_warnings = [*config.suppress_warnings, "git.too_shallow"]
    if config.html_theme == "pydata_sphinx_theme":
        theme_options = dict(config.html_theme_options or {})
        fill_placeholders(theme_options, options.header_placeholders)
        if options.version:
            version_switcher(theme_options, options.version, root)
        if options.repository_url:
            repository_links(app, config, theme_options, options.repository_url)
        config.html_theme_options = theme_options


def versioned_site(app: Sphinx, config: Config, version: str, root: str) -> None:
    """The pages of version ``version`` live in its folder under the root: every absolute
    URL the build writes (canonical, sitemap, 404 page, notebooks' images) takes it."""
    if not VERSION_RE.fullmatch(version) or version == ".":
        cfg.report_config_error(
            app,
            f"execbook_version: {version!r} cannot be a folder's name on the pages branch; use letters, digits "
            "and '.', '_', '+', '-' (not first), e.g. '2.0'",
        )
    if not root:
        cfg.report_config_error(
            app,
            "execbook_version needs html_baseurl, the address where the pages branch is served "
            "(e.g. 'https://USER.github.io/BOOK/'): switcher.json and each version's pages are found under it",
        )
    config.html_baseurl = f"{root}{version}/"


def version_switcher(theme_options: dict[str, Any], version: str, root: str) -> None:
    """PyData's version switcher in the header, reading the ``switcher.json`` deploy writes."""
    theme_options.setdefault("switcher", {"json_url": f"{root}{SWITCHER}", "version_match": version})
    if pydata_theme_has_option("check_switcher"):
        theme_options.setdefault("check_switcher", False)  # the file exists once deployed; no fetch while building
    navbar_end = list(theme_options.get("navbar_end", ["theme-switcher", "navbar-icon-links"]))
    if "version-switcher" not in navbar_end:
        theme_options["navbar_end"] = ["version-switcher", *navbar_end]


def note_site(app: Sphinx, exception: Exception | None) -> None:
    """Tell ``execbook deploy`` where the site will be served and which version it is."""
    if exception is not None or app.builder.format != "html" or app.builder.name.startswith("epub"):
        return
    write_site_note(real_path(app.outdir), base_url(app.config), cfg.get(app.config).version)


def repository_links(app: Sphinx, config: Config, theme_options: dict[str, Any], url: str) -> None:
    """An edit button per page (the theme's, from html_context) and icon links to the
    repository and its issues. The URL may name a branch and the book's folder
    (``https://github.com/owner/repo/tree/main/book``)."""
    found = GITHUB_URL_RE.match(url.strip())
    if found is None:
        cfg.report_config_error(
            app,
            f"execbook_repository_url: {url!r} is not a GitHub repository URL; write "
            "'https://github.com/OWNER/REPO' (or '.../tree/BRANCH/FOLDER' for a book in a folder of it)",
        )
    branch, _, folder = (found.group("rest") or "main").partition("/")
    repo = f"https://github.com/{found.group('user')}/{found.group('repo')}"
    config.html_context = {
        "github_user": found.group("user"),
        "github_repo": found.group("repo"),
        "github_version": branch,
        "doc_path": folder.strip("/"),
        **(config.html_context or {}),
    }
    theme_options.setdefault("use_edit_page_button", True)
    links = list(theme_options.get("icon_links", []))
    known = {link.get("url") for link in links}
    for name, href, icon in (
        ("Repository", repo, "fa-brands fa-github"),
        ("Open an issue", f"{repo}/issues", "fa-solid fa-circle-exclamation"),
    ):
        if href not in known:
            links.append({"name": name, "url": href, "icon": icon, "type": "fontawesome"})
    theme_options["icon_links"] = links


def fill_placeholders(theme_options: dict[str, Any], values: dict[str, str]) -> None:
    """d2l-book's ``###_NAME_###`` in header links, which d2l's CI rewrote with sed:
    filled from ``execbook_header_placeholders``; a link with a name left unset is
    dropped, with one warning naming what to set."""
    missing: set[str] = set()

    def fill(text: str) -> str:
        def one(found: re.Match[str]) -> str:
            if found.group(1) in values:
                return values[found.group(1)]
            missing.add(found.group(1))
            return found.group(0)

        return PLACEHOLDER_RE.sub(one, text)

    for key in ("icon_links", "external_links"):
        if key not in theme_options:
            continue
        kept = []
        for link in theme_options[key]:
            filled = {name: fill(value) if isinstance(value, str) else value for name, value in link.items()}
            if not any(isinstance(value, str) and PLACEHOLDER_RE.search(value) for value in filled.values()):
                kept.append(filled)
        theme_options[key] = kept
    if missing:
        names = ", ".join(f"{name!r}: '...'" for name in sorted(missing))
        logger.warning(
            f"header links with {', '.join(f'###_{name}_###' for name in sorted(missing))} were left out; "
            f"set execbook_header_placeholders = {{{names}}} in conf.py to fill them "
            "(a config.ini book sets it in [build] sphinx_configs)",
            type="execbook",
            subtype="header_links",
        )


def page_image(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """The image of a page's link preview: its first raster figure, else the book's logo,
    as an absolute URL (opengraph takes ``og:image`` from the page's fields as is)."""
    if doctree is None:
        return
    fields = context.get("meta") or {}
    if "og:image" in fields:
        return
    url = first_figure_url(app, doctree) or logo_url(app)
    if url:
        context["meta"] = {**fields, "og:image": url}


def first_figure_url(app: Sphinx, doctree: nodes.document) -> str | None:
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        found = app.env.images.get(uri)
        if found and Path(uri).suffix.lower() in OG_IMAGE_SUFFIXES:
            return base_url(app.config) + posixpath.join(getattr(app.builder, "imagedir", "_images"), found[1])
    return None


def logo_url(app: Sphinx) -> str | None:
    logo = app.config.html_logo
    if not logo:
        return None
    if "://" in logo:
        return logo
    return f"{base_url(app.config)}_static/{posixpath.basename(logo)}"


NOT_IN_SITEMAP = {"genindex", "search", "py-modindex", "404"}  # no content of their own
EXTRA_PAGES = "_execbook_extra_pages"  # the builder's attribute: pages with no source (the library page)


def note_extra_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Pages without a source (``html-collect-pages``) are written on every build: noted as they are."""
    if doctree is None and pagename not in NOT_IN_SITEMAP and pagename not in app.env.found_docs:
        extra: set[str] = getattr(app.builder, EXTRA_PAGES, set())
        extra.add(pagename)
        setattr(app.builder, EXTRA_PAGES, extra)
        link_preview_of_extra_page(app, pagename, context)


def link_preview_of_extra_page(app: Sphinx, pagename: str, context: dict[str, Any]) -> None:
    """Sphinx gives a canonical link, and sphinxext-opengraph its tags, to pages with a
    source only: the library page gets its canonical link, ``og:url`` and ``og:title`` here."""
    url = base_url(app.config) + app.builder.get_target_uri(pagename)
    context.setdefault("pageurl", url)
    title = html.unescape(re.sub(r"<[^>]+>", "", str(context.get("title") or app.config.project)))
    context["metatags"] = (
        str(context.get("metatags", ""))
        + f'\n<meta property="og:url" content="{html.escape(url)}" />'
        + f'\n<meta property="og:title" content="{html.escape(title)}" />'
        + '\n<meta property="og:type" content="website" />'
    )


def write_sitemap(app: Sphinx, exception: Exception | None) -> None:
    """``sitemap.xml`` of every page the site has, and a ``robots.txt`` naming it."""
    if exception is not None or app.builder.format != "html" or app.builder.name.startswith("epub"):
        return
    base = base_url(app.config)
    outdir = real_path(app.outdir)
    pages = sorted(app.env.found_docs | getattr(app.builder, EXTRA_PAGES, set()))
    urls = "".join(f"  <url><loc>{escape(base + app.builder.get_target_uri(page))}</loc></url>\n" for page in pages)
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"
    )
    write_if_changed(checked_write_target(outdir, outdir / "sitemap.xml"), sitemap)
    if not any((Path(app.confdir) / extra / "robots.txt").exists() for extra in app.config.html_extra_path):
        robots = f"User-agent: *\nAllow: /\n\nSitemap: {base}sitemap.xml\n"  # a book's own robots.txt wins
        write_if_changed(checked_write_target(outdir, outdir / "robots.txt"), robots)


def write_if_changed(path: Path, text: str) -> None:
    """A no-op build leaves the file (and its date) alone."""
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
