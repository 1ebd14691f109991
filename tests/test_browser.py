"""The demo book in a real browser: Playwright driving Debian's Chromium.

The site is served over HTTP from the build folder; the test clicks tabs,
follows links, reloads, and checks that MathJax typeset the math from the
site itself, with no request leaving localhost and no console error.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import BuiltBook

pytestmark = pytest.mark.browser


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


def watched_page(browser: object, site: str) -> Iterator[object]:
    """A page in a fresh context that fails the test on a console error, a failed
    request or one that leaves the site."""
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


@pytest.fixture
def page(browser: object, site: str) -> Iterator[object]:
    yield from watched_page(browser, site)


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
    assert shown.count("-") == 1 and set(shown) == {"numpy", "-"}
    # the PyTorch-only note is prose for another framework: a NumPy reader sees no trace of it
    assert page.locator(".execbook-tabs[data-tabs=pytorch]").is_hidden()  # type: ignore[attr-defined]
    assert "accumulates gradients" not in page.inner_text("article")  # type: ignore[attr-defined]

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


# -- a small book of tab groups (no code runs), for what readers of each framework see

TABS_BOOK = {
    "index.md": """
    # Tabs

    ```{toctree}
    alpha
    page
    softmax
    concise
    ```
    """,
    "concise.md": """
    # Concise Implementation of Softmax Regression

    The softmax regression of the page before, with a framework's softmax: softmax, softmax.
    """,
    "alpha.md": """
    # Alpha

    ## Softmax

    The softmax of a vector, mentioned in passing; softmax again.
    """,
    "softmax.md": """
    # Softmax Regression

    A model with a softmax output.
    """,
    "page.md": """
    # Page

    Intro text for everyone.

    :begin_tab:`numpy`
    NumPy readers only: arrays are plain.
    :end_tab:

    Between.

    :begin_tab:`pytorch`
    The PyTorch code below uses tensors.
    :end_tab:

    :begin_tab:`numpy`
    The NumPy code below uses frobnicate arrays.
    :end_tab:

    ```{.python .input}
    #@tab pytorch
    x = 1
    ```

    ```{.python .input}
    #@tab numpy
    y = 2
    ```

    Then.

    ```{.python .input}
    #@tab numpy
    only_numpy = 3
    ```
    """,
}


@pytest.fixture(scope="module")
def tabs_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from conftest import build_in_process, write_book

    root = write_book(tmp_path_factory.mktemp("tabs") / "book", TABS_BOOK, conf='execbook_execute = "off"\n')
    built = build_in_process(root)
    assert built.returncode == 0, built.output
    handler = functools.partial(QuietHandler, directory=str(built.outdir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def tabs_page(browser: object, tabs_site: str) -> Iterator[object]:
    yield from watched_page(browser, tabs_site)


def visible_groups(page: object) -> list[str]:
    """Per tab group: '' when the group is hidden, else 'bar' or 'note' (what heads it) + ':' + shown tabs."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".execbook-tabs",
        """groups => groups.map(g => {
            if (g.offsetParent === null) return '';
            const bar = g.querySelector(':scope > .execbook-tabbar');
            const note = g.querySelector(':scope > .execbook-missing');
            const head = note && note.offsetParent !== null ? 'note' : (bar && bar.offsetParent !== null ? 'bar' : '-');
            const shown = [...g.querySelectorAll(':scope > .execbook-pane')].filter(p => p.offsetParent !== null);
            return head + ':' + shown.map(p => p.dataset.tab).join(',');
        })""",
    )


