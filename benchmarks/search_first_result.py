"""Search on a built site: the index's size, whether a page waits for it, and
the time from typing a query to its first result, in Chromium.

    python benchmarks/search_first_result.py SITE_DIR [--page chapters/basics/tensors.html]
        [--query regression] [--rounds 5]

SITE_DIR is a built HTML folder (e.g. the demo book's ``_build/html``). For
each round, a fresh browser context opens the page and reports:

- ``index before first paint``: whether searchindex.js was requested before
  the first contentful paint (a render-blocking script in <head> is);
- ``first result``: milliseconds from the query's last key in the Ctrl+K
  dialog to the first result listed (as you type, PyData's option), or, when
  the dialog lists nothing in 10 s (the theme's default then: it submits to
  search.html), from opening ``search.html?q=QUERY`` to its first result.

Prints the median over the rounds. No assert: a measurement, for the README.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import statistics
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


INDEX_BEFORE_PAINT = """() => {
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    const index = performance.getEntriesByType('resource').find(r => r.name.includes('searchindex.js'));
    return {paint: paint ? paint.startTime : null, index: index ? index.startTime : null};
}"""


def one_round(browser: object, site: str, page_path: str, query: str) -> dict[str, object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{site}/{page_path}", wait_until="load")
    page.wait_for_timeout(200)  # let the paint entries land
    timing = page.evaluate(INDEX_BEFORE_PAINT)
    blocking = timing["index"] is not None and (timing["paint"] is None or timing["index"] < timing["paint"])
    page.keyboard.press("Control+k")
    page.keyboard.type(query)
    start = page.evaluate("performance.now()")
    way = "as you type"
    try:
        page.wait_for_selector("#pst-search-dialog #search-results ul.search li a", timeout=10_000)
        elapsed = page.evaluate("performance.now()") - start
    except Exception:  # the dialog lists nothing: the search page is the way
        way = "search page"
        start = page.evaluate("performance.now()")
        page.goto(f"{site}/search.html?q={query}", wait_until="commit")
        page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
        # performance.now() restarts with the new document: count from its start plus the navigation
        elapsed = page.evaluate("performance.now()")
    first = page.locator("#search-results ul.search li a").first.inner_text()
    context.close()
    return {"blocking": blocking, "ms": elapsed, "way": way, "first": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--page", default="chapters/basics/tensors.html")
    parser.add_argument("--query", default="regression")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    index = args.site / "searchindex.js"
    print(f"searchindex.js: {index.stat().st_size / 1024:.1f} KiB")
    server, site = serve(args.site)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        rounds = [one_round(browser, site, args.page, args.query) for _ in range(args.rounds)]
        browser.close()
    server.shutdown()
    print(f"index before first paint: {'yes' if all(r['blocking'] for r in rounds) else 'no'}")
    median = statistics.median(r["ms"] for r in rounds)
    print(f"first result ({rounds[0]['way']}): {median:.0f} ms, median of {len(rounds)}")
    print(f"first result for {args.query!r}: {rounds[0]['first']}")


if __name__ == "__main__":
    main()
