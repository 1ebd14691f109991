"""execbook's options: declared once, typed, validated.

Each field of ``ExecbookConfig`` is one ``execbook_<field>`` value in
``conf.py``. Its metadata gives the help text; its type is checked when the
configuration is read, and a wrong value stops the build with a message that
names the option.

Longer than most modules on purpose: every option is declared once here, with its
type, default and help, and checked beside its declaration; apart, they would drift.
"""

# no `from __future__ import annotations`: the field types are read at run time
import dataclasses as dc
import difflib
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging

from execbook.source.aliases import AliasError, Aliases

logger = logging.getLogger(__name__)

TAB_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# a GitHub repository as Colab's URLs take it: owner (letters, digits, '-') / name
GITHUB_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")

KNOWN_TAB_LABELS = {
    "pytorch": "PyTorch",
    "numpy": "NumPy",
    "mxnet": "MXNet",
    "tensorflow": "TensorFlow",
    "jax": "JAX",
    "paddle": "PaddlePaddle",
    "python": "Python",
}


def _option(default: Any, help: str, **kwargs: Any) -> Any:
    if isinstance(default, (list, dict)):
        return dc.field(default_factory=lambda: type(default)(default), metadata={"help": help, **kwargs})
    return dc.field(default=default, metadata={"help": help, **kwargs})


# reads an option's value (its type already checked) into its typed form, given the book's tabs;
# raises ConfigError naming the option
Parse = Callable[[Any, list[str]], Any]


def _nested(written: Any, help: str, parse: Parse, **kwargs: Any) -> Any:
    """An option written in conf.py as ``written`` (a dict, the default), read into ``value_type``
    by ``parse``: the default is what ``parse(written)`` gives for the empty setting."""
    return dc.field(
        default_factory=lambda: parse(type(written)(written), []),
        metadata={"help": help, "types": (type(written),), "written": written, "parse": parse, **kwargs},
    )


def _text_values(value: dict, keys: tuple[str, ...], option: str) -> None:
    for key in keys:
        if not isinstance(value.get(key, ""), str):
            raise ConfigError(f"{option}[{key!r}] must be text")


def _unknown_tabs(option: str, mapping: dict, tabs: list[str], hint: str = "") -> None:
    for tab in mapping:
        if tab not in tabs:
            raise ConfigError(f"{option} names unknown tab {tab!r}; the book's tabs are {tabs}{hint}")


PDF_KEYS = {"name", "paper", "fonts", "preamble", "post_latex", "style", "latex_url", "latex_archive"}
PAPERS = ("a4paper", "letterpaper", "b5paper", "a5paper", "legalpaper", "executivepaper")
FONT_ROLES = ("main", "sans", "mono")


@dc.dataclass(frozen=True)
class PdfOptions:
    """``execbook_pdf``: how ``execbook build pdf`` typesets the book."""

    name: str = ""  # of the .tex and .pdf; default: the project's name as a slug
    paper: str = "a4paper"
    fonts: dict[str, str] = dc.field(default_factory=dict)  # role (main, sans, mono) -> font family
    preamble: str = ""
    post_latex: str = ""  # d2l-book's hook: `python script book.tex`, from the book's folder
    style: str = ""  # a style archive's class, e.g. 'cambridge'
    latex_url: str = ""
    latex_archive: str = ""

    @classmethod
    def from_option(cls, value: dict, tabs: list[str]) -> "PdfOptions":
        unknown = set(value) - PDF_KEYS
        if unknown:
            raise ConfigError(f"execbook_pdf has unknown key(s) {sorted(unknown, key=repr)}; use {sorted(PDF_KEYS)}")
        if "paper" in value and value["paper"] not in PAPERS:
            raise ConfigError(f"execbook_pdf['paper'] must be one of {', '.join(PAPERS)}, got {value['paper']!r}")
        fonts = value.get("fonts", {})
        if (
            not isinstance(fonts, dict)
            or set(fonts) - set(FONT_ROLES)
            or not all(isinstance(font, str) for font in fonts.values())
        ):
            raise ConfigError(
                "execbook_pdf['fonts'] must map 'main', 'sans' and/or 'mono' to font names, e.g. {'main': 'FreeSerif'}"
            )
        _text_values(value, ("name", "preamble", "post_latex", "style", "latex_url", "latex_archive"), "execbook_pdf")
        return cls(**value)


