"""Downloadable notebooks: one per page and framework, plus a zip per framework.

A Sphinx builder (``-b notebooks``), so every reference is resolved from the
same environment the website uses: ``Section 2.3`` becomes a link to the
site's page and anchor, citations become author-year text, figures and
labelled equations carry their numbers. Code cells come with their outputs
from the execution cache. No d2l or MyST syntax is left in the notebooks.
The HTML build writes the same notebooks into the site, for its download
buttons (``site_notebooks``).

Longer than most modules on purpose: the builder, the reference resolver and the
Markdown rewriting share one resolved environment and one set of page files.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import posixpath
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
from docutils import nodes
from sphinx.builders import Builder
from sphinx.util import logging

from execbook.book import config as cfg
from execbook.book import scan as bookscan
from execbook.book.boundary import (
    OutsideError,
    checked_write_target,
    readable_folders,
    real_inside_any,
    real_path,
)
from execbook.book.state import kept_state
from execbook.execute.phase import outputs_for
from execbook.library.build import shown_code
from execbook.outputs.latex import pdf_name
from execbook.source.document import CodeCell, Document, MarkdownCell, toc_target
from execbook.source.notebooks import Show, as_written, downloadable_notebook, notebook_text, outputs_by_cell
from execbook.source.prose import LABEL_LINE_RE
from execbook.source.slidemarks import resolve_slide_marks
from execbook.source.syntax import parse

logger = logging.getLogger(__name__)

ROLE_RE = re.compile(r"\{(numref|ref|eq|cite:p|cite:t)\}`([^`]*)`")
FENCE_RE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)\s*$",
    re.MULTILINE | re.DOTALL,
)
OPTION_RE = re.compile(r"^:(\w+):\s*(.*)$")


def section_anchors(doctree: nodes.document) -> dict[str, str]:
    """Each id of a page's sections (and of the targets just before them) ->
    the section's key in ``env.toc_secnumbers`` (``""`` for the first)."""
    anchors: dict[str, str] = {}
    sections = list(doctree.findall(nodes.section))
    for index, section in enumerate(sections):
        key = "" if index == 0 else "#" + section["ids"][0]
        for node_id in section["ids"]:
            anchors[node_id] = key
    for target in doctree.findall(nodes.target):
        following = target.next_node(nodes.section, siblings=True, descend=False)
        if following is not None and following["ids"]:
            for node_id in target.get("ids", []) + target.get("refid", "").split():
                anchors.setdefault(node_id, anchors.get(following["ids"][0], ""))
    return anchors


def note_section_anchors(app: Any, doctree: nodes.document) -> None:
    """On ``doctree-read`` (after the other handlers): the page's section
    anchors, kept in the environment, so that the notebooks' section numbers
    need not unpickle each referenced page's doctree again (5 ms a page)."""
    # env.docname, not env.current_document: Sphinx 7.2 has no current_document
    kept_state(app.env).section_anchors[app.env.docname] = section_anchors(doctree)


def purge_section_anchors(app: Any, env: Any, docname: str) -> None:
    kept_state(env).section_anchors.pop(docname, None)


def merge_section_anchors(app: Any, env: Any, docnames: Any, other: Any) -> None:
    theirs = kept_state(other).section_anchors
    kept_state(env).section_anchors.update({docname: theirs[docname] for docname in docnames if docname in theirs})


