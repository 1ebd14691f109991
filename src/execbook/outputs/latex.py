"""One typeset book per framework: LaTeX settings, front matter, readable failures.

Sphinx's LaTeX builder does the typesetting; this module chooses xelatex and
fonts, keeps one framework (``tabs.KeepOneTab`` reads ``execbook_pdf_tab``),
leaves front-matter chapters unnumbered as on the website, and turns a
LaTeX failure into the error lines and the page they came from.

Longer than most modules on purpose: the LaTeX settings, the typesetting passes
and the explanation of a failure all read the same files of one build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sphinx
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinxcontrib.rsvgconverter import RSVGConverter  # 1.2 is one module, 2.x a package: both export it here

from execbook.book import config as cfg
from execbook.book.config import setdefault
from execbook.book.files import BUILD_DIR
from execbook.outputs import fonts, latex_style

TEX_PACKAGES = "latexmk texlive-xetex texlive-fonts-recommended texlive-latex-extra fonts-freefont-otf xindy"
DEFAULT_FONTS = {"main": "FreeSerif", "sans": "FreeSans", "mono": "FreeMono"}
logger = logging.getLogger(__name__)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "book"


def pdf_name(config: Config) -> str:
    return cfg.get(config).pdf.name or slug(config.project)


def configure_latex(app: Sphinx, config: Config) -> None:
    """On config-inited: xelatex, fonts, paper, wrapping code, the book's preamble."""
    options = cfg.get(config).pdf
    fonts = {**DEFAULT_FONTS, **options.fonts}
    setdefault(config, "latex_engine", "xelatex")
    setdefault(
        config,
        "latex_documents",
        [(config.root_doc, f"{pdf_name(config)}.tex", config.project, config.author or "", "manual")],
    )
    elements = dict(config.latex_elements or {})
    elements.setdefault("papersize", options.paper)
    elements.setdefault("pointsize", "11pt")
    elements.setdefault("fontpkg", font_package(fonts))
    # long code and output lines wrap, even inside long tokens, instead of running off the page
    elements.setdefault("sphinxsetup", "verbatimforcewraps=true, verbatimmaxunderfull=0, verbatimhintsturnover=false")
    elements["preamble"] = INLINE_CODE_BREAKS + elements.get("preamble", "") + "\n" + options.preamble
    config.latex_elements = elements


# Inline code may break after _ - ( as well as where Sphinx lets it (. , ; ? ! / and spaces): a long
# name (execbook_kernel_start_timeout, make check-links, tab.selected('pytorch')) in a narrow table
# column ran off the page. \sphinxcode is the macro Sphinx's LaTeX customization offers for inline
# code; the \sphinxupquote inside it reads the code again, with \_, the hyphen and the list of
# breaking characters as set here (all local to the code). First in the preamble: a book may redefine.
INLINE_CODE_BREAKS = r"""
\makeatletter
\def\execbook@underscore{\discretionary{\char`\_}{}{\char`\_}}
\def\execbook@hyphen#1{\discretionary{-}{}{-}}
\protected\def\sphinxcode#1{\texttt{\let\_\execbook@underscore
  \let\sphinxhyphenininlineliteral\execbook@hyphen
  \expandafter\def\expandafter\sphinxbreaksafteractivelist\expandafter{\sphinxbreaksafteractivelist\do\(}#1}}
\makeatother
"""


def font_package(fonts: dict[str, str]) -> str:
    return "\\setmainfont{%(main)s}\n\\setsansfont{%(sans)s}\n\\setmonofont{%(mono)s}[Scale=MatchLowercase]\n" % fonts


# a class other than Sphinx's own (a style archive's) lacks what sphinxmanual.cls adds to its base class
FOREIGN_CLASS_PREAMBLE = r"""
\makeatletter
\@ifundefined{sphinxthebibliography}{\newenvironment{sphinxthebibliography}[1]{\begin{thebibliography}{#1}}{\end{thebibliography}}}{}
\@ifundefined{sphinxtheindex}{\newenvironment{sphinxtheindex}{\begin{theindex}}{\end{theindex}}}{}
% the class's \maketitle, keeping the title for Sphinx's running heads (LaTeX's classes empty it)
\newcommand\sphinxclassmaketitle{\let\sphinx@classtitle\@title\maketitle\global\let\@title\sphinx@classtitle}
\makeatother
"""
FOREIGN_CLASS_ELEMENTS = {"maketitle": "\\sphinxclassmaketitle", "tableofcontents": "\\tableofcontents", "fncychap": ""}


