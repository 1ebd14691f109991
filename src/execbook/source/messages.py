"""Problems found in a book's source, each tied to a line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """One problem in a page: its 1-based line, what is wrong and what to do.

    ``subtype`` becomes the warning's subtype (``execbook.<subtype>``), so an
    author can silence one kind with ``suppress_warnings``.
    """

    line: int
    text: str
    subtype: str = "syntax"

    def format(self, path: str) -> str:
        return f"{path}:{self.line}: {self.text}"
