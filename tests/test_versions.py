"""book/versions.py: what differs between the upstream versions pyproject.toml admits.

These run on whatever is installed: `make test` checks the newest releases,
`make test-lowest` the floors (where, for one, the PyData theme has no
``search_as_you_type`` and Sphinx's doc2path returns a str).
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pydata_sphinx_theme

from execbook.book.versions import pydata_theme_has_option


def declared_options() -> set[str]:
    conf = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "theme.conf"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf, encoding="utf-8")
    return set(parser.options("options"))


def test_a_theme_option_is_known_exactly_when_the_installed_theme_declares_it():
    declared = declared_options()
    assert {"navbar_align", "show_toc_level"} <= declared  # the theme's own, in every admitted series
    for name in ("navbar_align", "show_toc_level", "search_as_you_type", "no_such_option"):
        assert pydata_theme_has_option(name) == (name in declared), name
