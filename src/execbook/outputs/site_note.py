"""What an HTML build tells the tools that publish and check its site, in
``_build/html/.execbook-site.json`` (never published): the URL its pages will be
served at (``html_baseurl``, with the version's folder) and its version (or '')."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

SITE_NOTE = ".execbook-site.json"


def write_site_note(site: Path, url: str, version: str) -> None:
    """Called by the HTML build; a no-op build leaves the file alone."""
    text = json.dumps({"url": url, "version": version}) + "\n"
    note = site / SITE_NOTE
    if not note.is_file() or note.read_text(encoding="utf-8") != text:
        note.write_text(text, encoding="utf-8")


def site_note(site: Path) -> dict[str, str]:
    """The note of the site in ``site`` (empty: none, or unreadable)."""
    try:
        note = json.loads((site / SITE_NOTE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in note.items() if isinstance(value, str)} if isinstance(note, dict) else {}


def url_path(site: Path) -> str:
    """The path the site is served at ('/book/2.0/'), so its absolute links can be checked."""
    return urlsplit(site_note(site).get("url", "")).path or "/"
