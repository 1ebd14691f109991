"""``python -m execbook.cli.autobuild ARGS``: sphinx-autobuild, stopped quietly.

sphinx-autobuild catches Ctrl-C only while it serves: a stop during its first
build printed a KeyboardInterrupt traceback. Being stopped is how a preview
ends, so here it is an exit without one (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import inspect
import signal
import sys
from typing import NoReturn


def _terminate(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    """Run sphinx-autobuild with ``argv``; its exit code, or 128 + the signal that stopped it."""
    signal.signal(signal.SIGTERM, _terminate)  # uvicorn installs its own while it serves
    try:
        from sphinx_autobuild.__main__ import main as autobuild

        if inspect.signature(autobuild).parameters:
            autobuild(argv)
        else:  # sphinx-autobuild 2024.4 (our floor) reads sys.argv; later versions take the arguments
            sys.argv = ["sphinx-autobuild", *argv]
            autobuild()
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
