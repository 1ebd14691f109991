"""What differs between the upstream versions pyproject.toml admits, found by feature, not version.

The floors (Sphinx 7.2, MyST-Parser 3.0, ...) are built and tested by ``make test-lowest``
(constraints/lowest.txt); each helper here names the release that changed the thing it
smooths over, so it can go when a floor passes that release.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx


def source_path(env: Any, docname: str, base: bool = True) -> Path:
    """The page's source file: ``env.doc2path`` returns a ``str`` up to Sphinx 7.2, a path since 7.3."""
    return Path(env.doc2path(docname, base))


def has_event(app: Sphinx, name: str) -> bool:
    """Whether this Sphinx emits the event ``name`` (``write-started`` is new in 7.3);
    connecting to an unknown event stops the build with an ExtensionError."""
    return name in app.events.events


def pydata_theme_has_option(name: str) -> bool:
    """Whether the installed PyData theme declares the option ``name`` (``search_as_you_type``
    is new in 0.16): Sphinx warns "unsupported theme option" for one it does not, which -W
    turns into a failed build. Read from the theme's own declaration (theme.conf, or the
    theme.toml that Sphinx 7.3+ themes may ship instead)."""
    import pydata_sphinx_theme  # the theme is a dependency; imported only when asked

    folder = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    if (folder / "theme.toml").is_file():
        import tomllib

        declared = tomllib.loads((folder / "theme.toml").read_text(encoding="utf-8")).get("options", {})
        return name in declared
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(folder / "theme.conf", encoding="utf-8")
    return parser.has_option("options", name)
