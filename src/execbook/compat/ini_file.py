"""d2l-book's ``config.ini`` as a file: its sections and keys with their lines,
d2l-book's defaults, the keys execbook ignores, and the globs it uses."""

from __future__ import annotations

import configparser
import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from execbook.book.files import BUILD_DIR

INI_NAME = "config.ini"
DEFAULT_TAB = "python"  # a book without [build] tabs has one framework, execbook's default
CONF_DIR = Path(BUILD_DIR) / ".execbook-conf"

# d2l-book's defaults (its config_default.ini), for the keys execbook maps
DEFAULTS = {
    "project": {"name": "d2lbook", "title": "", "author": "The contributors", "release": "0.0.1", "copyright": ""},
    "build": {
        "index": "index",
        "notebooks": "**/*.md",
        "rsts": "",
        "non-notebooks": "",
        "exclusions": "",
        "resources": "",
        "eval_notebook": "True",
        "warning_is_error": "False",
        "sphinx_extensions": "",
        "sphinx_configs": "",
        "tabs": "",
        "dependencies": "",
    },
    "html": {"header_links": "", "favicon": "", "html_logo": "", "include_css": "", "include_js": ""},
    "pdf": {
        "main_font": "",
        "sans_font": "",
        "mono_font": "",
        "post_latex": "",
        "latex_logo": "",
        "bibfile": "",
        "style": "",
        "latex_url": "",
        "latex_archive": "",
    },
    "library": {"version_file": "", "save_filename": ""},
    "deploy": {"github_repo": "", "google_analytics_tracking_id": ""},
    "colab": {
        "github_repo": "",
        "exclusions": "*.html **/index.html",
        "libs": "",
        "gpu_pattern": "gpu",
        "libs_header": "The following additional libraries are needed to run this notebook. "
        "Note that running on Colab is experimental, please report a Github issue if you have any problem.",
        "replace_svg_url": "",
    },
}
LIBRARY_TAB_KEYS = {
    "lib_file": None,
    "lib_name": "lib_name",
    "simple_alias": "simple",
    "fluent_alias": "fluent",
    "args_alias": "args",
    "alias": "alias",
    "reverse_alias": "reverse",
}
# d2l-book keys execbook has no use for, and why
IGNORED = {
    ("project", "lang"): "the site's language is Sphinx's `language`; set it in sphinx_configs",
    ("build", "source_dir"): "execbook builds the folder config.ini is in",
    ("build", "output_dir"): "execbook writes into _build",
    ("build", "origin_repo"): "translations are not supported",
    ("library", "save_mark"): "use #@save",
    ("library", "save_patterns"): "use [library-<tab>] lib_file",
    ("library", "version"): "the version is [project] release",
    ("library", "root_dir"): "not supported",
    ("deploy", "s3_bucket"): "execbook deploys to GitHub Pages",
    ("deploy", "other_file_s3urls"): "execbook deploys to GitHub Pages",
}
IGNORED_SECTIONS = {"translation", "sagemaker", "slides"}
# what configparser accepts as a boolean (getboolean): anything else is refused at its line
BOOLEANS = dict(configparser.RawConfigParser.BOOLEAN_STATES)


@dataclass
class Note:
    """A problem or remark about config.ini, at a line."""

    line: int
    text: str
    error: bool = False
    info: bool = False  # a d2l-book key execbook has no use for: said, but not a warning (-W stays green)

    def format(self, path: Path) -> str:
        return f"{path}:{self.line}: {'ERROR' if self.error else 'WARNING'}: {self.text}"


@dataclass
class Ini:
    path: Path
    values: dict[str, dict[str, str]]
    lines: dict[tuple[str, str], int]  # (section, key) -> line; (section, "") -> the header's line

    def get(self, section: str, key: str) -> str:
        value = self.values.get(section, {}).get(key)
        return DEFAULTS.get(section, {}).get(key, "") if value is None else value

    def line(self, section: str, key: str = "") -> int:
        return self.lines.get((section, key)) or self.lines.get((section, ""), 1)

    def entry_line(self, section: str, key: str, entry: str) -> int:
        """The line of ``entry`` inside a value that spans several lines."""
        start = self.line(section, key)
        first = entry.strip().splitlines()[0].strip() if entry.strip() else ""
        lines = self.path.read_text(encoding="utf-8").splitlines()
        end = start
        while end < len(lines) and (not lines[end].strip() or lines[end][0].isspace()):
            end += 1  # the value's continuation lines
        value_lines = [
            (number, lines[number - 1].split("=", 1)[-1] if number == start else lines[number - 1])
            for number in range(start, end + 1)
        ]
        for match in (
            lambda text: first in [t.strip() for t in text.split(",")] or text.strip() == first,
            lambda text: first in text,
        ):
            for number, text in value_lines:
                if first and match(text):
                    return number
        return start

    def value_start(self, section: str, key: str) -> int:
        """The line a value's text starts on: the key's, or the next one for ``key =`` alone."""
        start = self.line(section, key)
        if (section, key) not in self.lines:
            return start
        key_line = self.path.read_text(encoding="utf-8").splitlines()[start - 1]
        return start if re.split(r"[=:]", key_line, maxsplit=1)[-1].strip() else start + 1


