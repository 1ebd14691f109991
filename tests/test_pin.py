"""Which execbook a new book's requirements.txt asks for, from the PEP 610 direct_url.json of the one installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from execbook.cli import main as cli
from execbook.cli import newbook, pin
from execbook.cli.pin import Pin, installed_pin, pin_requirement, requested_pin, source_comment

SHA = "4f2a9c1e0b7d8e6f5a4b3c2d1e0f9a8b7c6d5e4f"
DIGEST = "0f" * 32

# direct_url.json as pip writes it (PEP 610), one per way of installing execbook
GIT_HTTPS = {
    "url": "https://github.com/someone/execbook.git",
    "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": "main"},
}
GIT_SSH = {"url": "ssh://git@github.com/someone/execbook.git", "vcs_info": {"vcs": "git", "commit_id": SHA}}
GIT_SUBDIRECTORY = {**GIT_HTTPS, "subdirectory": "tools/execbook"}
GIT_LOCAL_CLONE = {"url": "file:///home/me/src/execbook", "vcs_info": {"vcs": "git", "commit_id": SHA}}
HG = {"url": "https://hg.example.org/execbook", "vcs_info": {"vcs": "hg", "commit_id": "a1b2c3d4e5f6"}}
WHEEL_REMOTE = {
    "url": "https://files.example.org/execbook-0.2.0-py3-none-any.whl",
    "archive_info": {"hash": f"sha256={DIGEST}", "hashes": {"sha256": DIGEST}},
}
WHEEL_REMOTE_OLD_HASH = {
    "url": "https://files.example.org/execbook-0.2.0.tar.gz",
    "archive_info": {"hash": f"sha256={DIGEST}"},
}
WHEEL_REMOTE_NO_HASH = {"url": "https://files.example.org/execbook-0.2.0.tar.gz", "archive_info": {}}
WHEEL_LOCAL = {
    "url": "file:///home/me/dist/execbook-0.2.0-py3-none-any.whl",
    "archive_info": {"hashes": {"sha256": DIGEST}},
}
SDIST_LOCAL = {"url": "file:///home/me/dist/execbook-0.2.0.tar.gz", "archive_info": {}}
EDITABLE = {"url": "file:///home/me/src/execbook", "dir_info": {"editable": True}}
FOLDER_WITH_SPACE = {"url": "file:///home/me/my%20code/execbook", "dir_info": {}}


@pytest.mark.parametrize("direct_url", [None, {}])
def test_an_index_install_pins_its_version(direct_url: dict | None) -> None:
    got = pin_requirement("0.2.0", direct_url)
    assert got.line == "execbook==0.2.0" and got.reachable and not got.note
    assert "package index" in got.source


@pytest.mark.parametrize(
    ("direct_url", "line"),
    [
        (GIT_HTTPS, f"execbook @ git+https://github.com/someone/execbook.git@{SHA}"),
        (GIT_SSH, f"execbook @ git+ssh://git@github.com/someone/execbook.git@{SHA}"),
        (GIT_SUBDIRECTORY, f"execbook @ git+https://github.com/someone/execbook.git@{SHA}#subdirectory=tools/execbook"),
        (HG, "execbook @ hg+https://hg.example.org/execbook@a1b2c3d4e5f6"),
        (
            {"url": "git+https://github.com/someone/execbook.git", "vcs_info": {"vcs": "git", "commit_id": SHA}},
            f"execbook @ git+https://github.com/someone/execbook.git@{SHA}",
        ),
        (
            {"url": "https://github.com/someone/execbook.git", "vcs_info": {"vcs": "git"}},
            "execbook @ git+https://github.com/someone/execbook.git",
        ),
    ],
)
def test_a_vcs_install_pins_its_commit(direct_url: dict, line: str) -> None:
    got = pin_requirement("0.2.0", direct_url)
    assert got == Pin(line, got.source) and got.reachable and not got.note


def test_a_vcs_source_names_the_commit_and_the_repository() -> None:
    assert pin_requirement("0.2.0", GIT_HTTPS).source == f"commit {SHA[:12]} of https://github.com/someone/execbook.git"


@pytest.mark.parametrize(
    ("direct_url", "line"),
    [
        (WHEEL_REMOTE, f"execbook @ https://files.example.org/execbook-0.2.0-py3-none-any.whl#sha256={DIGEST}"),
        (WHEEL_REMOTE_OLD_HASH, f"execbook @ https://files.example.org/execbook-0.2.0.tar.gz#sha256={DIGEST}"),
        (WHEEL_REMOTE_NO_HASH, "execbook @ https://files.example.org/execbook-0.2.0.tar.gz"),
        (
            {"url": "https://files.example.org/e.whl", "archive_info": {"hashes": {"sha256": "aa", "sha512": "bb"}}},
            "execbook @ https://files.example.org/e.whl#sha512=bb",
        ),
    ],
)
def test_a_downloaded_archive_pins_its_url_and_hash(direct_url: dict, line: str) -> None:
    got = pin_requirement("0.2.0", direct_url)
    assert got.line == line and got.reachable and not got.note


@pytest.mark.parametrize("direct_url", [GIT_LOCAL_CLONE, WHEEL_LOCAL, SDIST_LOCAL, EDITABLE, FOLDER_WITH_SPACE])
def test_a_path_on_this_machine_is_pinned_with_a_note_on_ci(direct_url: dict) -> None:
    got = pin_requirement("0.2.0", direct_url)
    assert not got.reachable
    assert "file:///home/me/" in got.line
    assert got.line in got.note  # the note names what it is about
    # ... and both ways to make CI build the book
    assert 'execbook new --requirement "execbook @ git+https://' in got.note
    assert "mkdir -p vendor" in got.note and "./vendor/execbook-0.2.0-py3-none-any.whl" in got.note


def test_an_editable_checkout_is_its_file_url() -> None:
    got = pin_requirement("0.2.0", EDITABLE)
    assert got.line == "execbook @ file:///home/me/src/execbook"
    assert got.source == "the execbook checkout /home/me/src/execbook on the machine that ran `execbook new`"
    assert "pip wheel --no-deps -w vendor /home/me/src/execbook" in got.note


def test_a_local_wheel_is_vendored_as_it_is() -> None:
    got = pin_requirement("0.2.0", WHEEL_LOCAL)
    assert got.line == "execbook @ file:///home/me/dist/execbook-0.2.0-py3-none-any.whl"  # no hash: it may be rebuilt
    assert "cp /home/me/dist/execbook-0.2.0-py3-none-any.whl vendor/" in got.note
    assert "pip wheel" not in got.note


def test_a_local_git_clone_keeps_its_commit() -> None:
    got = pin_requirement("0.2.0", GIT_LOCAL_CLONE)
    assert got.line == f"execbook @ git+file:///home/me/src/execbook@{SHA}"
    assert "on the machine that ran `execbook new`" in got.source


def test_the_note_shows_a_path_as_the_shell_wants_it() -> None:
    got = pin_requirement("0.2.0", FOLDER_WITH_SPACE)
    assert got.line == "execbook @ file:///home/me/my%20code/execbook"
    assert "/home/me/my code/execbook" in got.source


@pytest.mark.parametrize(
    ("line", "reachable"),
    [
        (f"execbook @ git+https://github.com/someone/execbook@{SHA}", True),
        ("./vendor/execbook-0.2.0-py3-none-any.whl", True),  # committed with the book: CI has it too
        ("execbook==0.2.0", True),
        ("execbook @ file:///tmp/dist/execbook-0.2.0-py3-none-any.whl", False),
        ("/tmp/dist/execbook-0.2.0-py3-none-any.whl", False),
    ],
)
def test_a_requested_line_is_taken_as_it_is(line: str, reachable: bool) -> None:
    got = requested_pin(f" {line}\n")
    assert got.line == line and got.reachable is reachable and not got.note


def test_the_source_comment_is_comment_lines() -> None:
    local = pin_requirement("0.2.0", EDITABLE)
    text = source_comment(local, indent="      ")
    lines = text.splitlines()
    assert all(line.startswith("      # ") for line in lines)
    assert "      #   execbook @ file:///home/me/src/execbook" in lines
    assert "CI fails to install it" in text
    remote = source_comment(pin_requirement("0.2.0", GIT_HTTPS), with_line=False)
    assert remote == f"# execbook comes from commit {SHA[:12]} of https://github.com/someone/execbook.git."


class FakeDistribution:
    def __init__(self, version: str, direct_url: dict | None) -> None:
        self.version = version
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


@pytest.mark.parametrize(
    ("direct_url", "line"),
    [
        (None, "execbook==0.3.1"),
        (GIT_HTTPS, f"execbook @ git+https://github.com/someone/execbook.git@{SHA}"),
    ],
)
def test_installed_pin_reads_the_distribution(
    monkeypatch: pytest.MonkeyPatch, direct_url: dict | None, line: str
) -> None:
    monkeypatch.setattr(pin.metadata, "distributions", lambda name: iter([FakeDistribution("0.3.1", direct_url)]))
    assert installed_pin().line == line


def test_installed_pin_prefers_pips_record_to_a_checkouts_egg_info(monkeypatch: pytest.MonkeyPatch) -> None:
    # an editable install puts src/ on sys.path, and a build leaves src/execbook.egg-info there
    found = [FakeDistribution("0.1.0", None), FakeDistribution("0.1.0", EDITABLE)]
    monkeypatch.setattr(pin.metadata, "distributions", lambda name: iter(found))
    assert installed_pin().line == "execbook @ file:///home/me/src/execbook"


def test_an_execbook_never_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pin.metadata, "distributions", lambda name: iter([]))
    got = installed_pin()
    assert got.line.startswith("execbook==") and "--requirement" in got.note


def test_this_checkouts_own_install_is_pinned() -> None:
    # the venv of the tests holds execbook as `pip install -e .` (make test) or from a wheel
    got = installed_pin()
    assert got.line.startswith("execbook @ file:///") or got.line.startswith("execbook==")


def test_new_writes_the_requested_line_into_requirements_and_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = f"execbook @ git+https://github.com/someone/execbook@{SHA}"
    assert cli.main(["new", str(tmp_path / "b"), "--requirement", line]) == 0
    out, err = capsys.readouterr()
    assert f"requirements.txt: {line}" in out and "note" not in err
    requirements = (tmp_path / "b" / "requirements.txt").read_text()
    assert [r for r in requirements.splitlines() if not r.startswith("#")] == [line]
    workflow_text = (tmp_path / "b" / ".github" / "workflows" / "book.yml").read_text()
    assert (
        f"#   {line}" in workflow_text
        and "execbook comes from the line given to `execbook new --requirement`" in workflow_text
    )
    yaml.safe_load(workflow_text)  # the comment keeps it valid YAML


def test_new_with_a_local_execbook_prints_the_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pin, "installed_pin", lambda: pin_requirement("0.2.0", EDITABLE))
    assert cli.main(["new", str(tmp_path / "b")]) == 0
    out, err = capsys.readouterr()
    assert "requirements.txt: execbook @ file:///home/me/src/execbook" in out
    assert "execbook: note: requirements.txt asks for" in err and "vendor" in err
    requirements = (tmp_path / "b" / "requirements.txt").read_text()
    assert "execbook @ file:///home/me/src/execbook" in requirements.splitlines()
    assert "exists on one machine only" in requirements
    workflow = (tmp_path / "b" / ".github" / "workflows" / "book.yml").read_text()
    assert "exists on one machine only" in workflow


def test_new_skips_the_bytecode_pip_compiled_in_the_skeleton(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    skeleton = tmp_path / "newbook"
    shutil.copytree(newbook.NEW_BOOK, skeleton, ignore=shutil.ignore_patterns("__pycache__"))
    (skeleton / "__pycache__").mkdir()
    (skeleton / "__pycache__" / "conf.cpython-311.pyc").write_bytes(b"\xa7\r\r\n not text")  # as pip leaves it
    monkeypatch.setattr(newbook, "NEW_BOOK", skeleton)
    written = newbook.new_book(tmp_path / "b", "T", "A", requested_pin("execbook"))
    assert written and not any("__pycache__" in path.parts for path in written)
    assert (tmp_path / "b" / "conf.py").is_file()