class References:
    """Resolves labels, numbers and citations against the built environment."""

    def __init__(self, builder: Builder, site: str = "../html/", page_uri: Callable[[str], str] | None = None):
        """``site``: the website's folder seen from the folder that holds the
        notebooks' framework folders (``_build/notebooks`` -> ``../html/``;
        notebooks inside the site: ``../``); ``page_uri``: a page's file in
        the site (default ``docname.html``)."""
        self.env = builder.env
        self.builder = builder
        self.site = site
        self.page_uri = page_uri or (lambda docname: f"{docname}.html")
        self.std = self.env.domaindata.get("std", {})
        self.sections: dict[str, dict[str, str]] = {}

    def site_link(self, here: str, docname: str, anchor: str = "") -> str:
        page = self.page_uri(docname)
        if anchor:  # singlehtml names a page by a fragment of its one file: the anchor replaces it
            page = f"{page.partition('#')[0]}#{anchor}"
        return self.site_file(here, page)

    def site_file(self, here: str, path: str) -> str:
        """A file of the site (``chapters/x.html#id``, ``_images/a.svg``), as the
        notebook of page ``here`` reaches it: at ``html_baseurl``, else relatively."""
        base = self.builder.config.html_baseurl
        if base:
            return f"{base.rstrip('/')}/{path}"
        # from <notebooks>/<tab>/<here>.ipynb up to <notebooks>, then to the site
        return "../" * (here.count("/") + 1) + self.site + path

    def section_anchor(self, docname: str, labelid: str) -> str:
        """The key of toc_secnumbers for the section carrying ``labelid``."""
        anchors = self.sections.get(docname)
        if anchors is None:
            anchors = kept_state(self.env).section_anchors.get(docname)
            if anchors is None:  # read by an execbook that did not note them: from its pickled doctree
                anchors = section_anchors(self.env.get_doctree(docname))
            self.sections[docname] = anchors
        return anchors.get(labelid, "#" + labelid)

    def number(self, kind: str, docname: str, key: str) -> str | None:
        if kind == "section":
            found = self.env.toc_secnumbers.get(docname, {}).get(key)
        else:
            found = self.env.toc_fignumbers.get(docname, {}).get(kind, {}).get(key)
        return ".".join(map(str, found)) if found else None

    def numref(self, here: str, label: str) -> str:
        if label not in self.std.get("labels", {}):
            return label
        docname, labelid, title = self.std["labels"][label]
        link = self.site_link(here, docname, labelid)
        formats = self.builder.config.numfig_format
        for kind in ("figure", "table", "code-block"):
            number = self.number(kind, docname, labelid)
            if number:
                return f"[{formats.get(kind, '%s') % number}]({link})"
        number = self.number("section", docname, self.section_anchor(docname, labelid))
        text = formats.get("section", "Section %s") % number if number else title
        return f"[{text}]({link})"

    def ref(self, here: str, label: str) -> str:
        if label not in self.std.get("labels", {}):
            return label
        docname, labelid, title = self.std["labels"][label]
        return f"[{title}]({self.site_link(here, docname, labelid)})"

    def equation(self, here: str, label: str) -> str:
        found = self.env.domaindata.get("math", {}).get("objects", {}).get(label)
        if not found:
            return f"({label})"
        docname = found[0]
        anchor = "equation-" + nodes.make_id(label)
        number = self.number("displaymath", docname, anchor) or str(found[1])
        return f"[({number})]({self.site_link(here, docname, anchor)})"

    def equation_number(self, docname: str, label: str) -> str | None:
        return self.number("displaymath", docname, "equation-" + nodes.make_id(label))

    def figure_number(self, docname: str, label: str, kind: str) -> str | None:
        return self.number(kind, docname, nodes.make_id(label))

    def citation(self, keys: str, textual: bool) -> str:
        entries = self.env.domaindata.get("cite", {}).get("bibdata")
        parts = []
        for key in (k.strip() for k in keys.split(",") if k.strip()):
            entry = entries.data.entries.get(key) if entries is not None else None
            if entry is None:
                parts.append((key, ""))
                continue
            # as the website's author-year style: the editors of a book without authors, else the key
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            people = [p.last_names[0] if p.last_names else str(p) for p in persons] or [key]
            who = people[0] if len(people) == 1 else " and ".join(people) if len(people) == 2 else f"{people[0]} et al."
            parts.append((who.replace("{", "").replace("}", ""), entry.fields.get("year", "")))
        if textual:
            return ", ".join(f"{who} ({year})" for who, year in parts)
        return "(" + "; ".join(f"{who}, {year}" for who, year in parts) + ")"


def plain_markdown(text: str, here: str, refs: References) -> str:
    """MyST produced by our reader -> Markdown that Jupyter renders: directives
    as Markdown (``DIRECTIVES``), roles as resolved text and links."""

    def directive(match: re.Match[str]) -> str:
        lines = match.group("body").split("\n")
        options = {}
        while lines and OPTION_RE.match(lines[0]):
            key, value = OPTION_RE.match(lines[0]).groups()  # type: ignore[union-attr]
            options[key] = value
            lines.pop(0)
        found = Directive(match.group("name"), match.group("arg").strip(), options, "\n".join(lines).strip())
        render = DIRECTIVES.get(found.name)
        return render(found, here, refs) if render else ""  # eval-rst and other Sphinx-only directives

    def role(match: re.Match[str]) -> str:
        name, body = match.groups()
        if name == "numref":
            return refs.numref(here, body)
        if name == "ref":
            return refs.ref(here, body)
        if name == "eq":
            return refs.equation(here, body)
        return refs.citation(body, textual=name == "cite:t")

    text = LABEL_LINE_RE.sub("", FENCE_RE.sub(directive, text))
    return ROLE_RE.sub(role, resolve_slide_marks(text)).strip("\n")


