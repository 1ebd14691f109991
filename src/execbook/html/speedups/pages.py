"""Work that MyST-Parser, docutils, Sphinx and Pygments redo for every page (or
code block) though its result never changes within a build, done once:

- Sphinx makes each page's docutils settings with a new ``OptionParser``
  (every component's options, then the docutils.conf files read again); for
  the same components and the same defaults the result is the same, so it is
  made once and each page gets its own copy (read from a docutils.conf,
  settings are made afresh every page, as before).
- MyST-Parser's renderer makes a throwaway docutils document for every page it
  renders (``options.get("document", make_document())`` builds the default
  first), and with it docutils' default settings; they are computed once and
  each document gets its own copy.
- Sphinx makes a new Pygments ``HtmlFormatter`` for each code block, which
  builds its style's whole stylesheet; one formatter per set of options is
  kept (formatting keeps no state in it).
- Sphinx looks a code block's lexer up by name, scanning Pygments' table of
  aliases and the plugin lexers each time; the class found for a name is
  kept. One lexer with its error filter is kept per builder, language and
  set of options (lexing keeps no state in it).
- docutils' HTML translator, made for every page and title, looks its
  stylesheets up on disk each time; the list for the same settings in the
  same folder is kept.
- Sphinx renders page titles on their own (``render_partial``) for every page
  that shows them; a title of plain text and inline markup renders the same
  on every page, so the render is kept with the node while the node prints
  as it did after that render.
- The search index stems every word with a cache that lives for one page;
  the index builder's language keeps one cache for the whole build.

Checked against Sphinx 9.0, docutils 0.22, MyST-Parser 5.2, Pygments 2.21.
"""

from __future__ import annotations

import copy
import functools
import os
import warnings
import weakref
from typing import Any

from execbook.html.speedups import Patch

SETTINGS_SPEC = (
    "settings_spec",
    "settings_defaults",
    "settings_default_overrides",
    "relative_path_settings",
    "config_section",
    "config_section_dependencies",
)
CHECKED = "Sphinx 9.0, docutils 0.22, MyST-Parser 5.2, Pygments 2.21"


def _settings_key(components: tuple[Any, ...]) -> tuple[type | None, ...] | None:
    """What a component contributes to the settings is its class's (a parser is
    made per page); a component that overrides that itself is not shared."""
    key: list[type | None] = []
    for component in components:
        if component is None or isinstance(component, type):
            key.append(component)
        elif any(name in vars(component) for name in SETTINGS_SPEC):
            return None
        else:
            key.append(type(component))
    return tuple(key)


def docutils_settings(original: Any) -> Any:
    """``sphinx.util.docutils._get_settings`` made once per set of components and defaults."""
    from docutils.frontend import Values

    made: dict[tuple, tuple[dict[str, Any], dict[str, Any]]] = {}  # key -> (defaults given, settings made)

    def _get_settings(*components: Any, defaults: Any, read_config_files: bool = False) -> Any:
        key = _settings_key(components)
        if key is None or "record_dependencies" in defaults:
            return original(*components, defaults=defaults, read_config_files=read_config_files)
        full_key = (key, read_config_files)
        kept = made.get(full_key)
        if kept is None or kept[0].keys() != defaults.keys() or any(defaults[k] is not v for k, v in kept[0].items()):
            settings = original(*components, defaults=defaults, read_config_files=read_config_files)
            if settings._config_files or settings.record_dependencies.list:  # read from docutils.conf:
                return settings  # made afresh each time, as before
            values = dict(vars(settings))
            values["record_dependencies"] = None  # each page gets a new, empty list (Values does that)
            made[full_key] = (dict(defaults), values)
            return settings
        with warnings.catch_warnings(action="ignore", category=DeprecationWarning):
            settings = Values(kept[1])
        settings._config_files = []
        return settings

    return _get_settings


def myst_default_settings(original: Any) -> Any:
    defaults: dict[tuple, Any] = {}

    def get_default_settings(*components: Any) -> Any:
        try:
            settings = defaults.get(components)
        except TypeError:  # an unhashable component: as before
            return original(*components)
        if settings is None:
            settings = defaults[components] = original(*components)
        return copy.deepcopy(settings)

    return get_default_settings


def pygments_formatters(original: Any) -> Any:
    made: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()  # bridge -> key -> formatter

    @functools.wraps(original)
    def get_formatter(self: Any, **kwargs: Any) -> Any:
        try:
            key = tuple(sorted(kwargs.items()))
            hash(key)
        except TypeError:  # e.g. hl_lines as a list: made afresh, as before
            return original(self, **kwargs)
        own = made.setdefault(self, {})
        if key not in own:
            own[key] = original(self, **kwargs)
        return own[key]

    return get_formatter


