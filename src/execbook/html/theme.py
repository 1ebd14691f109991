"""Book-wide Sphinx settings that execbook chooses for the author.

Values the author set in ``conf.py`` always win; these fill in the rest so
that a d2l book needs only ``extensions = ["execbook"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging
from sphinx.util.matching import Matcher
from sphinx.writers.html5 import HTML5Translator

from execbook.book import config as cfg
from execbook.book.config import report_config_error, setdefault, user_set
from execbook.book.files import EXCLUDE
from execbook.html.references import CITATION_STYLE, ENTRY_STYLE
from execbook.library.build import library_page_href

logger = logging.getLogger(__name__)

MYST_EXTENSIONS = ["dollarmath", "colon_fence", "amsmath", "html_image", "substitution"]


def configure(app: Sphinx, config: Config) -> None:
    """On config-inited, before MyST-NB and the theme read their settings."""
    try:
        options = cfg.from_sphinx(config)
    except ConfigError as error:
        report_config_error(app, str(error))
    cfg._validated[id(config)] = (config, options)
    check_cache_dir(app, options)

    config.nb_custom_formats = {**config.nb_custom_formats, ".md": ["execbook.html.reader.read_notebook", {}, False]}
    setdefault(config, "nb_execution_mode", "off")
    extensions = list(config.myst_enable_extensions or [])
    config.myst_enable_extensions = extensions + [name for name in MYST_EXTENSIONS if name not in extensions]
    setdefault(config, "myst_dmath_double_inline", True)

    setdefault(config, "numfig", True)
    setdefault(config, "math_numfig", True)
    setdefault(config, "math_number_all", options.number_all_equations)  # d2l.ai numbers every one
    setdefault(config, "numfig_secnum_depth", 2)
    setdefault(
        config,
        "numfig_format",
        {"section": "Section %s", "figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s"},
    )
    # the author's patterns plus ours: build output and hidden folders are never pages
    config.exclude_patterns = [*config.exclude_patterns, *(p for p in EXCLUDE if p not in config.exclude_patterns)]
    if not user_set(config, "html_theme"):
        config.html_theme = "pydata_sphinx_theme"
    setdefault(config, "bibtex_reference_style", CITATION_STYLE)
    setdefault(config, "bibtex_default_style", ENTRY_STYLE)
    setdefault(config, "html_favicon", str(Path(__file__).parent / "static" / "execbook-favicon.svg"))
    setdefault(config, "copybutton_exclude", ".linenos, .gp, .go")

    if config.html_theme == "pydata_sphinx_theme":
        # without it the theme's script logs "invalid theme mode" on a first visit
        config.html_context = {"default_mode": "auto", **(config.html_context or {})}
    if config.html_theme == "pydata_sphinx_theme":
        theme_options = dict(config.html_theme_options or {})
        items = list(theme_options.get("secondary_sidebar_items", ["page-toc", "sourcelink"]))
        if "execbook-page-buttons" not in items:
            theme_options["secondary_sidebar_items"] = ["execbook-page-buttons", *items]
        config.html_theme_options = theme_options
    if config.html_theme == "pydata_sphinx_theme" and options.library:
        theme_options = dict(config.html_theme_options or {})
        center = list(theme_options.get("navbar_center", ["navbar-nav"]))
        if "execbook-library-link" not in center:  # the library page has no source for a toctree to list
            theme_options["navbar_center"] = [*center, "execbook-library-link"]
        config.html_theme_options = theme_options
    if config.html_theme == "pydata_sphinx_theme" and options.header_switcher and len(options.tabs) > 1:
        theme_options = dict(config.html_theme_options or {})
        navbar_end = list(theme_options.get("navbar_end", ["theme-switcher", "navbar-icon-links"]))
        if "execbook-switcher" not in navbar_end:
            theme_options["navbar_end"] = ["execbook-switcher", *navbar_end]
        config.html_theme_options = theme_options


def settle_pydata(app: Sphinx, config: Config) -> None:
    """The values the PyData theme sets as the builder starts, set now: Sphinx compares
    the configuration right after config-inited with the one the last build pickled, and
    told of a changed configuration on every build (``html.settled`` says more).
    Loaded as an extension now, the theme adds its components folder to
    ``templates_path`` before the comparison, not as the builder loads the theme: after
    every other folder, as before, so the book's and execbook's templates still win. Its
    builder-inited handler then finds these values as it would set them."""
    if config.html_theme != "pydata_sphinx_theme":
        return
    app.setup_extension("pydata_sphinx_theme")
    setdefault(config, "html_permalinks_icon", "#")
    theme_options = dict(config.html_theme_options or {})
    theme_options.setdefault("icon_links", [])  # the theme's github_url & co. still insert theirs (each build)
    if not theme_options.get("logo"):
        theme_options["logo"] = {}
    if theme_options.get("theme_logo_link") and isinstance(theme_options["logo"], dict):
        theme_options["logo"] = {**theme_options["logo"], "link": theme_options["theme_logo_link"]}
    config.html_theme_options = theme_options


def keep_source_tree_clean(app: Sphinx) -> None:
    """MyST-NB writes notebooks beside the output folder, which for
    ``sphinx-build . _build`` is the book's own folder; move them under the
    doctrees, with the rest of the build's state."""
    nb_config = getattr(app.env, "mystnb_config", None)
    if nb_config is not None:
        folder = Path(app.doctreedir) / "jupyter_execute"
        setattr(
            app.env, "mystnb_config", nb_config.copy(output_folder=str(folder))
        )  # MyST-NB's, unknown to Sphinx's types


