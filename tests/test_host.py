"""What a host needs from a published book (issue 33, items 3-5), on a demo-like book
built with ``html_baseurl``: sitemap, robots.txt, canonical and link-preview tags, a
404 page that works below the root, notebooks that show their figures alone, figures'
alt text and full-size links, every display equation numbered."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, BuiltBook, build_in_process

pytestmark = pytest.mark.sphinx

BASE = "https://example.org/book/"


def demo_like(root: Path) -> Path:
    book = root / "book"
    book.mkdir(parents=True)
    for name in ("index.md", "chapters", "conf.py", "references.bib", "_static", "_templates"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, book / name)
    return book


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    book = demo_like(tmp_path_factory.mktemp("hosted"))
    return build_in_process(book, confoverrides={"execbook_execute": "off", "html_baseurl": BASE})


def pages(built: BuiltBook) -> list[str]:
    return sorted(
        path.relative_to(built.outdir).with_suffix("").as_posix()
        for path in built.outdir.rglob("*.html")
        if not path.relative_to(built.outdir).parts[0].startswith(("_", "notebooks"))
        and path.name not in ("404.html", "genindex.html", "search.html")
    )


def test_sitemap_lists_every_page_and_robots_points_at_it(hosted: BuiltBook) -> None:
    sitemap = (hosted.outdir / "sitemap.xml").read_text()
    listed = set(re.findall(r"<loc>([^<]+)</loc>", sitemap))
    assert {f"{BASE}{page}.html" for page in pages(hosted)} <= listed
    robots = (hosted.outdir / "robots.txt").read_text()
    assert f"Sitemap: {BASE}sitemap.xml" in robots


def test_every_page_has_canonical_open_graph_and_description(hosted: BuiltBook) -> None:
    for page in pages(hosted):
        if page == "execbook-library":  # a page with no source: opengraph describes doctrees
            continue
        soup = hosted.html(page)
        canonical = soup.find("link", rel="canonical")
        assert canonical is not None and canonical["href"] == f"{BASE}{page}.html", page
        assert soup.find("meta", property="og:title")["content"], page
        assert soup.find("meta", property="og:url")["content"] == f"{BASE}{page}.html", page
        description = soup.find("meta", attrs={"name": "description"})
        assert description is not None and description["content"].strip(), page
        assert not re.search(r"</?(p|span|a|em|code)[ >]|`|:numref:", description["content"]), page


def test_404_page_uses_paths_that_work_at_any_depth(hosted: BuiltBook) -> None:
    soup = BeautifulSoup((hosted.outdir / "404.html").read_text(), "html.parser")
    urls = [tag.get("href") or tag.get("src") for tag in soup.find_all(["a", "link", "script", "img"])]
    local = [url for url in urls if url and "://" not in url and not url.startswith(("#", "mailto:", "data:"))]
    assert local, "the 404 page links to nothing"
    assert all(url.startswith("/book/") for url in local), [url for url in local if not url.startswith("/book/")]
    for url in local:  # every asset and page it names exists in the site
        assert (hosted.outdir / url.removeprefix("/book/").split("?")[0].split("#")[0]).exists(), url


def test_figures_have_their_caption_as_alt_and_open_full_size(hosted: BuiltBook) -> None:
    figures = [figure for page in pages(hosted) for figure in hosted.main(page).find_all("figure")]
    assert figures
    for figure in figures:
        image = figure.find("img")
        caption = figure.find(class_="caption-text")
        assert image["alt"] == re.sub(r"\\[()]", "", caption.get_text()), image["alt"]  # math as its TeX
        link = image.find_parent("a")
        assert link is not None and link["href"].endswith(Path(image["src"]).name)


def test_every_display_equation_is_numbered(hosted: BuiltBook) -> None:
    equations = [math for page in pages(hosted) for math in hosted.main(page).select("div.math")]
    assert len(equations) >= 5
    assert all(math.select_one(".eqno") for math in equations), [m for m in equations if not m.select_one(".eqno")]


def notebook_images(root: Path) -> list[tuple[str, str]]:
    """(notebook, image reference) for every image of every notebook under ``root``."""
    found = []
    for path in root.rglob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                found += [(path.name, ref) for ref in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", "".join(cell["source"]))]
    return found


def test_site_notebooks_reference_no_image_by_a_relative_path(hosted: BuiltBook) -> None:
    images = notebook_images(hosted.outdir / "notebooks")
    assert images
    assert all(ref.startswith(BASE) for _, ref in images), images


def test_without_a_base_url_notebooks_carry_their_images(tmp_path: Path) -> None:
    import nbformat

    built = build_in_process(demo_like(tmp_path), confoverrides={"execbook_execute": "off"})
    images = notebook_images(built.outdir / "notebooks")
    assert images and all(ref.startswith("attachment:") for _, ref in images), images
    for path in (built.outdir / "notebooks").rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            for ref in (r for r in notebook_images_in(cell) if r.startswith("attachment:")):
                assert ref.removeprefix("attachment:") in cell.get("attachments", {}), (path, ref)


def notebook_images_in(cell: dict) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", cell.get("source", "")) if cell["cell_type"] == "markdown" else []