LIBRARY_KEYS = {"name", "modules", "header", "aliases", "version_file"}


@dc.dataclass(frozen=True)
class LibraryOptions:
    """``execbook_library``: the package the book's ``#@save`` code is written into."""

    name: str  # the package, e.g. 'd2l'
    modules: dict[str, str] = dc.field(default_factory=dict)  # tab -> module file, e.g. 'd2l/torch.py'
    header: str = ""  # text above each module's banner, or the path of a file holding it
    aliases: dict[str, Aliases] = dc.field(default_factory=dict)  # tab -> its alias maps, parsed
    version_file: str = ""  # the file holding __version__, set from the book's release

    @classmethod
    def from_option(cls, value: dict, tabs: list[str]) -> "LibraryOptions | None":
        """None for a book without a library (``{}``)."""
        if not value:
            return None
        unknown = set(value) - LIBRARY_KEYS
        if unknown:
            raise ConfigError(
                f"execbook_library has unknown key(s) {sorted(unknown, key=repr)}; use {sorted(LIBRARY_KEYS)}"
            )
        name = value.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"execbook_library['name'] must be a Python package name such as 'd2l', got {name!r}")
        modules = value.get("modules", {})
        if not isinstance(modules, dict) or not all(isinstance(v, str) for v in modules.values()):
            raise ConfigError(
                "execbook_library['modules'] must map tabs to module files, e.g. {'pytorch': 'd2l/torch.py'}"
            )
        _unknown_tabs("execbook_library['modules']", modules, tabs)
        if not isinstance(value.get("header", ""), str):
            raise ConfigError("execbook_library['header'] must be text, or the path of a file holding it")
        if not isinstance(value.get("version_file", ""), str):
            raise ConfigError("execbook_library['version_file'] must be the path of the file holding __version__")
        aliases = value.get("aliases", {})
        if not isinstance(aliases, dict) or not all(isinstance(maps, dict) for maps in aliases.values()):
            raise ConfigError(
                "execbook_library['aliases'] must map tabs to alias maps, e.g. "
                "{'pytorch': {'lib_name': 'torch', 'simple': 'ones, concat -> cat'}}"
            )
        _unknown_tabs("execbook_library['aliases']", aliases, tabs)
        parsed = {}
        for tab, maps in aliases.items():
            try:
                parsed[tab] = Aliases.from_option(maps)
            except AliasError as error:
                raise ConfigError(f"execbook_library['aliases'][{tab!r}]: {error}") from None
        return cls(name, dict(modules), value.get("header", ""), parsed, value.get("version_file", ""))


def _tab_labels(value: dict[str, str], tabs: list[str]) -> dict[str, str]:
    _unknown_tabs("execbook_tab_labels", value, tabs, " (execbook_tabs)")
    return value


def _kernels(value: dict[str, str], tabs: list[str]) -> dict[str, str]:
    _unknown_tabs("execbook_kernels", value, tabs, " (execbook_tabs)")
    return value


def _colab(value: dict[str, str], tabs: list[str]) -> dict[str, str]:
    """The value goes into a Colab URL on every page: only ``owner/repo`` makes a working link."""
    _unknown_tabs("execbook_colab", value, tabs, " (execbook_tabs)")
    for tab, repo in value.items():
        if not GITHUB_REPO_RE.match(repo) or repo.endswith((".", "/.git")) or ".." in repo:
            raise ConfigError(
                f"execbook_colab[{tab!r}] must be a GitHub repository as 'owner/repo', e.g. 'me/book-{tab}'; "
                f"got {repo!r}"
            )
    return value


def _install(value: dict, tabs: list[str]) -> dict[str, dict[str, str]]:
    for tab, modules in value.items():
        if tab not in tabs:
            raise ConfigError(f"execbook_install names unknown tab {tab!r}; the book's tabs are {tabs}")
        if not isinstance(modules, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in modules.items()
        ):
            raise ConfigError(
                f"execbook_install[{tab!r}] must map module names to pip requirements, e.g. {{'d2l': 'd2l==1.0.0'}}"
            )
    return value


