"""The PyData theme's "does this template render empty?" check, once a build
for the templates whose answer cannot change from page to page.

On every page, before rendering it, the theme renders each template of its
header, footer and sidebars once more only to drop those that come out empty
(``pydata_sphinx_theme.utils._update_and_remove_templates``; its
``templates_skip_empty_check`` option names templates never to check, which
would keep an empty one). For the templates below, whether they are empty
depends on the settings alone: their markup is unconditional (the logo link,
the search field, the colour switcher, the theme's version, the ads slot) or
is conditional on settings only (copyright, Sphinx version, execbook's
framework switcher: ``execbook_tabs``). Their answer on the first page is
their answer on every page: from then on an empty one is dropped and a
non-empty one kept without rendering it again (the theme still checks the
others, with the section's list in its context holding those it checks).
The real rendering of the page is untouched.

Each template is recognised by the text it was reviewed with (a hash of the
source the build's template loader finds): a template overridden in the
book's ``templates_path``, or changed by a theme upgrade, is checked on every
page as before, until reviewed again (``tests/test_theme_checks.py``).

Code: pydata_sphinx_theme/utils.py ``_update_and_remove_templates``,
``set_secondary_sidebar_items`` and pydata_sphinx_theme/__init__.py
``update_and_remove_templates``. Checked against pydata-sphinx-theme 0.24.
"""

from __future__ import annotations

import functools
import hashlib
import os
import weakref
from typing import Any

from execbook.html.speedups import Patch

# template -> sha256 (first 16 hex digits) of the source reviewed: empty or not, the same on every page
PAGE_INDEPENDENT = {
    "navbar-logo.html": "4eeb463826bddfe4",  # ends in an unconditional <a class="navbar-brand logo">
    "search-button-field.html": "db2b6c1dc506514d",
    "theme-switcher.html": "b9b05429888bf78f",
    "theme-version.html": "eb5b3bd81829e691",
    "sidebar-ethical-ads.html": "d0d660b3af494eda",
    "copyright.html": "c97546a379244c0d",  # show_copyright and copyright: settings
    "sphinx-version.html": "751f3e4910a5fba6",  # show_sphinx: a setting
    "execbook-switcher.html": "70a0d6ed1b6f677a",  # execbook_tabs: the settings' tabs (theme.html_context)
}

# app -> template -> rendered non-empty, for the templates above, once answered
_answers: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()
# app -> template -> its source is the one reviewed
_reviewed: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


def source_digest(app: Any, template: str) -> str | None:
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is None:  # no Jinja environment: checked as before
        return None
    try:
        source = environment.loader.get_source(environment, template)[0]
    except Exception:  # not found, or no Jinja environment: checked as before
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _suffixed(templates: list | str) -> list[str]:
    """The theme's own normalisation: "a, b" -> ["a.html", "b.html"]."""
    if isinstance(templates, str):
        templates = [template.strip() for template in templates.split(",")]
    return [template if os.path.splitext(template)[1] else f"{template}.html" for template in templates]


def _wrap(original: Any) -> Any:
    @functools.wraps(original)
    def _update_and_remove_templates(
        app: Any,
        context: dict[str, Any],
        templates: list | str,
        section: str,
        templates_skip_empty_check: list[str] | None = None,
    ) -> list[str]:
        try:
            answers, reviewed = _answers.setdefault(app, {}), _reviewed.setdefault(app, {})
        except TypeError:  # not weak-referable: as before
            return original(app, context, templates, section, templates_skip_empty_check)
        suffixed = _suffixed(templates)
        for template in suffixed:
            if template not in reviewed:
                digest = PAGE_INDEPENDENT.get(template)
                reviewed[template] = digest is not None and source_digest(app, template) == digest
        unknown = [template for template in suffixed if template not in answers]
        checked = set(original(app, context, unknown, section, templates_skip_empty_check)) if unknown else set()
        for template in unknown:
            if reviewed[template]:
                answers[template] = template in checked
        return [template for template in suffixed if answers.get(template, template in checked)]

    return _update_and_remove_templates


PATCHES = [
    Patch(
        "pydata_sphinx_theme.utils",
        "_update_and_remove_templates",
        ("app", "context", "templates", "section", "templates_skip_empty_check"),
        "pydata-sphinx-theme 0.24",
        _wrap,
        name="theme-checks",
    ),
]