@dataclass
class Directive:
    """A directive fence of the converter's MyST: ``name``, argument, ``:key: value`` options, content."""

    name: str
    arg: str
    options: dict[str, str]
    content: str


def toctree_markdown(found: Directive, here: str, refs: References) -> str:
    items = []
    for entry in (line.strip() for line in found.content.split("\n") if line.strip()):
        target = toc_target(here, entry)
        title = refs.env.titles.get(target)
        relative = posixpath.relpath(target, posixpath.dirname(here) or ".")
        items.append(f"* [{title.astext() if title else entry}]({relative}.ipynb)")
    return "\n".join(items)


def figure_markdown(found: Directive, here: str, refs: References) -> str:
    label = found.options.get("name")
    number = refs.figure_number(here, label, "figure") if label else None
    caption = found.content if found.name == "figure" else ""
    prefix = f"Fig. {number}: " if number else ""
    return f"![{prefix}{caption}]({found.arg})" + (f"\n\n*{prefix}{caption}*" if caption else "")


def table_markdown(found: Directive, here: str, refs: References) -> str:
    label = found.options.get("name")
    number = refs.figure_number(here, label, "table") if label else None
    title = f"**Table {number}**: {found.arg}\n\n" if number else (f"**{found.arg}**\n\n" if found.arg else "")
    return title + found.content


def math_markdown(found: Directive, here: str, refs: References) -> str:
    label = found.options.get("label")
    number = refs.equation_number(here, label) if label else None
    tag = f" \\tag{{{number}}}" if number else ""
    return f"$$\n{found.content}{tag}\n$$"


DIRECTIVES: dict[str, Callable[[Directive, str, References], str]] = {
    "toctree": toctree_markdown,
    "figure": figure_markdown,
    "image": figure_markdown,
    "table": table_markdown,
    "math": math_markdown,
    "bibliography": lambda found, here, refs: "The bibliography is on the book's website.",
}


def markdown_cell(text: str) -> nbformat.NotebookNode:
    """As ``nbformat.v4.new_markdown_cell``, without its per-cell schema check
    (most of the time a book's notebooks took); execbook makes every part of the notebook."""
    return nbformat.from_dict({"cell_type": "markdown", "metadata": {}, "source": text})


def code_cell(source: str, outputs: list[Any]) -> nbformat.NotebookNode:
    return nbformat.from_dict(
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": outputs, "source": source}
    )


def download_notebooks(
    doc: Document, docname: str, executed: dict[str, Any], refs: References, show: Show = as_written
) -> dict[str, nbformat.NotebookNode]:
    """Per tab, the reader's notebook of a page: one for every framework the
    page offers (``Document.notebook_tabs``, as its download buttons do), even
    one with nothing to show, so that no button points at a missing file."""
    result = {}
    for tab in doc.notebook_tabs:
        outputs = outputs_by_cell(executed[tab]) if tab in executed else {}
        cells = []
        for index, cell in enumerate(doc.cells):
            if isinstance(cell, MarkdownCell):
                if cell.tabs is not None and tab not in cell.tabs:
                    continue
                text = plain_markdown(cell.text, docname, refs)
                if text.strip():
                    cells.append(markdown_cell(text))
            elif isinstance(cell, CodeCell) and tab in cell.tabs:
                source = show(tab, cell.code_for(tab))
                if source.strip():
                    cells.append(code_cell(source, outputs.get(index, [])))
        result[tab] = downloadable_notebook(cells)
    return result


IMPORT_RE = re.compile(r"^\s*(?:from\s+(\w+)[\w.]*\s+import|import\s+(\w+))", re.MULTILINE)


def for_colab(
    notebook: nbformat.NotebookNode, requirements: dict[str, str], header: str, gpu_pattern: str
) -> nbformat.NotebookNode:
    """An install cell for the modules the notebook imports (``!pip install``),
    with ``header`` above it, and a GPU for notebooks whose code has ``gpu_pattern``."""
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    imported = {a or b for a, b in IMPORT_RE.findall(code)}
    installs = [f"!pip install {requirement}" for module, requirement in requirements.items() if module in imported]
    if installs:
        cells = [nbformat.v4.new_code_cell("\n".join(installs))]
        if header:
            cells.insert(0, nbformat.v4.new_markdown_cell(header))
        notebook.cells = cells + notebook.cells
    if gpu_pattern and gpu_pattern in code:
        notebook.metadata["accelerator"] = "GPU"
    return notebook


