"""A warning as the admitted Sphinx versions print it, for tests that check what a user reads.

Sphinx 7.3+ can append a warning's ``[type.subtype]`` (``show_warning_types``, on by
default since 8.0); 7.2, the floor, never does. Under ``-W`` 7.2 stops at the first warning
and prints it as ``Warning, treated as error:`` then ``location:message`` (no ``WARNING:``).
"""

from __future__ import annotations

import re

import sphinx.config

TYPES_SHOWN = "show_warning_types" in sphinx.config.Config.config_values
_STOPPED = re.compile(r"^Warning, treated as error:\n(\S+?:\d+):(?! )(.*)$", re.MULTILINE)


def typed(subtype: str) -> str:
    """What follows a warning of ``execbook.<subtype>``: ' [execbook.<subtype>]', or nothing on 7.2."""
    return f" [execbook.{subtype}]" if TYPES_SHOWN else ""


def warning_lines(output: str) -> list[str]:
    """Every warning and error line, 7.2's ``-W`` form written as ``location: WARNING: message``."""
    lines = [line for line in output.splitlines() if "WARNING" in line or "ERROR" in line]
    return lines + [f"{where}: WARNING: {message}" for where, message in _STOPPED.findall(output)]
