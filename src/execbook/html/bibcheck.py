""".bib files that sphinxcontrib-bibtex could not read, found before it reads them.

sphinxcontrib-bibtex parses every .bib file in ``builder-inited`` and stops
the build with a Python traceback on a file that is not in
``bibtex_encoding`` or that pybtex cannot parse (an unclosed brace); the
message names neither the file nor the entry. Here each file is read and
parsed first, at ``config-inited``: a broken one is reported at
``file:line`` with its entry and what to do, and left out of
``bibtex_bibfiles``, so the build goes on (its citations then show as
unresolved). A file found readable is remembered by its content hash, so
an unchanged bibliography is not parsed twice in later builds.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from sphinx.util import logging

from execbook.book.files import atomic_write

logger = logging.getLogger(__name__)

ENTRY_START_RE = re.compile(r"^[ \t]*@[ \t]*(\w+)[ \t]*[{(][ \t]*([^,\s]*)", re.MULTILINE)
CHECKED_FILE = "bib-checked.json"  # in <doctrees>/execbook: digests of the .bib files found readable


@dataclass(frozen=True)
class BibProblem:
    line: int | None
    text: str


def entry_at(text: str, offset: int) -> tuple[str, int] | None:
    """The key and line of the entry that ``offset`` falls in, if any."""
    last = None
    for start in ENTRY_START_RE.finditer(text):
        if start.start() > offset:
            break
        last = start
    if last is None or last.group(1).lower() in ("comment", "preamble", "string"):
        return None
    return last.group(2), text.count("\n", 0, last.start()) + 1


def unclosed_brace(text: str) -> tuple[str, int] | None:
    """The first entry whose braces do not balance (key, line), if any."""
    starts = list(ENTRY_START_RE.finditer(text))
    for start, end in zip(starts, [*starts[1:], None]):
        body = text[start.start() : end.start() if end else len(text)]
        if start.group(1).lower() != "comment" and body.count("{") != body.count("}"):
            return start.group(2), text.count("\n", 0, start.start()) + 1
    return None


def decode_problem(data: bytes, encoding: str) -> tuple[str, BibProblem | None]:
    """The text of the file, or where it is not in ``encoding``."""
    try:
        return codecs.decode(data, encoding), None
    except UnicodeDecodeError as error:
        text = data.decode(encoding if encoding.lower().startswith("utf") else "utf-8", errors="replace")
        line = data.count(b"\n", 0, error.start) + 1
        entry = entry_at(data[: error.start].decode("utf-8", errors="replace"), error.start)
        where = f" in entry '{entry[0]}'" if entry else ""
        byte = data[error.start : error.start + 1].hex()
        return text, BibProblem(
            line,
            f"the file is not in {encoding} (bibtex_encoding): byte 0x{byte}{where} cannot be read; save the file "
            f"as UTF-8, or set bibtex_encoding to its encoding in conf.py (e.g. bibtex_encoding = 'latin-1')",
        )
    except LookupError:  # an unknown bibtex_encoding: sphinxcontrib-bibtex's to report
        return "", None


def syntax_problems(text: str, encoding: str) -> list[BibProblem]:
    """pybtex's syntax errors, collected (pybtex goes on after each) instead of raised."""
    import pybtex.errors
    from pybtex.database.input.bibtex import Parser
    from pybtex.scanner import PybtexSyntaxError

    with pybtex.errors.capture() as captured:
        try:
            Parser(encoding).parse_string(text)
        except PybtexSyntaxError as error:  # a syntax error pybtex cannot go on after
            captured.append(error)
    problems = []
    unclosed = unclosed_brace(text)
    for found in captured:
        if not isinstance(found, PybtexSyntaxError):
            continue  # data errors (a duplicate key, ...) sphinxcontrib-bibtex reports itself
        key = getattr(getattr(found, "parser", None), "current_entry_key", None)
        said = f"pybtex: {found}" + (f", in entry '{key}'" if key else "")
        if unclosed:
            problems.append(
                BibProblem(
                    unclosed[1],
                    f"entry '{unclosed[0]}' has a '{{' that is never closed ({said}); close it "
                    "(BibTeX counts every brace, also after a backslash)",
                )
            )
            break
        problems.append(
            BibProblem(found.lineno, f"{said}; fix the entry's syntax (@type{{key, field = {{value}}, ...}})")
        )
    return problems


def problems_in(data: bytes, encoding: str) -> list[BibProblem]:
    """Why sphinxcontrib-bibtex could not read a .bib file of these bytes (none: it can)."""
    text, problem = decode_problem(data, encoding)
    if problem is not None:
        return [problem]
    return syntax_problems(text, encoding) if text else []


def readable_bibfiles(srcdir: Path, doctreedir: Path, bibfiles: list[str], encoding: str) -> tuple[list[str], bool]:
    """``bibfiles`` less those that could not be read, each reported at its
    ``file:line``, and whether a file left out by the last build is back
    (sphinxcontrib-bibtex resolves no citation again for a file that joins
    the list: its pages must be read again). The digests of readable files,
    and the names of those left out, are kept for the next build."""
    record = Path(doctreedir) / "execbook" / CHECKED_FILE
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        known, left_out_before = set(kept["readable"]), set(kept["left_out"])
    except (OSError, ValueError, TypeError, KeyError):
        known, left_out_before = set(), set()
    readable, checked, left_out = [], set(), set()
    for name in bibfiles:
        path = srcdir / name
        try:
            data = path.read_bytes()
        except OSError:
            readable.append(name)  # a missing file: sphinxcontrib-bibtex warns about it
            continue
        digest = hashlib.sha256(encoding.encode() + b"\0" + data).hexdigest()
        problems = [] if digest in known else problems_in(data, encoding)
        for problem in problems:
            location = f"{path}:{problem.line}" if problem.line else str(path)
            logger.warning(
                f"{problem.text}. All of {path.name}'s entries are left out of this build",
                location=location,
                type="execbook",
                subtype="bibtex",
            )
        if problems:
            left_out.add(name)
            continue
        readable.append(name)
        checked.add(digest)
    if (checked, left_out) != (known, left_out_before):
        try:
            atomic_write(record, json.dumps({"readable": sorted(checked), "left_out": sorted(left_out)}))
        except OSError:  # only saves a parse next time; an unwritable build folder is reported elsewhere
            pass
    return readable, bool(left_out_before & set(readable))
