"""Config errors are Sphinx errors (issue 32, item 4), and no setting is silently ignored
(issue 36, item 5): built in this process, where a SystemExit would end the test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build_in_process, write_book
from sphinx.errors import ConfigError
from warned import typed

pytestmark = pytest.mark.sphinx

OFF = 'execbook_execute = "off"\n'
PAGE = "# Home\n\nSome text.\n"


def test_a_bad_book_then_a_good_one_in_the_same_process(tmp_path: Path) -> None:
    bad = write_book(tmp_path / "bad", {"index.md": PAGE}, conf=OFF + "execbook_workers = 0\n")
    with pytest.raises(ConfigError) as raised:
        build_in_process(bad)
    assert str(raised.value) == f"{bad / 'conf.py'}:5: execbook_workers must be at least 1, got 0"
    wrong_tab = write_book(tmp_path / "tab", {"index.md": PAGE}, conf=OFF + "execbook_kernels = {'jax': 'k'}\n")
    with pytest.raises(ConfigError, match=r"conf.py:5: execbook_kernels names unknown tab 'jax'"):
        build_in_process(wrong_tab)
    good = build_in_process(write_book(tmp_path / "good", {"index.md": PAGE}, conf=OFF))
    assert good.returncode == 0
    assert "Some text." in good.main("index").text


def test_unknown_names_warn_at_their_line_with_the_likely_option(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"index.md": PAGE}, conf=OFF + "execbook_timout = 2\nexecbook_zzz = 1\n")
    built = build_in_process(book, confoverrides={"execbook_executee": "off", "execbook_header_switcher": False})
    assert (
        f"{book / 'conf.py'}:5: WARNING: execbook_timout is not an execbook option, so it is ignored; "
        "did you mean execbook_timeout?" + typed("config")
    ) in built.output
    assert "conf.py:6: WARNING: execbook_zzz is not an execbook option, so it is ignored; see README" in built.output
    assert "-D execbook_executee: not an execbook option, so it is ignored; did you mean execbook_execute?" in (
        built.output
    )
    assert "header_switcher" not in built.output  # a known option set by -D is no typo
    assert "execbook_speedups" not in built.output  # declared with the others


def test_one_fact_is_one_warning_naming_its_frameworks(tmp_path: Path) -> None:
    """A name saved three times in a cell all four frameworks share: two warnings, not eight."""
    tabs = ("pytorch", "numpy", "jax", "tensorflow")
    modules = {tab: f"d2l/{tab}.py" for tab in tabs}
    cell = "```{{.python .input}}\n#@tab all\ndef f():  #@save\n    return {}\n```\n\n"
    book = write_book(
        tmp_path / "book",
        {"index.md": "# Home\n\n" + "".join(cell.format(n) for n in range(3))},
        conf=OFF + f"execbook_library = {{'name': 'd2l', 'modules': {modules!r}}}\n",
        tabs=tabs,
    )
    done = subprocess.run(
        [sys.executable, "-m", "execbook", "build", "lib"], cwd=book, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "saved twice" in line]
    assert warnings == [
        f"{book / 'index.md'}:{line}: WARNING: [pytorch, numpy, jax, tensorflow] 'f' is saved twice; this one "
        f"(later) wins over index.md:{earlier}"
        for line, earlier in ((11, 5), (17, 11))
    ], done.stderr
