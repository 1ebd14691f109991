"""Library extraction from fixture files, the symbol graph, and the generated modules.

Each case in ``fixtures/library/*.txt`` (same layout as the parser fixtures)
holds pages separated by ``=== docname`` lines, the first being the root;
the expected part is the PyTorch module followed by any messages.
``pytest tests/test_library.py --regen-file-failure`` rewrites the expectations
of failing cases (read the diff before committing it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pytest_param_files import ParamTestData
from test_syntax import dot_text

from execbook.library.extract import book_order, extract, job_library_names
from execbook.library.writer import LibrarySpec, kept_header, module_text
from execbook.source.syntax import parse

FIXTURES = Path(__file__).parent / "fixtures" / "library"
TABS = ["pytorch", "numpy"]


def split_pages(text: str) -> dict[str, str]:
    pages: dict[str, list[str]] = {}
    current = None
    for line in text.split("\n"):
        if line.startswith("=== "):
            current = line[4:].strip()
            pages[current] = []
        elif current is not None:
            pages[current].append(line)
    return {name: "\n".join(lines) for name, lines in pages.items()}


def library_for(text: str, tab: str = "pytorch"):
    pages = split_pages(text)
    docs = {name: parse(source, TABS) for name, source in pages.items()}
    order = book_order(next(iter(pages)), {name: doc.toc for name, doc in docs.items()})
    return extract([(name, docs[name]) for name in order], tab)


def run_case(source: str) -> str:
    library = library_for(source)
    lines = [module_text(library).rstrip("\n")]
    lines += [f"[warning {doc}:{m.line}] {m.text}" for doc, m in library.messages]
    return "\n".join(lines)


@pytest.mark.param_file(FIXTURES / "extraction.txt")
def test_extraction(file_params: ParamTestData) -> None:
    file_params.assert_expected(dot_text(run_case(file_params.content.removesuffix("\n"))))


def test_every_fixture_file_has_its_test() -> None:
    """A new ``fixtures/library/*.txt`` needs its test above, or its cases never run."""
    assert [path.name for path in FIXTURES.glob("*.txt")] == ["extraction.txt"]


GRAPH = """=== index
# Book

```toc
a
b
```
=== a
# A

```{.python .input}
#@tab all
#@save
import sys
d2l = sys.modules[__name__]
```

```{.python .input}
#@tab all
def add_to_class(Class):  #@save
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
    return wrapper

def helper(x):  #@save
    return x + 1

def uses_helper(x):  #@save
    return d2l.helper(x) * 2

class Module:  #@save
    pass

def unused():  #@save
    return 0
```
=== b
# B

```{.python .input}
#@tab all
@d2l.add_to_class(Module)  #@save
def fit(self):
    return d2l.helper(1)

class Child(Module):  #@save
    pass
```
"""


def names(items) -> list[str]:
    return [item.owner + "." + item.names[0] if item.owner else item.names[0] for item in items]


def test_closure_follows_calls_classes_and_added_methods() -> None:
    library = library_for(GRAPH)
    assert library.aliases == {"d2l"}
    assert set(names(library.closure({"uses_helper"}))) == {"d2l", "helper", "uses_helper"}
    assert set(names(library.closure({"Child"}))) == {"Module", "Module.fit", "helper", "Child", "add_to_class", "d2l"}
    assert names(library.closure({"unused"})) == ["unused"]


def test_digest_changes_only_with_the_code_used() -> None:
    library = library_for(GRAPH)
    edited = library_for(GRAPH.replace("return 0", "return 1"))  # `unused` changes
    assert library.digest({"uses_helper"}) == edited.digest({"uses_helper"})
    assert library.digest({"unused"}) != edited.digest({"unused"})
    deeper = library_for(GRAPH.replace("return x + 1", "return x + 2"))  # `helper` changes
    assert library.digest({"uses_helper"}) != deeper.digest({"uses_helper"})
    assert library.digest({"Child"}) != deeper.digest({"Child"})  # through Module.fit
    assert library.digest(None) != edited.digest(None)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (["x = 1"], set()),
        (["from d2l import torch as d2l", "d2l.helper(1)"], {"helper", "d2l"}),
        (["from d2l.torch import helper, Module", "helper(1)"], {"helper", "Module"}),
        (["import d2l.torch as lib", "lib.Module()"], {"Module", "lib"}),
        (["from d2l import torch as d2l", "getattr(d2l, 'helper')"], None),
        (["from d2l.torch import *"], None),
        (["from d2l import numpy as d2l", "d2l.helper(1)"], set()),  # another framework's module
    ],
)
def test_names_a_job_uses(code: list[str], expected: set[str] | None) -> None:
    found = job_library_names(code, "d2l", "torch")
    if expected is None or not expected:
        assert found == expected
    else:
        assert expected <= found


def test_kept_header_and_banner() -> None:
    existing = "# My header\nimport extra\n" + module_text(library_for(GRAPH))
    assert kept_header(existing) == "# My header\nimport extra"
    text = module_text(library_for(GRAPH), kept_header(existing))
    assert text.startswith("# My header\nimport extra\n\n#################   WARNING")


def test_generated_modules_import_in_a_fresh_interpreter(tmp_path: Path) -> None:
    from execbook.library.writer import write_library

    demo = Path(__file__).resolve().parent.parent
    docs = {}
    for page in demo.glob("**/*.md"):
        relative = page.relative_to(demo)
        if relative.parts[0] in ("chapters",) or relative.name == "index.md" and len(relative.parts) == 1:
            docs[str(relative.with_suffix(""))] = parse(page.read_text(encoding="utf-8"), TABS)
    order = book_order("index", {name: doc.toc for name, doc in docs.items()})
    libraries = {tab: extract([(name, docs[name]) for name in order], tab) for tab in TABS}
    spec = LibrarySpec("dlb", {"pytorch": "torch", "numpy": "numpy"})
    paths = write_library(tmp_path, spec, libraries)
    assert [p.name for p in paths] == ["torch.py", "numpy.py"]
    for module in ("torch", "numpy"):
        check = (
            f"from dlb import {module} as lib; "
            "assert {'Timer', 'plot', 'add_to_class', 'synthetic_data', 'data_iter', 'LinearRegression'} "
            "<= set(dir(lib)); "
            "assert hasattr(lib.LinearRegression, 'loss')"
        )
        result = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        subprocess.run([sys.executable, "-m", "py_compile", str(tmp_path / "dlb" / f"{module}.py")], check=True)