def _svg_urls(value: list, tabs: list[str]) -> list[tuple[str, str]]:
    for rule in value:
        if len(rule) != 2 or not all(isinstance(part, str) for part in rule):
            raise ConfigError(
                f"execbook_colab_svg_url must hold [prefix, URL] pairs, e.g. ['img', 'https://d2l.ai/_images']; "
                f"got {rule!r}"
            )
    return [(prefix, url) for prefix, url in value]


def _pdf_tab(value: str, tabs: list[str]) -> str:
    if value and value not in tabs:
        raise ConfigError(f"execbook_pdf_tab names unknown tab {value!r}; the book's tabs are {tabs}")
    return value


def _finite(value: int | float) -> bool:
    """Not nan or inf; an int is (math.isfinite would convert it, and overflow on 10**400)."""
    return not isinstance(value, float) or math.isfinite(value)


def _positive(option: str) -> Parse:
    # not `value <= 0` alone: nan passes it, and nan or inf seconds stop every kernel
    # from starting ("cannot convert float NaN to integer"), page after page
    def check(value: int | float, tabs: list[str]) -> int | float:
        if not (_finite(value) and value > 0):
            raise ConfigError(f"{option} must be a positive number, got {value}")
        return value

    return check


def _tolerance(value: int | float, tabs: list[str]) -> int | float:
    """A relative tolerance, as math.isclose takes it: refused here, at its line, rather
    than when the first output is compared (mid-build, or in ``execbook diff``)."""
    if not (_finite(value) and value >= 0):
        raise ConfigError(f"execbook_output_tolerance must be a number >= 0 (relative, e.g. 1e-6), got {value!r}")
    return value


def _workers(value: int | str | list, tabs: list[str]) -> int | str | list[int | str]:
    if isinstance(value, str) and value != "auto":
        raise ConfigError(f"execbook_workers must be 'auto', a number or a list of GPU ids, got {value!r}")
    if isinstance(value, int) and value < 1:
        raise ConfigError(f"execbook_workers must be at least 1, got {value}")
    if isinstance(value, list) and (
        not value or not all(isinstance(gpu, (int, str)) and not isinstance(gpu, bool) for gpu in value)
    ):
        raise ConfigError(
            f"execbook_workers as a list names the GPUs to run on, e.g. [0, 1]; got {value!r}, "
            "which runs nothing "
            "(use 'auto' or a number of workers for a machine without GPUs)"
        )
    return value


