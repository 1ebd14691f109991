"""What a build costs before and after its pages: start-up and unchanged work.

A no-op rebuild reads no page and runs no code, so its time is Python
importing Sphinx and its extensions, and the HTML builder compiling its
templates. These cut that, and the part of reading a page that is not
about the page, without changing what is built:

- MyST-NB's execution clients (``myst_nb.core.execute.cache``, ``.direct``,
  ``.inline``) import jupyter-cache (and with it SQLAlchemy) and nbclient,
  about a third of a second, for modes execbook never uses: execbook runs
  the code itself and sets ``nb_execution_mode = "off"``. They are imported
  when one of their clients is first made, which only a book that sets
  another mode itself does.
- ``importlib.metadata.entry_points()`` scans every installed distribution
  on each call (about 50 ms in a venv of this size); pybtex,
  sphinxcontrib-bibtex, Pygments and Sphinx call it a dozen times a build. Their
  calls share one scan (what is installed does not change during a build).
  Pygments also loads every plugin lexer each time a code block asks for a
  lexer it does not ship, as each code cell asks for IPython's ``ipython3``;
  they are loaded once.
- Jinja compiles the theme's templates in every process; their compiled
  code is kept between builds beside the doctrees (Jinja's own bytecode
  cache, keyed by each template's source, so an edited template is
  compiled again).
- Python's cyclic garbage collector runs every 700 allocations, and each
  full collection walks every object alive, the tens of thousands of
  functions, classes and modules that Sphinx and its extensions are made of
  among them: about a tenth of a render-only build. From execbook's set-up
  (and again at builder-inited) to build-finished those are frozen
  (``gc.freeze``: not walked, never garbage) and the youngest generation is
  collected every 10,000 allocations; then both are as they were. Collection finds the same garbage, a little later;
  nothing a build writes depends on when.
- MyST-NB writes each page's notebook with ``nbformat.writes``, which
  schema-checks it (and only logs what it finds); execbook made that
  notebook, so MyST-NB writes it unchecked: the same text.
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import sys
import types
import weakref
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

DEFERRED = {  # module -> the client class it defines
    "myst_nb.core.execute.cache": "NotebookClientCache",
    "myst_nb.core.execute.direct": "NotebookClientDirect",
    "myst_nb.core.execute.inline": "NotebookClientInline",
}


def defer_myst_nb_execution() -> None:
    """Stand-ins for MyST-NB's execution client modules, in place before
    ``myst_nb`` is imported: each client class, when first called, imports
    its real module (which replaces the stand-in) and returns the real client."""
    if "myst_nb.core.execute" in sys.modules:  # imported already (myst_nb listed before execbook)
        return
    for name, client in DEFERRED.items():
        if name in sys.modules:
            continue
        module = types.ModuleType(name, f"execbook's stand-in for {name}, imported on first use")
        module.__dict__[client] = _deferred_client(name, client)
        module.__dict__["_execbook_deferred"] = True
        sys.modules[name] = module


def _real_module(name: str) -> types.ModuleType:
    module = sys.modules.get(name)
    if module is not None and not getattr(module, "_execbook_deferred", False):
        return module
    del sys.modules[name]
    spec = importlib.util.find_spec(name)
    real = importlib.util.module_from_spec(spec)
    sys.modules[name] = real
    try:
        spec.loader.exec_module(real)
    except BaseException:
        del sys.modules[name]
        raise
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, real)
    return real


def _deferred_client(module_name: str, class_name: str) -> type:
    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        real = getattr(_real_module(module_name), class_name)
        return real(*args, **kwargs)

    return type(
        class_name,
        (),
        {
            "__new__": __new__,
            "__module__": module_name,
            "__doc__": f"{module_name}.{class_name}, imported when first used",
        },
    )


@functools.lru_cache(maxsize=1)
def _all_entry_points() -> Any:
    from importlib.metadata import entry_points

    return entry_points()


@functools.lru_cache(maxsize=None)
def _selected(params: tuple[tuple[str, Any], ...]) -> Any:
    return _all_entry_points().select(**dict(params))


def shared_entry_points(**params: Any) -> Any:
    """``importlib.metadata.entry_points`` over one scan of the installed distributions."""
    return _selected(tuple(sorted(params.items()))) if params else _all_entry_points()


ENTRY_POINT_USERS = ("pybtex.plugin", "sphinxcontrib.bibtex.plugin", "sphinx.theming", "sphinx.registry")


def share_entry_point_scans() -> None:
    """Point the modules that look entry points up on every call at one scan;
    Pygments' lexers from plugins (IPython's ``ipython3``, which every code
    cell asks for) are loaded once, not once per code block."""
    from importlib.metadata import entry_points

    for name in ENTRY_POINT_USERS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "entry_points", None) is entry_points:  # as imported from importlib.metadata
            module.entry_points = shared_entry_points
    try:  # Pygments imports entry_points inside its function
        import pygments.lexers
        import pygments.plugin
    except ImportError:
        return
    if getattr(pygments.plugin.iter_entry_points, "__module__", None) == "pygments.plugin":
        pygments.plugin.iter_entry_points = functools.cache(lambda group_name: shared_entry_points(group=group_name))
    if getattr(pygments.lexers, "find_plugin_lexers", None) is pygments.plugin.find_plugin_lexers:
        pygments.lexers.find_plugin_lexers = _plugin_lexers


@functools.lru_cache(maxsize=1)
def _loaded_plugin_lexers() -> tuple[type, ...]:
    import pygments.plugin

    return tuple(pygments.plugin.find_plugin_lexers())


def _plugin_lexers() -> Any:
    """``pygments.plugin.find_plugin_lexers``, each plugin loaded once per build."""
    return iter(_loaded_plugin_lexers())


class _UncheckedNbformat(types.ModuleType):
    """``nbformat`` as MyST-NB's reader module sees it: the same, except that
    ``writes`` of a version 4 notebook skips the schema check (which only
    logs; the text written is the same)."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__(real.__name__, real.__doc__)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def writes(self, nb: Any, version: Any = None, **kwargs: Any) -> str:
        real = self._real
        if version in (None, real.NO_CONVERT) and nb.get("nbformat") == 4 and not kwargs:
            from execbook.html.reader import compact_notebook_text

            return compact_notebook_text(nb)  # one line: a tenth of the time of the indented text
        return real.writes(nb, real.NO_CONVERT if version is None else version, **kwargs)


