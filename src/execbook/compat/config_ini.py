"""d2l-book's ``config.ini`` read into Sphinx and execbook settings.

``map_ini`` reads it (with d2l-book's defaults) section by section
(``map_html``, ``map_pdf``, ``map_library``, ``map_colab``, ``map_svg_urls``,
``map_deploy``); every key has a
line, so every problem is reported as ``config.ini:LINE``. ``d2lbook`` turns
the result into the generated ``conf.py``.

Longer than most modules on purpose: one small mapper per section of config.ini,
all writing into the same ``Mapping`` with its line bookkeeping.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from execbook.book.boundary import real_inside
from execbook.book.config import GITHUB_REPO_RE
from execbook.book.files import BUILD_DIR
from execbook.compat.ini_file import (
    BOOLEANS,
    DEFAULT_TAB,
    DEFAULTS,
    IGNORED,
    IGNORED_SECTIONS,
    INI_NAME,
    LIBRARY_TAB_KEYS,
    Ini,
    Note,
    exists,
    first_heading,
    matching_files,
    read_ini,
    sphinx_globs,
    split_globs,
    split_rows,
)
from execbook.source.aliases import AliasError, Aliases

# Google's tag IDs: GA4 measurement IDs (G-), tag IDs (GT-, AW-), and the old Universal Analytics (UA-)
GOOGLE_TAG_RE = re.compile(r"(?:G|GT|AW|DC)-[A-Z0-9]+|UA-\d+-\d+")
URL_RE = re.compile(r"https?://[^\s\"'<>]+")


@dataclass
class Mapping:
    """config.ini as Sphinx conf values, plus what the CLI does itself."""

    values: dict[str, Any]
    notes: list[Note]
    lines: dict[str, int] = field(default_factory=dict)  # conf value -> config.ini line
    sphinx_configs: tuple[str, int] = ("", 0)
    warning_is_error: bool = False
    deploy_repo: str = ""

    @property
    def errors(self) -> list[Note]:
        return [note for note in self.notes if note.error]

    def put(self, name: str, value: Any, line: int) -> None:
        """A conf value, and the config.ini line it comes from (for its problems)."""
        self.values[name] = value
        self.lines[name] = line


def marked_tabs(book: Path, ini: Ini) -> Callable[[], set[str]]:
    """The frameworks the book's pages mark (see ``bookscan``), found when first asked:
    settings for those that ``[build] tabs`` leaves out are skipped without a warning."""
    found: list[set[str]] = []

    def marked() -> set[str]:
        if not found:
            from execbook.book.scan import scan_book

            exclude = sphinx_globs(
                split_globs(ini.get("build", "exclusions")) + split_globs(ini.get("build", "non-notebooks"))
            )
            found.append(scan_book(book, exclude).frameworks())
        return found[0]

    return marked


def check_keys(ini: Ini, tabs: list[str], marked: Callable[[], set[str]] = set) -> list[Note]:
    """Unknown sections and keys (with a did-you-mean), and d2l-book keys execbook does not use."""
    notes = []
    known_sections = [*DEFAULTS, *(f"library-{tab}" for tab in tabs)]
    for section, keys in ini.values.items():
        if section in IGNORED_SECTIONS:
            notes.append(
                Note(
                    ini.line(section),
                    f"[{section}] is a d2l-book feature execbook does not have; the section is ignored",
                    info=True,
                )
            )
            continue
        if section.startswith("library-") and section not in known_sections:
            if section[8:] in marked():  # a framework of the book that this build leaves out
                continue
            notes.append(
                Note(
                    ini.line(section),
                    f"[{section}]: '{section[8:]}' is not one of the book's tabs ({', '.join(tabs)}; "
                    "set them in [build] tabs); the section is ignored",
                )
            )
            continue
        if section not in known_sections:
            hint = difflib.get_close_matches(section, known_sections, 1)
            notes.append(
                Note(
                    ini.line(section),
                    f"unknown section [{section}]"
                    + (f"; did you mean [{hint[0]}]?" if hint else "")
                    + "; it is ignored",
                )
            )
            continue
        allowed = LIBRARY_TAB_KEYS if section.startswith("library-") else DEFAULTS[section]
        for key in keys:
            if key in allowed:
                continue
            if (section, key) in IGNORED:
                notes.append(
                    Note(
                        ini.line(section, key),
                        f"[{section}] {key} is not used by execbook ({IGNORED[section, key]})",
                        info=True,
                    )
                )
                continue
            hint = difflib.get_close_matches(key, list(allowed), 1)
            notes.append(
                Note(
                    ini.line(section, key),
                    f"unknown key '{key}' in [{section}]"
                    + (f"; did you mean '{hint[0]}'?" if hint else "")
                    + "; it is ignored",
                )
            )
    return notes


def map_ini(book: Path) -> Mapping:
    """Read ``book/config.ini`` into Sphinx and execbook settings."""
    ini, notes = read_ini(book / INI_NAME)
    m = Mapping({}, notes)
    tabs = [tab.strip().lower() for tab in ini.get("build", "tabs").split(",") if tab.strip()]
    marked = marked_tabs(book, ini)
    m.notes += check_keys(ini, tabs or [DEFAULT_TAB], marked)
    index = map_project(book, ini, m)
    map_build(book, ini, m, index, tabs)
    map_html(book, ini, m)
    map_pdf(book, ini, m, tabs)
    map_library(book, ini, m, tabs or [DEFAULT_TAB])
    map_colab(ini, m, tabs, marked)
    map_svg_urls(ini, m)
    map_deploy(ini, m)
    m.values["execbook_cache_dir"] = str(book / BUILD_DIR / ".execbook-cache")
    return m


def map_project(book: Path, ini: Ini, m: Mapping) -> str:
    """[project] and the root page ([build] index); returns the root page's name."""
    get, line = ini.get, ini.line
    index = get("build", "index").removesuffix(".md") or "index"
    if real_inside(book, f"{index}.md") is None:  # Sphinx reads pages inside the book only: it stopped with a traceback
        m.notes.append(
            Note(
                line("build", "index"),
                f"[build] index: {get('build', 'index')!r} lies outside the book's folder {book}; move the page "
                "into the book and name it relative to config.ini (index = index)",
                True,
            )
        )
        index = "index"
    elif not (book / f"{index}.md").is_file() and not (book / f"{index}.rst").is_file():
        m.notes.append(
            Note(
                line("build", "index"),
                f"the index page {index}.md does not exist; create it or set [build] index",
                True,
            )
        )
    m.put(
        "project", get("project", "title") or first_heading(book / f"{index}.md") or book.name, line("project", "title")
    )
    for key in ("author", "copyright", "release"):
        m.put(key, get("project", key), line("project", key))
    m.values["version"] = m.values["release"]
    m.put("root_doc", index, line("build", "index"))
    return index


