"""Publish the built book to a GitHub Pages branch with ghp-import.

The site, the PDFs (under ``pdf/``) and the notebook zips (under
``notebooks/``), when built, are staged together and committed to the branch
(``gh-pages`` by default, with ``.nojekyll``) of a git remote, then pushed.
Messages never show credentials that a remote URL may carry.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

CREDENTIALS_RE = re.compile(r"(\w+://)[^/@\s]+@")


def mask(text: str) -> str:
    """``https://user:token@github.com/x`` -> ``https://***@github.com/x``."""
    return CREDENTIALS_RE.sub(r"\1***@", text)


def git_says(result: subprocess.CompletedProcess[str]) -> str:
    """git's own lines from a failed ghp-import run (not its Python traceback), masked."""
    lines = (result.stdout + result.stderr).splitlines()
    said = [line for line in lines if line.startswith(("fatal:", "error:", "remote:", "hint:", "To ", " ! "))]
    return mask("\n".join(f"    {line}" for line in (said or lines[-1:])))


def stage(book: Path) -> Path:
    build = book / "_build"
    site = build / "html"
    if not (site / "index.html").is_file():
        raise SystemExit("execbook: no built site in _build/html; run `make html` first")
    staging = build / "deploy"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(site, staging, ignore=shutil.ignore_patterns(".doctrees", ".buildinfo"))
    for folder, pattern, target in ((build / "pdf", "*.pdf", "pdf"), (build / "notebooks", "*.zip", "notebooks")):
        for path in sorted(folder.glob(pattern)) if folder.is_dir() else []:
            (staging / target).mkdir(exist_ok=True)
            shutil.copy2(path, staging / target / path.name)
    return staging


def github_remote(repo: str) -> str:
    """d2l-book's ``[deploy] github_repo``: ``owner/name`` is GitHub over ssh; a URL or a path is used as it is."""
    if "://" in repo or repo.startswith(("git@", "/", ".", "~")) or Path(repo).expanduser().exists():
        return repo
    return f"git@github.com:{repo}.git"


def is_url(remote: str) -> bool:
    return "://" in remote or remote.startswith(("git@", "/", ".", "~"))


def deploy(book: Path, remote: str = "origin", branch: str = "gh-pages", message: str = "Publish the book") -> int:
    if shutil.which("git") is None:
        print("execbook: deploy needs git", file=sys.stderr)
        return 2
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=book, capture_output=True, text=True)
    if inside.returncode != 0:
        print(f"execbook: {book} is not in a git repository; `git init` and add a remote first", file=sys.stderr)
        return 2
    remotes = subprocess.run(["git", "remote"], cwd=book, capture_output=True, text=True).stdout.split()
    if remote not in remotes and not is_url(remote):
        print(f"execbook: no git remote named {remote!r} (have: {', '.join(remotes) or 'none'}); "
              f"`git remote add {remote} URL` or pass --remote", file=sys.stderr)
        return 2
    staging = stage(book)
    command = [sys.executable, "-m", "ghp_import", str(staging), "--no-jekyll", "--push",
               "--remote", remote, "--branch", branch, "--message", message]
    result = subprocess.run(command, cwd=book, capture_output=True, text=True)
    if result.returncode != 0:
        url = subprocess.run(["git", "remote", "get-url", remote], cwd=book, capture_output=True, text=True).stdout.strip()
        print(f"execbook: publishing to branch {branch} of {remote} ({mask(url)}) failed:\n{git_says(result)}", file=sys.stderr)
        return 1
    files = sum(1 for path in staging.rglob("*") if path.is_file())
    print(f"published {files} files to branch {branch} of {remote}")
    return 0