def write_myst_nb_notebooks_unchecked() -> None:
    """MyST-NB writes each page's notebook into its output folder with
    ``nbformat.writes``, whose schema check of the whole notebook was a tenth
    of reading a page; execbook made that notebook (``notebooks.rendered_notebook``).
    That folder is under the doctrees, and nothing reads these copies back
    (the site's notebooks are written by ``site_notebooks``), so they are
    written as compact JSON: still notebooks, in 0.03 ms a page instead of 0.3."""
    import nbformat
    import nbformat.v4

    try:
        import myst_nb.sphinx_ as reader
    except ImportError:
        return
    if getattr(reader, "nbformat", None) is nbformat:
        reader.nbformat = _UncheckedNbformat(nbformat)


GEN0_THRESHOLD = 10_000  # allocations between collections of the youngest generation (Python's default: 700)
_collector: weakref.WeakKeyDictionary[Sphinx, tuple[int, ...]] = weakref.WeakKeyDictionary()


def collect_less(app: Sphinx) -> None:
    """When execbook is set up: what is loaded so far frozen, fewer young collections."""
    if _collector:  # a build within a build: the outer one restores
        return
    threshold = gc.get_threshold()
    _collector[app] = threshold
    gc.freeze()
    gc.set_threshold(max(threshold[0], GEN0_THRESHOLD), *threshold[1:])


def freeze_start_up(app: Sphinx) -> None:
    """On builder-inited: the builder, its theme and templates frozen too."""
    if app in _collector:
        gc.freeze()


def collect_as_before(app: Sphinx, exception: BaseException | None) -> None:
    """On build-finished: the collector as it was before the build."""
    threshold = _collector.pop(app, None)
    if threshold is not None:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def cache_compiled_templates(app: Sphinx) -> None:
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