def map_build(book: Path, ini: Ini, m: Mapping, index: str, tabs: list[str]) -> None:
    """[build]: the tabs, which files are pages, resources, whether code runs, extensions, sphinx_configs."""
    get, line = ini.get, ini.line
    if tabs:
        m.put("execbook_tabs", tabs, line("build", "tabs"))
    notebooks = split_globs(get("build", "notebooks"))
    for pattern in notebooks:
        if not pattern.endswith("md"):
            m.notes.append(
                Note(
                    line("build", "notebooks"),
                    f"[build] notebooks: {pattern!r} must name Markdown files (end in .md)",
                    True,
                )
            )
    include = sphinx_globs(notebooks + split_globs(get("build", "rsts"))) + [f"{index}.md", f"{index}.rst"]
    m.put("include_patterns", include, line("build", "notebooks"))
    exclude = sphinx_globs(split_globs(get("build", "exclusions")) + split_globs(get("build", "non-notebooks")))
    m.put("exclude_patterns", exclude, line("build", "exclusions"))
    m.notes += excluded_index(ini, index)
    for resource in split_globs(get("build", "resources")):
        if not exists(book, resource):
            m.notes.append(
                Note(line("build", "resources"), f"[build] resources: {resource!r} matches nothing in {book}")
            )
    # d2l-book re-ran every notebook when one of these changed; here, the jobs that read one
    # (absolute: the generated conf.py is not in the book's folder)
    dependencies = [str((book / Path(dep).expanduser()).resolve()) for dep in split_globs(get("build", "dependencies"))]
    if dependencies:
        m.put("execbook_track_reads_in", dependencies, line("build", "dependencies"))
    if not boolean(ini, m, "build", "eval_notebook"):
        m.put("execbook_execute", "off", line("build", "eval_notebook"))
    m.warning_is_error = boolean(ini, m, "build", "warning_is_error")
    # autodoc as in d2l-book, for the API page (see ``apidoc``)
    m.values["extensions"] = ["execbook", "sphinx.ext.autodoc", *split_globs(get("build", "sphinx_extensions"))]
    m.values["autodoc_default_options"] = {"undoc-members": True, "show-inheritance": True}
    m.sphinx_configs = (get("build", "sphinx_configs"), ini.value_start("build", "sphinx_configs"))