def check_cache_dir(app: Sphinx, options: cfg.ExecbookConfig) -> None:
    """The cache writes notebooks/ and durations.json into its folder: refuse a
    folder where those would land among other files (``"/"``, ``".."``, ``"."``)."""
    if not options.cache_dir:
        return
    from execbook.execute.cache import TAG_NAME, unsafe_root

    root = Path(app.confdir) / options.cache_dir
    for book in dict.fromkeys((Path(app.srcdir), Path(app.confdir))):
        reason = unsafe_root(root, book)
        if reason:
            report_config_error(
                app,
                f"execbook_cache_dir: {options.cache_dir!r} ({root.resolve()}) {reason}; the cache would "
                f"write notebooks/ and durations.json there. Use a folder of its own, e.g. "
                f"'_build/.execbook-cache' (an empty folder, or one holding execbook's {TAG_NAME}, is accepted)",
            )


def html_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    options = cfg.get(app.config)
    context["execbook_tabs"] = [(tab, options.label(tab)) for tab in options.tabs]
    context["execbook_page_buttons"] = page_buttons(app, pagename, context) if doctree is not None else []
    if "pathto" in context:
        context["execbook_library_href"] = library_page_href(app, context["pathto"])


SITE_NOTEBOOKS = "notebooks"  # the site's folder of notebooks: written by site_notebooks, linked by the buttons


def site_offers_notebooks(builder: Any) -> bool:
    """Websites get download buttons, and their build writes the notebooks
    those buttons point at (``site_notebooks``); an e-book (also an HTML
    format) would carry buttons to files it does not hold."""
    return builder.format == "html" and not builder.name.startswith("epub")


def page_buttons(app: Sphinx, pagename: str, context: dict) -> list[dict[str, Any]]:
    """Download and Colab links for each framework that has a notebook of this
    page: the same frameworks ``site_notebooks`` writes notebooks for."""
    options = cfg.get(app.config)
    if not site_offers_notebooks(app.builder) or not str(app.env.doc2path(pagename)).endswith(".md"):
        return []
    buttons = []
    show_colab = not Matcher(options.colab_exclude)(pagename)
    notebook_tabs = app.env.metadata.get(pagename, {}).get("execbook_notebook_tabs", [])
    for tab in notebook_tabs:
        label = options.label(tab)
        notebook = f"{SITE_NOTEBOOKS}/{tab}/{pagename}.ipynb"
        buttons.append(
            {
                "tab": tab,
                "href": context["pathto"](notebook, 1),
                "download": True,
                "text": f"Download the {label} notebook",
            }
        )
        if tab in options.colab and show_colab:
            colab = f"https://colab.research.google.com/github/{options.colab[tab]}/blob/master/{pagename}.ipynb"
            buttons.append({"tab": tab, "href": colab, "download": False, "text": "Open in Colab"})
    return buttons


def ready_for_pydata(app: Sphinx) -> None:
    """``builder-inited``, before the theme (500), for any builder. PyData 0.15, our floor,
    wraps the builder's default translator in its HTML mixin when no translator is
    registered, whatever the builder's format, and writes ``_static/pygments.css`` into
    the output folder at build-finished without making the folder (newer versions check
    the format and make the folder). So ``-b text`` crashed on a table, and ``-b
    linkcheck``, ``-b dummy`` and execbook's notebooks and slides builders, which name no
    translator, stopped with an extension error. A builder that writes no HTML gets its
    own translator registered through Sphinx's ``set_translator`` (Sphinx's HTML one where
    it names none and translates nothing), which the theme leaves alone, and the folder."""
    if app.config.html_theme != "pydata_sphinx_theme":
        return
    if app.builder.format != "html" and not app.registry.translators:
        translator = getattr(app.builder, "default_translator_class", None) or HTML5Translator
        app.set_translator(app.builder.name, translator, override=True)
    Path(app.builder.outdir, "_static").mkdir(parents=True, exist_ok=True)
