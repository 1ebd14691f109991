"""Jinja compiles the theme's templates in every process; their compiled code
is kept between builds beside the doctrees (Jinja's own bytecode cache, keyed
by each template's source, so an edited template is compiled again). Only
the build's own Jinja environment is changed, through Jinja's public API."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cache_compiled_templates(app: Any) -> None:
    """On builder-inited: the HTML builder's Jinja environment keeps compiled
    templates in ``<doctrees>/execbook/jinja`` between builds."""
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is None or environment.bytecode_cache is not None:
        return
    from jinja2 import FileSystemBytecodeCache

    folder = Path(app.doctreedir) / "execbook" / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a doctree folder we cannot write to: compile as before
    environment.bytecode_cache = FileSystemBytecodeCache(str(folder))
