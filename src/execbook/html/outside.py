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

import functools
import glob
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.directives.code import LiteralInclude
from sphinx.directives.other import Include
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from execbook.book import boundary
from execbook.book.files import left_out_links

logger = logging.getLogger(__name__)

WHAT_TO_DO = "move it into the book, or list its folder in execbook_allow_outside in conf.py"


def book_folder(env: BuildEnvironment) -> Path:
    """The folder of config.ini for a d2l-book book, else the source folder."""
    return boundary.book_folder(env.srcdir, getattr(env.config, "execbook_ini_file", ""))


def allowed_folders(env: BuildEnvironment) -> list[Path]:
    """The folders a page may take files from (``boundary.readable_folders``)."""
    return boundary.readable_folders(env.srcdir, env.doctreedir, env.config)


def is_outside(env: BuildEnvironment, path: str | Path) -> bool:
    """Whether ``path`` (absolute) lies in none of the allowed folders.

    Symbolic links are followed: a link inside the book to a file outside it
    still publishes that file.
    """
    return boundary.real_inside_any(allowed_folders(env), path) is None


def warn(what: str, written: str, path: str | Path, location: Any) -> None:
    real = boundary.real_path(path)
    logger.warning(
        f"{what} '{written}' is outside the book's folder ({real}), so it was left out; {WHAT_TO_DO}",
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
        _rel, path = env.relfn2path(uri, env.docname)
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


def drop_outside_downloads(app: Sphinx, doctree: nodes.document) -> None:
    """On doctree-read, before Sphinx's download collector notes the files to copy into
    ``_downloads``: a ``{download}`` of a file outside the book keeps its text, not its link."""
    env = app.env
    for node in list(doctree.findall(addnodes.download_reference)):
        target = node.get("reftarget", "")
        if "://" in target:
            continue
        _rel, path = env.relfn2path(target, env.docname)
        if is_outside(env, path):
            warn("download", target, path, node)
            node.replace_self(nodes.inline(node.astext(), node.astext()))


class GuardedFileOption(SphinxDirective):
    """A directive whose ``:file:`` option reads a file (``csv-table``, ``raw``): one
    outside the book is refused, before the directive reads it. Mixed into the
    docutils class, so the directive is otherwise the stock one."""

    def run(self) -> list[nodes.Node]:
        written = self.options.get("file")
        if written:
            # docutils reads :file: relative to the page's folder, as relfn2path does
            _rel, path = self.env.relfn2path(written)
            if is_outside(self.env, path):
                warn(f"{self.name} :file:", written, path, self.get_location())
                return []
        return list(super().run())


def guarded_file_directives() -> dict[str, type]:
    """``csv-table`` and ``raw``, each with its ``:file:`` checked."""
    from docutils.parsers.rst.directives.misc import Raw
    from docutils.parsers.rst.directives.tables import CSVTable

    return {
        name: type(f"Guarded{base.__name__}", (GuardedFileOption, base), {})
        for name, base in (("csv-table", CSVTable), ("raw", Raw))
    }


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


def guarded_run(original: Any) -> Any:
    """MyST runs a ```` ```{include} ```` fence of its own, without calling the
    directive class: ``MockIncludeDirective.run`` made to check the path before
    ``original`` reads the file. Applied for one build by html/speedups/fixes.py
    (no extension point reaches MyST's own include)."""

    @functools.wraps(original)
    def run(self: Any) -> list[nodes.Element]:
        argument = self.arguments[0]
        env = getattr(self.document.settings, "env", None)
        if env is not None and not (argument.startswith("<") and argument.endswith(">")):
            _rel, path = env.relfn2path(argument)
            if is_outside(env, path):
                warn("include", argument, path, f"{self.document['source']}:{self.lineno}")
                return []
        return original(self)

    return run


LINK_ADVICE = {
    "outside": "move the files into the book, or remove the link",
    "loop": "remove the link",
    "duplicate": "remove the link: the folder's pages are in the book under their own path",
}
PAGE_SUFFIXES = (".md", ".rst", ".ipynb")


def exclude_left_out_links(app: Sphinx, config: Config) -> None:
    """On config-inited: Sphinx's page discovery follows every link, so a page linked
    from outside the book would be published and a loop (``loop -> .``) read at every
    depth; each such link joins ``exclude_patterns``, reported once, by its path."""
    links = left_out_links(Path(app.srcdir), list(config.exclude_patterns))
    config.exclude_patterns = [*config.exclude_patterns, *(glob.escape(str(link.path)) for link in links)]
    for link in links:
        if link.real.is_dir() or link.path.suffix in PAGE_SUFFIXES:
            logger.warning(
                f"{link.describe()}, so {'its pages are' if link.real.is_dir() else 'the page is'} left out; "
                f"{LINK_ADVICE[link.reason]}",
                type="execbook",
                subtype="outside",
            )


def setup_outside(app: Sphinx) -> None:
    app.connect("config-inited", exclude_left_out_links, priority=600)  # after theme.configure's exclude_patterns
    app.add_directive("include", GuardedInclude, override=True)
    app.add_directive("literalinclude", GuardedLiteralInclude, override=True)
    for name, directive in guarded_file_directives().items():
        app.add_directive(name, directive, override=True)
    app.connect("doctree-read", drop_outside_downloads, priority=400)  # the download collector listens at 500
    app.connect("doctree-read", drop_outside_images, priority=400)  # the image collector listens at 500
