"""Work done by a forked copy of the build while Sphinx writes the pages.

Sphinx writes HTML pages one after another in one process; on a machine with
a second core, work that only reads the finished environment (the site's
download notebooks) can run beside it. ``start`` forks the build, runs the
work in the child and hands its JSON result back through a pipe; the
parent's copy of the work never runs unless the child fails. The child
inherits the environment as it is (copy-on-write: nothing is pickled).

Only where a fork is safe and cheap: Linux, and no other thread running
(a thread holding a lock at the fork would leave it held in the child
forever). Elsewhere ``start`` returns None and the caller does the work
itself. What the child logs through Sphinx is handed back and logged by the
parent, so warnings count (``-W``) and print once, in the parent's order.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

LOGGER = "sphinx"  # the logger every ``sphinx.util.logging.getLogger`` hangs under


class Forked:
    """A child running some work; ``result`` waits for it."""

    def __init__(self, pid: int, pipe: int):
        self.pid = pid
        self.pipe = pipe

    def result(self) -> tuple[Any, list[dict[str, Any]]] | None:
        """The work's return value and the log records the child made; None
        when the child failed (the caller then does the work itself)."""
        with os.fdopen(self.pipe, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        try:
            answer = json.loads(data)
            return answer["result"], answer["records"]
        except (ValueError, KeyError, TypeError):
            return None

    def cancel(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        os.close(self.pipe)
        os.waitpid(self.pid, 0)


def start(work: Callable[[], Any]) -> Forked | None:
    """Run ``work`` (returning JSON-able data) in a forked child; None where that is not safe."""
    if sys.platform != "linux" or threading.active_count() > 1:
        return None
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:
        run_child(work, read_end, write_end)  # never returns
    os.close(write_end)
    return Forked(pid, read_end)


def run_child(work: Callable[[], Any], read_end: int, write_end: int) -> None:
    code = 1
    try:
        os.close(read_end)
        records = collect_records()
        payload = json.dumps({"result": work(), "records": records}).encode()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        code = 0
    except BaseException:  # noqa: BLE001 - the parent does the work itself
        pass
    finally:
        os._exit(code)  # no atexit handler of the build's, no flush of its buffers


def collect_records() -> list[dict[str, Any]]:
    """In the child: Sphinx's log records go into the returned list instead of the terminal."""
    records: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            location = getattr(record, "location", None)
            if location is not None and not isinstance(location, (str, tuple, list)):  # a docutils node
                from sphinx.util.logging import get_node_location

                location = get_node_location(location)
            records.append(
                {
                    "level": record.levelno,
                    "message": logging.LogRecord.getMessage(record),  # Sphinx's own would prefix the location
                    "location": location,
                    **{key: getattr(record, key) for key in ("type", "subtype") if hasattr(record, key)},
                }
            )

    logger = logging.getLogger(LOGGER)
    logger.handlers = [Collect()]
    logger.propagate = False
    return records


def replay(records: list[dict[str, Any]]) -> None:
    """In the parent: log what the child logged."""
    from sphinx.util import logging as sphinx_logging

    logger = sphinx_logging.getLogger(__name__)
    for record in records:
        extra = {key: record[key] for key in ("location", "type", "subtype") if record.get(key) is not None}
        if isinstance(extra.get("location"), list):  # a (docname, line) pair, as JSON gives it back
            extra["location"] = tuple(extra["location"])
        logger.log(record["level"], record["message"], **extra)
