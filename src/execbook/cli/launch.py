"""The ``execbook`` console script: an unchanged ``build html`` is answered here,
before Sphinx is imported (``execbook.book.uptodate``); every other command goes
to ``execbook.cli.main``."""

from __future__ import annotations

import os
import sys

from execbook.book import uptodate


def main(argv: list[str] | None = None) -> int:
    """The ``execbook`` command: answers an unchanged ``build html`` itself, hands the rest to ``execbook.cli``."""
    args = sys.argv[1:] if argv is None else argv
    if uptodate.may_skip(args):
        book = uptodate.book_folder(args)
        if uptodate.is_current(book, args):
            if not uptodate.QUIET_FLAGS.intersection(args):
                site = os.path.relpath(book / uptodate.BUILD_DIR / "html")
                print(
                    f"execbook: nothing changed since the last build; the site is in {site} (add -E to "
                    "rebuild everything)"
                )
            return 0
    from execbook.cli.main import main as cli_main

    return cli_main(args)
