"""The website: the page reader MyST-NB calls (``reader``), tab groups and the
switcher (``tabs``), cross-references and citations (``references``), MathJax,
the theme's defaults and page buttons (``theme``, ``theme_checks``), the notebooks pages offer for
download (``site_notebooks``, written beside Sphinx by ``forked``), files from
outside the book (``outside``), toc cycles (``toc_cycles``), the no-op and
held-page shortcuts through Sphinx's extension points (``unchanged``,
``doctrees``), configuration values settled as the build will leave them, so
two builds agree on the configuration (``settled``), and every replacement of another project's function, applied
for one build at a time (``speedups``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphinx.application import Sphinx

HERE = Path(__file__).parent


def setup(app: Sphinx) -> None:
    from execbook.html import (
        doctrees,
        host,
        mathjax,
        outside,
        reader,
        references,
        searchindex,
        settled,
        site_notebooks,
        speedups,
        strict,
        tabs,
        theme,
        toc_cycles,
        unchanged,
    )

    app.setup_extension("myst_nb")
    app.setup_extension("sphinxcontrib.bibtex")
    app.setup_extension("sphinx_copybutton")
    references.register_citation_style()
    references.register_entry_style()

    app.connect("config-inited", theme.configure, priority=100)
    app.connect("config-inited", add_package_paths, priority=100)
    app.connect("config-inited", references.configure_bibtex, priority=100)
    app.connect("config-inited", mathjax.configure_mathjax, priority=100)
    app.connect("config-inited", mathjax.settle_myst_mathjax, priority=900)  # after every myst_ value is set
    app.connect("config-inited", theme.settle_pydata, priority=900)  # after add_package_paths: ours come first
    settled.setup_settled(app)  # values the builder and extensions change later, set as they will be
    app.connect("env-get-outdated", reader.skip_undecodable, priority=100)  # before any code runs for the page
    app.connect("source-read", reader.on_source_read)
    app.connect("env-updated", toc_cycles.break_toc_cycles, priority=100)  # before bibtex walks the toc tree
    app.connect("builder-inited", references.replace_std_ref_warning)
    app.connect("builder-inited", references.citation_list_translator, priority=400)  # before the theme's (500)
    app.connect("builder-inited", theme.ready_for_pydata, priority=400)  # before the theme's (500)
    app.connect("builder-inited", theme.keep_source_tree_clean, priority=900)
    speedups.setup_speedups(app)  # applied at builder-inited, undone at build-finished
    app.connect("warn-missing-reference", references.warn_missing_reference, priority=400)
    app.connect("html-page-context", theme.html_context)
    app.connect("build-finished", mathjax.copy_mathjax)
    tabs.setup_tabs(app)
    site_notebooks.setup_site_notebooks(app)
    outside.setup_outside(app)
    unchanged.setup_unchanged(app)
    doctrees.setup_doctrees(app)
    searchindex.setup_searchindex(app)  # an index a crash left incomplete: every page written again
    strict.setup_strict(app)  # missing references warned again while their page is not rewritten
    host.setup_host(app)  # sitemap, 404, link previews, dates, repository links: from html_baseurl
    app.connect("doctree-resolved", references.figure_images)  # a figure's alt text and full-size link
    app.add_transform(references.NumberEveryEquation)  # math_number_all for MyST's $$ math too


def add_package_paths(app: Sphinx, config: Any) -> None:
    """Our templates and static files sit in the package, not in the book."""
    config.templates_path = [*config.templates_path, str(HERE / "templates")]
    config.html_static_path = [*config.html_static_path, str(HERE / "static")]
