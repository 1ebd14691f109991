"""The page being resolved for writing is served to ``:numref:`` and figure
numbering from memory (``html/doctrees.py``): ``get_and_resolve_doctree``
notes which held doctree it is resolving while it does, and keeps it for the
``:numref:``s of the pages after it. No event is emitted between Sphinx popping
the page from its held pages and resolving its references.

Code: sphinx/environment/__init__.py ``get_and_resolve_doctree``. Checked against Sphinx 9.0.
"""

from __future__ import annotations

import functools
from typing import Any

from execbook.html.speedups import Patch


def note_resolving(original: Any) -> Any:
    from execbook.html import doctrees

    @functools.wraps(original)
    def get_and_resolve_doctree(self: Any, docname: str, *args: Any, **kwargs: Any) -> Any:
        held = getattr(self, "_write_doc_doctree_cache", {}).get(docname)
        if held is None or kwargs.get("doctree") is not None or self in doctrees._resolving:
            return original(self, docname, *args, **kwargs)
        doctrees._resolving[self] = (docname, held)
        try:
            resolved = original(self, docname, *args, **kwargs)
        finally:
            del doctrees._resolving[self]
        doctrees._keep(self, docname, resolved)  # for the :numref:s of the pages after it
        return resolved

    return get_and_resolve_doctree


PATCHES = [
    Patch(
        "sphinx.environment",
        "BuildEnvironment.get_and_resolve_doctree",
        ("self", "docname", "builder", "tags", "doctree", "prune_toctrees", "includehidden"),
        "Sphinx 9.0",
        note_resolving,
        name="held-pages",
    ),
]