def reuse_per_page_setup() -> None:
    """Work that MyST-Parser and Sphinx redo for every page (or code block)
    though its result never changes within a build, done once:

    - Sphinx makes each page's docutils settings with a new ``OptionParser``
      (every component's options, then the docutils.conf files read again),
      about 2 ms a page; for the same components and the same defaults the
      result is the same, so it is made once and each page gets its own copy
      (read from a docutils.conf, settings are made afresh every page, as before).
    - MyST-Parser's renderer makes a throwaway docutils document for every
      page it renders (``options.get("document", make_document())`` builds
      the default before looking the page's own document up), and with it
      docutils' default settings: a whole ``OptionParser`` each time, about
      3 ms, twice a page under MyST-NB (a twentieth of an execution-off
      build). The defaults are computed once and each document gets its own copy.
    - Sphinx makes a new Pygments ``HtmlFormatter`` for each code block, and
      the formatter builds its style's whole stylesheet when made; one
      formatter per set of options is kept (formatting keeps no state in it).
    - Sphinx looks a code block's lexer up by name unless it is one of its
      own few (``python``, ``pycon``, ...); Pygments then scans its table of
      every lexer's aliases, and the plugin lexers after it, for each block
      (a code cell asks for IPython's ``ipython3``). The class found for a
      name is kept. Sphinx then makes a lexer with its error filter for every
      block; one is kept per builder, language and set of options (lexing
      keeps no state in it).
    - Sphinx makes a docutils HTML translator for every page and for every
      title it renders (previous, next, parents: several a page), and each one
      looks its stylesheets up in the stylesheet folders on disk, a few
      ``stat`` calls each time, for a list Sphinx's pages never use (its
      templates link the theme's CSS). The list found for the same settings
      in the same folder is kept.
    - Sphinx renders page titles on their own (``render_partial``: a docutils
      document, its transforms and an HTML translator each time) for every
      page that shows them: its own, and as the previous, next and parent
      page's link. A title of plain text and inline markup renders the same
      on every page; what it rendered to is kept with the node, and used
      while the node still prints as it did after that render (the first
      render's transforms, smart quotes, change the node itself).
    - The search index stems every word of a page (Snowball, in Python) with a
      cache that lives for that page only, so each word of the book is stemmed
      again on every page it is on; the index builder's language keeps one
      cache for the whole build (a stem depends on the word alone).
    """
    share_docutils_settings()
    share_myst_default_settings()
    share_pygments_formatters()
    share_pygments_lexer_lookups()
    share_pygments_lexers()
    share_stylesheet_lists()
    share_search_stems()
    share_title_renders()


SETTINGS_SPEC = (
    "settings_spec",
    "settings_defaults",
    "settings_default_overrides",
    "relative_path_settings",
    "config_section",
    "config_section_dependencies",
)


def _settings_key(components: tuple[Any, ...]) -> tuple[type, ...] | None:
    """What a component contributes to the settings is its class's (a parser is
    made per page); a component that overrides that itself is not shared."""
    key = []
    for component in components:
        if component is None or isinstance(component, type):
            key.append(component)
        elif any(name in vars(component) for name in SETTINGS_SPEC):
            return None
        else:
            key.append(type(component))
    return tuple(key)


def share_docutils_settings() -> None:
    """``sphinx.util.docutils._get_settings`` (Sphinx 8.2-9: the settings of each
    page ``_parse_str_to_doctree`` reads) made once per set of components and defaults."""
    try:
        from sphinx.util import docutils as sphinx_docutils
    except ImportError:
        return
    original = getattr(sphinx_docutils, "_get_settings", None)
    if original is None or getattr(original, "_execbook_shared", False):
        return
    import warnings

    from docutils.frontend import Values

    made: dict[tuple, tuple[dict[str, Any], dict[str, Any]]] = {}  # key -> (defaults given, settings made)

    def _get_settings(*components: Any, defaults: Any, read_config_files: bool = False) -> Any:
        key = _settings_key(components)
        if key is None or "record_dependencies" in defaults:
            return original(*components, defaults=defaults, read_config_files=read_config_files)
        key = (key, read_config_files)
        kept = made.get(key)
        if kept is None or kept[0].keys() != defaults.keys() or any(defaults[k] is not v for k, v in kept[0].items()):
            settings = original(*components, defaults=defaults, read_config_files=read_config_files)
            if settings._config_files or settings.record_dependencies.list:  # read from docutils.conf:
                return settings  # made afresh each time, as before
            values = dict(vars(settings))
            values["record_dependencies"] = None  # each page gets a new, empty list (Values does that)
            made[key] = (dict(defaults), values)
            return settings
        with warnings.catch_warnings(action="ignore", category=DeprecationWarning):
            settings = Values(kept[1])
        settings._config_files = []
        return settings

    _get_settings._execbook_shared = True  # type: ignore[attr-defined]
    sphinx_docutils._get_settings = _get_settings


def share_myst_default_settings() -> None:
    try:
        from myst_parser.mdit_to_docutils import base
    except ImportError:
        return
    original = getattr(base, "get_default_settings", None)
    if original is None or getattr(original, "_execbook_shared", False):
        return
    import copy

    defaults: dict[tuple, Any] = {}

    def get_default_settings(*components: Any) -> Any:
        try:
            settings = defaults.get(components)
        except TypeError:  # an unhashable component: as before
            return original(*components)
        if settings is None:
            settings = defaults[components] = original(*components)
        return copy.deepcopy(settings)

    get_default_settings._execbook_shared = True  # type: ignore[attr-defined]
    base.get_default_settings = get_default_settings


