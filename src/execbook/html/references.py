"""Cross-references and citations: clear messages and bibliography files; figures' alt
text and full-size links; a bibliography that is a list of list items for assistive
technology."""

from __future__ import annotations

import dataclasses
import difflib
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.domains.math import MathDomain
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.matching import Matcher
from sphinx.util.osutil import relative_uri

from execbook.book.files import book_pages
from execbook.source.document import Document, MarkdownCell
from execbook.source.prose import bibliography_lines

logger = logging.getLogger(__name__)


ROLE_HELP = {
    "numref": "add :label:`{target}` right after the heading, figure or table it should point to",
    "ref": "add :label:`{target}` right after the heading it should point to",
    "eq": "add :eqlabel:`{target}` right after the $$ equation $$ it should point to",
}


def _known_labels(env: Any, reftype: str) -> list[str]:
    if reftype == "eq":
        return list(env.domaindata.get("math", {}).get("objects", {}))
    std = env.domaindata.get("std", {})
    return list(std.get("labels", {})) + list(std.get("anonlabels", {}))


D2L_ROLE = {"numref": "numref", "ref": "ref", "eq": "eqref"}


def role_location(node: nodes.Element, target: str) -> nodes.Element | tuple[str, int]:
    """The exact line of the author's role, where MyST only knows its paragraph."""
    source, line = node.source, node.line
    role = f":{D2L_ROLE[node['reftype']]}:`{target}`"
    if not source or not line or not Path(source).is_file():
        return node
    lines = Path(source).read_text(encoding="utf-8", errors="replace").splitlines()
    for number in range(max(line - 1, 0), min(line + 60, len(lines))):
        if role in lines[number]:
            return (node["refdoc"], number + 1)
    return node


def warn_missing_reference(app: Sphinx, domain: Any, node: nodes.Element) -> bool | None:
    """Replace Sphinx's 'undefined label' with one that says what to do."""
    reftype = node.get("reftype")
    if reftype not in ROLE_HELP:
        return None
    target = node.get("reftarget", "")
    role = {"eq": ":eqref:"}.get(reftype, f":{reftype}:")
    if reftype == "ref" and target in app.env.domaindata.get("std", {}).get("anonlabels", {}):
        logger.warning(
            f":ref:`{target}` points at a label that is not on a heading, so it has no title to show; "
            "use :numref: instead, or move the label right after a heading",
            location=node,
            type="execbook",
            subtype="ref",
        )
        return True
    hint = ROLE_HELP[reftype].format(target=target)
    close = difflib.get_close_matches(target, _known_labels(app.env, reftype), n=1)
    maybe = f" (did you mean '{close[0]}'?)" if close else ""
    logger.warning(
        f"{role}`{target}` points at no label{maybe}; fix the name or {hint}",
        location=role_location(node, target),
        type="execbook",
        subtype="ref",
    )
    return True


def replace_std_ref_warning(app: Sphinx) -> None:
    """Our warning for a dangling :ref: replaces Sphinx's, instead of doubling it.

    Sphinx's own listener always runs (``emit_firstresult`` calls every
    listener), so it is disconnected; ours covers both of its cases.
    """
    from sphinx.domains import std

    for listener in list(app.events.listeners.get("warn-missing-reference", [])):
        if listener.handler is std.warn_missing_reference:
            app.disconnect(listener.id)


def register_citation_style() -> None:
    """Author-year citations in round brackets, as textbooks print them.

    sphinxcontrib-bibtex ships author-year with square brackets only; its
    plugin registry is the documented way to add a variant.
    """
    import dataclasses

    from sphinxcontrib.bibtex.plugin import register_plugin
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

    def round_brackets(sep: str = ", ") -> Any:
        style = {"left": "(", "right": ")", "sep": sep, "sep2": sep, "last_sep": sep}
        return dataclasses.field(default_factory=lambda: BracketStyle(**style))

    @dataclasses.dataclass
    class RoundAuthorYearStyle(AuthorYearReferenceStyle):
        bracket_parenthetical: BracketStyle = round_brackets("; ")
        bracket_textual: BracketStyle = round_brackets()
        bracket_author: BracketStyle = round_brackets()
        bracket_label: BracketStyle = round_brackets()
        bracket_year: BracketStyle = round_brackets()

    register_plugin("sphinxcontrib.bibtex.style.referencing", CITATION_STYLE, RoundAuthorYearStyle, force=True)


CITATION_STYLE = "author_year_round"
ENTRY_STYLE = "execbook_plain"  # pybtex's plain style, which never stops a build on an incomplete entry