@dc.dataclass(frozen=True)
class ExecbookConfig:
    tabs: list[str] = _option(
        ["python"],
        "The book's frameworks, in tab order; the first is the default tab of unmarked code cells.",
        types=(list,),
        item=str,
    )
    tab_labels: dict[str, str] = _option(
        {},
        "Display names of tabs, e.g. {'pytorch': 'PyTorch'}; known frameworks have one already.",
        types=(dict,),
        item=str,
        parse=_tab_labels,
    )
    header_switcher: bool = _option(True, "Show a framework switcher in the page header (HTML).")
    remember_tab: bool = _option(True, "Remember the reader's framework across pages and visits (HTML).")
    execute: str = _option(
        "auto",
        "'auto' runs the jobs whose code changed, 'force' runs every job, 'off' runs nothing (no outputs).",
        choices=("auto", "force", "off"),
    )
    workers: int | str | list[int | str] = _option(
        "auto",
        "'auto' (one worker per GPU, else one per core), a number of workers, or a list of GPU ids.",
        types=(int, str, list),
        parse=_workers,
    )
    kernels: dict[str, str] = _option(
        {},
        "Jupyter kernel per tab, e.g. {'jax': 'jax-env'}; default: this build's Python.",
        types=(dict,),
        item=str,
        parse=_kernels,
    )
    timeout: int = _option(
        1200,
        "Seconds a cell may run before it is interrupted (and, if it does not stop, its kernel killed) and reported.",
        parse=_positive("execbook_timeout"),
    )
    kernel_start_timeout: int | float = _option(
        60,
        "Seconds a kernel has to answer after it is started; one that does not is killed and replaced (3 "
        "tries in all).",
        types=(int, float),
        parse=_positive("execbook_kernel_start_timeout"),
    )
    preload_imports: bool = _option(
        True,
        "Fork each job's kernel from a process that imported the page's leading imports once (per worker); "
        "False starts every kernel cold. Outputs are the same either way.",
        rebuild="",
    )
    output_limit: int = _option(
        100_000,
        "Characters kept of each stream (stdout, stderr) of a cell; the rest is counted and dropped.",
        parse=_positive("execbook_output_limit"),
    )
    cache_dir: str = _option(
        "", "Folder of executed notebooks (relative to conf.py); default: _build/.execbook-cache beside conf.py."
    )
    fail_on_error: bool = _option(
        False, "Fail the build (after all jobs) when a cell raises, times out or kills its kernel."
    )
    output_tolerance: int | float = _option(
        1e-6,
        "Relative tolerance of numbers in outputs compared with the last build's (the report's 'changed' "
        "section, execbook diff); a cell's '# execbook: tolerance=1e-3' or '# execbook: ignore-output' overrides it.",
        types=(int, float),
        rebuild="",
        parse=_tolerance,
    )
    fail_on_changed_outputs: bool = _option(
        False,
        "Fail the build when an output differs from the last build's beyond the tolerance (outputs found not "
        "reproducible run to run do not count).",
        rebuild="",
    )
    recheck_changed_outputs: bool = _option(
        True,
        "Run a job whose outputs changed once more, with the same inputs: outputs that differ between the two "
        "runs are listed as not reproducible run to run (unseeded random numbers, timings), apart from the "
        "changes, and remembered; False runs nothing twice.",
        rebuild="",
    )
    colab: dict[str, str] = _option(
        {},
        "GitHub repository of notebooks per tab for 'Open in Colab' buttons, e.g. {'pytorch': 'me/book-pytorch'}.",
        types=(dict,),
        item=str,
        parse=_colab,
    )
    install: dict[str, dict[str, str]] = _option(
        {},
        "Install cell of downloaded notebooks, per tab: {'pytorch': {'d2l': 'd2l==1.0.0'}} adds `!pip "
        "install d2l==1.0.0` "
        "to notebooks that import d2l.",
        types=(dict,),
        parse=_install,
    )
    install_header: str = _option("", "Text of a markdown cell above the install cell.")
    colab_exclude: list[str] = _option(
        [], "Pages (globs, e.g. '**/index') that get no 'Open in Colab' button.", types=(list,), item=str
    )
    colab_gpu: str = _option("", "Notebooks whose code contains this text ask Colab for a GPU (e.g. 'gpu').")
    colab_svg_url: list[tuple[str, str]] = _option(
        [],
        "Images of Colab notebooks as URLs: [prefix, URL] pairs, e.g. ['img', 'https://d2l.ai/_images'] turns "
        "img/x.svg into https://d2l.ai/_images/x.svg (d2l-book's [colab] replace_svg_url).",
        types=(list,),
        item=list,
        parse=_svg_urls,
    )
    number_all_equations: bool = _option(
        True, "Number every display equation, as d2l.ai does (Sphinx's math_number_all); False: labelled ones."
    )
    repository_url: str = _option(
        "",
        "The book's GitHub repository (https://github.com/OWNER/REPO, or .../tree/BRANCH/FOLDER): an edit "
        "button on each page and links to the repository and its issues.",
    )
    header_placeholders: dict[str, str] = _option(
        {},
        "Values of d2l-book's ###_NAME_### placeholders in header links, e.g. {'ALTERNATE_VERSION': '1.0'}; "
        "a link with an unset one is left out.",
        types=(dict,),
        item=str,
    )
    version: str = _option(
        "",
        "The version this build is, e.g. '2.0': `execbook deploy` publishes the site into that folder of the "
        "pages branch, keeping the others, and lists them all in switcher.json (the theme's version switcher). "
        "Needs html_baseurl, the address of the branch's root.",
    )
    pdf: PdfOptions = _nested(
        {},
        "PDF settings: {'name': 'book', 'paper': 'a4paper', "
        "'fonts': {'main': 'FreeSerif', 'sans': 'FreeSans', 'mono': 'FreeMono'}, 'preamble': '', "
        "'post_latex': 'tools/fix.py', 'style': 'cambridge', 'latex_url': 'https://.../PT1.zip', "
        "'latex_archive': 'PT1.zip'}.",
        PdfOptions.from_option,
    )
    track_reads_in: list[str] = _option(
        [],
        "Folders (or files) outside the book, relative to conf.py, absolute or from ~ (e.g. '~/.cache/datasets'), "
        "whose files the code reads are tracked too: a job that read one runs again when it changes or "
        "disappears. Files of the book are always tracked.",
        types=(list,),
        item=str,
    )
    allow_outside: list[str] = _option(
        [],
        "Folders outside the book (relative to conf.py, e.g. '../shared-img') whose files images, figures, "
        "include and literalinclude may use; other paths that leave the book are reported and left out.",
        types=(list,),
        item=str,
    )
    only_tabs: list[str] = _option(
        [],
        "Build only these of the book's tabs (set by `execbook build html --tab pytorch`); the others "
        "are left out quietly.",
        types=(list,),
        item=str,
    )
    pdf_tab: str = _option(
        "",
        "The framework a LaTeX build keeps (set by `execbook build pdf --tab`); default: the first tab.",
        rebuild="",
        parse=_pdf_tab,
    )
    executor: str = _option(
        "local", "Where jobs run: 'local' (a pool on this machine) or 'dask' (a cluster).", choices=("local", "dask")
    )
    dask_scheduler: str = _option(
        "", "The Dask scheduler, e.g. 'tcp://host:8786' (or EXECBOOK_DASK_SCHEDULER); sets execbook_executor to 'dask'."
    )
    dask_shared_fs: bool = _option(
        False, "The Dask workers see the book's folder at the same path: send paths, not files."
    )
    dask_max_payload_mb: int = _option(200, "Largest book (files + library, zipped) sent to Dask workers, in MB.")
    gpus_per_job: int = _option(0, "GPUs each job asks the Dask cluster for (resource 'GPU'); 0 for CPU-only books.")
    library: LibraryOptions | None = _nested(
        {},
        "The book's library from #@save code: {'name': 'd2l', 'modules': {'pytorch': 'd2l/torch.py'}, 'header': '...', "
        "'aliases': {'pytorch': {'lib_name': 'torch', 'simple': 'concat -> cat', 'fluent': 'reshape', ...}}, "
        "'version_file': 'd2l/__init__.py'}.",
        LibraryOptions.from_option,
    )

    speedups: bool = _option(
        True,
        "False runs only stock Sphinx/MyST code: no speed-up touches another project's internals "
        "(EXECBOOK_SPEEDUPS=0 does the same for the CLI).",
        rebuild="",
    )

    # not an option: the book's tabs that execbook_only_tabs leaves out of this build
    left_out: tuple[str, ...] = dc.field(default=(), metadata={"internal": True})

    def label(self, tab: str) -> str:
        return self.tab_labels.get(tab) or KNOWN_TAB_LABELS.get(tab, tab)

    @property
    def default_tab(self) -> str:
        return self.tabs[0]


