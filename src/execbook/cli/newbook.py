"""``execbook new``: the skeleton book (``execbook/skeleton``) written into a new
folder, its ``requirements.txt`` pinned to this execbook (``pin``)."""

from __future__ import annotations

from pathlib import Path

from execbook.cli.pin import Pin, source_comment

NEW_BOOK = Path(__file__).parent.parent / "skeleton"
RENAMES = {"gitignore": ".gitignore", "github": ".github"}  # dotfiles do not travel well in package data


def new_book(target: Path, title: str, author: str, pin: Pin) -> list[Path]:
    """Write a working book in the standard layout, whose requirements.txt installs execbook as ``pin`` says."""
    import datetime
    import re as regex

    from execbook.version import __version__

    if target.exists() and not target.is_dir():
        raise SystemExit(f"execbook: {target} is a file, not a folder; choose a new folder for the book")
    if target.exists() and any(target.iterdir()):
        raise SystemExit(f"execbook: {target} exists and is not empty; choose a new folder")
    make_folder(target)
    package = regex.sub(r"\W+", "_", title.lower()).strip("_") or "book"
    package = package if package[0].isalpha() else f"book_{package}"
    values = {
        "title": title,
        "underline": "=" * len(title),
        "author": author,
        "year": datetime.date.today().year,
        # conf.py gets Python literals: a quote or a backslash in a title must not break its syntax
        "title_repr": repr(title),
        "author_repr": repr(author),
        "copyright_repr": repr(f"{datetime.date.today().year}, {author}"),
        "package": package[:20],
        "version": __version__,
        "requirement": pin.line,
        "requirement_comment": source_comment(pin, with_line=False),
        "workflow_comment": source_comment(pin, indent=" " * 6),
    }
    written = []
    for source in sorted(NEW_BOOK.rglob("*")):
        # pip compiles the skeleton's conf.py when it installs execbook's wheel: its __pycache__ is no book file
        if source.is_dir() or "__pycache__" in source.relative_to(NEW_BOOK).parts:
            continue
        parts = [RENAMES.get(part, part) for part in source.relative_to(NEW_BOOK).parts]
        destination = target.joinpath(*parts)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(source.read_text(encoding="utf-8").format(**values), encoding="utf-8")
        except OSError as error:  # a full disk, a folder made read-only meanwhile
            raise SystemExit(f"execbook: cannot write {destination}: {error.strerror or error}") from None
        written.append(destination)
    return written


def make_folder(target: Path) -> None:
    """Create the book's folder, or exit with what stands in the way (``new afile/sub``,
    ``new /proc/x``): it was a traceback."""
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((parent for parent in target.parents if parent.exists() and not parent.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker else f"{error.strerror or error}"
        raise SystemExit(
            f"execbook: cannot create the book's folder {target}: {why}; choose a folder you can write, "
            "such as ./my-book"
        ) from None