def run_cli(book: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execbook.cli", *args, "--book", str(book)], capture_output=True, text=True
    )


def test_build_lib_writes_the_package_and_keeps_a_hand_written_header(tmp_path: Path) -> None:
    from conftest import write_book

    pages = {
        "index.md": "# Book\n\n```toc\nch\n```\n",
        "ch.md": "# Ch\n\n```{.python .input}\n#@tab all\ndef f():  #@save\n    return 1\n```\n\n"
        "```{.python .input}\n#@tab numpy\nimport numpy as np  #@save\n```\n",
    }
    book = write_book(
        tmp_path / "book", pages, conf='execbook_library = {"name": "mylib", "modules": {"numpy": "mylib/np.py"}}\n'
    )
    (book / "mylib").mkdir()
    (book / "mylib" / "torch.py").write_text("# Copyright the authors\n" + BANNER_LINE + "\nold = 1\n")
    result = run_cli(book, "build", "lib")
    assert result.returncode == 0, result.stderr
    assert "wrote mylib/torch.py" in result.stdout and "wrote mylib/np.py" in result.stdout
    torch_module = (book / "mylib" / "torch.py").read_text()
    assert torch_module.startswith("# Copyright the authors\n\n#################   WARNING")
    assert "old = 1" not in torch_module and "def f():" in torch_module
    assert "import numpy as np" in (book / "mylib" / "np.py").read_text()
    check = subprocess.run(
        [sys.executable, "-c", "from mylib import np; assert np.f() == 1"], cwd=book, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr


BANNER_LINE = "#################   WARNING   #################"


def test_build_lib_explains_what_is_missing(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "build", "lib")
    assert result.returncode != 0 and "no conf.py" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "conf.py").write_text('extensions = ["execbook"]\n')
    result = run_cli(tmp_path, "build", "lib")
    assert "no execbook_library in conf.py" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "conf.py").write_text('execbook_library = {"nam": "x"}\n')
    result = run_cli(tmp_path, "build", "lib")
    assert "execbook_library has unknown key(s) ['nam']" in result.stderr


def test_docstring_roles_split_into_text_and_resolved_links() -> None:
    from execbook.library.doc_roles import Part, split_roles

    def resolve(role: str, target: str) -> list[Part] | None:
        return [Part(f"[{role} {target}]", "page", "id")] if target != "gone" else None

    parts, unresolved = split_roles("Defined in :numref:`sec_a`; see :cite:`x,y` and :ref:`gone`.", resolve)
    assert parts == [
        Part("Defined in "),
        Part("[numref sec_a]", "page", "id"),
        Part("; see "),
        Part("[cite x,y]", "page", "id"),
        Part(" and "),
        Part("gone"),
        Part("."),
    ]
    assert unresolved == [":ref:`gone`"]


