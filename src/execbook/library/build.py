"""The book's library in a build: read its settings once, extract it from every
page when a page changed, write it where kernels and autodoc import it, key
each job by the library code it uses, and list it on a page of the site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import new_document

from execbook.book import config as cfg
from execbook.book.files import book_pages, library_dir
from execbook.book.parsed import page_document
from execbook.book.state import LibrarySettings, kept_state, run_state
from execbook.library.doc_roles import EnvRoles, split_roles
from execbook.library.extract import Library, book_messages, extract_book
from execbook.library.writer import LibrarySpec, write_library
from execbook.source.notebooks import Show, as_written

logger = logging.getLogger(__name__)


def library_spec(app: Sphinx) -> LibrarySpec | None:
    """Read once per build: every page read asks for it (and its alias patterns compile once)."""
    state = run_state(app)
    if state.library is None:
        state.library = LibrarySettings(LibrarySpec.from_option(cfg.get(app.config).library, Path(app.confdir)))
    return state.library.spec


def shown_code(app: Sphinx) -> Show:
    """The code readers see (library aliases rewritten to each framework's API)."""
    spec = library_spec(app)
    return spec.shown if spec is not None and spec.aliases else as_written


def book_libraries(app: Sphinx, env: BuildEnvironment) -> dict[str, Library]:
    """Every framework's library, from the whole book in toc order (every page
    on disk, also those this build leaves out); re-extracted (and its problems
    reported) only when a page or the settings changed."""
    spec = library_spec(app)
    if spec is None:
        return {}
    pages = book_pages(Path(app.srcdir), list(app.config.exclude_patterns))
    stamps = (repr(spec), tuple((name, path.stat().st_mtime_ns) for name, path in pages.items()))
    kept = kept_state(env)
    cached = kept.libraries
    if cached is None or cached[0] != stamps:
        options = cfg.get(app.config)
        docs = {
            name: page_document(app, name, path.read_text(encoding="utf-8", errors="replace"))
            for name, path in pages.items()
        }
        libraries = extract_book(docs, app.config.root_doc, options.tabs)
        for docname, message in book_messages(libraries):
            logger.warning(message.text, location=(docname, message.line), type="execbook", subtype=message.subtype)
        cached = (stamps, libraries)
        kept.libraries = cached
    libraries = cached[1]
    init = Path(app.srcdir) / spec.package / "__init__.py"  # the book's own, with its __version__
    write_library(
        library_dir(app.doctreedir),
        spec,
        libraries,
        headers_from=Path(app.srcdir),
        init=init.read_text(encoding="utf-8") if init.is_file() else None,
    )
    return libraries


def built_libraries(env: BuildEnvironment) -> dict[str, Library]:
    """Every framework's library as the last extraction left it (none yet: empty)."""
    kept = kept_state(env).libraries
    return kept[1] if kept is not None else {}


def library_extras(app: Sphinx, spec: LibrarySpec | None) -> dict[str, str]:
    """Per tab, the module text outside the symbol graph: hand-written header
    and aliases; read from the book's modules once per build, not per page."""
    if spec is None:
        return {}
    library_spec(app)
    settings = run_state(app).library
    assert settings is not None  # read just above
    if settings.extras is None:
        settings.extras = {
            tab: spec.header_for(tab, Path(app.srcdir)) + spec.alias_text(tab) for tab in cfg.get(app.config).tabs
        }
    return settings.extras


LIBRARY_PAGE = "execbook-library"
LIBRARY_TITLE = "Library reference"
LIBRARY_DOCTREE = "_execbook_library_doctree"  # the builder's attribute: the page's text, for the search index


def collect_library_page(app: Sphinx) -> Any:
    """``html-collect-pages``: every saved name per framework, linked to its section;
    roles in docstrings resolved as the prose shows them."""
    spec = library_spec(app)
    libraries = current_libraries(app)
    if spec is None or not libraries:
        return
    options = cfg.get(app.config)
    labels = app.env.domaindata.get("std", {}).get("labels", {})
    roles = EnvRoles(app.env, dict(app.config.numfig_format))
    modules = []
    for tab, library in libraries.items():
        items = []
        for item in library.definitions:
            if not item.names:
                continue
            docname, anchor, title = labels.get(item.section or "", (item.docname, "", ""))
            parts, unresolved = split_roles(item.doc.split("\n\n")[0], roles)
            for role in unresolved:
                logger.warning(
                    f"{role} in the docstring of {item.names[0]} points at nothing this book has; the library "
                    "page shows its target as plain text. Fix the label or citation key",
                    location=(item.docname, item.line),
                    type="execbook",
                    subtype="library",
                )
            items.append(
                {
                    "name": f"{item.owner}.{item.names[0]}" if item.owner else item.names[0],
                    "signature": ("@add_to_class(" + item.owner + ") " if item.owner else "") + item.signature,
                    "doc": parts,
                    "docname": docname,
                    "anchor": anchor,
                    "title": title or docname,
                    "href": bool(anchor),
                }
            )
        modules.append({"tab": tab, "label": options.label(tab), "module": spec.module(tab), "items": items})
    setattr(app.builder, LIBRARY_DOCTREE, search_doctree(spec.package, modules))
    context = {"title": LIBRARY_TITLE, "execbook_library": {"package": spec.package, "modules": modules}}
    yield LIBRARY_PAGE, context, "execbook-library.html"


def search_doctree(package: str, modules: list[dict[str, Any]]) -> nodes.document:
    """The page's words as a doctree: what Sphinx's indexer reads from a page."""
    document = new_document(LIBRARY_PAGE)
    page = nodes.section(ids=["library-reference"])
    page += nodes.title(text=LIBRARY_TITLE)
    page += nodes.paragraph(text=f"The code marked #@save in this book forms the package {package}.")
    for module in modules:
        section = nodes.section(ids=[f"library-{module['tab']}"])
        section += nodes.title(text=f"{module['label']}: {package}.{module['module']}")
        for item in module["items"]:
            section += nodes.paragraph(text=item["signature"] or item["name"])
            doc = "".join(part.text for part in item["doc"])
            if doc:
                section += nodes.paragraph(text=doc)
        page += section
    document += page
    return document


def index_library_page(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: the library page joins the search index. Sphinx indexes only
    pages with a source and prunes the rest as it writes the index, so the page is fed
    to the builder's indexer after that and the index written again."""
    builder = app.builder
    doctree = getattr(builder, LIBRARY_DOCTREE, None)
    indexer = getattr(builder, "indexer", None)
    if exception is not None or doctree is None or indexer is None or not isinstance(builder, StandaloneHTMLBuilder):
        return
    indexer.feed(LIBRARY_PAGE, f"{LIBRARY_PAGE}.html", LIBRARY_TITLE, doctree)
    target = Path(builder.outdir) / builder.searchindex_filename
    temporary = target.with_name(target.name + ".tmp")
    if builder.indexer_dumps_unicode:
        with open(temporary, "w", encoding="utf-8") as stream:
            indexer.dump(stream, builder.indexer_format)
    else:
        with open(temporary, "wb") as binary:
            indexer.dump(binary, builder.indexer_format)
    temporary.replace(target)


READ_THIS_BUILD = "_execbook_libraries_read"  # the builder's attribute: extracted (or checked) once per build


def current_libraries(app: Sphinx) -> dict[str, Library]:
    """The book's libraries as its pages are now, checked once per build: a build that
    runs no code (execute = 'off') extracts nothing before it writes pages."""
    if library_spec(app) is None:
        return {}
    if not getattr(app.builder, READ_THIS_BUILD, False):
        book_libraries(app, app.env)
        setattr(app.builder, READ_THIS_BUILD, True)
    return built_libraries(app.env)


def library_page_href(app: Sphinx, pathto: Any) -> str | None:
    """The link to the library page from the page being written, where the book has one."""
    return pathto(LIBRARY_PAGE) if current_libraries(app) else None
