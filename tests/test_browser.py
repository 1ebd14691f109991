"""The demo book in a real browser: Playwright driving Debian's Chromium.

The site is served over HTTP from the build folder; the test clicks tabs,
follows links, reloads, and checks that MathJax typeset the math from the
site itself, with no request leaving localhost and no console error.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import BuiltBook

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(demo_book: BuiltBook) -> Iterator[str]:
    assert demo_book.returncode == 0, demo_book.output
    # the HTML build alone wrote the notebooks the page buttons download
    handler = functools.partial(QuietHandler, directory=str(demo_book.outdir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed: apt-get install chromium (CI does this in .ci/run)"
        if os.environ.get("EXECBOOK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, site: str) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(f"console: {msg.text}"))
    page.on(
        "response",
        lambda response: response.status >= 400 and page.problems.append(f"{response.status}: {response.url}"),
    )
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on(
        "request",
        lambda request: (
            request.url.startswith((site, "data:")) or page.problems.append(f"left localhost: {request.url}")
        ),
    )
    yield page
    problems = page.problems
    context.close()
    assert problems == []


def shown_tabs(page: object) -> list[str]:
    """For every tab group on the page, the framework of its visible pane ('-' when none)."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".execbook-tabs",
        """groups => groups.map(g => {
            const shown = [...g.querySelectorAll(':scope > .execbook-pane')].filter(p => p.offsetParent !== null);
            return shown.length === 1 ? shown[0].dataset.tab : (shown.length ? 'many' : '-');
        })""",
    )


def test_choosing_a_framework_switches_every_group_and_is_kept(page: object, site: str) -> None:
    page.goto(f"{site}/chapters/basics/tensors.html")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"pytorch"} and len(shown_tabs(page)) >= 2
    page.click(".execbook-tabs >> nth=0 >> .execbook-tab[data-tab=numpy]")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"numpy"}
    assert page.input_value("select.execbook-switcher") == "numpy"  # type: ignore[attr-defined]
    assert page.get_attribute(".execbook-tabs >> nth=1 >> .execbook-tab[data-tab=numpy]", "aria-selected") == "true"  # type: ignore[attr-defined]

    # follow a link to the next page: the choice is kept
    page.click("a.right-next")  # type: ignore[attr-defined]
    page.wait_for_url("**/autograd.html")  # type: ignore[attr-defined]
    shown = shown_tabs(page)
    assert shown.count("-") == 1 and set(shown) == {"numpy", "-"}  # the PyTorch-only note shows no pane
    note = page.locator(".execbook-tabs[data-tabs=pytorch] .execbook-missing")  # type: ignore[attr-defined]
    assert note.is_visible()
    assert "Not available for NumPy" in note.inner_text()

    # and after a reload
    page.reload()  # type: ignore[attr-defined]
    assert shown_tabs(page) == shown


def test_header_switcher_and_url_choose_the_framework(page: object, site: str) -> None:
    page.goto(f"{site}/chapters/models/linear-regression.html?tab=numpy")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"numpy"}
    page.select_option("select.execbook-switcher", "pytorch")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"pytorch"}
    assert page.url.endswith("?tab=pytorch")  # type: ignore[attr-defined]
    page.goto(f"{site}/chapters/models/training.html")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"pytorch"}


def test_keyboard_moves_between_tabs(page: object, site: str) -> None:
    page.goto(f"{site}/chapters/models/mlp.html")  # type: ignore[attr-defined]
    page.focus(".execbook-tabs >> nth=0 >> .execbook-tab[data-tab=pytorch]")  # type: ignore[attr-defined]
    page.keyboard.press("ArrowRight")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"numpy"}


def test_math_is_typeset_from_the_site_itself(page: object, site: str) -> None:
    page.goto(f"{site}/chapters/models/linear-regression.html")  # type: ignore[attr-defined]
    page.wait_for_selector("mjx-container", timeout=20_000)  # type: ignore[attr-defined]
    count = page.eval_on_selector_all("mjx-container", "nodes => nodes.length")  # type: ignore[attr-defined]
    assert count >= 5
    display = page.locator("mjx-container[display=true]")  # type: ignore[attr-defined]
    assert display.count() >= 2
    # TeX source text is gone once typeset
    assert "\\hat{y}" not in page.inner_text("article")  # type: ignore[attr-defined]


def test_code_has_a_copy_button(page: object, site: str) -> None:
    page.goto(f"{site}/chapters/basics/tensors.html")  # type: ignore[attr-defined]
    page.wait_for_selector("button.copybtn", state="attached")  # type: ignore[attr-defined]
    assert page.locator("button.copybtn").count() >= 4  # type: ignore[attr-defined]


def test_download_button_follows_the_framework(page: object, site: str) -> None:
    import nbformat

    page.goto(f"{site}/chapters/basics/tensors.html")  # type: ignore[attr-defined]
    button = page.locator(".execbook-page-button:visible")  # type: ignore[attr-defined]
    assert button.count() == 1 and button.get_attribute("href").endswith(
        "notebooks/pytorch/chapters/basics/tensors.ipynb"
    )
    page.select_option("select.execbook-switcher", "numpy")  # type: ignore[attr-defined]
    button = page.locator(".execbook-page-button:visible")  # type: ignore[attr-defined]
    assert button.get_attribute("href").endswith("notebooks/numpy/chapters/basics/tensors.ipynb")
    with page.expect_download() as info:  # type: ignore[attr-defined]
        button.click()
    notebook = nbformat.read(info.value.path(), as_version=4)
    nbformat.validate(notebook)
    assert "np.arange" in "".join(cell.source for cell in notebook.cells)