def option_fields() -> list[dc.Field]:
    return [field for field in dc.fields(ExecbookConfig) if not field.metadata.get("internal")]


def option_default(field: dc.Field) -> Any:
    """The option's default as conf.py writes it (``{}`` for ``execbook_pdf``, not ``PdfOptions()``)."""
    if "written" in field.metadata:
        return field.metadata["written"]
    if field.default_factory is not dc.MISSING:
        return field.default_factory()
    return field.default


def option_names() -> list[str]:
    return [f"execbook_{field.name}" for field in option_fields()]


def register(app: Sphinx) -> None:
    """Declare every option to Sphinx (each one rebuilds the env when changed).

    Sphinx is told every documented type of an option: left to itself it
    compares a value with the default's type and warns on documented forms of
    other types (``execbook_workers = 2`` against the default ``"auto"``),
    which fails a ``-W`` build. ``from_sphinx`` then checks the values, with a
    message naming the option.
    """
    for field in option_fields():
        rebuild = field.metadata.get("rebuild", "env")
        kinds = frozenset(field.metadata.get("types", (field.type,)))
        app.add_config_value(f"execbook_{field.name}", option_default(field), rebuild, types=kinds)
    app.connect("config-inited", warn_unknown_names, priority=90)  # before the values are checked (100)


