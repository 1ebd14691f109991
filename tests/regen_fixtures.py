"""Rewrite the expected part of every parser fixture from the current parser.

Run it after adding a case (``python tests/regen_fixtures.py``), then read the
diff: the expected text is a claim about behaviour, not a snapshot to accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import test_library  # noqa: E402
from test_syntax import FILES, read_cases, run_case  # noqa: E402

for files, run in ((FILES, run_case), (test_library.FILES, lambda title, source: test_library.run_case(source))):
    for path in files:
        out: list[str] = []
        for title, source, _, _ in read_cases(path):
            out += [title, ".", source, ".", run(title, source), ".", ""]
        path.write_text("\n".join(out), encoding="utf-8")
        print("rewrote", path)
