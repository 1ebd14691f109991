"""What a reader of each command sees when a setting stops the build.

A wrong setting is an ``ExecbookConfigError`` (a Sphinx ``ConfigError``). sphinx-build
reports it as Sphinx 9 reports any error: our located line first, then its context
block (versions, last messages, a traceback of the raise, a request to report a bug).
``execbook build``, the command users run, prints the located line alone and exits 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import run_sphinx
from sphinx.util.console import strip_colors


def first_line(output: str) -> str:
    """The first line with text, without colour codes (Sphinx colours where CI=true)."""
    plain = strip_colors(output)
    return next((line for line in plain.splitlines() if line.strip()), "")


def cli_build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook", "build", "html", "--book", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_cli_prints_only(root: Path, message: str) -> None:
    """``execbook build html``: exit 2, one line on stderr holding ``message``, no traceback."""
    cli = cli_build(root)
    lines = [line for line in cli.stderr.splitlines() if line.strip()]
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert len(lines) == 1 and message in lines[0], cli.stderr
    assert "Traceback" not in cli.stdout + cli.stderr


def assert_stops_with(root: Path, message: str) -> None:
    """Both commands stop on the book at ``root`` with ``message`` (location included)."""
    built = run_sphinx(root)
    assert built.returncode != 0, built.output
    assert message in first_line(built.output), built.output
    assert_cli_prints_only(root, message)
