"""Publish the built book to a GitHub Pages branch with ghp-import.

The site, the PDFs (under ``pdf/``) and the notebook zips (under
``notebooks/``), when built, are staged together and committed to the branch
(``gh-pages`` by default, with ``.nojekyll``) of a git remote, then pushed.
A d2l-book project's ``[deploy] github_repo`` is a repository of its own:
the site replaces the files of its ``master`` in a clone, as d2l-book does.
Messages never show credentials that a remote URL may carry. The staged
site is link-checked first (``linkcheck``): a site with broken internal
links is not published unless ``--force`` is given.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from execbook.book.files import BUILD_DIR
from execbook.outputs.site_note import SITE_NOTE, site_note, url_path

# userinfo of a URL (``https://user:token@``), and of git's scp-like form when it
# carries a password (``user:token@host:path``); a bare ``git@host:`` is no secret
CREDENTIALS_RE = re.compile(r"(\w+://)[^/@\s]+@")
SCP_CREDENTIALS_RE = re.compile(r"(^|[\s'\"(=,@])[^\s/@'\"(=,]*:[^\s/@'\"]*@")


def mask(text: str) -> str:
    """``https://user:token@github.com/x`` -> ``https://***@github.com/x``;
    ``user:token@host:x.git`` -> ``***@host:x.git``. Every URL, git command
    line and git output that deploy prints goes through here."""
    return SCP_CREDENTIALS_RE.sub(r"\1***@", CREDENTIALS_RE.sub(r"\1***@", text))


def git_says(result: subprocess.CompletedProcess[str]) -> str:
    """git's own lines from a failed ghp-import run (not its Python traceback), masked."""
    lines = (result.stdout + result.stderr).splitlines()
    said = [line for line in lines if line.startswith(("fatal:", "error:", "remote:", "hint:", "To ", " ! "))]
    return mask("\n".join(f"    {line}" for line in (said or lines[-1:])))


VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # one folder name: no '/', no '..', no leading '-'
SWITCHER = "switcher.json"


@dataclass(frozen=True)
class SiteVersion:
    """The version a site was built as, and the URL of the pages branch's root."""

    version: str
    root: str


def built_version(site: Path) -> SiteVersion | None:
    """The version noted by the build of ``site`` (None: an unversioned site)."""
    note = site_note(site)
    version, url = note.get("version", ""), note.get("url", "")
    if not VERSION_RE.fullmatch(version) or version == "." or not url.endswith(f"/{version}/"):
        return None
    return SiteVersion(version, url.removesuffix(f"{version}/"))


def stage(book: Path) -> Path:
    build = book / BUILD_DIR
    site = build / "html"
    if not (site / "index.html").is_file():
        raise SystemExit("execbook: no built site in _build/html; run `make html` first")
    staging = build / "deploy"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(site, staging, ignore=shutil.ignore_patterns(".doctrees", ".buildinfo", SITE_NOTE))
    for folder, pattern, target in ((build / "pdf", "*.pdf", "pdf"), (build / "notebooks", "*.zip", "notebooks")):
        for path in sorted(folder.glob(pattern)) if folder.is_dir() else []:
            (staging / target).mkdir(exist_ok=True)
            shutil.copy2(path, staging / target / path.name)
    return staging


BROKEN_SHOWN = 50  # a site broken everywhere would bury the message


def links_refuse(staging: Path, force: bool, served_at: str = "/") -> bool:
    """Check the staged site (pages, PDFs and zips together, as readers get
    them, served at ``served_at``); True when publishing must stop: a broken
    link, and no --force."""
    from execbook.outputs.linkcheck import check_site, report

    result = check_site(staging, served_at)
    if not result.broken:
        print(f"execbook: link check: {result.summary()}")
        return False
    listing = "\n".join(f"    {line}" for line in report(result, BROKEN_SHOWN))
    if force:
        print(
            f"execbook: publishing with {len(result.broken)} broken internal links (--force):\n{listing}",
            file=sys.stderr,
        )
        return False
    print(
        f"execbook: not publishing: {len(result.broken)} broken internal links in the site "
        f"(`execbook check-links` lists them; --force publishes anyway):\n{listing}",
        file=sys.stderr,
    )
    return True


def github_remote(repo: str, book: Path) -> str:
    """d2l-book's ``[deploy] github_repo``: ``owner/name`` is GitHub over ssh; a
    URL is used as it is, a local path (a bare repository) relative to the book."""
    if "://" in repo or "@" in repo:  # a URL, or git's scp-like [user@]host:path
        return repo
    local = (book / repo).expanduser()
    if repo.startswith(("/", ".", "~")) or local.exists():
        return str(local.resolve())
    return f"git@github.com:{repo.removesuffix('.git')}.git"


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


PAGES_BRANCH = "gh-pages"