@pytest.mark.sphinx
def test_prose_for_other_frameworks_is_left_out_and_prose_shares_the_code_bar(
    tabs_page: object, tabs_site: str
) -> None:
    tabs_page.goto(f"{tabs_site}/page.html")  # type: ignore[attr-defined]
    # the NumPy-only prose: nothing at all; prose + code: one bar; NumPy-only code: one quiet line
    assert visible_groups(tabs_page) == ["", "bar:pytorch", "note:"]
    article = tabs_page.inner_text("article")  # type: ignore[attr-defined]
    assert "NumPy readers only" not in article and "Not available" not in article
    assert "The PyTorch code below uses tensors." in article
    note = tabs_page.locator(".execbook-missing:visible")  # type: ignore[attr-defined]
    assert note.inner_text() == "This code is for NumPy only. Show it in NumPy."
    note.locator("button").click()
    assert visible_groups(tabs_page) == ["bar:numpy", "bar:numpy", "bar:numpy"]
    assert tabs_page.evaluate("localStorage.getItem('execbook-tab')") == "numpy"  # type: ignore[attr-defined]


@pytest.mark.sphinx
def test_without_javascript_every_pane_shows_labelled(browser: object, tabs_site: str) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{tabs_site}/page.html")
    assert page.locator(".execbook-pane:visible").count() == 4  # every pane of every group
    assert page.locator(".execbook-tabbar:visible").count() == 0
    assert page.locator(".execbook-switcher-label:visible").count() == 0
    labels = page.eval_on_selector_all(
        ".execbook-pane", "panes => panes.map(p => getComputedStyle(p, '::before').content)"
    )
    assert labels == ['"NumPy"', '"PyTorch"', '"NumPy"', '"NumPy"']
    assert "NumPy readers only" in page.inner_text("article")
    context.close()


@pytest.mark.sphinx
def test_tabs_have_aria_and_home_end_keys(tabs_page: object, tabs_site: str) -> None:
    tabs_page.goto(f"{tabs_site}/page.html")  # type: ignore[attr-defined]
    bar = tabs_page.locator(".execbook-tabs >> nth=1 >> .execbook-tabbar")  # type: ignore[attr-defined]
    assert bar.get_attribute("role") == "tablist" and bar.get_attribute("aria-label") == "Framework"
    for tab in ("pytorch", "numpy"):
        button = bar.locator(f"[data-tab={tab}]")
        pane = tabs_page.locator(f"#{button.get_attribute('aria-controls')}")  # type: ignore[attr-defined]
        assert pane.get_attribute("role") == "tabpanel" and pane.get_attribute("data-tab") == tab
        assert pane.get_attribute("aria-labelledby") == button.get_attribute("id")
    bar.locator("[data-tab=pytorch]").focus()
    tabs_page.keyboard.press("End")  # type: ignore[attr-defined]
    assert bar.locator("[data-tab=numpy]").get_attribute("aria-selected") == "true"
    assert tabs_page.evaluate("document.activeElement.dataset.tab") == "numpy"  # type: ignore[attr-defined]
    assert visible_groups(tabs_page)[1] == "bar:numpy"
    tabs_page.keyboard.press("Home")  # type: ignore[attr-defined]
    assert bar.locator("[data-tab=pytorch]").get_attribute("aria-selected") == "true"
    assert bar.locator("[data-tab=numpy]").get_attribute("tabindex") == "-1"
    assert visible_groups(tabs_page)[1] == "bar:pytorch"


@pytest.mark.sphinx
def test_tab_in_the_url_is_shown_but_not_saved(tabs_page: object, tabs_site: str) -> None:
    tabs_page.goto(f"{tabs_site}/page.html?tab=numpy")  # type: ignore[attr-defined]
    assert visible_groups(tabs_page) == ["bar:numpy", "bar:numpy", "bar:numpy"]
    assert tabs_page.evaluate("localStorage.getItem('execbook-tab')") is None  # type: ignore[attr-defined]
    tabs_page.goto(f"{tabs_site}/page.html")  # type: ignore[attr-defined]
    assert visible_groups(tabs_page)[1] == "bar:pytorch"