def share_pygments_formatters() -> None:
    from sphinx.highlighting import PygmentsBridge

    original = PygmentsBridge.get_formatter
    if getattr(original, "_execbook_shared", False):
        return

    @functools.wraps(original)
    def get_formatter(self: PygmentsBridge, **kwargs: Any) -> Any:
        try:
            key = tuple(sorted(kwargs.items()))
            hash(key)
        except TypeError:  # e.g. hl_lines as a list: made afresh, as before
            return original(self, **kwargs)
        made = self.__dict__.setdefault("_execbook_formatters", {})
        formatter = made.get(key)
        if formatter is None:
            formatter = made[key] = original(self, **kwargs)
        return formatter

    get_formatter._execbook_shared = True  # type: ignore[attr-defined]
    PygmentsBridge.get_formatter = get_formatter


def share_pygments_lexer_lookups() -> None:
    from pygments.lexers import find_lexer_class_by_name
    from sphinx import highlighting

    original = getattr(highlighting, "get_lexer_by_name", None)
    if original is None or getattr(original, "_execbook_shared", False):
        return
    lexer_class = functools.lru_cache(maxsize=None)(find_lexer_class_by_name)  # ClassNotFound is raised, not kept

    def get_lexer_by_name(_alias: str, **options: Any) -> Any:
        return lexer_class(_alias)(**options)

    get_lexer_by_name._execbook_shared = True  # type: ignore[attr-defined]
    highlighting.get_lexer_by_name = get_lexer_by_name


def share_pygments_lexers() -> None:
    """One lexer per builder for each language and set of options: Sphinx
    makes a lexer and adds its error filter for every code block, though
    neither keeps state between blocks. ``guess`` (which reads the code)
    and names Pygments does not know (warned about at each block) are left
    to Sphinx, as are options that cannot be a key."""
    from pygments.util import ClassNotFound
    from sphinx import highlighting
    from sphinx.highlighting import PygmentsBridge

    original = PygmentsBridge.get_lexer
    if getattr(original, "_execbook_shared", False):
        return

    @functools.wraps(original)
    def get_lexer(
        self: PygmentsBridge,
        source: str,
        lang: str,
        opts: dict[str, Any] | None = None,
        force: bool = False,
        location: Any = None,
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
        made = vars(self).setdefault("_execbook_lexers", {})
        if key not in made:
            made[key] = original(self, source, lang, opts, force, location)
        return made[key]

    get_lexer._execbook_shared = True  # type: ignore[attr-defined]
    PygmentsBridge.get_lexer = get_lexer


def share_search_stems() -> None:
    from sphinx.search import IndexBuilder

    original = IndexBuilder.__init__
    if getattr(original, "_execbook_shared", False):
        return

    @functools.wraps(original)
    def __init__(self: IndexBuilder, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        language = getattr(self, "lang", None)  # made for this index builder alone
        stem = getattr(language, "stem", None)
        if callable(stem) and "stem" not in vars(language):
            language.stem = functools.lru_cache(maxsize=None)(stem)

    __init__._execbook_shared = True  # type: ignore[attr-defined]
    IndexBuilder.__init__ = __init__


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def share_stylesheet_lists() -> None:
    import os

    from docutils import utils

    original = getattr(utils, "get_stylesheet_list", None)
    if original is None or getattr(original, "_execbook_shared", False):
        return
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

    get_stylesheet_list._execbook_shared = True  # type: ignore[attr-defined]
    utils.get_stylesheet_list = get_stylesheet_list


def _plain_title(node: Any) -> bool:
    from docutils import nodes

    plain = (nodes.title, nodes.Text, nodes.emphasis, nodes.strong, nodes.literal, nodes.inline)
    return isinstance(node, nodes.title) and all(type(child) in plain for child in node.findall())


def share_title_renders() -> None:
    from sphinx.builders.html import StandaloneHTMLBuilder

    original = StandaloneHTMLBuilder.render_partial
    if getattr(original, "_execbook_shared", False):
        return

    @functools.wraps(original)
    def render_partial(self: StandaloneHTMLBuilder, node: Any) -> dict[str, str]:
        if node is None or not _plain_title(node):  # links, images, math...: rendered as before
            return original(self, node)
        rendered = self.__dict__.setdefault("_execbook_titles", weakref.WeakKeyDictionary())
        kept = rendered.get(node)
        if kept is not None and kept[0] == node.pformat():
            return dict(kept[1])
        parts = original(self, node)
        rendered[node] = (node.pformat(), dict(parts))
        return parts

    render_partial._execbook_shared = True  # type: ignore[attr-defined]
    StandaloneHTMLBuilder.render_partial = render_partial