SECTION_RE = re.compile(r"^\[(?P<name>[^\]]+)\]")
KEY_RE = re.compile(r"^(?P<key>[^\s=:#;\[][^=:]*?)\s*[=:]")


def section_name(name: str) -> str:
    """``[library-PyTorch]`` is the section of tab ``pytorch``: d2l-book lowercases tab names."""
    return name.lower() if name.lower().startswith("library-") else name


def read_ini(path: Path) -> tuple[Ini, list[Note]]:
    """The file as d2l-book's ConfigParser reads it (``%%`` for ``%``), with each key's line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        at = path.read_bytes()[: error.start].count(b"\n") + 1
        return Ini(path, {}, {}), [Note(at, "config.ini is not UTF-8 text; save it as UTF-8", True)]
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        if match := SECTION_RE.match(line):
            section = section_name(match["name"].strip())
            lines.setdefault((section, ""), number)
        elif section and (match := KEY_RE.match(line)):
            lines.setdefault((section, match["key"].strip().lower()), number)
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as error:  # a ParsingError since Python 3.12, without .errors
        return Ini(path, {}, lines), [
            Note(
                error.lineno,
                f"cannot read {error.line.strip()!r}: config.ini starts with a [section] "
                "header, such as [project], before any 'key = value'",
                True,
            )
        ]
    except configparser.ParsingError as error:  # lines that are neither a section, a key nor a continuation
        source_lines = text.splitlines()
        return Ini(path, {}, lines), [
            Note(line, f"cannot read {source_lines[line - 1].strip()!r}: write 'key = value' under a [section]", True)
            for line, _ in error.errors
        ]
    except configparser.Error as error:
        at = getattr(error, "lineno", None) or 1
        return Ini(path, {}, lines), [Note(at, f"config.ini cannot be read: {error.message.splitlines()[0]}", True)]
    values: dict[str, dict[str, str]] = {}
    notes = []
    for name in parser.sections():
        entries = values.setdefault(section_name(name), {})
        for key in parser[name]:
            try:
                entries[key] = parser[name][key].strip()
            except configparser.InterpolationError:
                entries[key] = parser.get(name, key, raw=True).strip()
                notes.append(
                    Note(
                        lines.get((section_name(name), key), 1),
                        f"[{name}] {key}: a literal % is written %% (as for d2l-book)",
                        True,
                    )
                )
    return Ini(path, values, lines), notes


def split_globs(value: str) -> list[str]:
    return value.split()


def exists(book: Path, pattern: str) -> bool:
    """Whether a glob (relative to the book, or absolute) names anything; stops at the first match."""
    full = pattern if os.path.isabs(pattern) else os.path.join(book, pattern)
    return next(glob.iglob(full, recursive=True), None) is not None


def matching_files(book: Path, pattern: str) -> list[Path]:
    """d2l-book's ``find_files``: a glob (``**`` recursive) relative to the book, or
    absolute; a folder is everything in it."""
    full = pattern if os.path.isabs(pattern) else os.path.join(book, pattern)
    if os.path.isdir(full):
        full = os.path.join(full, "**")
    return sorted(Path(p) for p in glob.glob(full, recursive=True) if os.path.isfile(p))


def sphinx_globs(patterns: list[str]) -> list[str]:
    """d2l-book's globs (Python's glob, recursive) as Sphinx patterns: a folder
    means everything in it, and ``**/x`` also matches ``x`` at the top."""
    out = []
    for pattern in patterns:
        pattern = pattern.removeprefix("./")
        if pattern.endswith("/"):
            pattern += "**"
        out.append(pattern)
        if pattern.startswith("**/"):
            out.append(pattern[3:])
    return out


def split_rows(value: str) -> list[list[str]]:
    """d2l-book's ``split_config_str``: one row per line, items separated by commas."""
    return [[item.strip() for item in line.split(",") if item.strip()] for line in value.splitlines() if line.strip()]


def first_heading(index: Path) -> str:
    """d2l-book's title of last resort: the first non-empty line of the index, without its '#'."""
    if index.is_file():
        for line in index.read_text(encoding="utf-8").splitlines():
            if line.strip():
                return line.strip().lstrip("#").strip()
    return ""
