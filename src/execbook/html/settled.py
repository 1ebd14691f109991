"""Configuration values settled at ``config-inited``, as the build will leave them.

Sphinx compares the configuration pickled with the environment (the values as the
last build left them) with the one just read, right after ``config-inited``. Values
that Sphinx's HTML builder, the theme or an extension change later (at
``builder-inited``, or as the builder starts) differed on every build, so each
incremental build printed "The configuration has changed (html_static_path, ...)".
Here they take, at ``config-inited``, the values those later steps give them, so the
later steps change nothing; ``theme`` and ``mathjax`` do the same for the theme's and
MyST's values.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

ASSET_PRIORITY = 800  # what the HTML builder gives the book's own css and js files
PATH_LISTS = ("html_static_path", "templates_path")


def setup_settled(app: Sphinx) -> None:
    # after Sphinx turns html_css_files' names into (name, attributes) pairs (priority 800)
    app.connect("config-inited", settle_asset_priorities, priority=810)
    app.connect("config-inited", add_builder_static_paths, priority=900)
    # after the extensions' own builder-inited handlers (500) appended the folders again
    app.connect("builder-inited", drop_repeated_paths, priority=900)


def settle_asset_priorities(app: Sphinx, config: Config) -> None:
    """Sphinx 8+'s HTML builder writes ``priority`` into each pair's attributes as it
    starts; Sphinx 7.2 gives the same priority without writing it."""
    for name in ("html_css_files", "html_js_files"):
        for entry in getattr(config, name, None) or []:
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict):
                entry[1].setdefault("priority", ASSET_PRIORITY)


def builder_static_folders(app: Sphinx) -> list[str]:
    """The static folders extensions append to ``html_static_path`` at builder-inited."""
    folders = []
    if "sphinx_copybutton" in app.extensions:
        module = app.extensions["sphinx_copybutton"].module
        folders.append(str(Path(module.__file__).parent.joinpath("_static").absolute()))
    if "sphinx_design" in app.extensions:
        from sphinx_design import extension as design

        folders.append(str(getattr(design, "STATIC_DIR", "")))
    # a folder an extension's next version no longer has would be a warning per build
    return [folder for folder in folders if folder and Path(folder).is_dir()]


def add_builder_static_paths(app: Sphinx, config: Config) -> None:
    paths = list(config.html_static_path)
    config.html_static_path = paths + [folder for folder in builder_static_folders(app) if folder not in paths]


def drop_repeated_paths(app: Sphinx) -> None:
    """The extensions append their folders again, unconditionally: keep each once, in
    place, so the lists end as ``config-inited`` left them."""
    for name in PATH_LISTS:
        value = getattr(app.config, name, None)
        if isinstance(value, list) and len(set(value)) < len(value):
            value[:] = list(dict.fromkeys(value))  # in place: the builder holds this list too
