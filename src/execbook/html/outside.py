"""Files from outside the book are not copied into the site nor shown.

A page is code written by the book's authors, but a path such as
``![x](../../../../etc/passwd)`` or ``.. literalinclude:: /home/me/.netrc``
would publish a file that was never part of the book, silently. Sphinx copies
any image it can read and includes any file it can open, so execbook checks
the path first: an image, figure, ``include`` or ``literalinclude`` that
resolves outside the book's folder (that of ``conf.py`` or ``config.ini``) is
reported at its line and left out, unless ``execbook_allow_outside`` lists a
folder holding it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.directives.code import LiteralInclude
from sphinx.directives.other import Include
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

WHAT_TO_DO = "move it into the book, or list its folder in execbook_allow_outside in conf.py"


def book_folder(env: BuildEnvironment) -> Path:
    """The folder of config.ini for a d2l-book book, else the source folder
    (that of conf.py, unless sphinx-build was given another with -c)."""
    ini = getattr(env.config, "execbook_ini_file", "")
    return Path(ini).parent if ini else Path(env.srcdir)


def allowed_folders(env: BuildEnvironment) -> list[Path]:
    """The book, its source folder, the folders the author allows, and the
    build's own doctree folder, where MyST-NB writes the cells' images (outside
    the book when ``sphinx-build -d`` points elsewhere)."""
    book = book_folder(env)
    extra = [book / folder for folder in env.config.execbook_allow_outside]
    return [folder.resolve() for folder in (book, Path(env.srcdir), Path(env.doctreedir), *extra)]


def is_outside(env: BuildEnvironment, path: str | Path) -> bool:
    """Whether ``path`` (absolute) lies in none of the allowed folders.

    Symbolic links are followed: a link inside the book to a file outside it
    still publishes that file.
    """
    resolved = Path(path).resolve()
    return not any(resolved.is_relative_to(folder) for folder in allowed_folders(env))


def warn(what: str, written: str, path: str | Path, location: Any) -> None:
    logger.warning(
        f"{what} '{written}' is outside the book's folder ({Path(path).resolve()}), so it was left out; {WHAT_TO_DO}",
        location=location,
        type="execbook",
        subtype="outside",
    )


def drop_outside_images(app: Sphinx, doctree: nodes.document) -> None:
    """On doctree-read, before Sphinx's image collector notes the files to copy."""
    env = app.env
    for node in list(doctree.findall(nodes.image)):
        uri = node.get("uri", "")
        if uri.startswith("data:") or "://" in uri:
            continue  # not a file of this machine: nothing is copied
        _rel, path = env.relfn2path(uri, env.current_document.docname)
        if is_outside(env, path):
            warn("image", uri, path, node)
            node.parent.remove(node)
        elif not uri or Path(path).is_dir():  # '![]()': Sphinx's image collector would stop the build opening a folder
            logger.warning(
                f"image '{uri}' names a folder, not an image file, so it was left out; give the image's path",
                location=node,
                type="execbook",
                subtype="image",
            )
            node.parent.remove(node)


class GuardedInclude(Include):
    """``.. include::`` that refuses a file outside the book."""

    def run(self) -> list[nodes.Node]:
        argument = self.arguments[0]
        if not (argument.startswith("<") and argument.endswith(">")):  # docutils' own files, not the disk's
            _rel, path = self.env.relfn2path(argument)
            if is_outside(self.env, path):
                warn("include", argument, path, self.get_location())
                return []
        return list(super().run())


class GuardedLiteralInclude(LiteralInclude):
    """``.. literalinclude::`` that refuses a file outside the book."""

    def run(self) -> list[nodes.Node]:
        argument = self.arguments[0]
        _rel, path = self.env.relfn2path(argument)
        if is_outside(self.env, path):
            warn("literalinclude", argument, path, self.get_location())
            return []
        return list(super().run())


def guard_myst_include() -> None:
    """MyST runs a ```` ```{include} ```` fence of its own, without calling the
    directive class: check the path before its ``run`` reads the file."""
    from myst_parser.mocking import MockIncludeDirective

    original = MockIncludeDirective.run
    if getattr(original, "execbook_guarded", False):
        return

    def run(self: MockIncludeDirective) -> list[nodes.Element]:
        argument = self.arguments[0]
        env = getattr(self.document.settings, "env", None)
        if env is not None and not (argument.startswith("<") and argument.endswith(">")):
            _rel, path = env.relfn2path(argument)
            if is_outside(env, path):
                warn("include", argument, path, f"{self.document['source']}:{self.lineno}")
                return []
        return original(self)

    run.execbook_guarded = True  # type: ignore[attr-defined]
    MockIncludeDirective.run = run  # type: ignore[method-assign]


def setup_outside(app: Sphinx) -> None:
    guard_myst_include()
    app.add_directive("include", GuardedInclude, override=True)
    app.add_directive("literalinclude", GuardedLiteralInclude, override=True)
    app.connect("doctree-read", drop_outside_images, priority=400)  # the image collector listens at 500
