"""Every warning subtype execbook emits, declared once with what it means.

A warning is ``type="execbook"`` with one of these subtypes; readers silence one
with ``suppress_warnings = ["execbook.<subtype>"]``. The guide's warnings page
is generated from this table (``execbook.cli.reference``), and a test checks
that every subtype the code passes to a logger or a ``Message`` is declared
here, so the page cannot fall behind the code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WarningType:
    subtype: str
    meaning: str  # what went wrong, and what execbook did about it
    stage: str  # where it is raised: page (file:line), build, config or output


WARNING_TYPES: tuple[WarningType, ...] = (
    # the page's source, at file:line
    WarningType("syntax", "a role or marker the dialect cannot read (an empty role, a cite key with spaces)", "page"),
    WarningType(
        "tab", "a tab name not in execbook_tabs, a :begin_tab: without :end_tab:, a code cell of no known tab", "page"
    ),
    WarningType("fence", "a code fence that is never closed", "page"),
    WarningType("comment", "an HTML comment <!-- that is never closed (it hides the rest of the page)", "page"),
    WarningType("outputs", "stored outputs (```{.json .output}) in a source page; they are not used", "page"),
    WarningType("front-matter", "front matter that is not a YAML mapping, or a bad execbook: {timeout: ...}", "page"),
    WarningType("label", ":label: or :eqlabel: in a place it cannot label", "page"),
    WarningType("math", "display math opened with $$ and never closed", "page"),
    WarningType("figure", "a labelled figure without a caption, so it gets no number", "page"),
    WarningType("table", "a labelled table without a caption line, so it gets no number", "page"),
    WarningType(
        "toc", "a toc entry naming no page, an unknown toc option, a toc cycle (its closing entry dropped)", "page"
    ),
    WarningType("encoding", "a page that is not UTF-8 (its line and byte offset); the page is left out", "page"),
    WarningType("ref", ":numref:, :ref: or :eqref: to a label that does not exist (with a 'did you mean')", "page"),
    WarningType("bibliography", "a :bibliography: file that does not exist", "page"),
    WarningType(
        "bibtex",
        "a .bib file that cannot be read (at file.bib:LINE, naming the entry), or a citation url that is not "
        "http, https or mailto (left out)",
        "page",
    ),
    WarningType(
        "outside",
        "a path a page names (image, figure, download, include, :file:) or a linked page that leaves the book; "
        "it is left out and nothing is copied",
        "page",
    ),
    WarningType("image", "an image path that names a folder, not a file; the image is left out", "page"),
    WarningType(
        "library",
        "#@save not on a top-level statement, a name saved twice on one page, a saved cell that does not parse",
        "page",
    ),
    WarningType("api", "the API page cannot import a framework's library module; its tab says what to install", "page"),
    # running the code
    WarningType("cell", "a cell that raised, timed out or killed its kernel (the page keeps the traceback)", "build"),
    WarningType("kernel", "a kernel that could not start (3 tries), or a job that was interrupted", "build"),
    WarningType(
        "cache", "a damaged cache entry (it is run again), or a cache or durations file that cannot be written", "build"
    ),
    WarningType("tree", "a file of the book that could not be copied into the folder the code runs in", "build"),
    WarningType(
        "preload",
        "a page's leading imports start threads, print or touch the GPU, so its kernels start cold instead of forked",
        "build",
    ),
    # settings and outputs
    WarningType("config", "an execbook_* or config.ini value execbook cannot use, at its line", "config"),
    WarningType("header_links", "header links with ###_NAME_### placeholders not filled; they are left out", "config"),
    WarningType("font", "a PDF font fontconfig does not know; a free font is used instead", "output"),
    WarningType("notebooks", "a page's download notebooks could not be written (please report it)", "output"),
)


def subtypes() -> list[str]:
    return [kind.subtype for kind in WARNING_TYPES]