class WholeBookBuilder(Builder):
    """A builder that reads like any other and writes everything in ``finish``,
    from the pages and the resolved environment (no per-document doctrees)."""

    suffix = ""

    def get_outdated_docs(self) -> list[str]:
        return list(self.env.found_docs)

    def get_target_uri(self, docname: str, typ: str | None = None) -> str:
        return f"{docname}{self.suffix}"

    def prepare_writing(self, docnames: Set[str]) -> None:
        pass

    def write_doc(self, docname: str, doctree: nodes.document) -> None:
        pass

    def write_documents(self, docnames: Set[str]) -> None:
        """Nothing per document: no doctree is read and resolved for a ``write_doc`` that writes nothing."""

    def pages(self) -> Iterator[tuple[str, Path, str, Document, dict[str, Any]]]:
        """Each d2l page: name, file, text, Document, and its executed notebooks per tab."""
        tabs = cfg.get(self.config).tabs
        for name in sorted(self.env.found_docs):
            path = Path(self.env.doc2path(name))
            if path.suffix == ".md":
                text = path.read_text(encoding="utf-8")
                doc = parse(text, tabs, left_out=bookscan.left_out(self.app))
                yield name, path, text, doc, outputs_for(self.app, name, doc)


if not hasattr(Builder, "write_documents"):
    # Sphinx before 8.1 has no write_documents (since then ``write`` is final and calls it): there,
    # our own ``write`` does nothing per document (not a patch of Sphinx: a method of our class)
    def _write_nothing(self: WholeBookBuilder, *args: Any, **kwargs: Any) -> None:
        """Nothing per document."""

    setattr(WholeBookBuilder, "write", _write_nothing)


IMAGE_RE = re.compile(r"(!\[[^\]]*\]\()([^)\s]+)(\))")


def copy_if_changed(source: Path, copy: Path, root: Path) -> None:
    """Images are copied again only when they changed (a no-op build writes nothing).
    ``copy`` must lie inside ``root`` (``OutsideError`` before anything is written)."""
    copy = checked_write_target(root, copy)
    try:
        there, here = copy.stat(), source.stat()
        if there.st_size == here.st_size and there.st_mtime_ns == here.st_mtime_ns:
            return
    except FileNotFoundError:
        pass
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, copy)


def copy_name(original: Path, folders: list[Path]) -> PurePosixPath:
    """Where the copy of an image goes, below its framework's folder: its path in the book
    (``img/x.svg``), never the path the page spelled, so no ``..`` can lead the copy out;
    one from an allowed folder beside the book under ``_files/<folder>/``."""
    for index, folder in enumerate(folders):
        if original.is_relative_to(folder):
            relative = PurePosixPath(original.relative_to(folder).as_posix())
            return relative if index == 0 else PurePosixPath("_files", folder.name) / relative
    raise OutsideError(f"{original} is in none of the book's folders")


@dataclass
class PageFiles:
    """What ``write_download_notebooks`` wrote for one page."""

    notebooks: dict[str, Path] = field(default_factory=dict)  # per tab
    images: dict[str, list[tuple[Path, Path]]] = field(default_factory=dict)  # per tab: (the book's image, its copy)

    def files(self, tab: str) -> list[Path]:
        return [self.notebooks[tab], *(copy for _, copy in self.images.get(tab, []))]


ImageLink = Callable[[Path], "str | None"]  # the book's image file -> where a notebook finds it, or None: copy it
ATTACH = "attachment:"  # what an ImageLink answers for an image carried inside the notebook itself


def attach(cell: nbformat.NotebookNode, original: Path) -> str:
    """The image as an attachment of its markdown cell (base64, nbformat's ``attachments``):
    a notebook downloaded alone, or opened in Colab, shows it with no file beside it."""
    mime = mimetypes.guess_type(original.name)[0] or "application/octet-stream"
    name = original.name
    cell.setdefault("attachments", {})[name] = {mime: base64.b64encode(original.read_bytes()).decode("ascii")}
    return ATTACH + name


def book_path(image: str, page_folder: Path, book: Path) -> str:
    """Where an image lies in the book: ``../img/x.svg`` on ``chapter_a/page.md`` is
    ``img/x.svg``, the path d2l-book matched replace_svg_url's prefix against; the image
    as spelled where the page is not inside the book."""
    try:
        folder = real_path(page_folder).relative_to(book)
    except ValueError:
        return image
    return posixpath.normpath(posixpath.join(folder.as_posix(), image))


def replaced_url(image: str, rules: list[tuple[str, str]]) -> str | None:
    """d2l-book's ``[colab] replace_svg_url``: an image under a prefix of the book
    (``img/x.svg``, see ``book_path``) shown from a URL (``https://d2l.ai/_images/x.svg``)."""
    for prefix, url in rules:
        prefix = prefix.strip().strip("/")
        if prefix and image.startswith(prefix + "/"):
            return f"{url.rstrip('/')}/{image[len(prefix) + 1 :]}"
    return None


