"""What differs between the upstream versions pyproject.toml admits, found by feature, not version.

The floors (Sphinx 7.2, MyST-Parser 4.0, ...) are built and tested by ``make test-lowest``
(constraints/lowest.txt); each helper here names the release that changed the thing it
smooths over, so it can go when a floor passes that release.
"""

from __future__ import annotations

import configparser
import functools
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst.directives import images
from sphinx.application import Sphinx
from sphinx.directives import patches


def source_path(env: Any, docname: str, base: bool = True) -> Path:
    """The page's source file: ``env.doc2path`` returns a ``str`` up to Sphinx 7.2, a path since 7.3."""
    return Path(env.doc2path(docname, base))


def has_event(app: Sphinx, name: str) -> bool:
    """Whether this Sphinx emits the event ``name`` (``write-started`` is new in 7.3);
    connecting to an unknown event stops the build with an ExtensionError."""
    return name in app.events.events


def pydata_theme_has_option(name: str) -> bool:
    """Whether the installed PyData theme declares the option ``name`` (``search_as_you_type``
    is new in 0.16): Sphinx warns "unsupported theme option" for one it does not, which -W
    turns into a failed build. Read from the theme's own declaration (theme.conf, or the
    theme.toml that Sphinx 7.3+ themes may ship instead)."""
    import pydata_sphinx_theme  # the theme is a dependency; imported only when asked

    folder = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    if (folder / "theme.toml").is_file():
        import tomllib

        declared = tomllib.loads((folder / "theme.toml").read_text(encoding="utf-8")).get("options", {})
        return name in declared
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(folder / "theme.conf", encoding="utf-8")
    return parser.has_option("options", name)


@functools.cache
def figure_image_has_line() -> bool:
    """Whether docutils gives a figure's image the directive's line (0.21 does). With 0.20
    it has none, and Sphinx's figure takes its caption's line: "image file not readable"
    then points below the image (at a d2l figure's caption, 2-3 lines on). Asked of
    docutils itself, with whatever figure directive is registered."""
    from docutils import nodes
    from docutils.core import publish_doctree

    tree = publish_doctree(".. figure:: x.png\n\n   A caption.\n", settings_overrides={"report_level": 5})
    image = next(tree.findall(nodes.image), None)
    return image is not None and image.line is not None


class _AtTheDirectiveLine:
    """A directive mixin: the figure, image (and its link) it returns are at the
    directive's line, as docutils 0.21+ places them."""

    def run(self) -> list[nodes.Node]:
        result: list[nodes.Node] = super().run()  # type: ignore[misc]
        source, line = self.state_machine.get_source_and_line(self.lineno)  # type: ignore[attr-defined]
        for top in result:
            if isinstance(top, nodes.system_message) or not isinstance(top, nodes.Element):
                continue
            for node in top.findall(lambda n: isinstance(n, (nodes.figure, nodes.image, nodes.reference))):
                node.source, node.line = source, line
                # MyST 3 passes a body-less directive an empty block_text: Sphinx then sets an
                # image without rawsource to line 0 (sphinx.util.nodes.apply_source_workaround)
                if isinstance(node, nodes.image) and not node.rawsource:
                    node.rawsource = self.block_text or str(node.get("uri", ""))  # type: ignore[attr-defined]
        return result


class FigureAtItsLine(_AtTheDirectiveLine, patches.Figure):
    """Sphinx's figure directive, its figure and image at the directive's line."""


class ImageAtItsLine(_AtTheDirectiveLine, images.Image):
    """docutils' image directive, its image at the directive's line."""


def forget_pickled_doctrees(app: Sphinx) -> None:
    """``builder-inited``: Sphinx 7.2 pickles its in-memory caches of doctrees with the
    environment, so a later build took the doctree of a page it did not read again from
    the last build's cache instead of its file: after a page was added to a numbered toc,
    the pages after it kept their old numbers, on the site and in the notebooks, and no
    page was written again (later Sphinx versions empty both caches when pickling). The
    caches are emptied here; they fill again from the files as the build reads them."""
    env = getattr(app, "env", None)
    for name in ("_pickled_doctree_cache", "_write_doc_doctree_cache"):
        cache = getattr(env, name, None)
        if isinstance(cache, dict):
            cache.clear()


def setup(app: Sphinx) -> None:
    """Where docutils leaves figures and images without a line (0.20, under Sphinx 7.2),
    warnings about them name the directive's line all the same; Sphinx 7.2's pickled
    doctree caches are emptied before a build reads them."""
    if not figure_image_has_line():
        app.add_directive("figure", FigureAtItsLine, override=True)
        app.add_directive("image", ImageAtItsLine, override=True)
    app.connect("builder-inited", forget_pickled_doctrees, priority=0)


def early_config_value(config: Any, name: str) -> Any:
    """A core config value (``html_baseurl``) while extensions load: Sphinx 7.3+ reads the
    command-line override or conf.py on first access; 7.2 answers the default until
    ``config-inited``, so a base URL set in conf.py was not seen at setup."""
    value = getattr(config, name)
    if name in config.__dict__:  # read, not a default
        return value
    overrides = getattr(config, "overrides", {})  # Sphinx 7.2's names
    if name in overrides:
        raw = overrides[name]
        return config.convert_overrides(name, raw) if isinstance(raw, str) else raw
    return getattr(config, "_raw_config", {}).get(name, value)
