"""d2l's inline roles -> MyST roles (``:numref:`` -> ``{numref}``, ``:cite:`` ->
``{cite:p}``), code spans left alone; a role that cannot be converted is
reported at its line and left as text, never passed on to stop Sphinx."""

from __future__ import annotations

import re

from execbook.source.codespans import protect, restore
from execbook.source.messages import Message

#: d2l role name -> MyST role name.
INLINE_ROLES = {
    "numref": "numref",
    "ref": "ref",
    "eqref": "eq",
    "cite": "cite:p",
    "citet": "cite:t",
}


CITE_ROLES = {"cite", "citet"}


ROLE_RE = re.compile(r":(?P<name>[A-Za-z_]+):`(?P<body>[^`]*)`")


def convert_inline(text: str, line: int, messages: list[Message]) -> str:
    """Turn d2l inline roles into MyST roles, leaving code (see ``codespans``) as written."""
    text, code = protect(text)

    def convert(match: re.Match[str]) -> str:
        at = line + text.count("\n", 0, match.start())
        return _convert_role(match.group("name"), match.group("body"), match.group(0), at, messages)

    return restore(ROLE_RE.sub(convert, text), code)


# a key as sphinxcontrib-bibtex parses it: {pre}key{post}, the key without spaces, braces or commas
CITE_KEY_RE = re.compile(r"\s*([{][^{}]+[}])?\s*[^{}\s,]+\s*([{][^{}]+[}])?\s*")


def _convert_role(name: str, body: str, raw: str, line: int, messages: list[Message]) -> str:
    if name in INLINE_ROLES:
        if name in CITE_ROLES:
            body = ",".join(key.strip() for key in body.split(",") if key.strip())
            bad = [key for key in body.split(",") if key and not CITE_KEY_RE.fullmatch(key)]
            if bad:  # sphinxcontrib-bibtex would stop the build on it (ValueError: malformed citation target)
                messages.append(
                    Message(
                        line,
                        f":{name}: key {bad[0]!r} is not a BibTeX key (no spaces or braces); it was left as text",
                        "syntax",
                    )
                )
                return raw
        if not body.strip():
            messages.append(Message(line, f"empty :{name}: role; put a label or key between the backticks", "syntax"))
            return ""
        return f"{{{INLINE_ROLES[name]}}}`{body.strip() if name not in CITE_ROLES else body}`"
    if name in ("label", "eqlabel"):
        messages.append(
            Message(
                line,
                f":{name}:`{body}` must stand on its own line after "
                + ("a heading, an image or a table" if name == "label" else "a $$ display equation $$")
                + "; it was ignored",
                "label",
            )
        )
        return ""
    return raw
