"""The published site in Chromium (issue 33): a demo-like book built with a base URL and
served below ``/book/``, as a host serves it, answering a missing page with ``404.html``.

A crawler finds ``robots.txt`` and the sitemap, and every page the sitemap lists opens
with its canonical link, link-preview tags and description; a notebook downloaded alone
shows images that the host serves. The 404 page renders with the theme's styles at any depth and its navigation leads to
real pages; axe-core finds no serious or critical accessibility violation on any page,
the bibliography and the 404 page included. axe-core is an npm package, never
committed: ``npm install --prefix /tmp/axe axe-core`` and
``EXECBOOK_AXE_JS=/tmp/axe/node_modules/axe-core/axe.min.js`` (.ci/run does this).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, build_in_process
from test_host import demo_like, notebook_images

pytestmark = pytest.mark.browser

PREFIX = "/book/"
SERIOUS = ("serious", "critical")


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves the site below /book/ and, like GitHub Pages, answers a missing path with 404.html."""

    site: Path

    def log_message(self, format: str, *args: object) -> None:
        pass

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        inside = path[len(PREFIX) :] if path.startswith(PREFIX) else "\0"  # outside /book/: nothing
        return str(self.site / inside) if inside != "\0" else str(self.site / "\0missing")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != 404:
            super().send_error(code, message, explain)
            return
        body = (self.site / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def hosted_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The base URL of the served site, and its folder (built for that very address)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    book = demo_like(tmp_path_factory.mktemp("a11y"))
    built = build_in_process(book, confoverrides={"execbook_execute": "off", "html_baseurl": base})
    assert built.returncode == 0, built.output
    server.RequestHandlerClass = type("Handler", (SiteHandler,), {"site": built.outdir})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, built.outdir
    server.shutdown()


def test_the_404_page_works_below_the_root(hosted_site: tuple[str, Path], browser: Any) -> None:
    base, _ = hosted_site
    page = browser.new_page()
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document" and failed.append(r.url))
    response = page.goto(f"{base}no/such/deep/page")
    assert response.status == 404
    assert page.title().startswith("Page not found")
    style = "() => { const s = getComputedStyle(document.body); return [s.fontFamily, s.color, s.backgroundColor] }"
    missing = page.evaluate(style)
    styled = page.evaluate(
        "() => [...document.styleSheets].some(s => (s.href || '').includes('pydata-sphinx-theme.css'))"
    )
    assert styled and "Times" not in missing[0], missing  # the theme's fonts, not the browser's default
    links = page.eval_on_selector_all(".bd-header a.nav-link, .bd-header a.navbar-brand", "as => as.map(a => a.href)")
    assert links and all(link.startswith(base) for link in links), links
    assert failed == []  # every stylesheet, script and image below /book/ was found

    followed = page.goto(links[0])
    assert followed.status == 200
    assert page.evaluate(style) == missing  # the same look as a real page


def axe_script() -> Path:
    """axe.min.js from EXECBOOK_AXE_JS, or node_modules at the checkout's root; else skip (fail in CI)."""
    given = os.environ.get("EXECBOOK_AXE_JS")
    found = Path(given) if given else ROOT / "node_modules" / "axe-core" / "axe.min.js"
    if not found.is_file():
        message = (
            f"axe-core is not installed ({found}): npm install --prefix /tmp/axe axe-core, then "
            "EXECBOOK_AXE_JS=/tmp/axe/node_modules/axe-core/axe.min.js"
        )
        if os.environ.get("EXECBOOK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def site_pages(site: Path) -> list[str]:
    """Every page a reader reaches: the book's pages, the bibliography and the library page among them."""
    return sorted(
        path.relative_to(site).as_posix()
        for path in site.rglob("*.html")
        if not path.relative_to(site).parts[0].startswith(("_", "notebooks")) and path.name != "404.html"
    )


def test_axe_finds_no_serious_or_critical_violation(hosted_site: tuple[str, Path], browser: Any) -> None:
    script = axe_script()
    base, site = hosted_site
    pages = site_pages(site)
    assert "chapters/references.html" in pages and "execbook-library.html" in pages
    page = browser.new_page()
    found = []
    for name in [*pages, "no/such/deep/page"]:
        page.goto(f"{base}{name}")
        page.add_script_tag(path=str(script))
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].html.slice(0, 160)])"
        )
        found += [
            f"{name}: {impact} {rule} x{count}: {html}" for rule, impact, count, html in violations if impact in SERIOUS
        ]
    assert found == []


def meta(page: Any, selector: str, attribute: str = "content") -> str:
    found = page.query_selector(selector)
    return (found.get_attribute(attribute) or "").strip() if found else ""


def test_a_crawler_and_a_link_preview_meet_every_page(hosted_site: tuple[str, Path], browser: Any) -> None:
    base, site = hosted_site
    page = browser.new_page()
    robots = page.goto(f"{base}robots.txt")
    assert robots.status == 200 and f"Sitemap: {base}sitemap.xml" in robots.text()
    sitemap = page.goto(f"{base}sitemap.xml")
    assert sitemap.status == 200
    listed = re.findall(r"<loc>([^<]+)</loc>", sitemap.text())
    readable = {f"{base}{name}" for name in site_pages(site) if name not in ("genindex.html", "search.html")}
    assert readable <= set(listed), readable - set(listed)
    for url in listed:
        response = page.goto(url)
        assert response.status == 200, url
        assert meta(page, "link[rel=canonical]", "href") == url
        assert meta(page, "meta[property='og:url']") == url
        assert meta(page, "meta[property='og:title']"), url
        if not url.endswith("execbook-library.html"):  # a page with no source: no text to describe it by
            assert meta(page, "meta[name=description]") and meta(page, "meta[property='og:description']"), url


def test_a_notebook_downloaded_alone_shows_images_the_host_serves(hosted_site: tuple[str, Path], browser: Any) -> None:
    base, site = hosted_site
    images = notebook_images(site / "notebooks")
    assert images
    assert all(ref.startswith(base) for _, ref in images), [ref for _, ref in images if not ref.startswith(base)]
    page = browser.new_page()
    for notebook, ref in images:
        response = page.request.get(ref)
        assert response.status == 200 and response.headers["content-type"].startswith("image/"), (notebook, ref)
