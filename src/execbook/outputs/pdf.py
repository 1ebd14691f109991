"""``execbook build pdf``: per framework, Sphinx's LaTeX builder, the book's
``post_latex`` script, then ``latexmk -xelatex`` (``latex.typeset``), into
``_build/pdf``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from execbook.book.config import ExecbookConfig
from execbook.book.files import BUILD_DIR
from execbook.outputs.latex import TEX_PACKAGES, explain_failure, missing_tools, run_post_latex, typeset


def missing_tex() -> str | None:
    """What to install when TeX Live is not here, checked before anything is built."""
    missing = missing_tools()
    if not missing:
        return None
    return (
        f"execbook: making PDFs needs TeX Live ({', '.join(missing)} not found); install it with\n"
        f"    sudo apt-get install {TEX_PACKAGES}"
    )


def build_pdfs(
    book: Path, options: ExecbookConfig, sphinx: Callable[..., list[str]], only: str | None, sphinx_args: list[str]
) -> int:
    """One PDF per framework into _build/pdf: <name>.pdf, <name>-<tab>.pdf; ``sphinx``
    makes the sphinx-build command line of this book from its arguments."""
    if only is not None and only not in options.tabs:
        print(f"execbook: --tab {only}: the book's tabs are {', '.join(options.tabs)}", file=sys.stderr)
        return 2
    pdfs = book / BUILD_DIR / "pdf"
    pdfs.mkdir(parents=True, exist_ok=True)
    for tab in [only] if only else options.tabs:
        outdir = book / BUILD_DIR / "latex" / tab
        command = sphinx(
            "-b",
            "latex",
            str(book),
            str(outdir),
            "-d",
            str(book / BUILD_DIR / "doctrees"),
            "-D",
            f"execbook_pdf_tab={tab}",
            "-q",
            *sphinx_args,
        )
        status = subprocess.call(command)
        if status:
            return status
        for tex in sorted(outdir.glob("*.tex")):
            if options.pdf.post_latex:  # d2l-book's hook: `python script book.tex`, from the book's folder
                failure = run_post_latex(options.pdf.post_latex, tex, book)
                if failure:
                    print(f"execbook: {failure}", file=sys.stderr)
                    return 1
            print(f"execbook: typesetting {tex.name} ({tab}) with xelatex")
            done = typeset(tex)
            if not done.ok:
                print(f"execbook: {explain_failure(tex).format()}", file=sys.stderr)
                return 1
            print(f"execbook: {done.passes} xelatex pass{'es' if done.passes != 1 else ''} in {done.seconds:.0f} s")
            target = pdfs / (f"{tex.stem}.pdf" if tab == options.tabs[0] else f"{tex.stem}-{tab}.pdf")
            shutil.copy2(tex.with_suffix(".pdf"), target)
            print(f"wrote {target.relative_to(book)}")
    return 0
