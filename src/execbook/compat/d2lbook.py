"""d2l-book projects: a ``config.ini`` and no ``conf.py``.

The CLI writes a two-line ``conf.py`` under ``_build/.execbook-conf`` that
loads the settings ``config_ini`` maps, so the author's folder stays as it is;
the build then reports ``config.ini``'s notes at their lines.
"""

from __future__ import annotations

import shutil
import traceback
from pathlib import Path
from typing import Any

from execbook.compat.config_ini import Mapping, map_ini
from execbook.compat.ini_file import CONF_DIR, INI_NAME, Note

# -- the generated conf.py ---------------------------------------------------------------

CONF_TEXT = """# Written by execbook for the d2l-book project in {book}: edit config.ini, not this file.
from execbook.compat.d2lbook import conf_values

globals().update(conf_values({book!r}))
"""


def conf_values(book: str, mapping: Mapping | None = None) -> dict[str, Any]:
    """What the generated conf.py defines: the mapping, then [build] sphinx_configs
    run over it (as d2l-book pastes them at the end of its conf.py)."""
    folder = Path(book)
    m = mapping or map_ini(folder)
    namespace: dict[str, Any] = dict(m.values)
    static = folder / CONF_DIR / "_static" / "execbook-ini"
    if m.values.get("execbook_ini_static"):
        static.mkdir(parents=True, exist_ok=True)
        for source, target in namespace.pop("execbook_ini_static"):
            copy = static / target
            if not copy.is_file() or copy.read_bytes() != Path(source).read_bytes():
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, copy)
        namespace["html_static_path"] = [str(static.parent)]
    code, _ = m.sphinx_configs
    if code.strip():
        exec(compile(code, str(folder / INI_NAME), "exec"), namespace)  # noqa: S102 - the author's own settings
    namespace.pop("__builtins__", None)
    current_version_link(namespace)
    namespace["execbook_ini_notes"] = [(note.line, note.text, note.info) for note in m.notes if not note.error]
    namespace["execbook_ini_file"] = str(folder / INI_NAME)
    return namespace


CURRENT_LINK = "CURRENT_VERSION_BASE_LINK"


def current_version_link(namespace: dict[str, Any]) -> None:
    """d2l-en's header links name ``###_CURRENT_VERSION_BASE_LINK_###``, the address the
    site is published at, which its CI filled in with sed: here it is the site's
    ``html_baseurl`` (with its version folder), where sphinx_configs sets one and no
    ``execbook_header_placeholders`` entry says otherwise."""
    base = str(namespace.get("html_baseurl") or "").strip().rstrip("/")
    placeholders = namespace.get("execbook_header_placeholders", {})
    if not base or not isinstance(placeholders, dict) or CURRENT_LINK in placeholders:
        return
    version = str(namespace.get("execbook_version") or "").strip()
    link = f"{base}/{version}" if version else base
    namespace["execbook_header_placeholders"] = {**placeholders, CURRENT_LINK: link}


def write_conf(book: Path) -> Path:
    """The conf.py folder for ``sphinx-build -c``; rewritten only when it changes."""
    folder = book / CONF_DIR
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "conf.py"
    text = CONF_TEXT.format(book=str(book))
    if not conf.is_file() or conf.read_text(encoding="utf-8") != text:
        conf.write_text(text, encoding="utf-8")
    return folder


def check_sphinx_configs(book: Path, m: Mapping) -> Note | None:
    """[build] sphinx_configs must run: report its error at its line, not as a traceback."""
    code, line = m.sphinx_configs
    if not code.strip():
        return None
    try:
        exec(compile(code, "sphinx_configs", "exec"), dict(m.values))  # noqa: S102
    except Exception as error:  # the author's code: any error is theirs to fix
        where = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
        if where is None:  # a run-time error: the innermost frame of the author's code
            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "sphinx_configs"]
            where = frames[-1].lineno if frames else 1
        message = error.msg if isinstance(error, SyntaxError) else str(error)
        return Note(
            line + (where or 1) - 1, f"[build] sphinx_configs does not run: {type(error).__name__}: {message}", True
        )
    return None


def write_version(book: Path, version_file: str, release: str) -> Path | None:
    """d2l-book's ``[library] version_file``: each line naming ``__version__`` becomes the release."""
    path = book / version_file
    if not version_file or not release or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    new = "\n".join(f'__version__ = "{release}"' if "__version__" in line else line for line in text.split("\n"))
    if new != text:
        path.write_text(new, encoding="utf-8")
    return path


# -- in the Sphinx build -------------------------------------------------------------------


def report_notes(app: Any, config: Any) -> None:
    """On config-inited: config.ini's warnings, at their lines (so -W counts them)."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    for line, text, info in config.execbook_ini_notes:
        where = f"{config.execbook_ini_file}:{line}"
        if info:
            logger.info(f"{where}: {text}")
        else:
            logger.warning(text, location=where, type="execbook", subtype="config")


def setup_d2lbook(app: Any) -> None:
    app.add_config_value("execbook_ini_notes", [], "", types=())
    app.add_config_value("execbook_ini_file", "", "", types=())
    app.connect("config-inited", report_notes)