def pygments_lexer_lookups(original: Any) -> Any:
    from pygments.lexers import find_lexer_class_by_name

    lexer_class = functools.lru_cache(maxsize=None)(find_lexer_class_by_name)  # ClassNotFound is raised, not kept

    def get_lexer_by_name(_alias: str, **options: Any) -> Any:
        return lexer_class(_alias)(**options)

    return get_lexer_by_name


def pygments_lexers(original: Any) -> Any:
    """``guess`` (which reads the code) and names Pygments does not know (warned
    about at each block) are left to Sphinx, as are options that cannot be a key."""
    from pygments.util import ClassNotFound
    from sphinx import highlighting

    made: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()  # bridge -> key -> lexer

    @functools.wraps(original)
    def get_lexer(
        self: Any, source: str, lang: str, opts: dict[str, Any] | None = None, force: bool = False, location: Any = None
    ) -> Any:
        if lang == "guess" or lang in highlighting.lexers:
            return original(self, source, lang, opts, force, location)
        try:
            key = (lang, source.startswith(">>>"), tuple(sorted((opts or {}).items())), force)
            hash(key)
            if lang not in highlighting.lexer_classes:
                highlighting.get_lexer_by_name(lang)  # ClassNotFound: Sphinx warns, for this block
        except (TypeError, ClassNotFound):
            return original(self, source, lang, opts, force, location)
        own = made.setdefault(self, {})
        if key not in own:
            own[key] = original(self, source, lang, opts, force, location)
        return own[key]

    return get_lexer


def search_stems(original: Any) -> Any:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        language = getattr(self, "lang", None)  # made for this index builder alone
        stem = getattr(language, "stem", None)
        if language is not None and callable(stem) and "stem" not in vars(language):
            language.stem = functools.lru_cache(maxsize=None)(stem)

    return __init__


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def stylesheet_lists(original: Any) -> Any:
    found: dict[tuple, list[str]] = {}

    @functools.wraps(original)
    def get_stylesheet_list(settings: Any) -> list[str]:
        try:
            names = ("stylesheet_path", "stylesheet", "stylesheet_dirs")
            key = (*(_frozen(getattr(settings, name, None)) for name in names), os.getcwd())  # relative dirs: from here
            hash(key)
        except (TypeError, OSError):
            return original(settings)
        stylesheets = found.get(key)
        if stylesheets is None:
            stylesheets = found[key] = original(settings)
        return list(stylesheets)

    return get_stylesheet_list


def _plain_title(node: Any) -> bool:
    from docutils import nodes

    plain = (nodes.title, nodes.Text, nodes.emphasis, nodes.strong, nodes.literal, nodes.inline)
    return isinstance(node, nodes.title) and all(type(child) in plain for child in node.findall())


def title_renders(original: Any) -> Any:
    # builder -> title node -> (what it printed as, what it rendered to)
    rendered: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[Any, Any]] = weakref.WeakKeyDictionary()

    @functools.wraps(original)
    def render_partial(self: Any, node: Any) -> dict[str, str]:
        if node is None or not _plain_title(node):  # links, images, math...: rendered as before
            return original(self, node)
        own = rendered.setdefault(self, weakref.WeakKeyDictionary())
        kept = own.get(node)
        if kept is not None and kept[0] == node.pformat():
            return dict(kept[1])
        parts = original(self, node)
        own[node] = (node.pformat(), dict(parts))
        return parts

    return render_partial


PATCHES = [
    Patch(
        "sphinx.util.docutils",
        "_get_settings",
        ("components", "defaults", "read_config_files"),
        "Sphinx 8.2-9.0",
        docutils_settings,
        name="docutils-settings",
    ),
    Patch(
        "myst_parser.mdit_to_docutils.base",
        "get_default_settings",
        ("components",),
        CHECKED,
        myst_default_settings,
        name="myst-settings",
    ),
    Patch(
        "sphinx.highlighting",
        "PygmentsBridge.get_formatter",
        ("self", "kwargs"),
        CHECKED,
        pygments_formatters,
        name="formatters",
    ),
    Patch(
        "sphinx.highlighting",
        "get_lexer_by_name",
        ("_alias", "options"),
        CHECKED,
        pygments_lexer_lookups,
        name="lexer-lookups",
    ),
    Patch(
        "sphinx.highlighting",
        "PygmentsBridge.get_lexer",
        ("self", "source", "lang", "opts", "force", "location"),
        CHECKED,
        pygments_lexers,
        name="lexers",
    ),
    Patch(
        "sphinx.search",
        "IndexBuilder.__init__",
        ("self", "env", "lang", "options", "scoring"),
        CHECKED,
        search_stems,
        name="search-stems",
    ),
    Patch("docutils.utils", "get_stylesheet_list", ("settings",), CHECKED, stylesheet_lists, name="stylesheets"),
    Patch(
        "sphinx.builders.html",
        "StandaloneHTMLBuilder.render_partial",
        ("self", "node"),
        CHECKED,
        title_renders,
        name="titles",
    ),
]