def source_branches(book: Path, remote: str | None) -> set[str]:
    """The branches that hold the book's source: the one checked out, its
    upstream, and ``remote``'s default branch (``origin/HEAD``), as names on
    the remote."""
    names = set()
    current = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=book).stdout.strip()
    if current:
        names.add(current)
    upstream = git("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", cwd=book).stdout.strip()
    if upstream and remote and upstream.startswith(f"{remote}/"):
        names.add(upstream.removeprefix(f"{remote}/"))
    if remote:
        default = git("symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD", cwd=book).stdout.strip()
        if default.startswith(f"{remote}/"):
            names.add(default.removeprefix(f"{remote}/"))
    return names


def branch_problem(book: Path, branch: str, remote: str | None) -> str | None:
    """Why the site must not be committed to ``branch`` (None when it may).

    ghp-import replaces the branch's whole tree with the site: the branch that
    holds the book's source would lose it, locally and, pushed, on the remote.
    A name starting with '-' would reach ghp-import and git as an option, and
    one git refuses as a branch name (``HEAD``) would make a strange ref."""
    instead = f"use a branch of its own for the site, e.g. --branch {PAGES_BRANCH}"
    if branch.startswith("-"):
        return f"--branch {branch!r} is not a branch name (it starts with '-'); {instead}"
    checked = git("check-ref-format", "--branch", branch, cwd=book)
    if checked.returncode != 0 or checked.stdout.strip() != branch:  # @{-1} and the like expand to another name
        return f"--branch {branch!r} is not a valid branch name (git check-ref-format --branch); {instead}"
    if remote is not None and branch in source_branches(book, remote):
        return (
            f"--branch {branch!r} holds the book's source (the branch checked out here, its upstream or "
            f"{remote}'s default branch); publishing would replace it with the site. {instead.capitalize()}"
        )
    return None


def remote_named(book: Path, url: str) -> str | None:
    """The book's own remote whose URL is ``url`` (a [deploy] github_repo may
    be the book's own repository), else None."""
    for name in git("remote", cwd=book).stdout.split():
        if git("remote", "get-url", name, cwd=book).stdout.strip() == url:
            return name
    return None


def deploy_to_repository(book: Path, url: str, branch: str, message: str, force: bool = False) -> int:
    """d2l-book's deploy: the site replaces the files of ``branch`` in its own
    repository (a clone under _build, whose history is kept), then is pushed.
    The book's own repository and branches are not touched."""
    if shutil.which("git") is None:
        print("execbook: deploy needs git", file=sys.stderr)
        return 2
    problem = branch_problem(book, branch, remote_named(book, url))
    if problem:
        print(mask(f"execbook: not publishing: {problem}"), file=sys.stderr)
        return 2
    staging = stage(book)
    if links_refuse(staging, force, url_path(book / BUILD_DIR / "html")):
        return 1
    return publish_through_clone(book, staging, url, branch, message, built_version(book / BUILD_DIR / "html"))