def place_images(
    notebook: nbformat.NotebookNode,
    source: Path,
    target: Path,
    image_link: ImageLink | None,
    copies: list[tuple[Path, Path]],
    folders: list[Path],
    tab_root: Path,
    rules: list[tuple[str, str]] | None = None,
) -> None:
    """Each local image a markdown cell shows: from a URL where one of ``rules``
    (``replaced_url``) applies, else linked where ``image_link`` finds it (or attached
    to its cell, where it answers ``ATTACH``), else copied into ``tab_root`` at its
    place in the book and linked from the notebook (``../img/x.svg``). ``folders``: those a page may take
    files from (``boundary.readable_folders``), the book's first; an image in
    none of them (``../secret.png``, a link to one) was reported when the page
    was read: its alt text stays, nothing is copied."""

    def place(match: re.Match[str], cell: nbformat.NotebookNode) -> str:
        image = match.group(2)
        if "://" in image or image.startswith("data:"):
            return match.group(0)
        url = replaced_url(book_path(image, source.parent, folders[0]), rules) if rules else None
        if url is not None:
            return match.group(1) + url + match.group(3)
        original = real_inside_any(folders, source.parent / image)
        if original is None:
            return match.group(1)[2:-2]  # the alt text
        if not original.is_file():
            return match.group(0)
        link = image_link(original) if image_link else None
        if link == ATTACH:
            link = attach(cell, original)
        elif link is None:
            copy = tab_root / copy_name(original, folders)
            copy_if_changed(original, copy, tab_root)
            copies.append((original, copy))
            link = posixpath.relpath(copy.as_posix(), target.parent.as_posix())
        return match.group(1) + link + match.group(3)

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = IMAGE_RE.sub(functools.partial(place, cell=cell), cell.source)


def write_download_notebooks(
    app: Any,
    refs: References,
    docname: str,
    source: Path,
    doc: Document,
    executed: dict[str, Any],
    root: Path,
    image_link: ImageLink | None = None,
) -> PageFiles:
    """A page's notebooks into ``root/<tab>/<docname>.ipynb``, with their
    images (``place_images``). A notebook whose text did not change is left alone."""
    options = cfg.get(app.config)
    written = PageFiles()
    folders = readable_folders(app.srcdir, app.doctreedir, app.config)
    for tab, notebook in download_notebooks(doc, docname, executed, refs, shown_code(app)).items():
        notebook = for_colab(notebook, options.install.get(tab, {}), options.install_header, options.colab_gpu)
        for number, cell in enumerate(notebook.cells):  # numbered again after the install cell (downloadable_notebook)
            cell["id"] = f"cell-{number}"
        target = checked_write_target(root, root / tab / f"{docname}.ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        copies = written.images.setdefault(tab, [])
        place_images(notebook, source, target, image_link, copies, folders, root / tab, options.colab_svg_url)
        text = notebook_text(notebook) + "\n"  # nbformat.writes' text, without its schema check and deep copy
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.notebooks[tab] = target
    return written


class NotebooksBuilder(WholeBookBuilder):
    """``sphinx-build -b notebooks``: .ipynb per page and framework, and zips.

    Their references link to the site in ``../html`` (or ``html_baseurl``);
    the website's own copies are written by the HTML build (``site_notebooks``)."""

    name = "notebooks"
    format = "notebooks"
    suffix = ".ipynb"
    epilog = "The notebooks are in %(outdir)s."

    def finish(self) -> None:
        options = cfg.get(self.config)
        refs = References(self)
        outdir = real_path(self.outdir)  # the notebooks' paths are real ones (checked_write_target)
        name = pdf_name(self.config)
        written: dict[str, list[Path]] = {tab: [] for tab in options.tabs}
        for docname, source, _, doc, executed in self.pages():
            page = write_download_notebooks(self.app, refs, docname, source, doc, executed, outdir)
            for tab in page.notebooks:
                written[tab] += page.files(tab)
        for tab, files in written.items():
            archive = checked_write_target(outdir, outdir / f"{name}-{tab}.zip")
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
                for path in sorted(set(files)):
                    bundle.write(path, path.relative_to(outdir / tab).as_posix())
            logger.info(f"execbook: wrote {len(files)} files for {tab} into {archive.name}")


def setup_export(app: Any) -> None:
    app.add_builder(NotebooksBuilder)
    app.connect("doctree-read", note_section_anchors, priority=900)
    app.connect("env-purge-doc", purge_section_anchors)
    app.connect("env-merge-info", merge_section_anchors)
