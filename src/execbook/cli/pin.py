"""Which execbook a new book asks for: the one installed here, read from its PEP 610 ``direct_url.json``.

No package index has execbook, so a new book's ``requirements.txt`` cannot just
say ``execbook>=0.1``: it names where this execbook came from. A git install
pins its commit, an index install its version; a local checkout or wheel is a
``file:`` URL, which builds the book on this machine only, so the user is told
how to make it reach CI. :func:`pin_requirement` is pure; :func:`installed_pin`
reads the metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from urllib.parse import unquote, urlparse

NAME = "execbook"


@dataclass(frozen=True)
class Pin:
    """A requirement line for execbook, and what to tell the user about it."""

    line: str  # e.g. "execbook @ git+https://host/owner/execbook@<commit>"
    source: str  # where it comes from, in words, for the comments of requirements.txt and the workflow
    note: str = ""  # printed by `execbook new` when the line only works on this machine
    reachable: bool = True  # False: a path on this machine, which CI cannot install from


def pin_requirement(version: str, direct_url: dict | None) -> Pin:
    """The requirement line for the execbook ``version`` installed as ``direct_url.json`` says (None: from an index)."""
    if not direct_url or not direct_url.get("url"):
        return Pin(f"{NAME}=={version}", f"release {version} from the package index pip uses")
    url = direct_url["url"]
    if "vcs_info" in direct_url:
        return _vcs_pin(url, direct_url["vcs_info"], direct_url.get("subdirectory"), version)
    if "archive_info" in direct_url:
        return _archive_pin(url, direct_url["archive_info"], direct_url.get("subdirectory"), version)
    # dir_info, or a shape newer than PEP 610: the URL itself is what pip installed from
    line = f"{NAME} @ {url}" + _subdirectory(direct_url.get("subdirectory"))
    if not _is_local(url):
        return Pin(line, url)
    path = _path(url)
    what = "checkout" if direct_url.get("dir_info", {}).get("editable") else "folder"
    return Pin(
        line,
        f"the execbook {what} {path} on the machine that ran `execbook new`",
        _local_note(line, version, path),
        reachable=False,
    )


def requested_pin(line: str) -> Pin:
    """The line given with ``execbook new --requirement``, taken as it is."""
    # a relative path (./vendor/x.whl) travels with the book; a file: URL or an absolute path does not
    local = "file:" in line or line.lstrip().startswith("/")
    return Pin(line.strip(), "the line given to `execbook new --requirement`", reachable=not local)


def installed_pin() -> Pin:
    """The pin for the execbook running now, from its installed distribution's metadata."""
    # more than one when a checkout's src/ (with the execbook.egg-info of a build) is on sys.path:
    # pip's own record of the install is the one with direct_url.json
    records = [(dist, dist.read_text("direct_url.json")) for dist in metadata.distributions(name=NAME)]
    if not records:  # run from a source tree on sys.path, never installed
        from execbook.version import __version__

        pin = pin_requirement(__version__, None)
        note = (
            f"execbook is not installed as a package here, so requirements.txt asks for {pin.line}, "
            "which no index may have; name where pip finds execbook with `execbook new --requirement SPEC`."
        )
        return Pin(pin.line, pin.source, note)
    dist, text = next(((dist, text) for dist, text in records if text), records[0])
    return pin_requirement(dist.version, json.loads(text) if text else None)


def source_comment(pin: Pin, indent: str = "", with_line: bool = True) -> str:
    """Comment lines saying where execbook comes from, for requirements.txt and the book's workflow."""
    lines = [f"execbook comes from {pin.source}" + (":" if with_line else ".")]
    lines += [f"  {pin.line}"] if with_line else []
    if not pin.reachable:
        lines += [
            "That path exists on one machine only: CI fails to install it until requirements.txt",
            "names a git URL that pip can reach or a wheel committed with the book (./vendor/...).",
        ]
    return "\n".join(f"{indent}# {line}" for line in lines)


def _vcs_pin(url: str, vcs_info: dict, subdirectory: str | None, version: str) -> Pin:
    vcs = vcs_info.get("vcs", "git")
    base = url if url.startswith(f"{vcs}+") else f"{vcs}+{url}"
    commit = vcs_info.get("commit_id")
    line = f"{NAME} @ {base}" + (f"@{commit}" if commit else "") + _subdirectory(subdirectory)
    at = f"commit {commit[:12]} of {url}" if commit else url
    if not _is_local(url):
        return Pin(line, at)
    # a clone on this disk: the commit is exact, but CI cannot reach the repository
    return Pin(
        line,
        f"{at}, a repository on the machine that ran `execbook new`",
        _local_note(line, version, _path(url)),
        reachable=False,
    )


def _archive_pin(url: str, archive_info: dict, subdirectory: str | None, version: str) -> Pin:
    line = f"{NAME} @ {url}" + _subdirectory(subdirectory)
    if not _is_local(url):
        # a download can change under the same URL; the hash makes pip refuse a different file
        algorithm, digest = _hash(archive_info)
        fragment = "&" if "#" in line else "#"
        return Pin(line + (f"{fragment}{algorithm}={digest}" if digest else ""), url)
    path = _path(url)
    return Pin(
        line, f"{path} on the machine that ran `execbook new`", _local_note(line, version, path), reachable=False
    )


def _local_note(line: str, version: str, path: str) -> str:
    """How to make a book whose execbook is ``path`` on this machine (a wheel, sdist, checkout) build in CI too."""
    name = path.rsplit("/", 1)[-1] if path.endswith(".whl") else f"execbook-{version}-py3-none-any.whl"
    # a wheel is copied as it is; pip builds one from a checkout or an sdist
    vendor = f"cp {path} vendor/" if path.endswith(".whl") else f"pip wheel --no-deps -w vendor {path}"
    return "\n".join(
        [
            f"requirements.txt asks for `{line}`,",
            "a path on this machine: `make html` works here, but not in the book's GitHub Actions workflow",
            "nor on any other machine. To build the book there, either",
            "  - push execbook where pip can reach it and name that, e.g.",
            '      execbook new --requirement "execbook @ git+https://github.com/OWNER/execbook@COMMIT" DIR',
            "    (or write that line in requirements.txt), or",
            "  - vendor a wheel: in the book's folder,",
            f"      mkdir -p vendor && {vendor}",
            f"    commit vendor/{name}, and write `./vendor/{name}` as requirements.txt's execbook line.",
        ]
    )


def _is_local(url: str) -> bool:
    return urlparse(url).scheme == "file"


def _path(url: str) -> str:
    return unquote(urlparse(url).path)


def _subdirectory(subdirectory: str | None) -> str:
    return f"#subdirectory={subdirectory}" if subdirectory else ""


def _hash(archive_info: dict) -> tuple[str, str]:
    """The strongest hash PEP 610 recorded: ``hashes`` (newer) or the single ``hash`` ("sha256=...")."""
    hashes = archive_info.get("hashes") or {}
    for algorithm in ("sha512", "sha384", "sha256"):
        if hashes.get(algorithm):
            return algorithm, hashes[algorithm]
    if "=" in archive_info.get("hash", ""):
        algorithm, digest = archive_info["hash"].split("=", 1)
        return algorithm, digest
    return "", ""
