"""Sphinx roles in the library's docstrings, resolved for the library page.

d2l's saved code carries docstrings such as ``Defined in :numref:`sec_calculus```
or ``See :cite:`Zhang.2021```. The code is never read by Sphinx, so the page
resolves them itself, as the prose shows them: ``:numref:`` as the target's
number (``Section 2.3``, ``Fig. 4.1``) linked to it, ``:ref:`` as the
section's title, ``:cite:`` as author and year linked to the bibliography
entry. Splitting is pure (``split_roles``); ``EnvRoles`` looks targets up in a
built environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from docutils.nodes import make_id

ROLE_RE = re.compile(r":(?P<role>numref|ref|eqref|cite(?::[a-z]+)?):`(?P<target>[^`]+)`")
EXPLICIT_RE = re.compile(r"^(?P<text>.*?)\s*<(?P<label>[^<>]+)>$", re.DOTALL)


@dataclass(frozen=True)
class Part:
    """A run of a docstring: plain text, or text linking to ``docname#anchor``."""

    text: str
    docname: str | None = None
    anchor: str = ""


Resolver = Callable[[str, str], "list[Part] | None"]


def split_roles(text: str, resolve: Resolver) -> tuple[list[Part], list[str]]:
    """``text`` as parts, each role replaced by what ``resolve(role, target)`` makes of it;
    a role it cannot resolve shows its target as plain text and is listed (second value)."""
    parts: list[Part] = []
    unresolved: list[str] = []
    start = 0
    for found in ROLE_RE.finditer(text):
        if found.start() > start:
            parts.append(Part(text[start : found.start()]))
        resolved = resolve(found.group("role"), found.group("target"))
        if resolved is None:
            unresolved.append(found.group(0))
            resolved = [Part(found.group("target"))]
        parts += resolved
        start = found.end()
    if start < len(text):
        parts.append(Part(text[start:]))
    return parts, unresolved


def author_year(entry: Any) -> tuple[str, str]:
    """The names and year an author-year citation prints (``Zhang et al.``, ``2021``)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [" ".join(person.last_names) for person in people]
    if len(last) > 2:
        names = f"{last[0]} et al."
    elif last:
        names = " and ".join(last)
    else:
        names = entry.fields.get("title", entry.key)
    return names, str(entry.fields.get("year", "n.d."))


class EnvRoles:
    """Resolves roles against a built environment: labels and numbers from the std
    domain and the toc, citations from sphinxcontrib-bibtex's domain."""

    def __init__(self, env: Any, numfig_format: dict[str, str]):
        self.labels = env.domaindata.get("std", {}).get("labels", {})
        self.secnumbers = env.toc_secnumbers
        self.fignumbers = env.toc_fignumbers
        self.titles = env.titles
        self.equations = env.domaindata.get("math", {}).get("objects", {})
        self.numfig_format = numfig_format
        self.citations: dict[str, Any] = {}
        if "cite" in env.domains:
            for citation in env.get_domain("cite").citations:
                self.citations.setdefault(citation.key, citation)

    def __call__(self, role: str, target: str) -> list[Part] | None:
        if role.startswith("cite"):
            return self.cite(role, target)
        explicit = EXPLICIT_RE.match(target)
        text, label = (explicit.group("text"), explicit.group("label")) if explicit else (None, target)
        if role == "eqref":
            return self.equation(label)
        if label not in self.labels:
            return None
        docname, anchor, title = self.labels[label]
        if role == "ref":
            return [Part(text or title, docname, anchor)]
        kind, number = self.number(docname, anchor, title)
        if number is None:
            return [Part(text or title, docname, anchor)]
        if text:
            return [Part(text.replace("{number}", number).replace("%s", number), docname, anchor)]
        return [Part(self.numfig_format.get(kind, "%s") % number, docname, anchor)]

    def number(self, docname: str, anchor: str, title: str) -> tuple[str, str | None]:
        """The kind of ``docname#anchor`` (figure, table, section) and its number."""
        for kind, numbers in self.fignumbers.get(docname, {}).items():
            if anchor in numbers:
                return kind, ".".join(map(str, numbers[anchor]))
        numbers = self.secnumbers.get(docname, {})
        found = numbers.get(f"#{anchor}")
        page_title = self.titles.get(docname)
        if found is None and page_title is not None and page_title.astext() == title:
            found = numbers.get("")  # the page's own heading is numbered under the empty anchor
        return "section", ".".join(map(str, found)) if found else None

    def equation(self, label: str) -> list[Part] | None:
        """``(2.3.1)``: the number the page shows (per section with math_numfig, else per page)."""
        found = self.equations.get(label)
        if found is None:
            return None
        docname, anchor = found[0], make_id(f"equation-{label}")  # the id Sphinx gives the equation
        kind, number = self.number(docname, anchor, "")
        return [Part(f"({number if kind == 'displaymath' else found[1]})", docname, anchor)]

    def cite(self, role: str, target: str) -> list[Part] | None:
        """``(Zhang et al., 2021; Lee, 2019)``; ``:cite:t:`` reads ``Zhang et al. (2021)``."""
        keys = [key.strip() for key in target.split(",") if key.strip()]
        if not keys or any(key not in self.citations for key in keys):
            return None
        textual = role in ("cite:t", "cite:ts")
        parts: list[Part] = [] if textual else [Part("(")]
        for index, key in enumerate(keys):
            citation = self.citations[key]
            names, year = author_year(citation.entry)
            if index:
                parts.append(Part(", " if textual else "; "))
            text = f"{names} ({year})" if textual else f"{names}, {year}"
            parts.append(Part(text, citation.bibliography_key.docname, citation.citation_id))
        return parts if textual else [*parts, Part(")")]