def _type_name(kind: type) -> str:
    return {
        list: "a list",
        dict: "a dict",
        bool: "True or False",
        str: "a string",
        int: "an integer",
        float: "a number",
    }[kind]


def from_sphinx(config: Config) -> ExecbookConfig:
    """Read and validate the ``execbook_*`` values; raise ConfigError naming the option."""
    values: dict[str, Any] = {}
    for field in option_fields():
        name = f"execbook_{field.name}"
        value = getattr(config, name)
        if (
            field.name in NUMBER_OR_TEXT
            and isinstance(value, str)
            and value.strip().isascii()
            and value.strip().isdigit()
        ):
            value = int(value)  # from the command line: -D execbook_workers=2
        kinds = field.metadata.get("types", (field.type,))
        if list in kinds and isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            wanted = " or ".join(_type_name(kind) for kind in kinds)
            raise ConfigError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__}); see README, 'Options'")
        choices = field.metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
        item = field.metadata.get("item")
        if item is not None:
            items = value.values() if isinstance(value, dict) else value
            for entry in items:
                if not isinstance(entry, item):
                    raise ConfigError(f"{name} must hold only {_type_name(item)}s, got {entry!r}")
        values[field.name] = value
    _check_tabs(values["tabs"])
    for field in option_fields():
        parse = field.metadata.get("parse")
        if parse is not None:
            values[field.name] = parse(values[field.name], values["tabs"])
    return only_tabs(ExecbookConfig(**values))


def only_tabs(options: ExecbookConfig) -> ExecbookConfig:
    """The options of a build of some of the book's tabs: the others, and
    every setting for them, are left out."""
    if not options.only_tabs:
        return options
    for tab in options.only_tabs:
        if tab not in options.tabs:
            close = difflib.get_close_matches(tab, options.tabs, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"--tab / execbook_only_tabs names {tab!r}, which is not one of the book's tabs "
                f"({', '.join(options.tabs)}){hint}"
            )
    kept = [tab for tab in options.tabs if tab in options.only_tabs]

    def keep(mapping: dict) -> dict:
        return {tab: value for tab, value in mapping.items() if tab in kept}

    library = options.library
    if library is not None:
        library = dc.replace(library, modules=keep(library.modules), aliases=keep(library.aliases))
    return dc.replace(
        options,
        tabs=kept,
        tab_labels=keep(options.tab_labels),
        kernels=keep(options.kernels),
        colab=keep(options.colab),
        install=keep(options.install),
        library=library,
        pdf_tab=options.pdf_tab if options.pdf_tab in kept else "",
        left_out=tuple(tab for tab in options.tabs if tab not in kept),
    )


def _check_tabs(tabs: list[str]) -> None:
    if not tabs:
        raise ConfigError("execbook_tabs must name at least one framework, e.g. ['pytorch', 'numpy']")
    for tab in tabs:
        if not TAB_NAME_RE.match(tab) or tab == "all":
            raise ConfigError(
                f"execbook_tabs: {tab!r} is not a valid tab name (letters, digits, '-' and '_'; not 'all')"
            )
    if len(set(tabs)) != len(tabs):
        raise ConfigError(f"execbook_tabs names a tab twice: {tabs}")


# options whose -D form (always text) means a number
NUMBER_OR_TEXT = {"workers"}


def overrides(config: Config) -> dict[str, Any]:
    """The ``-D name=value`` settings of this build (Sphinx 7.3+ keeps them as ``_overrides``)."""
    found = getattr(config, "_overrides", None)
    if found is None:
        found = getattr(config, "overrides", {})
    return dict(found) if isinstance(found, dict) else {}


def setting_line(conf: Path, name: str) -> int | None:
    """The line of ``conf`` that sets ``name`` (``name = ...``), if there is one."""
    try:
        lines = conf.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(lines, 1):
        if re.match(rf"\s*{re.escape(name)}\s*=", line):
            return number
    return None