def boolean(ini: Ini, m: Mapping, section: str, key: str) -> bool:
    """A yes/no key, as configparser's getboolean reads it; any other word (``Ture``) is an
    error at its line, not silently False (``eval_notebook = Ture`` switched execution off)."""
    value = ini.get(section, key)
    state = BOOLEANS.get(value.strip().lower())
    if state is None:
        default = DEFAULTS[section][key]
        m.notes.append(
            Note(
                ini.line(section, key),
                f"[{section}] {key} = {value!r} is neither true nor false; write True or False "
                f"(or yes/no, on/off, 1/0); the default is {default}",
                True,
            )
        )
        return BOOLEANS[default.lower()]
    return state


def excluded_index(ini: Ini, index: str) -> list[Note]:
    """An exclusion that matches the index page leaves nothing to build: Sphinx would
    stop with an error about index.rst and conf.py, words the author never wrote."""
    from sphinx.util.matching import Matcher

    for key in ("exclusions", "non-notebooks"):
        for pattern in split_globs(ini.get("build", key)):
            if Matcher(sphinx_globs([pattern]))(f"{index}.md"):
                return [
                    Note(
                        ini.line("build", key),
                        f"[build] {key}: {pattern!r} leaves out the index page {index}.md, "
                        "so nothing is left to build; exclude only the pages to leave out",
                        True,
                    )
                ]
    return []


def existing_file(book: Path, ini: Ini, m: Mapping, section: str, key: str) -> Path | None:
    """The file a key names (relative to the book); a warning, and None, when it is not there."""
    value = ini.get(section, key)
    if not value:
        return None
    path = (book / value).resolve()
    if not path.is_file():
        m.notes.append(
            Note(ini.line(section, key), f"[{section}] {key}: {value} does not exist; the setting is left out")
        )
        return None
    return path


def map_html(book: Path, ini: Ini, m: Mapping) -> None:
    links = []
    for row in split_rows(ini.get("html", "header_links")):
        if len(row) != 3:
            m.notes.append(
                Note(
                    ini.entry_line("html", "header_links", ", ".join(row)),
                    f"[html] header_links: {', '.join(row)!r} must be 'name, URL, icon' (one link a line); "
                    "the link is left out",
                )
            )
            continue
        name, url, icon = row
        links.append({"name": name, "url": url, "icon": icon, "type": "fontawesome"})
    if links:
        m.values["html_theme_options"] = {"icon_links": links}
        m.lines["html_theme_options"] = ini.line("html", "header_links")
    for key, option in (("favicon", "html_favicon"), ("html_logo", "html_logo")):
        path = existing_file(book, ini, m, "html", key)
        if path is not None:
            m.values[option] = str(path)
            m.lines[option] = ini.line("html", key)
    for key, option in (("include_css", "html_css_files"), ("include_js", "html_js_files")):
        files = []
        for pattern in split_globs(ini.get("html", key)):
            found = matching_files(book, pattern)
            if not found:
                m.notes.append(Note(ini.line("html", key), f"[html] {key}: {pattern!r} matches no file"))
            files += found
        if files:  # under their path in the book, so a.css and b/a.css stay two files
            targets = [p.relative_to(book).as_posix() if p.is_relative_to(book) else p.name for p in files]
            m.values.setdefault("execbook_ini_static", []).extend([str(p), t] for p, t in zip(files, targets))
            m.values[option] = [f"execbook-ini/{t}" for t in targets]


