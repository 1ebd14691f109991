"""Every internal link of a built site resolves: ``execbook check-links``.

Reads each page of the site once with the standard library's HTML parser and
checks the ``href`` and ``src`` (and ``srcset``, ``poster``, ``data``) of
every element against the files of the site: pages, images, scripts,
styles, and the notebooks, PDFs and zips a page offers. A link with a
fragment (``page.html#id``) needs an element with that ``id`` (or ``name``)
in the target page. Links to other sites are not fetched: the check is
about what the build wrote, and runs offline in well under a second for a
book of a few hundred pages (Sphinx's own ``linkcheck`` builder reads the
whole book again and asks the network).
"""

from __future__ import annotations

import os
import posixpath
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from execbook.outputs.site_note import url_path as served_at

# attributes that point at something the browser fetches or the reader follows
LINK_ATTRIBUTES = {"href", "src", "poster", "data"}
# top-level folders of a Sphinx site that hold no pages of their own (the
# theme's static folder ships Jinja macro files named .html)
NOT_PAGES = {"_static", "_sources", "_images", "_downloads"}


@dataclass(frozen=True)
class Broken:
    page: str  # the page, relative to the site (posix)
    link: str  # the link as written in the page
    why: str

    def __str__(self) -> str:
        return f"{self.page}: {self.link} -> {self.why}"


@dataclass
class Result:
    pages: int = 0
    links: int = 0  # internal links checked (each occurrence counts)
    external: int = 0  # links to other sites, not checked
    broken: list[Broken] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.links} internal links in {self.pages} pages, {len(self.broken)} broken "
            f"({self.external} external not checked, {self.seconds:.2f} s)"
        )


class PageParser(HTMLParser):
    """The links of one page, and the ids and names it offers as anchors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.anchors: set[str] = set()
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (name == "name" and tag in ("a", "map")):
                self.anchors.add(value)
            elif name == "href" and tag == "base":
                self.base = value
            elif name in LINK_ATTRIBUTES and not (name == "data" and tag != "object"):
                self.links.append(value)
            elif name == "srcset":
                self.links.extend(part.split()[0] for part in value.split(",") if part.split())

    handle_startendtag = handle_starttag


def parse_page(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def is_external(link: str) -> bool:
    """Another site (``https:``, ``//host``) or no file at all (``mailto:``, ``javascript:``, ``data:``)."""
    return bool(urlsplit(link).scheme) or link.startswith("//")


class Site:
    """The files of a built site, with each page parsed at most once."""

    def __init__(self, root: Path, url_path: str = "/"):
        self.root = root.resolve()
        self.url_path = url_path  # where the site is served: '/book/' makes /book/x.html the file x.html
        self.parsed: dict[str, PageParser] = {}
        self.files: dict[str, bool] = {}
        self.answers: dict[tuple[str, str], str | None] = {}  # every page links the same styles and scripts

    def pages(self) -> list[str]:
        found = []
        for folder, dirs, files in os.walk(self.root):
            here = Path(folder).relative_to(self.root).as_posix()
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (here == "." and d in NOT_PAGES))
            found += [
                posixpath.normpath(posixpath.join(here, name)) for name in sorted(files) if name.endswith(".html")
            ]
        return found

    def page(self, name: str) -> PageParser:
        if name not in self.parsed:
            self.parsed[name] = parse_page(self.root / name)
        return self.parsed[name]

    def is_file(self, name: str) -> bool:
        if name not in self.files:
            self.files[name] = (self.root / name).is_file()
        return self.files[name]

    def is_dir(self, name: str) -> bool:
        return name in ("", ".") or (self.root / name).is_dir()

    def check(self, page: str, link: str) -> str | None:
        """Why ``link`` in ``page`` does not resolve, or None when it does."""
        # the same link means the same target from any page of a folder, unless it
        # stays on its page (``#id``) or the page sets its own <base>
        same_folder = bool(link) and not link.startswith(("#", "?")) and self.page(page).base is None
        key = (posixpath.dirname(page) + "/" if same_folder else page, link)
        if key not in self.answers:
            self.answers[key] = self.resolve(page, link)
        return self.answers[key]

    def resolve(self, page: str, link: str) -> str | None:
        parts = urlsplit(link)
        path, fragment = unquote(parts.path), unquote(parts.fragment)
        here, base = posixpath.dirname(page), self.page(page).base
        if base is not None:
            if is_external(base) or not path:
                return None  # relative to another site, or a fragment of the <base> address: not ours to judge
            here = posixpath.normpath(posixpath.join(here, unquote(urlsplit(base).path)))
        if not path:
            target = page
        else:
            if path.startswith("/") and not path.startswith(self.url_path):
                return None  # another site on the same host: not ours to judge
            joined = path.removeprefix(self.url_path) if path.startswith("/") else posixpath.join(here, path)
            target = posixpath.normpath(joined)
            if target == ".." or target.startswith("../"):
                return "outside the site"
            if path.endswith("/") or self.is_dir(target):
                target = posixpath.normpath(posixpath.join(target, "index.html"))
            if not self.is_file(target):
                return f"no file {target}" if not path.endswith("/") else f"no {target} for this folder"
        if fragment and target.endswith(".html") and fragment not in self.page(target).anchors:
            return f"no id {fragment!r} in {target}"
        return None


def check_site(root: Path, url_path: str | None = None) -> Result:
    """Every internal link of the site under ``root``, served at ``url_path`` (default:
    where its build says it will be, else the host's root)."""
    started = time.perf_counter()
    site = Site(root, url_path or served_at(root))
    result = Result()
    for page in site.pages():
        result.pages += 1
        for link in site.page(page).links:
            link = link.strip()
            if is_external(link):
                result.external += 1
                continue
            result.links += 1
            why = site.check(page, link)
            if why is not None:
                result.broken.append(Broken(page, link, why))
    result.seconds = time.perf_counter() - started
    return result


def report(result: Result, limit: int | None = None) -> list[str]:
    """One line per broken link (``page.html: href -> why``), at most ``limit`` then a count."""
    lines = [str(broken) for broken in result.broken[:limit]]
    if limit is not None and len(result.broken) > limit:
        lines.append(f"... and {len(result.broken) - limit} more")
    return lines


def main(site: Path) -> int:
    """``execbook check-links [DIR]``: broken links on stdout, a summary on stderr; exit 1 if any."""
    import sys

    if not site.is_dir():
        print(f"execbook: no built site in {site}; run `make html` first", file=sys.stderr)
        return 2
    result = check_site(site)
    for line in report(result):
        print(line)
    print(f"execbook check-links: {result.summary()}", file=sys.stderr)
    return 1 if result.broken else 0
