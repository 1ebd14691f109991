"""One typeset book per framework: LaTeX settings, front matter, readable failures.

Sphinx's LaTeX builder does the typesetting; this module chooses xelatex and
fonts, keeps one framework (``tabs.KeepOneTab`` reads ``execbook_pdf_tab``),
leaves front-matter chapters unnumbered as on the website, and turns a
LaTeX failure into the error lines and the page they came from.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms.post_transforms import SphinxPostTransform

from execbook import config as cfg
from execbook.extension import setdefault

TEX_PACKAGES = "latexmk texlive-xetex texlive-fonts-recommended texlive-latex-extra fonts-freefont-otf xindy"
DEFAULT_FONTS = {"main": "FreeSerif", "sans": "FreeSans", "mono": "FreeMono"}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "book"


def pdf_name(config: Config) -> str:
    return cfg.get(config).pdf.get("name") or slug(config.project)


def configure_latex(app: Sphinx, config: Config) -> None:
    """On config-inited: xelatex, fonts, paper, wrapping code, the book's preamble."""
    options = cfg.get(config).pdf
    fonts = {**DEFAULT_FONTS, **options.get("fonts", {})}
    setdefault(config, "latex_engine", "xelatex")
    setdefault(
        config, "latex_documents",
        [(config.root_doc, f"{pdf_name(config)}.tex", config.project, config.author or "", "manual")],
    )
    elements = dict(config.latex_elements or {})
    elements.setdefault("papersize", options.get("paper", "a4paper"))
    elements.setdefault("pointsize", "11pt")
    elements.setdefault(
        "fontpkg",
        "\\setmainfont{%(main)s}\n\\setsansfont{%(sans)s}\n\\setmonofont{%(mono)s}[Scale=MatchLowercase]\n" % fonts,
    )
    # long code and output lines wrap, even inside long tokens, instead of running off the page
    elements.setdefault("sphinxsetup", "verbatimforcewraps=true, verbatimmaxunderfull=0, verbatimhintsturnover=false")
    elements["preamble"] = elements.get("preamble", "") + "\n" + options.get("preamble", "")
    config.latex_elements = elements


def mark_front_matter(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Chapters outside numbered tocs stay unnumbered in the PDF, as on the site.

    Sphinx's LaTeX writer numbers every chapter; the website numbers only
    pages under a ``:numbered:`` toc. Each inlined page starts with a
    ``start_of_file`` node, before which the section numbering is switched.
    """
    if app.builder.format != "latex":
        return
    numbered_now: bool | None = None
    for start in list(doctree.findall(addnodes.start_of_file)):
        numbered = bool(app.env.toc_secnumbers.get(start["docname"]))
        if numbered != numbered_now:
            depth = 2 if numbered else -1
            start.parent.insert(start.parent.index(start), nodes.raw("", f"\\setcounter{{secnumdepth}}{{{depth}}}\n", format="latex"))
            numbered_now = numbered


class PlainCaptions(SphinxPostTransform):
    """Links inside figure and table captions become plain text in LaTeX.

    A caption is a moving argument (it goes to the list of figures), where
    hyperref's links break the build ("Argument of \\Hy@tempa has an extra }").
    """

    default_priority = 900
    formats = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for caption in list(self.document.findall(nodes.caption)):
            for node in list(caption.findall(lambda n: isinstance(n, (nodes.reference, nodes.inline)))):
                if node.parent is not None:
                    node.parent.replace(node, nodes.Text(node.astext()))


@dataclass
class LatexFailure:
    tex: Path
    page: str | None
    lines: list[str]

    def format(self) -> str:
        where = f" in page {self.page}" if self.page else ""
        body = "\n".join(f"    {line}" for line in self.lines)
        return f"LaTeX failed{where} ({self.tex}):\n{body}"


def explain_failure(tex: Path) -> LatexFailure:
    """The first error of the LaTeX log with its context, and the page whose
    LaTeX holds the failing line (Sphinx labels each page's start)."""
    log = tex.with_suffix(".log")
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    lines = text.splitlines()
    found: list[str] = []
    tex_line = None
    for number, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^\S+\.tex:\d+: ", line):
            found = lines[number : number + 8]
            match = re.match(r"^\S+\.tex:(\d+): ", line)
            for follow in lines[number : number + 12]:
                at = re.match(r"^l\.(\d+)", follow)
                if at:
                    tex_line = int(at.group(1))
                    break
            if match and tex_line is None:
                tex_line = int(match.group(1))
            break
    if not found:
        found = lines[-15:] or ["(no LaTeX log was written)"]
    return LatexFailure(tex, page_at(tex, tex_line), [line for line in found if line.strip()])


def page_at(tex: Path, line: int | None) -> str | None:
    if line is None or not tex.is_file():
        return None
    page = None
    for number, text in enumerate(tex.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if number > line:
            break
        match = re.search(r"\\label\{\\detokenize\{([^}]*)::doc\}\}", text)
        if match:
            page = match.group(1)
    return page


def missing_tools() -> list[str]:
    return [tool for tool in ("xelatex", "latexmk") if shutil.which(tool) is None]


def setup_latex(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", configure_latex, priority=200)
    app.connect("doctree-resolved", mark_front_matter)
    app.add_post_transform(PlainCaptions)
    return {}