def warn_unknown_names(app: Sphinx, config: Config) -> None:
    """``config-inited``: an ``execbook_*`` name that is no option (a typo such as
    ``execbook_timout``) would be ignored without a word; warn at its line in conf.py,
    or at its ``-D``, with the option it was probably meant to be."""
    # the declared names (Config.values in every Sphinx): 7.2's dir(config) lists none of them
    known = sorted(name for name in config.values if name.startswith("execbook_"))
    conf = Path(app.confdir) / "conf.py"
    raw = getattr(config, "_raw_config", {})
    for name in sorted(raw):
        if name.startswith("execbook_") and name not in config:
            line = setting_line(conf, name)
            where = f"{conf}:{line}" if line else str(conf)
            logger.warning(
                f"{name} is not an execbook option, so it is ignored{did_you_mean(name, known)}",
                location=where,
                type="execbook",
                subtype="config",
            )
    for name in sorted(overrides(config)):
        if name.startswith("execbook_") and name not in config:
            logger.warning(
                f"-D {name}: not an execbook option, so it is ignored{did_you_mean(name, known)}",
                type="execbook",
                subtype="config",
            )


def did_you_mean(name: str, known: list[str]) -> str:
    """The option ``name`` was probably meant to be, compared without the prefix every one shares."""
    prefix = "execbook_"
    close = difflib.get_close_matches(name.removeprefix(prefix), [k.removeprefix(prefix) for k in known], n=1)
    return f"; did you mean {prefix}{close[0]}?" if close else "; see README, 'Options'"


def user_set(config: Config, name: str) -> bool:
    """Whether the book's conf.py sets this Sphinx value itself (then execbook leaves it alone)."""
    return name in getattr(config, "_raw_config", {})


def setdefault(config: Config, name: str, value: Any) -> None:
    """A Sphinx value execbook chooses, unless the book's conf.py chose one."""
    if not user_set(config, name):
        setattr(config, name, value)


class ExecbookConfigError(ConfigError):
    """A wrong setting, found in a handler: its text is the located one-line message
    (``conf.py:3: execbook_workers must be ...``). A Sphinx error, so a process that runs
    Sphinx in-process (tests, preview servers) goes on; the CLI prints only the line."""


# the errors raised in this process, newest last: the CLI stops printing Sphinx's
# report of the exception (its context and traceback file) once one is raised
raised: list[ExecbookConfigError] = []


def report_config_error(app: Sphinx, message: str, in_settings: bool = True) -> NoReturn:
    """Stop the build with ``conf.py:line: message`` (or ``config.ini``, or ``-D name=value``).

    The message is logged as an error, as every warning is, and raised as an
    ``ExecbookConfigError``. A message that starts with an option's name points at
    the ``-D`` that set it, else at the line setting it (``execbook_pdf['paper'] ...``
    at the line of ``execbook_pdf =``); any other names the settings file;
    ``in_settings=False``, for a problem found while running (an unreachable
    scheduler), names neither.
    """
    if not in_settings:
        text = f"execbook: {message}"
    else:
        text = f"{config_location(app, message)}: {message}"
    logger.error(text, type="execbook", subtype="config")
    error = ExecbookConfigError(text)
    raised.append(error)
    raise error


def config_location(app: Sphinx, message: str) -> str:
    """Where the option a message starts with was set: its ``-D``, its line, or the settings file."""
    option = re.match(r"\w*", message).group()  # type: ignore[union-attr]  # \w* always matches
    given = overrides(app.config)
    if option in given:
        return f"-D {option}={given[option]}"
    conf = Path(app.config.execbook_ini_file or Path(app.confdir) / "conf.py")
    line = setting_line(conf, option) if option else None
    return f"{conf}:{line}" if line else str(conf)


_validated: dict[int, tuple[Config, ExecbookConfig]] = {}


def get(config: Config) -> ExecbookConfig:
    """The validated options of this build, read once per Config object."""
    cached = _validated.get(id(config))
    if cached is None or cached[0] is not config:
        cached = (config, from_sphinx(config))
        _validated[id(config)] = cached
    return cached[1]