LIBRARY_BOOK = {
    "index.md": """
        # Home

        ```toc
        :numbered:

        chapters/a
        chapters/b
        ```
        """,
    "chapters/a.md": """
        # Alpha

        ```{.python .input}
        #@tab all
        #@save
        def smooth(x):
            \"\"\"Smooth a curve, as :numref:`sec_beta` and :cite:`legendre` do; see :ref:`sec_beta`.\"\"\"
            return x
        ```
        """,
    "chapters/b.md": """
        # Beta
        :label:`sec_beta`

        Least squares :cite:`legendre`.

        :bibliography:`references.bib`
        """,
    "references.bib": """
        @book{legendre,
          author = {Legendre, Adrien-Marie},
          title = {Nouvelles methodes},
          year = {1805},
        }
        """,
}


@pytest.mark.sphinx
def test_library_page_is_in_the_header_and_search_and_resolves_docstring_roles(tmp_path: Path) -> None:
    import json
    import posixpath

    from bs4 import BeautifulSoup
    from conftest import build_in_process, write_book

    book = write_book(
        tmp_path / "book", LIBRARY_BOOK, conf="execbook_library = {'name': 'lib'}\nexecbook_execute = 'off'\n"
    )
    built = build_in_process(book)
    assert built.returncode == 0, built.output
    html = BeautifulSoup((built.outdir / "execbook-library.html").read_text(), "html.parser")
    doc = html.select_one("section.execbook-library-module[data-tab=pytorch] dd > p")
    assert " ".join(doc.get_text().split()) == "Smooth a curve, as Section 2 and (Legendre, 1805) do; see Beta."
    links = {a.get_text(): a["href"] for a in doc.select("a")}
    assert links["Section 2"].startswith("chapters/b.html#") and links["Beta"] == links["Section 2"]
    beta = BeautifulSoup((built.outdir / "chapters" / "b.html").read_text(), "html.parser")
    assert beta.find(id=links["Section 2"].split("#")[1]) is not None
    page, anchor = links["Legendre, 1805"].split("#")
    assert BeautifulSoup((built.outdir / page).read_text(), "html.parser").find(id=anchor) is not None

    # in the header of every page, at any depth, linking to the page
    for name in ("index", "chapters/a", "execbook-library"):
        soup = BeautifulSoup((built.outdir / f"{name}.html").read_text(), "html.parser")
        link = soup.select_one('nav[aria-label="Library"] a')
        assert link is not None and link.get_text(strip=True) == "Library", name
        href = link["href"] if link["href"] != "#" else posixpath.basename(f"{name}.html")  # the page itself
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), href))
        assert target == "execbook-library.html", name

    # in Sphinx's search index, found by a word only its docstrings hold
    index = (built.outdir / "searchindex.js").read_text()
    data = json.loads(index[index.index("(") + 1 : index.rindex(")")])
    page_number = data["docnames"].index("execbook-library")
    assert data["titles"][page_number] == "Library reference"
    found = data["terms"]["smooth"]  # a page number, or a list of them
    assert page_number in (found if isinstance(found, list) else [found])


@pytest.mark.sphinx
def test_the_library_reads_the_pages_on_disk_not_a_text_another_extension_changed(tmp_path: Path) -> None:
    """The library reuses the pages the build's reader parsed only where their text is the file's:
    an extension's ``source-read`` handler that rewrites a page changes the page, not the library."""
    from conftest import build_in_process, write_book

    book = write_book(
        tmp_path / "book",
        {
            "index.md": "# Home\n\n```toc\nc\n```\n",
            "c.md": '# C\n\n```{.python .input}\n#@tab all\n#@save\ndef which():\n    return "disk"\n```\n',
            "rewrite.py": """
                def rewrite(app, docname, source):
                    source[0] = source[0].replace('"disk"', '"rewritten"')

                def setup(app):
                    app.connect("source-read", rewrite, priority=100)
                """,
        },
        conf="import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\nextensions.append('rewrite')\n"
        "execbook_library = {'name': 'lib'}\nexecbook_execute = 'off'\n",
    )
    built = build_in_process(book)
    assert built.returncode == 0, built.output
    assert '"rewritten"' in (built.outdir / "c.html").read_text()  # the page shows the rewritten text
    modules = [path.read_text() for path in (book / "_build").rglob("lib/*.py") if "def which" in path.read_text()]
    assert modules and all('return "disk"' in text and "rewritten" not in text for text in modules)
