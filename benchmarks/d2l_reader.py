"""The built d2l-en site as its readers meet it, in Chromium (issue 33's checks).

    python benchmarks/d2l_reader.py SITE_DIR [--tabs pytorch,mxnet,jax,tensorflow] [--rounds 3]

SITE_DIR is the ``_build/html`` of ``benchmarks/d2l_en.py PATH`` (all four tabs,
execution off). Prints:

- per framework, a reader who chose it (saved in the browser, as a click does):
  the "Not available for ..." notes met in prose groups (issue 33: none) and the
  quiet one-line notes of code groups without that framework (by design), with
  the pages they are on; every page with a tab group is opened;
- display equations: how many, how many carry a number, and any that do not;
- search: searchindex.js's size (and gzipped), the time to the first result as
  you type (``search_first_result.py``'s measurement) and the first result for
  each query ("Softmax Regression" expected first for "softmax"), and whether a hit
  on a TensorFlow-only term ("GradientTape") opens its page on the TensorFlow tab with the term highlighted and visible.

No assert: a measurement, for the guide's Performance page. Exit status 1 when a
prose note, an unnumbered equation or a wrong landing is found.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_first_result import CHROMIUM, one_round, serve  # noqa: E402

TABS = "pytorch,mxnet,jax,tensorflow"
QUERIES = {"softmax": "Softmax Regression", "GradientTape": "Automatic Differentiation"}  # query: first result
TENSORFLOW_ONLY = "GradientTape"

# what a reader of the page's framework sees: prose groups shown without their framework
# (whatever they hold: a bar or a note), code groups' quiet notes, and any "Not available" text
READER_SEES = """() => {
    const tab = document.documentElement.dataset.execbookTab;
    const shown = (el) => el !== null && el.offsetParent !== null;
    let prose = 0, code = 0;
    for (const group of document.querySelectorAll('.execbook-tabs')) {
        if (!shown(group) || group.dataset.tabs.split(' ').includes(tab)) continue;
        if (group.classList.contains('execbook-tabs-text')) prose++;
        else if (shown(group.querySelector(':scope > .execbook-missing'))) code++;
    }
    const text = (document.querySelector('article') || document.body).innerText;
    return {tab, prose, code, nags: (text.match(/Not available for/g) || []).length};
}"""


def pages_with_groups(site: Path) -> list[str]:
    return sorted(
        str(path.relative_to(site))
        for path in site.rglob("*.html")
        if "_static" not in path.parts and "execbook-tabs" in path.read_text(encoding="utf-8", errors="replace")
    )


def reader_notes(browser: object, url: str, pages: list[str], tab: str) -> dict[str, dict[str, int]]:
    """Per page: what a reader who chose ``tab`` meets."""
    context = browser.new_context()  # type: ignore[attr-defined]
    context.add_init_script(f"localStorage.setItem('execbook-tab', {tab!r})")  # the reader's saved choice
    context.route("**/*.{png,jpg,svg,gif,woff,woff2}", lambda route: route.abort())  # not what is counted
    page = context.new_page()
    found = {}
    for name in pages:
        page.goto(f"{url}/{name}", wait_until="domcontentloaded")
        page.wait_for_function("document.documentElement.dataset.execbookTab !== undefined")
        seen = page.evaluate(READER_SEES)
        assert seen["tab"] == tab, f"{name}: shown as {seen['tab']}, not {tab}"
        found[name] = seen
    context.close()
    return found


def equations(site: Path) -> tuple[int, list[str]]:
    """(display equations, 'page: the unnumbered one')."""
    total, unnumbered = 0, []
    for path in sorted(site.rglob("*.html")):
        if "_static" in path.parts or "_sources" in path.parts:
            continue
        soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")
        for math in soup.select("div.math"):
            total += 1
            if math.select_one("span.eqno") is None:
                text = " ".join(math.get_text().split())[:70]
                unnumbered.append(f"{path.relative_to(site)}: {text}")
    return total, unnumbered


def lands_on_the_tab(browser: object, url: str, term: str) -> str:
    """Search ``term`` as you type, open the first hit: 'ok' or what went wrong."""
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{url}/index.html")
    page.keyboard.press("Control+k")
    page.keyboard.type(term)
    hit = page.locator("#search-results ul.search li a").first
    hit.wait_for(timeout=30_000)
    title = hit.inner_text()
    hit.click()
    page.wait_for_load_state("load")
    marked = page.locator(".execbook-pane span.highlighted", has_text=term).first
    try:
        marked.wait_for(timeout=10_000)
    except Exception:
        verdict = f"no highlighted {term!r} in a pane of {page.url}"
    else:
        pane_tab = marked.evaluate("el => el.closest('.execbook-pane').dataset.tab")
        shown_tab = page.evaluate("document.documentElement.dataset.execbookTab")
        visible = marked.is_visible()
        verdict = (
            "ok"
            if visible and pane_tab == shown_tab == "tensorflow"
            else f"highlighted in {pane_tab}, page shows {shown_tab}, visible={visible}"
        )
    context.close()
    return f"{title!r} -> {page.url.split('/')[-1]}: {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site (_build/html)")
    parser.add_argument("--tabs", default=TABS, help=f"frameworks, comma-separated (default {TABS})")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per search query (median)")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    from playwright.sync_api import sync_playwright

    bad = False
    pages = pages_with_groups(site)
    server, url = serve(site)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        print(f"pages with tab groups: {len(pages)}")
        for tab in args.tabs.split(","):
            found = reader_notes(browser, url, pages, tab)
            prose = sum(seen["prose"] for seen in found.values())
            nags = sum(seen["nags"] for seen in found.values())
            code = sum(seen["code"] for seen in found.values())
            print(
                f"  {tab:10s} prose groups without it shown: {prose} "
                f"(on {sum(1 for s in found.values() if s['prose'])} pages); 'Not available for' text: {nags}; "
                f"code notes (one quiet line, by design): {code} "
                f"on {sum(1 for s in found.values() if s['code'])} pages"
            )
            bad |= bool(prose or nags)

        total, unnumbered = equations(site)
        print(f"display equations: {total}, numbered {total - len(unnumbered)}")
        for line in unnumbered[:20]:
            print(f"  unnumbered: {line}")
        bad |= bool(unnumbered)

        index = (site / "searchindex.js").read_bytes()
        print(f"searchindex.js: {len(index) / 1024:.0f} KiB, gzipped {len(gzip.compress(index, 9)) / 1024:.0f} KiB")
        for query in QUERIES:
            rounds = [one_round(browser, url, "index.html", query) for _ in range(args.rounds)]
            times = sorted(r["ms"] for r in rounds)
            blocking = any(r["blocking"] for r in rounds)
            print(
                f"  {query!r}: first result ({rounds[0]['way']}) {times[len(times) // 2]:.0f} ms, median of "
                f"{len(rounds)} (first load of the index included); index before first paint: "
                f"{'yes' if blocking else 'no'}; first result: {rounds[0]['first']!r}"
            )
            bad |= rounds[0]["first"] != QUERIES[query]
        landing = lands_on_the_tab(browser, url, TENSORFLOW_ONLY)
        print(f"  {TENSORFLOW_ONLY!r} opened: {landing}")
        bad |= not landing.endswith(": ok")
        browser.close()
    server.shutdown()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
