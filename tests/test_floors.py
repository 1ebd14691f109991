"""The versions pyproject.toml admits are the versions `make test-lowest` tests.

Every floor ``name>=A.B`` of [project.dependencies] is pinned to its own series,
``name==A.B.*``, in constraints/lowest.txt, and nothing else is: a floor raised,
added or dropped without the constraints file (or the reverse) fails here, before
CI installs a lowest set that no longer is the lowest.
"""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
FLOOR = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)>=(\d+\.\d+)(?:\.\d+)?$")  # A.B.C: series A.B
SERIES = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\d+\.\d+)\.\*$")


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def floors(dependencies: list[str]) -> tuple[dict[str, str], list[str]]:
    """``{name: "A.B"}`` for each ``name>=A.B``, and the requirements that are not of that form."""
    found, other = {}, []
    for requirement in dependencies:
        match = FLOOR.match(requirement.replace(" ", ""))
        if match:
            found[normal(match.group(1))] = match.group(2)
        else:
            other.append(requirement)
    return found, other


def series(text: str) -> tuple[dict[str, str], list[str]]:
    """``{name: "A.B"}`` for each ``name==A.B.*`` line, and the lines that are not of that form."""
    found, other = {}, []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = SERIES.match(line)
        if match:
            found[normal(match.group(1))] = match.group(2)
        else:
            other.append(line)
    return found, other


def test_every_floor_is_pinned_to_its_series_in_the_lowest_constraints():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    admitted, unbounded = floors(project["dependencies"])
    tested, odd = series((ROOT / "constraints" / "lowest.txt").read_text(encoding="utf-8"))
    assert unbounded == [], "each dependency needs a floor of two parts, name>=A.B or A.B.C (no upper bound)"
    assert odd == [], "constraints/lowest.txt holds only name==A.B.* lines"
    assert tested == admitted


def test_floors_and_series_are_read_as_written():
    assert floors(["Sphinx>=7.2", "myst_parser >= 3.0", "rich>=13", "x>=1.0,<2"]) == (
        {"sphinx": "7.2", "myst-parser": "3.0"},
        ["rich>=13", "x>=1.0,<2"],
    )
    assert series("# note\nsphinx==7.2.*  # why\nrich==13.0.1\n") == ({"sphinx": "7.2"}, ["rich==13.0.1"])