def register_entry_style() -> None:
    """pybtex's ``plain`` style, but an entry missing a field its type needs
    (an ``@article`` without ``journal``) is shown with what it has, and named
    in a warning, instead of stopping the build with pybtex's FieldIsMissing."""
    from pybtex.plugin import register_plugin
    from pybtex.richtext import Text
    from pybtex.style import FormattedEntry
    from pybtex.style.formatting import toplevel
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.template import FieldIsMissing, field, href, node, optional, sentence, words

    class TolerantStyle(PlainStyle):
        def format_entry(self, label: str, entry: Any, bib_data: Any = None) -> Any:
            try:
                return super().format_entry(label, entry, bib_data=bib_data)
            except FieldIsMissing as missing:
                logger.warning(
                    f"the bibliography entry '{entry.key}' (@{entry.type}) has no {missing.field_name}, which pybtex's "
                    f"plain style needs for its type; add it to the .bib file (shown without it)",
                    type="execbook",
                    subtype="bibtex",
                )
                template = toplevel[
                    optional[sentence[self.format_names("author")]],
                    optional[sentence[field("title")]],
                    optional[sentence[field("year")]],
                ]
                text = template.format_data({"entry": entry, "style": self, "bib_data": bib_data})
                return FormattedEntry(entry.key, text or Text(entry.key), label)

        def format_url(self, e: Any) -> Any:
            return linked_url  # pybtex's words["URL:", href(url)[url]], for safe schemes only

    @node
    def linked_url(children: Any, data: dict[str, Any]) -> Any:
        """The entry's ``url`` as a link, or missing (so ``optional`` drops it)
        when its scheme is not one a reader can safely follow."""
        entry = data["entry"]
        url = entry.fields.get("url")
        if url is None:
            raise FieldIsMissing("url", entry)
        if not safe_url(url):
            logger.warning(
                f"the bibliography entry '{entry.key}' has url {url!r}; only http, https and mailto links are "
                "shown, so it is left out: fix the url in the .bib file",
                type="execbook",
                subtype="bibtex",
            )
            raise FieldIsMissing("url", entry)
        return words["URL:", href(url)[url]].format_data(data)

    register_plugin("pybtex.style.formatting", ENTRY_STYLE, TolerantStyle, force=True)


SAFE_SCHEMES = ("http", "https", "mailto")
# what browsers ignore in a URL before reading its scheme (WHATWG URL: C0 controls and
# spaces around it, tabs and newlines anywhere): "java\tscript:" is javascript:
IGNORED_IN_URL_RE = re.compile(r"[\x00-\x20]")


def safe_url(url: str) -> bool:
    """True for a URL a citation may link to: http, https or mailto, nothing else
    (no javascript:, data:, file:, and no scheme-less relative path)."""
    scheme, colon, _ = IGNORED_IN_URL_RE.sub("", url).partition(":")
    return bool(colon) and scheme.lower() in SAFE_SCHEMES


def bibliography_files(srcdir: Path, pages: Iterable[Path]) -> list[str]:
    """The .bib files that ``pages`` name in ``:bibliography:``, relative to srcdir.

    sphinxcontrib-bibtex needs them in ``bibtex_bibfiles`` before reading
    starts; d2l books name them in the page instead.
    """
    found: list[str] = []
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        if ":bibliography:" not in text:
            continue
        for line, files in bibliography_lines(text):  # not those shown in code
            for bib in files.split(","):
                path = (page.parent / bib.strip()).resolve()
                try:
                    relative = path.relative_to(srcdir.resolve()).as_posix()
                except ValueError:
                    relative = str(path)
                if not path.is_file():  # sphinxcontrib-bibtex would say nothing: every citation just goes unresolved
                    logger.warning(
                        f":bibliography: file {bib.strip()!r} does not exist (looked for {path}); "
                        "fix the name or add the .bib file",
                        location=f"{page}:{line}",
                        type="execbook",
                        subtype="bibliography",
                    )
                elif relative not in found:
                    found.append(relative)
    if not found and (srcdir / "references.bib").is_file():
        found.append("references.bib")
    return found


CITE_ROLE_RE = re.compile(r"\{cite:(?P<kind>[pt])\}`")


def footnote_citations(doc: Document) -> Document:
    """The page's citations as footnotes, listed at its end: for a book with
    no bibliography page (see ``bookscan``), where they would resolve nowhere."""
    cells: list = []
    cites = False
    for cell in doc.cells:
        if isinstance(cell, MarkdownCell) and CITE_ROLE_RE.search(cell.text):
            cites = True
            cell = dataclasses.replace(cell, text=CITE_ROLE_RE.sub(r"{footcite:\g<kind>}`", cell.text))
        cells.append(cell)
    if cites:
        last = max((cell.line for cell in doc.cells), default=1)
        cells.append(MarkdownCell(last, "```{footbibliography}\n```"))
    return dataclasses.replace(doc, cells=cells)


