"""What a rebuild changed in the outputs, with real kernels: the report page, report.json,
the build's last lines, execbook_fail_on_changed_outputs and ``execbook diff``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import write_book

pytestmark = [pytest.mark.sphinx, pytest.mark.kernels]

PAGE = """
    # Page

    ```{.python .input}
    scale = SCALE
    ```

    ```{.python .input}
    print('value', scale * 1.5)
    ```

    ```{.python .input}
    print('steady', 1 + scale * 1e-9)
    ```

    ```{.python .input}
    print('same', 42)
    ```

    ```{.python .input}
    %matplotlib inline
    from matplotlib import pyplot as plt
    plt.figure(figsize=(2, 2))
    plt.plot([0, 1, 2], [0, scale, 0]);
    ```

    ```{.python .input}
    CHECK
    ```

    ```{.python .input}
    import random
    print('noise', random.random())
    ```
"""


def write(book: Path, scale: int, check: str = "checked = True") -> None:
    write_book(
        book,
        {
            "index.md": "# Book\n\n```toc\npage\n```\n",
            "page.md": PAGE.replace("SCALE", str(scale)).replace("CHECK", check),
        },
        tabs=("python",),
    )


def build(book: Path, *options: str) -> subprocess.CompletedProcess:
    """sphinx-build as `execbook build html` runs it: not quiet, so the last lines show."""
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-M", "html", str(book), str(book / "_build"), *options],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )


def report(book: Path) -> dict:
    return json.loads((book / "_build" / "doctrees" / "execbook" / "report.json").read_text(encoding="utf-8"))


def execbook(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "execbook", *args], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, subprocess.CompletedProcess]:
    """A book built with scale = 2, its cache and site notebooks kept, then rebuilt with scale = 3."""
    book = tmp_path_factory.mktemp("changes") / "book"
    write(book, 2)
    first = build(book)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "changed on" not in first.stdout  # nothing to compare with yet
    old_cache = book.parent / "old-cache"
    shutil.copytree(book / "_build" / ".execbook-cache", old_cache)
    old_site = book.parent / "old-site"
    shutil.copytree(book / "_build" / "html" / "notebooks", old_site / "notebooks")
    write(book, 3)
    second = build(book)
    assert second.returncode == 0, second.stdout + second.stderr
    return book, old_cache, old_site, second


def listed(changes: list[dict]) -> list[tuple[str, str, int, str]]:
    return [(c["page"], c["tab"], c["line"], c["kind"]) for c in changes]


EXPECTED = [("page", "python", 7, "text"), ("page", "python", 19, "image")]
NOISE = [("page", "python", 30, "text")]  # unseeded: differs on every run


def test_report_json_lists_exactly_the_two_changed_outputs(rebuilt: tuple) -> None:
    book, *_ = rebuilt
    changed = report(book)["changed"]
    assert listed(changed) == EXPECTED  # not 'steady' (within tolerance) nor 'same', nor 'noise'
    # the second run of the changed page, with the same inputs, told the noise apart
    noise = report(book)["not_reproducible"]
    assert listed(noise) == NOISE
    assert noise[0]["old"].startswith("noise 0.") and noise[0]["old"] != noise[0]["new"]
    assert report(book)["rechecked"] == 1  # the changed page, once more
    unstable = json.loads((book / "_build" / ".execbook-cache" / "unstable.json").read_text(encoding="utf-8"))
    assert list(unstable) == ["page|python"] and len(unstable["page|python"]) == 1
    text, image = changed
    assert (text["old"], text["new"], text["file"]) == ("value 3.0\n", "value 4.5\n", "page.md")
    assert "-value 3.0" in text["diff"] and "+value 4.5" in text["diff"]
    assert text["source"] == "print('value', scale * 1.5)"
    assert image["score"] > 0.001
    for side in ("old_image", "new_image", "difference"):
        assert image[side].startswith("data:image/png;base64,")
    assert image["old_image"] != image["new_image"]


def test_report_page_shows_the_changes_with_images(rebuilt: tuple) -> None:
    book, *_ = rebuilt
    soup = BeautifulSoup((book / "_build" / "html" / "execbook-report.html").read_text(encoding="utf-8"), "html.parser")
    assert len(soup.select("#execbook-changed")) == len(soup.select("#execbook-not-reproducible")) == 1
    assert len(soup.select(".execbook-change")) == 3  # each change and the noise, once
    assert soup.get_text().count("Execution took") == 1
    assert "1 of them ran a second time, with the same inputs" in " ".join(soup.get_text().split())
    section = soup.select_one("#execbook-changed")
    assert section is not None
    entries = section.select(".execbook-change")
    assert [entry.h3.get_text(" ", strip=True) for entry in entries] == [
        "page (python), page.md:7: text",
        "page (python), page.md:19: image",
    ]
    assert "+value 4.5" in entries[0].select_one(".execbook-change-diff").get_text()
    images = entries[1].select("img")
    assert [img.find_next("figcaption").get_text() for img in images] == ["before", "after", "difference"]
    assert all(img["src"].startswith("data:image/png;base64,") for img in images)
    apart = soup.select_one("#execbook-not-reproducible")
    assert apart is not None and "Not reproducible run to run" in apart.h2.get_text()
    assert [entry.h3.get_text(" ", strip=True) for entry in apart.select(".execbook-change")] == [
        "page (python), page.md:30: text"
    ]
    assert "-noise 0." in apart.select_one(".execbook-change-diff").get_text()


def test_the_build_says_what_changed_in_its_last_lines(rebuilt: tuple) -> None:
    *_, second = rebuilt
    lines = second.stdout.splitlines()
    summary = next(line for line in lines if "changed on" in line)
    assert summary.startswith("execbook: 2 outputs changed on 1 page; 1 not reproducible run to run, on 1 page (see ")
    assert "running 1 job(s) again, with the same inputs" in second.stdout
    assert summary.endswith("execbook-report.html)")
    assert any(line.strip().startswith("page.md:7: [python] text: value 3.0 -> value 4.5") for line in lines)


def test_execbook_diff_against_the_old_cache(rebuilt: tuple) -> None:
    book, old_cache, _, _ = rebuilt
    result = execbook("diff", str(old_cache), "--book", str(book))
    assert result.returncode == 1, result.stdout + result.stderr
    located = [line for line in result.stdout.splitlines() if not line.startswith("    ")]
    assert located[0].startswith("page.md:7: [python] text: value 3.0 -> value 4.5")
    assert located[1].startswith("page.md:19: [python] image: ")
    assert located[2] == "not reproducible run to run (1, not counted):"
    assert located[3].startswith("page.md:30: [python] text: noise 0.")
    assert len(located) == 4
    assert "execbook diff: 2 outputs changed on 1 page" in result.stderr
    assert "1 output not reproducible run to run" in result.stderr


def test_execbook_diff_against_the_old_sites_notebooks(rebuilt: tuple) -> None:
    book, _, old_site, _ = rebuilt
    result = execbook("diff", str(old_site), "--book", str(book))
    assert result.returncode == 1, result.stdout + result.stderr
    located = [line for line in result.stdout.splitlines() if not line.startswith("    ")]
    assert [line.split(":", 2)[:2] for line in located if line.startswith("page.md:")] == [
        ["page.md", "7"],
        ["page.md", "19"],
        ["page.md", "30"],
    ]
    assert located[2] == "not reproducible run to run (1, not counted):"


def test_execbook_diff_against_itself_and_bad_input(rebuilt: tuple, tmp_path: Path) -> None:
    book, *_ = rebuilt
    same = execbook("diff", str(book / "_build" / ".execbook-cache"), "--book", str(book))
    assert same.returncode == 0 and "0 outputs changed" in same.stderr
    missing = execbook("diff", str(tmp_path / "nowhere"), "--book", str(book))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    empty = execbook("diff", str(tmp_path), "--book", str(book))
    assert empty.returncode == 2 and "neither a cache folder" in empty.stderr


def test_an_error_that_appears_is_listed_first_and_can_fail_the_build(tmp_path: Path) -> None:
    book = tmp_path / "book"
    write(book, 2)
    assert build(book).returncode == 0
    write(book, 3, check="assert scale < 3, 'scale too big'")
    with (book / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write("execbook_fail_on_changed_outputs = True\n")
    result = build(book)
    assert result.returncode == 1, result.stdout + result.stderr
    changed = report(book)["changed"]
    assert listed(changed) == [("page", "python", 26, "error appeared"), *EXPECTED]
    assert changed[0]["new"] == "AssertionError: scale too big"
    assert "execbook: 3 outputs changed on 1 page" in result.stderr
    assert "execbook_fail_on_changed_outputs = True" in result.stderr


def test_a_change_within_tolerance_is_not_listed(tmp_path: Path) -> None:
    book = tmp_path / "book"
    write(book, 2)
    (book / "page.md").write_text((book / "page.md").read_text().replace("print('same', 42)", "print('same', 42.0)"))
    assert build(book).returncode == 0
    # 42.0 -> 42.00000001: the text differs, the number is within 1e-6
    (book / "page.md").write_text((book / "page.md").read_text().replace("42.0)", "42.00000001)"))
    result = build(book)
    assert result.returncode == 0
    assert report(book)["changed"] == [] and listed(report(book)["not_reproducible"]) == NOISE
    assert "execbook: no output changed; 1 not reproducible run to run" in result.stdout


def test_a_forced_rerun_finds_the_noise_and_later_builds_remember_it(tmp_path: Path) -> None:
    book = tmp_path / "book"
    write(book, 2)
    assert build(book).returncode == 0
    # the same inputs run again: every difference is noise, and nothing needs a second run
    forced = build(book, "-D", "execbook_execute=force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert report(book)["changed"] == [] and listed(report(book)["not_reproducible"]) == NOISE
    assert report(book)["rechecked"] == 0
    assert "execbook: no output changed; 1 not reproducible run to run, on 1 page (see " in forced.stdout
    assert "job(s) again" not in forced.stdout
    # an edit that changes no result (the d2l case: a saved function rewritten) re-runs the page; the
    # remembered noise is put apart without a second run, and strictness does not fail on it
    (book / "page.md").write_text((book / "page.md").read_text().replace("print('same', 42)", "print('same', 40 + 2)"))
    with (book / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write("execbook_fail_on_changed_outputs = True\n")
    edited = build(book)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert report(book)["changed"] == [] and listed(report(book)["not_reproducible"]) == NOISE
    assert "running 1 job(s) on" in edited.stdout and "job(s) again" not in edited.stdout
    assert report(book)["rechecked"] == 0


def test_without_the_second_run_noise_is_a_change(tmp_path: Path) -> None:
    book = tmp_path / "book"
    write(book, 2)
    assert build(book).returncode == 0
    write(book, 3)
    result = build(book, "-D", "execbook_recheck_changed_outputs=0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert listed(report(book)["changed"]) == [*EXPECTED, *NOISE]
    assert report(book)["not_reproducible"] == []
    assert "job(s) again" not in result.stdout
