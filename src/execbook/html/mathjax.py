"""MathJax served from the site itself, so math renders with no network.

MathJax comes from the ``django-static-mathjax`` wheel (MathJax 3, its es5
build); only the parts the CHTML TeX renderer loads are copied.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

MATHJAX_PATH = "mathjax/tex-chtml.js"
PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors")


def mathjax_source() -> Path:
    import mathjax  # the django-static-mathjax wheel

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def configure_mathjax(app: Sphinx, config: Config) -> None:
    if "mathjax_path" not in getattr(config, "_raw_config", {}):
        config.mathjax_path = MATHJAX_PATH


def settle_myst_mathjax(app: Sphinx, config: Config) -> None:
    """MyST-Parser tells MathJax which elements hold math at builder-inited, by setting
    ``processHtmlClass`` in ``mathjax4_config`` (Sphinx 9+) or ``mathjax3_config``. Set
    the same value now, in the value MyST will choose: Sphinx compares the configuration
    right after config-inited with the one the last build pickled, and told of a changed
    configuration on every build; MyST then finds the value it would set."""
    enabled = config["myst_enable_extensions"] if "myst_enable_extensions" in config else []
    if "dollarmath" not in (enabled or []) or not config["myst_update_mathjax"]:
        return
    name = myst_mathjax_value(config)
    value = dict(config[name] or {})
    options = dict(value.get("options", {}))
    if "processHtmlClass" in options:  # the author's: MyST warns, and overrides it, itself
        return
    options["processHtmlClass"] = config["myst_mathjax_classes"]
    config[name] = {**value, "options": options}


def myst_mathjax_value(config: Config) -> str:
    """The MathJax value MyST-Parser sets: one the book sets, the newer first, else the
    newest this Sphinx has."""
    newest = "mathjax4_config" in config
    if newest and config["mathjax4_config"]:
        return "mathjax4_config"
    if "mathjax3_config" in config and config["mathjax3_config"]:
        return "mathjax3_config"
    return "mathjax4_config" if newest else "mathjax3_config"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or app.config.mathjax_path != MATHJAX_PATH:
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    stamp = target / ".execbook-stamp"
    version = str((source / "tex-chtml.js").stat().st_mtime_ns)
    if stamp.is_file() and stamp.read_text() == version:
        return
    for part in PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, copy_function=link_or_copy, dirs_exist_ok=True)
        else:
            link_or_copy(str(src), str(dst))
    stamp.write_text(version)


def link_or_copy(src: str, dst: str) -> None:
    """A hard link to the installed file where the file system allows one
    (the 4 MB of MathJax took 50 ms to copy on every cold build, 1.5 % of a
    100-page book's), else a copy. Nothing writes to these files: the site
    only serves them, and a deploy copies them."""
    try:
        os.unlink(dst)  # an older MathJax's file: a link must not write through it
    except FileNotFoundError:
        pass
    try:
        os.link(src, dst)
    except OSError:  # another device, a file system without links, no permission
        shutil.copy2(src, dst)
