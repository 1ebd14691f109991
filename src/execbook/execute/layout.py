"""Where execution keeps its files for a build: the cache, the copy of the book
where code runs, the kernels' logs and the generated library."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sphinx.application import Sphinx

from execbook.book import config as cfg
from execbook.book.files import BUILD_DIR, library_dir, state_dir
from execbook.execute.cache import Cache


@dataclass
class Layout:
    """Where execution keeps its files for this build."""

    cache: Cache
    tree: Path  # a copy of the book, where code runs
    logs: Path
    lib: Path  # the generated library package, on every kernel's path

    @classmethod
    def for_app(cls, app: Sphinx) -> Layout:
        options = cfg.get(app.config)
        if options.cache_dir:
            cache_root = Path(app.confdir) / options.cache_dir
        else:  # one place per book, shared by its HTML and LaTeX builds
            cache_root = Path(app.confdir) / BUILD_DIR / ".execbook-cache"
        state = state_dir(app.doctreedir)
        return cls(Cache(cache_root), state / "tree", state / "logs", library_dir(app.doctreedir))
