"""Every config value and name that execbook writes into HTML is escaped: tab
labels, page names and titles, #@save docstrings, report entries and citation
fields reach the reader as text, never as markup; a citation links only to
http, https and mailto URLs."""

from __future__ import annotations

import urllib.parse

import pytest
from bs4 import BeautifulSoup
from conftest import BuiltBook, run_sphinx, write_book

from execbook.html.references import safe_url

LABELS = {"numpy": 'N"><script>alert(1)</script>', "pytorch": "P'><b>x</b>"}
EVIL_PAGE = 'p"><img src=x onerror=alert(2)>'  # a file name: no "/" in it
TITLE = "Title <b>T</b>"  # a heading's text (the code span keeps it literal in the page itself)
DOCSTRING = "Return a<b and <script>alert(4)</script>."

PAGES = {
    "index.md": """
        # Home

        ```toc
        :maxdepth: 2

        ch
        twin
        ```
        """,
    "ch.md": f"""
        # Title `<b>T</b>`
        :label:`sec_t`

        ```{{.python .input}}
        #@tab all
        #@save
        def f(a):
            \"\"\"{DOCSTRING}\"\"\"
            return a
        ```

        See :cite:`evil`.

        :bibliography:`references.bib`
        """,
    # the same code as the page below: the report says "same code as <that page>"
    "twin.md": """
        # Twin

        ```{.python .input}
        #@tab all
        print(1)
        ```
        """,
    f"{EVIL_PAGE}.md": """
        # Evil page

        ```{.python .input}
        #@tab all
        print(1)
        ```
        """,
    "references.bib": """
        @misc{evil,
          author = {A. <script>alert(6)</script> Author},
          title = {T<script>alert(7)</script>},
          year = {2020},
          url = {javascript:alert(8)},
          doi = {10.1/"><script>alert(9)</script>},
        }
        """,
}

CONF = f"""
execbook_tab_labels = {LABELS!r}
execbook_library = {{"name": "lib"}}
"""

pytestmark = pytest.mark.sphinx


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory: pytest.TempPathFactory) -> BuiltBook:
    root = write_book(tmp_path_factory.mktemp("escaping") / "book", PAGES, conf=CONF)
    built = run_sphinx(root)
    assert built.returncode == 0, built.output
    return built


SITE_PAGES = ["index", "ch", "twin", EVIL_PAGE, "execbook-library", "execbook-report"]


def injected(soup: BeautifulSoup) -> list[str]:
    """Markup that only a payload could have made: a script running alert(),
    an event-handler attribute, a javascript: link."""
    # (Sphinx's own scripts quote the page name in a JavaScript string: text, not a payload)
    found = [str(tag)[:120] for tag in soup.find_all("script") if tag.get_text().strip().startswith("alert(")]
    for tag in soup.find_all(True):
        found += [f"{tag.name} {name}=" for name in tag.attrs if name.lower().startswith("on")]
        found += [f"{tag.name} href={tag['href']}" for _ in [0] if str(tag.get("href", "")).startswith("javascript")]
    return found


@pytest.mark.parametrize("page", SITE_PAGES)
def test_no_payload_becomes_markup(hostile_book: BuiltBook, page: str) -> None:
    assert injected(hostile_book.html(page)) == []


@pytest.mark.parametrize("page", SITE_PAGES)
def test_the_switcher_shows_tab_labels_as_text(hostile_book: BuiltBook, page: str) -> None:
    switchers = hostile_book.html(page).select("select.execbook-switcher")
    assert switchers  # in the header, and again in the theme's sidebar for narrow screens
    for switcher in switchers:
        options = switcher.select("option")
        assert [(option["value"], option.get_text()) for option in options] == [
            ("pytorch", LABELS["pytorch"]),
            ("numpy", LABELS["numpy"]),
        ]
        assert all(not option.find(True) for option in options)


def test_the_library_page_shows_docstrings_and_titles_as_text(hostile_book: BuiltBook) -> None:
    page = hostile_book.main("execbook-library")
    item = page.select_one("section.execbook-library-module dl.execbook-library")
    doc = item.select_one("dd > p")
    assert doc.get_text() == DOCSTRING and not doc.find(True)
    where = item.select_one(".execbook-library-where a")
    assert where.get_text() == TITLE and not where.find(True)
    # the tab labels in the module headings too
    assert [h.get_text().split(":")[0] for h in page.select("section.execbook-library-module h2")] == [
        LABELS["pytorch"],
        LABELS["numpy"],
    ]


def test_the_report_shows_page_names_and_messages_as_text(hostile_book: BuiltBook) -> None:
    rows = hostile_book.main("execbook-report").select("table.execbook-report tbody tr")
    cells = [[td.get_text() for td in row.select("td")] for row in rows]
    assert EVIL_PAGE in [row[0] for row in cells]
    link = next(row.select_one("td a") for row in rows if row.select_one("td").get_text() == EVIL_PAGE)
    assert not link.find(True)
    assert (hostile_book.outdir / urllib.parse.unquote(link["href"])).is_file()
    # the jobs of the two pages with the same code: one ran, the other names it
    messages = [row[5] for row in cells if row[5]]
    assert any(f"same code as {EVIL_PAGE} (" in message or "same code as twin (" in message for message in messages)
    assert all(not row.select_one("td:nth-of-type(6)").find(True) for row in rows)
    timeline = hostile_book.main("execbook-report").select_one(".execbook-timeline svg")
    assert timeline is not None and not timeline.find_all(["img", "script"])


def test_citations_show_fields_as_text_and_drop_unsafe_urls(hostile_book: BuiltBook) -> None:
    page = hostile_book.main("ch")
    entry = page.select_one("div.citation, [role=doc-biblioentry], dl.citation")
    assert entry is not None, page
    text = entry.get_text().replace("\xa0", " ")
    assert "A. <script>alert(6)</script> Author" in text and "T<script>alert(7)</script>" in text
    assert "javascript" not in str(page)  # neither a link nor its text
    links = [a["href"] for a in entry.select("a.reference.external[href]")]
    assert links == ['https://doi.org/10.1/"><script>alert(9)</script>']  # the doi's own link, its text as a value
    assert "the bibliography entry 'evil' has url 'javascript:alert(8)'" in hostile_book.output
    assert "only http, https and mailto links are shown" in hostile_book.output


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:x",
        "java\tscript:x",
        "java\nscript:x",
        "data:text/html,<script>",
        "file:///etc/passwd",
        "vbscript:x",
        "www.example.org",
        "//evil.example/x",
        "",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    assert not safe_url(url)


@pytest.mark.parametrize(
    "url", ["http://example.org", "https://example.org/a?b=1#c", "HTTPS://X.ORG", "mailto:a@b.org"]
)
def test_http_https_and_mailto_urls_pass(url: str) -> None:
    assert safe_url(url)
