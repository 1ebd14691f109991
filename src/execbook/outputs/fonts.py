"""Fonts for the PDF: is a font xelatex can load by name installed, and if not, which free one to use.

xelatex (fontspec) finds a font given by name through fontconfig on Linux,
the same lookup ``fc-list`` makes; TeX Live's own OpenType folders count only
where fontconfig is told about them (Debian's fonts-texgyre, fonts-lmodern
and fonts-freefont-otf put theirs in /usr/share/fonts). Fontconfig compares
names ignoring case and blanks, and a font answers to its family, its full
name and its PostScript name. A name with a font file's extension is looked
up as a file by kpathsea instead, so it is not checked here.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

# first installed one wins; FreeSerif/FreeSans/FreeMono are execbook's defaults (fonts-freefont-otf)
FALLBACKS = {
    "main": ("FreeSerif", "TeX Gyre Termes", "DejaVu Serif", "Latin Modern Roman"),
    "sans": ("FreeSans", "TeX Gyre Heros", "DejaVu Sans", "Latin Modern Sans"),
    "mono": ("FreeMono", "TeX Gyre Cursor", "DejaVu Sans Mono", "Latin Modern Mono"),
}
FILE_SUFFIXES = (".otf", ".ttf", ".ttc", ".pfb", ".otc")


def normal(name: str) -> str:
    return "".join(name.split()).casefold()


@lru_cache(maxsize=1)
def installed() -> frozenset[str] | None:
    """Every name fontconfig answers to, normalised; None where there is no fc-list (then nothing is checked)."""
    if shutil.which("fc-list") is None:
        return None
    try:
        done = subprocess.run(
            ["fc-list", "--format", "%{family}\n%{fullname}\n%{postscriptname}\n"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return frozenset(normal(name) for line in done.stdout.splitlines() for name in line.split(",") if name.strip())


def available(name: str, names: frozenset[str] | None = None) -> bool:
    names = installed() if names is None else names
    if names is None or name.lower().endswith(FILE_SUFFIXES):
        return True
    return normal(name) in names


def choose(
    fonts: dict[str, str], names: frozenset[str] | None = None
) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The fonts to typeset with, and (role, wanted, used instead) for each wanted font that is not
    installed ("used instead" is empty where no fallback is installed either)."""
    names = installed() if names is None else names
    chosen = dict(fonts)
    replaced: list[tuple[str, str, str]] = []
    if names is None:
        return chosen, replaced
    for role, wanted in fonts.items():
        if available(wanted, names):
            continue
        fallback = next((font for font in FALLBACKS.get(role, ()) if available(font, names)), None)
        if fallback is not None:
            chosen[role] = fallback
        replaced.append((role, wanted, fallback or ""))
    return chosen, replaced
