"""What differs between the upstream versions pyproject.toml admits, found by feature, not version.

The floors (Sphinx 7.2, MyST-Parser 3.0, ...) are built and tested by ``make test-lowest``
(constraints/lowest.txt); each helper here names the release that changed the thing it
smooths over, so it can go when a floor passes that release.
"""

from __future__ import annotations

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