def prepare_latex_build(app: Sphinx) -> None:
    """On builder-inited, LaTeX builds only: installed fonts (a missing one is
    warned about at its setting and replaced), and the style archive's class."""
    if app.builder.format != "latex":
        return
    options = cfg.get(app.config).pdf
    elements = dict(app.config.latex_elements or {})
    changes: dict[str, str] = {}
    wanted = {**DEFAULT_FONTS, **options.fonts}
    if elements.get("fontpkg") == font_package(wanted):  # ours, not a hand-written fontpkg
        chosen, replaced = fonts.choose(wanted)
        for role, font, fallback in replaced:
            instead = f"typesetting with {fallback} instead" if fallback else "no fallback font is installed either"
            logger.warning(
                f"the {role} font {font!r} is not installed (fontconfig does not know it, so xelatex cannot "
                f"load it); {instead}. Install the font, or name an installed one (fc-list : family)",
                location=setting_location(app, f"{role}_font", font),
                type="execbook",
                subtype="font",
            )
        if chosen != wanted:
            changes["fontpkg"] = font_package(chosen)
    if options.style:
        try:
            changes.update(use_style(app, options))
        except latex_style.StyleError as error:
            key = "latex_archive" if options.latex_archive or os.environ.get(latex_style.ARCHIVE_ENV) else "latex_url"
            where = setting_location(app, key, getattr(options, key))
            logger.error(f"{where}: {error}" if where else str(error), type="execbook", subtype="config")
            raise SystemExit(2) from None
    if changes:
        elements.update(changes)
        app.config.latex_elements = elements
        app.builder.context.update(changes)  # type: ignore[attr-defined]  # read from latex_elements before builder-inited


def use_style(app: Sphinx, options: cfg.PdfOptions) -> dict[str, str]:
    """The style archive's files go next to the .tex (latex_additional_files) and its class becomes the
    document's (the theme of latex_documents, as d2l-book's conf.py sets 'PT1' for style = cambridge)."""
    url = options.latex_url
    base = (
        Path(app.config.execbook_ini_file).parent if getattr(app.config, "execbook_ini_file", "") else Path(app.confdir)
    )
    local = latex_style.override(options.latex_archive, base)
    if not url and local is None:
        raise latex_style.StyleError(
            f"style = {options.style} needs the style archive: set latex_url (or latex_archive, a local copy)"
        )
    unpacked = latex_style.fetch(url, Path(app.srcdir) / BUILD_DIR / "latex-styles", local)
    sphinx_files = {path.name.removesuffix(".jinja") for path in (Path(sphinx.__file__).parent / "texinputs").iterdir()}
    keep = sphinx_files | {"sphinxmessages.sty", "sphinxhighlight.sty", "Makefile", "latexmkrc", "make.bat"}
    files = latex_style.style_files(unpacked, keep)
    docclass = latex_style.document_class(files, options.style, url or str(local))
    app.config.latex_additional_files = [*app.config.latex_additional_files, *(str(path) for path in files)]
    app.config.latex_documents = [(*entry[:4], docclass, *entry[5:]) for entry in app.config.latex_documents]
    elements = app.config.latex_elements or {}
    changes = {key: value for key, value in FOREIGN_CLASS_ELEMENTS.items() if key not in elements}
    changes["preamble"] = FOREIGN_CLASS_PREAMBLE + elements.get("preamble", "")
    logger.info(
        f"execbook: typesetting with the class {docclass} of the style archive {url or local} ({len(files)} files)"
    )
    return changes


def setting_location(app: Sphinx, key: str, value: str) -> str | None:
    """config.ini's line of ``key =``, or conf.py's line that holds ``value`` (else its execbook_pdf line)."""
    ini = getattr(app.config, "execbook_ini_file", "")
    conf = Path(ini) if ini else Path(app.confdir) / "conf.py"
    if not conf.is_file():
        return None
    lines = conf.read_text(encoding="utf-8", errors="replace").splitlines()
    if ini:
        patterns = [rf"^\s*{re.escape(key)}\s*="]
    else:
        patterns = ([rf"[\"']{re.escape(value)}[\"']"] if value else []) + [r"^\s*execbook_pdf\s*="]
    for pattern in patterns:
        for number, line in enumerate(lines, 1):
            if re.search(pattern, line):
                return f"{conf}:{number}"
    return str(conf)


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
            start.parent.insert(
                start.parent.index(start), nodes.raw("", f"\\setcounter{{secnumdepth}}{{{depth}}}\n", format="latex")
            )
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


