"""Search that knows tabs: Sphinx's own search (searchindex.js, searchtools.js)
through its extension points.

- Ranking: ``html_search_scorer`` names ``static/execbook-scorer.js``, whose
  ``Scorer.score`` puts a page whose title holds the query first.
- The index does not block the first paint: ``templates/layout.html`` loads
  the search tools deferred and leaves ``searchindex.js`` out;
  ``static/execbook-search.js`` loads it when the reader starts a search.
- Results as you type: the PyData theme's ``search_as_you_type`` option, on
  unless the book sets it.
- A hit in another framework's pane: ``execbook.js`` shows that framework on
  the page the result opens (not stored), and Sphinx highlights the term.
- Snippets carry no tab chrome: ``tabs.py`` writes tab labels as attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from execbook.book.versions import pydata_theme_has_option

SCORER = Path(__file__).parent / "static" / "execbook-scorer.js"


def configure_search(app: Sphinx, config: Any) -> None:
    if not config.html_search_scorer:
        # read by Sphinx relative to the book's folder; an absolute path stays as it is
        config.html_search_scorer = str(SCORER)
    if config.html_theme == "pydata_sphinx_theme" and pydata_theme_has_option("search_as_you_type"):  # theme 0.16+
        options = dict(config.html_theme_options or {})
        options.setdefault("search_as_you_type", True)
        config.html_theme_options = options


def add_search_assets(app: Sphinx) -> None:
    if app.builder.format == "html":
        app.add_js_file("execbook-search.js", loading_method="defer")


def setup_search(app: Sphinx) -> None:
    # after theme.configure (priority 100), which sets html_theme
    app.connect("config-inited", configure_search, priority=600)
    app.connect("builder-inited", add_search_assets)