def publish_through_clone(
    book: Path, staging: Path, url: str, branch: str, message: str, version: SiteVersion | None
) -> int:
    """Clone ``branch`` of ``url`` (or start it), put the site in (the whole tree, or
    its version's folder), commit and push."""
    clone = book / BUILD_DIR / "deploy-repository"
    shutil.rmtree(clone, ignore_errors=True)
    cloned = git("clone", "--quiet", "--depth", "1", "--branch", branch, "--single-branch", url, str(clone), cwd=book)
    if cloned.returncode != 0:  # a new repository, or one without that branch yet
        shutil.rmtree(clone, ignore_errors=True)
        clone.mkdir(parents=True)
        git("init", "--quiet", "-b", branch, cwd=clone)
        git("remote", "add", "origin", url, cwd=clone)
    if version is None:
        for path in clone.iterdir():
            if path.name not in (".git", "README.md"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.copytree(staging, clone, dirs_exist_ok=True)
    else:
        place_version(clone, staging, version)
    (clone / ".nojekyll").touch()
    identity = (
        []
        if git("config", "user.email", cwd=clone).stdout.strip()
        else ["-c", "user.name=execbook", "-c", "user.email=execbook@localhost"]
    )
    git("add", "-A", cwd=clone)
    committed = git(*identity, "commit", "--quiet", "-m", message, cwd=clone)
    if committed.returncode != 0 and "nothing to commit" not in committed.stdout + committed.stderr:
        print(f"execbook: committing the site failed:\n{git_says(committed)}", file=sys.stderr)
        return 1
    pushed = git("push", "--quiet", "origin", f"HEAD:{branch}", cwd=clone)
    if pushed.returncode != 0:
        print(f"execbook: publishing to branch {branch} of {mask(url)} failed:\n{git_says(pushed)}", file=sys.stderr)
        return 1
    files = sum(1 for path in staging.rglob("*") if path.is_file())
    where = f"folder {version.version}/ of " if version else ""
    print(f"published {files} files to {where}branch {branch} of {mask(url)}")
    return 0


def place_version(clone: Path, staging: Path, site: SiteVersion) -> None:
    """The site replaces its version's folder only; the root's switcher.json lists every
    version the branch holds, and its index.html and 404.html are the newest one's."""
    folder = clone / site.version
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
    elif folder.exists() or folder.is_symlink():
        folder.unlink()
    shutil.copytree(staging, folder)
    versions = [name for name in listed_versions(clone / SWITCHER) if (clone / name).is_dir()]
    versions = sorted({*versions, site.version}, key=version_order, reverse=True)
    newest = newest_version(versions, site.version)
    entries = [
        {
            "name": f"{name} (latest)" if name == newest else name,
            "version": name,
            "url": f"{site.root}{name}/",
            **({"preferred": True} if name == newest else {}),
        }
        for name in versions
    ]
    (clone / SWITCHER).write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    (clone / "index.html").write_text(redirect_page(f"{site.root}{newest}/", f"{newest}/"), encoding="utf-8")
    if (clone / newest / "404.html").is_file():  # its links and assets are absolute paths under the newest
        shutil.copy2(clone / newest / "404.html", clone / "404.html")


def listed_versions(switcher: Path) -> list[str]:
    """The versions an earlier deploy listed (none for a missing or unreadable file)."""
    try:
        entries = json.loads(switcher.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = [entry.get("version") for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
    return [name for name in names if isinstance(name, str) and VERSION_RE.fullmatch(name) and name != "."]


def version_order(name: str) -> tuple[int, Version | str]:
    """Release numbers by their value (10.0 after 9.1), above names that are none ('dev')."""
    try:
        return (1, Version(name))
    except InvalidVersion:
        return (0, name)


def newest_version(versions: list[str], deployed: str) -> str:
    """The highest final release; else the highest release; else the version deployed now."""
    releases = [name for name in versions if version_order(name)[0]]
    finals = [name for name in releases if not Version(name).is_prerelease]
    chosen = finals or releases
    return max(chosen, key=version_order) if chosen else deployed


def redirect_page(url: str, relative: str) -> str:
    """The root's page: sends a reader (and a search engine, by the canonical link) to the newest version."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>Redirecting to {html.escape(relative)}</title>\n"
        f'<link rel="canonical" href="{html.escape(url)}">\n'
        f'<meta http-equiv="refresh" content="0; url={html.escape(relative)}">\n'
        f'</head><body><p><a href="{html.escape(relative)}">Go to the latest version</a></p></body></html>\n'
    )


def deploy(
    book: Path,
    remote: str = "origin",
    branch: str = PAGES_BRANCH,
    message: str = "Publish the book",
    force: bool = False,
) -> int:
    if shutil.which("git") is None:
        print("execbook: deploy needs git", file=sys.stderr)
        return 2
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=book, capture_output=True, text=True)
    if inside.returncode != 0:
        print(f"execbook: {book} is not in a git repository; `git init` and add a remote first", file=sys.stderr)
        return 2
    remotes = subprocess.run(["git", "remote"], cwd=book, capture_output=True, text=True).stdout.split()
    if remote not in remotes:
        print(
            mask(
                f"execbook: no git remote named {remote!r} (have: {', '.join(remotes) or 'none'}); "
                f"`git remote add {remote} URL` or pass --remote"
            ),
            file=sys.stderr,
        )
        return 2
    problem = branch_problem(book, branch, remote)
    if problem:
        print(mask(f"execbook: not publishing: {problem}"), file=sys.stderr)
        return 2
    staging = stage(book)
    if links_refuse(staging, force, url_path(book / BUILD_DIR / "html")):
        return 1
    version = built_version(book / BUILD_DIR / "html")
    if version is not None:  # ghp-import replaces the whole branch: the other versions would go
        url = git("remote", "get-url", remote, cwd=book).stdout.strip()
        if (book / url).exists():  # a local remote named relative to the book; the clone is elsewhere
            url = str((book / url).resolve())
        return publish_through_clone(book, staging, url, branch, message, version)
    command = [
        sys.executable,
        "-m",
        "ghp_import",
        str(staging),
        "--no-jekyll",
        "--push",
        "--remote",
        remote,
        "--branch",
        branch,
        "--message",
        message,
    ]
    result = subprocess.run(command, cwd=book, capture_output=True, text=True)
    if result.returncode != 0:
        url = subprocess.run(
            ["git", "remote", "get-url", remote], cwd=book, capture_output=True, text=True
        ).stdout.strip()
        print(
            mask(f"execbook: publishing to branch {branch} of {remote} ({url}) failed:\n{git_says(result)}"),
            file=sys.stderr,
        )
        return 1
    files = sum(1 for path in staging.rglob("*") if path.is_file())
    print(mask(f"published {files} files to branch {branch} of {remote}"))
    return 0