def configure_bibtex(app: Sphinx, config: Config) -> None:
    if not config.bibtex_bibfiles:  # the pages of this book only (not those of books in its subfolders)
        include = Matcher(list(config.include_patterns))
        pages = [
            path
            for name, path in book_pages(Path(app.srcdir), list(config.exclude_patterns)).items()
            if include(f"{name}.md")
        ]
        config.bibtex_bibfiles = bibliography_files(Path(app.srcdir), pages)
    if config.bibtex_bibfiles:
        from execbook.html.bibcheck import readable_bibfiles

        bibfiles = list(config.bibtex_bibfiles)
        readable, back = readable_bibfiles(Path(app.srcdir), Path(app.doctreedir), bibfiles, config.bibtex_encoding)
        if readable != bibfiles:  # sphinxcontrib-bibtex would stop the build with a traceback on the others
            config.bibtex_bibfiles = readable
        if back:
            app.connect("env-get-outdated", read_every_page, priority=100)


def read_every_page(app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """A .bib file the last build left out is readable again: every page is read
    again, so that their citations of its entries resolve."""
    return sorted(env.found_docs - added - changed - removed)


def figure_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """On ``doctree-resolved``: a figure's image takes the figure's caption as its alt
    text (docutils would give its file path) and, on a website, is a link to the image
    file, so a reader can open it full size (Sphinx links only images given a width or
    height). An event handler, not a post-transform: it needs the builder, which a
    transform reaches only through ``app`` (deprecated in Sphinx 9)."""
    builder = app.builder
    website = builder.format == "html" and hasattr(builder, "imagedir")
    for figure in doctree.findall(nodes.figure):
        image = next(iter(figure.findall(nodes.image)), None)
        caption = next(iter(figure.findall(nodes.caption)), None)
        if image is None:
            continue
        if caption is not None and not image.get("alt"):
            image["alt"] = caption.astext()
        found = app.env.images.get(image.get("uri", ""))
        if website and found and not isinstance(image.parent, nodes.reference):
            folder = relative_uri(builder.get_target_uri(docname), getattr(builder, "imagedir"))
            link = nodes.reference("", "", internal=True, refuri=posixpath.join(folder, found[1]))
            image.replace_self(link)
            link.append(image)


class NumberEveryEquation(SphinxTransform):
    """``math_number_all`` for the display math MyST makes itself (``$$ ... $$``, which
    Sphinx's math directive never sees): each unlabelled equation gets a label, a
    number and an id, as the directive gives its own (d2l.ai numbers every one)."""

    default_priority = 500

    def apply(self, **kwargs: Any) -> None:
        if not self.config.math_number_all:
            return
        domain = cast(MathDomain, self.env.get_domain("math"))  # get_domain is typed as any Domain
        for node in list(self.document.findall(nodes.math_block)):
            if node.get("label") or node.get("nowrap"):
                continue
            docname = self.env.docname
            node["docname"] = docname  # as Sphinx's math directive sets it: the LaTeX writer reads it
            node["label"] = f"{docname}:{self.env.new_serialno('sphinx.ext.math#equations')}"
            domain.note_equation(docname, node["label"], location=node)
            node["number"] = domain.get_equation_number_for(node["label"])
            # the id on the node itself, where docutils' PropagateTargets (already run) would put a target's
            node_id = nodes.make_id(f"equation-{node['label']}")
            node["ids"].append(node_id)
            self.document.ids[node_id] = node


class CitationListMixin:
    """Bibliography entries that assistive technology can read: docutils writes the
    entries as ``role="doc-biblioentry"`` inside a ``role="list"`` wrapper, a list
    with no list items (axe: critical ``aria-required-children``; the DPUB role is
    deprecated too). Here each entry is a ``listitem`` of that list."""

    body: list[str]

    def visit_citation(self, node: nodes.Element) -> None:
        if not isinstance(node.previous_sibling(), type(node)):  # the first of a run opens the list
            self.body.append('<div role="list" class="citation-list">\n')
        self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))  # type: ignore[attr-defined]


def citation_list_translator(app: Sphinx) -> None:
    """``builder-inited``, before the theme wraps the translator it finds (PyData, at 500):
    the HTML translator of this builder (another extension's, else Sphinx's) with
    ``CitationListMixin``, through Sphinx's own ``set_translator``."""
    if app.builder.format != "html":
        return
    base = app.registry.translators.get(app.builder.name) or getattr(app.builder, "default_translator_class", None)
    if base is None or issubclass(base, CitationListMixin):
        return
    app.set_translator(app.builder.name, type("ExecbookHTMLTranslator", (CitationListMixin, base), {}), override=True)