@pytest.mark.sphinx
def test_search_as_you_type_lands_on_the_tab_holding_the_term(tabs_page: object, tabs_site: str) -> None:
    tabs_page.goto(f"{tabs_site}/index.html")  # type: ignore[attr-defined]
    # the index is not loaded with the page, only once the reader searches
    assert not tabs_page.evaluate("Search.hasIndex()")  # type: ignore[attr-defined]
    tabs_page.keyboard.press("Control+k")  # type: ignore[attr-defined]
    tabs_page.keyboard.type("frobnicate")  # type: ignore[attr-defined]
    hit = tabs_page.locator("#search-results ul.search li a").first  # type: ignore[attr-defined]
    hit.wait_for(timeout=10_000)
    snippet = tabs_page.locator("#search-results ul.search li p.context").first  # type: ignore[attr-defined]
    snippet.wait_for(timeout=10_000)
    assert "frobnicate" in snippet.inner_text() and "PyTorchNumPy" not in snippet.inner_text()
    hit.click()
    tabs_page.wait_for_url("**/page.html*")  # type: ignore[attr-defined]
    term = tabs_page.locator(".execbook-pane span.highlighted", has_text="frobnicate")  # type: ignore[attr-defined]
    term.wait_for(timeout=10_000)
    assert term.is_visible()
    assert visible_groups(tabs_page)[1] == "bar:numpy"
    assert tabs_page.evaluate("localStorage.getItem('execbook-tab')") is None  # type: ignore[attr-defined]


@pytest.mark.sphinx
def test_search_ranks_the_page_whose_title_matches_first(tabs_page: object, tabs_site: str) -> None:
    tabs_page.goto(f"{tabs_site}/search.html?q=softmax")  # type: ignore[attr-defined]
    first = tabs_page.locator("#search-results ul.search li a").first  # type: ignore[attr-defined]
    first.wait_for(timeout=10_000)
    assert first.inner_text() == "Softmax Regression"


def test_the_guide_opens_with_tabs_search_and_downloads(page: object, site: str) -> None:
    """The repository's book is execbook's guide: its framework tabs, a sphinx-design tab set
    (conf.py / config.ini), its search and a page's notebook download all work in Chromium."""
    import nbformat

    page.goto(f"{site}/chapters/guide/writing.html")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"pytorch"}
    page.click(".execbook-tabs >> nth=0 >> .execbook-tab[data-tab=numpy]")  # type: ignore[attr-defined]
    assert set(shown_tabs(page)) == {"numpy"}
    assert "ndarray 15" in page.inner_text(".execbook-tabs >> nth=0")  # type: ignore[attr-defined]

    page.goto(f"{site}/chapters/guide/d2lbook.html")  # type: ignore[attr-defined]
    ini = page.locator(".sd-tab-set >> nth=0 >> text=tabs = pytorch, numpy")  # type: ignore[attr-defined]
    assert ini.is_hidden()
    page.click(".sd-tab-set >> nth=0 >> label:has-text('config.ini')")  # type: ignore[attr-defined]
    assert ini.is_visible()

    page.goto(f"{site}/search.html?q=suppress_warnings")  # type: ignore[attr-defined]
    hit = page.locator("#search-results ul.search li a", has_text="Warnings and Errors")  # type: ignore[attr-defined]
    hit.first.wait_for(timeout=10_000)

    page.goto(f"{site}/chapters/guide/running.html")  # type: ignore[attr-defined]
    button = page.locator(".execbook-page-button:visible")  # type: ignore[attr-defined]
    with page.expect_download() as info:  # type: ignore[attr-defined]
        button.click()
    notebook = nbformat.read(info.value.path(), as_version=4)
    assert "sys.version_info" in "".join(cell.source for cell in notebook.cells)


# -- two versions side by side: the theme's switcher, reading deploy's switcher.json ------------

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "A",
    "GIT_AUTHOR_EMAIL": "a@b",
    "GIT_COMMITTER_NAME": "A",
    "GIT_COMMITTER_EMAIL": "a@b",
}


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)