def run_post_latex(script: str, tex: Path, book: Path) -> str | None:
    """d2l-book's hook: ``python script book.tex`` from the book's folder. None when it
    succeeds; else what went wrong: the script's error line, its own file:line, the
    Python that ran it, and for a module that is not installed, what to install."""
    python = sys.executable
    done = subprocess.run([python, script, str(tex)], cwd=book, stderr=subprocess.PIPE, text=True, errors="replace")
    if done.returncode == 0:
        sys.stderr.write(done.stderr)
        return None
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    error = lines[-1].strip() if lines else f"it exited with status {done.returncode} and printed no error"
    frames = re.findall(r'^\s*File "([^"]+)", line (\d+)', done.stderr, re.MULTILINE)
    own = [(file, line) for file, line in frames if Path(book, file).resolve() == Path(book, script).resolve()]
    where = f"{os.path.normpath(own[-1][0])}:{own[-1][1]}" if own else script
    message = [f"the post_latex script {script} failed on {tex}", f"    {where}: {error}", f"    (run by {python})"]
    missing = re.search(r"No module named '([\w.]+)'", error)
    if missing and error.startswith(("ModuleNotFoundError", "ImportError")):
        module = missing.group(1).split(".")[0]
        message.append(
            f"    the script imports {module}, which is not installed for that Python; install it with\n"
            f"        {python} -m pip install {module}\n"
            f"    (pip's name for it may differ from the module's)"
        )
    return "\n".join(message)


@dataclass
class Typeset:
    ok: bool
    passes: int  # xelatex runs
    seconds: float


XINDYOPTS_RE = re.compile(r"^(?:export\s+)?XINDYOPTS\s*\+?=\s*(.*)$", re.MULTILINE)
DEFAULT_XINDYOPTS = "-L english -C utf8 -M sphinx.xdy"


def xindy_options(makefile: Path) -> str:
    """The xindy options Sphinx's Makefile exports for the index (language,
    sphinx.xdy): Sphinx's latexmkrc reads them from the environment, and
    latexmk run without ``make`` has none, so xindy falls back to latin9 and
    stops ("LANG/GENERAL/LATIN9-LANG.XDY has no value") on any book with an
    index entry (autodoc adds one per documented name)."""
    text = makefile.read_text(encoding="utf-8", errors="replace") if makefile.is_file() else ""
    parts = [part.strip() for part in XINDYOPTS_RE.findall(text) if part.strip()]
    return " ".join(parts) or DEFAULT_XINDYOPTS


def typeset(tex: Path) -> Typeset:
    """latexmk with xelatex into .xdv files, turned into a PDF once at the end (``-xelatex``,
    pdf_mode 5) instead of a PDF per pass (``-pdf``, what Sphinx's Makefile and d2l-book's
    ``make`` run), as many passes as the cross-references need. Its output goes to
    ``<name>.latexmk.log`` beside the .tex."""
    env = {
        **os.environ,
        "LATEXOPTS": "-halt-on-error -interaction=nonstopmode -file-line-error",
        "XINDYOPTS": os.environ.get("XINDYOPTS") or xindy_options(tex.parent / "Makefile"),
    }
    log = tex.with_name(f"{tex.stem}.latexmk.log")
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            ["latexmk", "-xelatex", "-dvi-", "-ps-", tex.name],
            cwd=tex.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = log.read_text(encoding="utf-8", errors="replace")
    passes = len(re.findall(r"^Run number \d+ of rule '(?:xe|pdf|lua)?latex", text, re.MULTILINE))
    return Typeset(done.returncode == 0, passes, time.monotonic() - start)


class KeptSvgConversions(RSVGConverter):
    """SVG figures converted to PDF once, not on every LaTeX build.

    sphinxcontrib-rsvgconverter converts every SVG on every build, and each
    new PDF carries a new creation date, so latexmk sees changed figures and
    runs xelatex again even when nothing changed. A conversion newer than
    its SVG is kept (it lives under the doctrees folder, shared with the
    website build). This runs just before that converter (priority 9 < 10),
    which then finds no SVG left to convert.
    """

    default_priority = RSVGConverter.default_priority - 1

    def convert(self, _from: str | os.PathLike[str], _to: str | os.PathLike[str]) -> bool:
        source, target = Path(_from), Path(_to)
        if target.is_file() and target.stat().st_size > 0 and target.stat().st_mtime >= source.stat().st_mtime:
            return True
        return bool(super().convert(_from, _to))


def missing_tools() -> list[str]:
    return [tool for tool in ("xelatex", "latexmk") if shutil.which(tool) is None]


def setup_latex(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", configure_latex, priority=200)
    app.connect("builder-inited", prepare_latex_build)
    app.connect("doctree-resolved", mark_front_matter)
    app.add_post_transform(PlainCaptions)
    app.add_post_transform(KeptSvgConversions)
    return {}