def map_pdf(book: Path, ini: Ini, m: Mapping, tabs: list[str]) -> None:
    pdf: dict[str, Any] = {"name": ini.get("project", "name")}
    fonts = {
        role: ini.get("pdf", f"{role}_font") for role in ("main", "sans", "mono") if ini.get("pdf", f"{role}_font")
    }
    if fonts:
        pdf["fonts"] = fonts
    script = existing_file(book, ini, m, "pdf", "post_latex")
    if script is not None:
        pdf["post_latex"] = str(script)
    m.values["execbook_pdf"] = pdf
    m.lines["execbook_pdf"] = ini.line("pdf")
    logo = existing_file(book, ini, m, "pdf", "latex_logo")
    if logo is not None:
        m.values["latex_logo"] = str(logo)
    bib = existing_file(book, ini, m, "pdf", "bibfile")
    if bib is not None:
        m.values["bibtex_bibfiles"] = [str(bib)]
    # d2l-book uses the archive at latex_url only for style = cambridge;
    # latex_archive (execbook's) is a local copy of it
    if ini.get("pdf", "style") and ini.get("pdf", "style").lower() != "default":
        pdf["style"] = ini.get("pdf", "style")
        for key in ("latex_url", "latex_archive"):
            if ini.get("pdf", key):
                pdf[key] = ini.get("pdf", key)


def map_library(book: Path, ini: Ini, m: Mapping, tabs: list[str]) -> None:
    modules: dict[str, str] = {}
    aliases: dict[str, dict[str, str]] = {}
    packages: dict[str, str] = {}
    for tab in tabs:
        section = f"library-{tab}"
        if section not in ini.values:
            if tab == tabs[0] and ini.get("library", "save_filename"):  # d2l-book's older, one-framework form
                section = "library"
                lib_file = ini.get("library", "save_filename")
            else:
                continue
        else:
            lib_file = ini.get(section, "lib_file")
        if not lib_file:
            m.notes.append(
                Note(
                    ini.line(section),
                    f"[{section}] needs lib_file, the module its #@save code goes to (e.g. d2l/torch.py)",
                    True,
                )
            )
            continue
        parts = Path(lib_file).with_suffix("").parts
        if len(parts) != 2:
            m.notes.append(
                Note(
                    ini.line(section, "lib_file"),
                    f"[{section}] lib_file {lib_file!r} must be a module in a package "
                    f"folder beside config.ini, e.g. d2l/{Path(lib_file).name}",
                    True,
                )
            )
            continue
        packages[tab] = "/".join(parts[:-1])
        modules[tab] = lib_file
        maps = {
            target: ini.get(section, key)
            for key, target in LIBRARY_TAB_KEYS.items()
            if target and ini.get(section, key)
        }
        try:
            Aliases.from_option(maps)
        except AliasError as error:
            key = next((k for k, t in LIBRARY_TAB_KEYS.items() if t and error.entry in ini.get(section, k)), "")
            m.notes.append(
                Note(ini.entry_line(section, key, error.entry), f"[{section}] {key or 'aliases'}: {error}", True)
            )
            continue
        if maps:
            aliases[tab] = maps
    if len(set(packages.values())) > 1:
        m.notes.append(
            Note(
                ini.line(f"library-{tabs[0]}"),
                "every [library-<tab>] lib_file must be in the same package folder, "
                f"got {sorted(set(packages.values()))}",
                True,
            )
        )
        return
    if not modules:
        return
    package = next(iter(packages.values()))
    library: dict[str, Any] = {"name": package.replace("/", "."), "modules": modules}
    if aliases:
        library["aliases"] = aliases
    if ini.get("library", "version_file"):
        library["version_file"] = ini.get("library", "version_file")
    m.values["execbook_library"] = library
    m.lines["execbook_library"] = ini.line(f"library-{next(iter(modules))}")


