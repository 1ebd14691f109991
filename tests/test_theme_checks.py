"""speedups/theme_checks.py: the PyData theme's empty-template check, answered once a
build for templates whose answer cannot change from page to page."""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

import pydata_sphinx_theme
import pytest

import execbook.html
from execbook.html.speedups import theme_checks

COMPONENTS = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "components"
OURS = Path(execbook.html.__file__).parent / "templates"


def checked_theme_series() -> str:
    """The theme's series the speed-up was reviewed against ("0.24" of "pydata-sphinx-theme 0.24")."""
    (patch,) = theme_checks.PATCHES
    return patch.checked.split()[-1]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_templates_reviewed_are_the_ones_installed() -> None:
    """A theme upgrade or an edit of our template fails here: read the new
    template, and if its emptiness still depends on settings alone, put its
    new digest in PAGE_INDEPENDENT (else take it out). Another theme series
    (the floors' 0.15) has other templates: none is taken as reviewed, and the
    theme checks them on every page, as the next test's overridden template."""
    series = checked_theme_series()
    if not pydata_sphinx_theme.__version__.startswith(f"{series}."):
        pytest.skip(f"templates reviewed for pydata-sphinx-theme {series}, not {pydata_sphinx_theme.__version__}")
    for template, digest in theme_checks.PAGE_INDEPENDENT.items():
        path = OURS / template if template.startswith("execbook-") else COMPONENTS / template
        assert hashlib.sha256(path.read_text().encode()).hexdigest()[:16] == digest, template


class Loader:
    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources

    def get_source(self, environment: object, template: str) -> tuple[str, str, None]:
        return self.sources[template], template, None


class App:
    """What the check uses of a Sphinx app: its builder's template loader (and a weak reference)."""

    def __init__(self, sources: dict[str, str]) -> None:
        environment = types.SimpleNamespace(loader=Loader(sources))
        self.builder = types.SimpleNamespace(templates=types.SimpleNamespace(environment=environment))


def test_page_independent_templates_are_checked_on_the_first_page_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # reviewed sources of our own, so that any theme version's templates do
    reviewed = {"theme-version.html": "<p>theme {{ theme_version }}</p>", "copyright.html": "{{ copyright }}"}
    monkeypatch.setattr(
        theme_checks,
        "PAGE_INDEPENDENT",
        {**{name: digest(text) for name, text in reviewed.items()}, "sphinx-version.html": digest("reviewed")},
    )
    app = App({**reviewed, "breadcrumbs.html": "{{ pagename }}", "sphinx-version.html": "overridden"})
    empty = {"copyright.html"}  # e.g. no copyright set
    checked: list[list[str]] = []

    def original(app, context, templates, section, skip=None):  # the theme's: keeps the non-empty ones
        checked.append(list(templates))
        return [t for t in templates if t not in empty and not (t == "breadcrumbs.html" and context["root"])]

    check = theme_checks._wrap(original)
    names = "theme-version, copyright, breadcrumbs, sphinx-version"
    assert check(app, {"root": True}, names, "footer") == ["theme-version.html", "sphinx-version.html"]
    assert checked == [["theme-version.html", "copyright.html", "breadcrumbs.html", "sphinx-version.html"]]
    # the next page: the reviewed templates' answers stand; the page's own and the overridden one are checked
    assert check(app, {"root": False}, names, "footer") == [
        "theme-version.html",
        "breadcrumbs.html",
        "sphinx-version.html",
    ]
    assert checked[1] == ["breadcrumbs.html", "sphinx-version.html"]
    assert check(app, {"root": False}, ["theme-version.html"], "footer") == ["theme-version.html"]
    assert len(checked) == 2  # nothing left to check: the theme's function is not called
    other = App(reviewed)  # another build: its own answers
    assert check(other, {"root": True}, ["copyright.html"], "footer") == [] and checked[2] == ["copyright.html"]
