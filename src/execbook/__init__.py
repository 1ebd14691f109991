"""execbook: executable books from d2l-flavoured Markdown, as a Sphinx extension.

The life of a build, in the order Sphinx calls us:

1. ``config-inited``: validate ``execbook_*`` options, fill in MyST-NB, MyST,
   numbering, theme, bibliography and MathJax defaults.
2. ``env-get-outdated``: every page's jobs (one per framework) are keyed;
   those missing from the cache run on the worker pool (``execute``), and
   pages whose outputs changed are re-read.
3. ``source-read``: each ``.md`` page is parsed (``syntax``), its problems are
   reported as ``file:line``, and it becomes a notebook (``notebooks``) with
   the cached outputs merged in, which MyST-NB renders.
4. read-time transform: tabbed cells and ``:begin_tab:`` blocks are grouped
   (``tabs``).
5. write: HTML gets a switcher (``static/execbook.js``); other formats keep one
   tab. MathJax is copied into the site on ``build-finished``, and so are
   the notebooks the pages offer for download (``site_notebooks``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing Sphinx costs 0.4 s, which `execbook build html` of an unchanged book avoids
    from sphinx.application import Sphinx

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).parent


def setup(app: Sphinx) -> dict[str, Any]:
    from execbook import config, d2lbook, export, extension, latex, mathjax, reader, references, site_notebooks, slides, tabs, toc_cycles
    from execbook import bookscan, outside, startup, unchanged, upstream, uptodate
    from execbook.execute import phase, report

    startup.defer_myst_nb_execution()  # before myst_nb is imported
    startup.share_entry_point_scans()
    app.setup_extension("myst_nb")
    startup.write_myst_nb_notebooks_unchecked()
    upstream.apply()  # before any page is read
    app.setup_extension("sphinxcontrib.bibtex")
    app.setup_extension("sphinx_copybutton")
    app.setup_extension("sphinxcontrib.rsvgconverter")  # SVG figures -> PDF for LaTeX
    config.register(app)
    references.register_citation_style()

    app.connect("config-inited", extension.configure, priority=100)
    app.connect("config-inited", add_package_paths, priority=100)
    app.connect("config-inited", references.configure_bibtex, priority=100)
    app.connect("config-inited", mathjax.configure_mathjax, priority=100)
    app.connect("env-get-outdated", reader.skip_undecodable, priority=100)  # before any code runs for the page
    app.connect("env-get-outdated", phase.on_env_get_outdated)
    app.connect("source-read", reader.on_source_read)
    app.connect("env-purge-doc", phase.purge_failures)
    app.connect("env-updated", toc_cycles.break_toc_cycles, priority=100)  # before bibtex walks the toc tree
    app.connect("env-merge-info", phase.merge_failures)
    app.connect("builder-inited", references.replace_std_ref_warning)
    app.connect("builder-inited", extension.keep_source_tree_clean, priority=900)
    app.connect("builder-inited", startup.cache_compiled_templates)
    app.connect("warn-missing-reference", references.warn_missing_reference, priority=400)
    app.connect("html-page-context", extension.html_context)
    app.connect("html-collect-pages", report.collect_report_page)
    app.connect("html-collect-pages", report.collect_library_page)
    app.connect("build-finished", mathjax.copy_mathjax)
    app.connect("build-finished", phase.fail_on_error)
    app.connect("build-finished", uptodate.list_outside_dependencies)
    tabs.setup_tabs(app)
    latex.setup_latex(app)
    export.setup_export(app)
    site_notebooks.setup_site_notebooks(app)
    slides.setup_slides(app)
    d2lbook.setup_d2lbook(app)
    bookscan.setup_bookscan(app)
    outside.setup_outside(app)
    unchanged.setup_unchanged(app)

    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


def add_package_paths(app: Sphinx, cfg: Any) -> None:
    """Our templates and static files sit in the package, not in the book."""
    cfg.templates_path = [*cfg.templates_path, str(PACKAGE_DIR / "templates")]
    cfg.html_static_path = [*cfg.html_static_path, str(PACKAGE_DIR / "static")]