def map_colab(ini: Ini, m: Mapping, tabs: list[str], marked: Callable[[], set[str]] = set) -> None:
    default_tab = tabs[0] if tabs else "python"
    rows = split_rows(ini.get("colab", "github_repo"))
    repos: dict[str, str] = {}
    if len(rows) == 1 and len(rows[0]) == 1:
        repos[default_tab] = rows[0][0]
    else:
        for row in rows:
            if len(row) == 2 and tabs and row[0] not in tabs and row[0] in marked():
                continue  # a framework of the book that this build leaves out
            if len(row) != 2 or row[0] not in (tabs or [default_tab]):
                m.notes.append(
                    Note(
                        ini.line("colab", "github_repo"),
                        f"[colab] github_repo: {', '.join(row)!r} must be 'tab, owner/repo' "
                        "with a tab of [build] tabs; the line is left out",
                    )
                )
                continue
            repos[row[0]] = row[1]
    for tab, repo in list(repos.items()):  # it goes into a URL on every page: only owner/repo makes a link
        if not GITHUB_REPO_RE.match(repo):
            m.notes.append(
                Note(
                    ini.line("colab", "github_repo"),
                    f"[colab] github_repo: {repo!r} is not a GitHub repository as 'owner/repo'; the line is left out",
                )
            )
            del repos[tab]
    if repos:
        m.values["execbook_colab"] = repos
        m.lines["execbook_colab"] = ini.line("colab", "github_repo")
    install: dict[str, dict[str, str]] = {}
    release = ini.get("project", "release")
    for row in split_rows(ini.get("colab", "libs")):
        row = row if len(row) == 3 else [default_tab, *row] if len(row) == 2 and not tabs else row
        if len(row) != 3:
            m.notes.append(
                Note(
                    ini.line("colab", "libs"),
                    f"[colab] libs: {', '.join(row)!r} must be 'tab, module, pip requirement'; the line is left out",
                )
            )
            continue
        tab, module, requirement = row
        if tabs and tab not in tabs and tab in marked():
            continue  # a framework of the book that this build leaves out
        if tab not in (tabs or [default_tab]):
            m.notes.append(
                Note(
                    ini.entry_line("colab", "libs", ", ".join(row)),
                    f"[colab] libs: '{tab}' is not one of the book's "
                    f"tabs ({', '.join(tabs or [default_tab])}); the line is left out",
                )
            )
            continue
        install.setdefault(tab, {})[module] = requirement.replace("==RELEASE", f"=={release}")
    if install:
        m.values["execbook_install"] = install
        m.lines["execbook_install"] = ini.line("colab", "libs")
        m.values["execbook_install_header"] = " ".join(ini.get("colab", "libs_header").split())
    m.values["execbook_colab_exclude"] = [p.removesuffix(".html") for p in split_globs(ini.get("colab", "exclusions"))]
    m.values["execbook_colab_gpu"] = ini.get("colab", "gpu_pattern")


def map_svg_urls(ini: Ini, m: Mapping) -> None:
    """[colab] replace_svg_url: ``img, http://d2l.ai/_images`` shows the book's ``img/x.svg``
    from ``http://d2l.ai/_images/x.svg`` in the notebooks (Colab cannot show a relative image)."""
    rules = []
    for row in split_rows(ini.get("colab", "replace_svg_url")):
        at = ini.entry_line("colab", "replace_svg_url", ", ".join(row))
        prefix, url = (row[0].strip("/").removeprefix("./"), row[1]) if len(row) == 2 else ("", "")
        if not prefix or prefix.startswith("..") or not URL_RE.fullmatch(url):
            m.notes.append(
                Note(
                    at,
                    f"[colab] replace_svg_url: {', '.join(row)!r} must be 'folder, URL': a folder of the book "
                    "and the address its images are served from, e.g. 'img, https://d2l.ai/_images'",
                    True,
                )
            )
            continue
        rules.append([prefix, url])
    if rules:
        m.put("execbook_colab_svg_url", rules, ini.line("colab", "replace_svg_url"))


def map_deploy(ini: Ini, m: Mapping) -> None:
    """[deploy] github_repo (for ``execbook deploy``) and google_analytics_tracking_id,
    the theme's Google Analytics tag on every page."""
    m.deploy_repo = ini.get("deploy", "github_repo")
    tracking_id = ini.get("deploy", "google_analytics_tracking_id")
    if not tracking_id:
        return
    line = ini.line("deploy", "google_analytics_tracking_id")
    if not GOOGLE_TAG_RE.fullmatch(tracking_id):  # it goes into a script on every page
        m.notes.append(
            Note(
                line,
                f"[deploy] google_analytics_tracking_id: {tracking_id!r} is not a Google Analytics ID; "
                "write the measurement ID Google gives, e.g. G-XXXXXXXXXX",
                True,
            )
        )
        return
    if tracking_id.startswith("UA-"):
        m.notes.append(
            Note(
                line,
                f"[deploy] google_analytics_tracking_id: {tracking_id} is a Universal Analytics ID; Google "
                "stopped recording those in July 2024 (the pages carry the tag; use a G- measurement ID)",
                info=True,
            )
        )
    theme_options = m.values.setdefault("html_theme_options", {})
    theme_options["analytics"] = {"google_analytics_id": tracking_id}
    m.lines.setdefault("html_theme_options", line)
