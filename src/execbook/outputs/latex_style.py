"""A LaTeX style archive (d2l-book's ``[pdf] latex_url`` and ``style``): fetched once, unpacked, its class used.

d2l-book downloads the archive named by ``latex_url`` (a .zip or .tar[.gz]
holding a document class and its files, e.g. Cambridge University Press's
PT1.cls) when ``style = cambridge``, and its conf.py copies the files next to
the .tex and typesets with that class. Here the archive is kept under
``_build/latex-styles/<sha256 of the URL>/`` and fetched only when that copy
is missing; without network, ``EXECBOOK_LATEX_ARCHIVE=path`` or the
``latex_archive`` setting names a local copy instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

ARCHIVE_ENV = "EXECBOOK_LATEX_ARCHIVE"
FETCH_TIMEOUT = 60
# d2l-book's style names and the class each stands for
STYLE_CLASSES = {"cambridge": "PT1"}


class StyleError(Exception):
    """The archive cannot be had or used; the message says what to do."""


def override(setting: str, base: Path) -> Path | None:
    """The local copy of the archive: $EXECBOOK_LATEX_ARCHIVE, else the
    ``latex_archive`` setting (relative to the book)."""
    value = os.environ.get(ARCHIVE_ENV) or setting
    if not value:
        return None
    path = (base / os.path.expanduser(value)).resolve()
    if not path.is_file():
        source = f"${ARCHIVE_ENV}" if os.environ.get(ARCHIVE_ENV) else "latex_archive"
        raise StyleError(
            f"{source} names {path}, which is not a file; give the path of the style archive (.zip or .tar.gz)"
        )
    return path


def archive_name(url: str) -> str:
    return PurePosixPath(url.split("?", 1)[0]).name or "style.zip"


def fetch(url: str, cache: Path, local: Path | None) -> Path:
    """The unpacked archive: a folder under ``cache``, made from ``local`` or a download of ``url`` the first time."""
    key = hashlib.sha256((f"file:{local}:{local.stat().st_mtime_ns}" if local else url).encode()).hexdigest()[:16]
    folder = cache / key
    unpacked = folder / "files"
    if unpacked.is_dir():
        return unpacked
    folder.mkdir(parents=True, exist_ok=True)
    archive = local or folder / archive_name(url)
    if local is None and not archive.is_file():
        try:
            download(url, archive)
        except StyleError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".unpack-"))
    try:
        unpack(archive, staging)
        staging.rename(unpacked)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return unpacked


def download(url: str, target: Path) -> None:
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response, partial.open("wb") as out:  # noqa: S310 - the author's URL
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise StyleError(
            f"cannot download the LaTeX style archive {url} ({reason}). Without network, download it "
            f"elsewhere and name the copy: {ARCHIVE_ENV}=/path/to/{archive_name(url)}, or latex_archive = "
            f"path/to/{archive_name(url)} under [pdf] in config.ini (execbook_pdf['latex_archive'] in conf.py)"
        ) from None
    partial.rename(target)


def unpack(archive: Path, folder: Path) -> None:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.infolist():
                    if not member.is_dir() and safe(member.filename):
                        target = folder / member.filename
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(zipped.read(member))
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tarred:
                tarred.extractall(
                    folder, members=[m for m in tarred.getmembers() if m.isfile() and safe(m.name)], filter="data"
                )
        else:
            raise StyleError(f"the LaTeX style archive {archive} is neither a .zip nor a .tar file")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as error:
        raise StyleError(f"the LaTeX style archive {archive} cannot be unpacked: {error}") from None


def safe(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return (
        bool(parts)
        and not name.startswith("/")
        and ".." not in parts
        and not any(p.startswith(".") or p == "__MACOSX" for p in parts)
    )


def style_files(unpacked: Path, keep: set[str]) -> list[Path]:
    """The archive's files to put next to the .tex (flattened, as d2l-book's conf.py copies them), the first of
    each name; none of the names in ``keep`` (Sphinx's own support files, which must
    match the Sphinx that wrote the .tex)."""
    files: dict[str, Path] = {}
    for path in sorted(unpacked.rglob("*"), key=lambda p: (len(p.relative_to(unpacked).parts), str(p))):
        if path.is_file() and path.name not in keep:
            files.setdefault(path.name, path)
    return list(files.values())


def document_class(files: list[Path], style: str, url: str) -> str:
    """The class ``style`` names: d2l-book's name for it (cambridge: PT1), the style
    itself, or the archive's only class."""
    classes = sorted(path.stem for path in files if path.suffix == ".cls")
    for name in (STYLE_CLASSES.get(style.lower(), ""), style):
        if name in classes:
            return name
    if len(classes) == 1:
        return classes[0]
    found = ", ".join(f"{name}.cls" for name in classes) or "no .cls file"
    raise StyleError(
        f"style = {style}: the LaTeX style archive {url} holds {found}; name one of its classes as the style"
    )