def deploy_version(book: Path, site: str, version: str) -> None:
    """Build ``book`` as ``version`` of the site served at ``site`` and deploy it, as a host would."""
    from conftest import build_in_process

    git("add", "-A", ".", cwd=book)
    git("commit", "-q", "--allow-empty", "-m", f"book {version}", cwd=book)
    overrides = {"execbook_execute": "off", "html_baseurl": f"{site}/", "execbook_version": version}
    built = build_in_process(book, confoverrides=overrides)
    assert built.returncode == 0, built.output
    deployed = subprocess.run(
        [sys.executable, "-m", "execbook.cli", "deploy", "--book", str(book)], capture_output=True, text=True
    )
    assert deployed.returncode == 0, deployed.stderr


def switcher_entries(page: object) -> list[str]:
    """The header's version menu: each entry's name, '*' after the one marked current."""
    menu = page.locator(".bd-header .version-switcher__menu a")  # type: ignore[attr-defined]
    menu.first.wait_for(state="attached", timeout=10_000)
    return menu.evaluate_all("items => items.map(a => a.innerText + (a.classList.contains('active') ? '*' : ''))")


def choose_version(page: object, name: str) -> None:
    page.click(".bd-header .version-switcher__button")  # type: ignore[attr-defined]
    page.click(f".bd-header .version-switcher__menu a:has-text('{name}')")  # type: ignore[attr-defined]


@pytest.mark.sphinx
def test_version_switcher_lands_on_the_same_page_in_the_other_version(
    browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import write_book

    for name, value in GIT_IDENTITY.items():
        monkeypatch.setenv(name, value)
    served = tmp_path / "served"  # the pages branch, as GitHub Pages serves it
    served.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    remote = tmp_path / "remote.git"
    git("init", "--bare", "-q", str(remote), cwd=tmp_path)
    pages = {"index.md": "# Book\n\n```{toctree}\nchapter\nold\n```\n", "chapter.md": "# Chapter\n\nText.\n"}
    book = write_book(tmp_path / "book", {**pages, "old.md": "# Old\n\nOnly in 1.0.\n"})
    (book / ".gitignore").write_text("_build/\n")
    git("init", "-q", "-b", "main", cwd=book)
    git("remote", "add", "origin", str(remote), cwd=book)
    deploy_version(book, site, "1.0")
    (book / "old.md").unlink()
    write_book(book, {**pages, "index.md": "# Book\n\n```{toctree}\nchapter\n```\n"})
    # a fresh build folder, as CI's clone has: an incremental one keeps old.html (Sphinx never
    # deletes the page of a removed source), and deploy would publish it in 2.0/ too
    shutil.rmtree(book / "_build")
    deploy_version(book, site, "2.0")
    git("clone", "-q", "-b", "gh-pages", str(remote), str(served), cwd=tmp_path)

    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", lambda request: request.url.startswith(site) or problems.append(f"left: {request.url}"))
    try:
        page.goto(f"{site}/2.0/chapter.html")
        assert switcher_entries(page) == ["2.0 (latest)*", "1.0"]
        assert page.inner_text(".bd-header .version-switcher__button").strip() == "2.0 (latest)"
        choose_version(page, "1.0")
        page.wait_for_url(f"{site}/1.0/chapter.html")
        assert page.inner_text("article h1").startswith("Chapter")
        assert switcher_entries(page) == ["2.0 (latest)", "1.0*"]
        assert page.inner_text(".bd-header .version-switcher__button").strip() == "1.0"

        page.goto(f"{site}/1.0/old.html")  # a page 2.0 no longer has: its version's root instead
        switcher_entries(page)
        choose_version(page, "2.0 (latest)")
        page.wait_for_url(f"{site}/2.0/")
        assert page.inner_text("article h1").startswith("Book")
    finally:
        context.close()
        server.shutdown()
    assert problems == []
