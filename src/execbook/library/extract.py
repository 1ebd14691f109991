"""The book's library: ``#@save`` code gathered into one module per framework.

Pure functions: pages (in book order) in, module text and a dependency graph
out. The graph lets a job's cache key hold exactly the library code the job
uses, so editing one saved function re-runs only the pages that use it.

Longer than most modules on purpose: extraction and the symbol graph that keys
jobs read the same syntax trees of the saved statements.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from execbook.source.document import (
    SAVE_LINE_RE,
    SAVE_TRAIL_RE,
    CodeCell,
    Document,
    MarkdownCell,
    mask_magics,
    toc_target,
)
from execbook.source.messages import Message
from execbook.source.prose import LABEL_LINE_RE


@dataclass
class Saved:
    """One saved top-level statement (or a whole cell saved as one block)."""

    source: str
    docname: str
    line: int  # in the page
    section: str | None  # nearest section label before the cell
    names: tuple[str, ...] = ()  # what it defines at module level
    uses: frozenset[str] = frozenset()  # global names it reads (library aliases resolved)
    owner: str | None = None  # the class an @add_to_class method is added to
    is_import: bool = False
    signature: str = ""  # "def plot(X, Y=None)" for the reference page
    doc: str = ""

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


@dataclass
class Library:
    tab: str
    items: list[Saved] = field(default_factory=list)
    messages: list[tuple[str, Message]] = field(default_factory=list)  # (docname, message)
    aliases: frozenset[str] = frozenset()  # names the library calls itself (d2l = sys.modules[__name__])

    @property
    def imports(self) -> list[Saved]:
        return [item for item in self.items if item.is_import]

    @property
    def definitions(self) -> list[Saved]:
        return [item for item in self.items if not item.is_import]

    def by_name(self) -> dict[str, list[Saved]]:
        index: dict[str, list[Saved]] = {}
        for item in self.definitions:
            for name in item.names:
                index.setdefault(name, []).append(item)
            if item.owner:
                index.setdefault(item.owner, []).append(item)
        return index

    def closure(self, names: Iterable[str]) -> list[Saved]:
        """The saved code that ``names`` need: their definitions, methods
        added to their classes, and everything those use, transitively."""
        index = self.by_name()
        seen: dict[int, Saved] = {}
        todo = list(names)
        while todo:
            for item in index.get(todo.pop(), []):
                if id(item) not in seen:
                    seen[id(item)] = item
                    if "*" in item.uses:  # uses the library in ways that cannot be told
                        return [i for i in self.items if not i.is_import]
                    todo.extend(item.uses)
                    todo.extend(item.names)  # methods added to a class defined here
        return [item for item in self.items if id(item) in seen]

    def digest(self, names: Iterable[str] | None) -> str:
        """Hash of the code ``names`` depend on; None means the whole library."""
        items = self.items if names is None else self.imports + self.closure(names)
        return hashlib.sha256("\n".join(item.digest for item in items).encode()).hexdigest()


# -- reading saved code ----------------------------------------------------------


def statement_start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def defined_names(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return tuple(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((a.asname or a.name).split(".")[0] for a in node.names)
    return ()


def add_to_class_owner(node: ast.stmt) -> str | None:
    """``@x.add_to_class(Owner)`` (or ``@add_to_class(Owner)``) -> "Owner"."""
    for decorator in getattr(node, "decorator_list", []):
        if isinstance(decorator, ast.Call):
            func = decorator.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "add_to_class" and decorator.args:
                target = decorator.args[0]  # Owner or d2l.Owner
                if isinstance(target, ast.Name):
                    return target.id
                if isinstance(target, ast.Attribute):
                    return target.attr
    return None


def used_names(tree: ast.AST, aliases: frozenset[str]) -> set[str] | None:
    """Global names read by ``tree``; ``alias.name`` counts as ``name``.

    None when use cannot be told: the library object itself passed around
    (``getattr(d2l, name)``) or a star import.
    """
    names: set[str] = set()
    attribute_bases: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            names.add(node.attr)
            attribute_bases.add(id(node.value))
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in aliases and id(node) not in attribute_bases:
                return None
            names.add(node.id)
    return names


def self_aliases(tree: ast.Module) -> set[str]:
    """``d2l = sys.modules[__name__]``: the names the library calls itself."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and "sys.modules[__name__]" in ast.unparse(node.value):
            found |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return found


def section_labels(doc: Document) -> list[str | None]:
    """For each cell, the last label seen before it."""
    labels: list[str | None] = []
    current = None
    for cell in doc.cells:
        labels.append(current)
        if isinstance(cell, MarkdownCell) and cell.tabs is None:
            found = LABEL_LINE_RE.findall(cell.text)
            if found:
                current = found[-1]
    return labels


def saved_in_cell(source: str, cell_line: int) -> tuple[list[tuple[int, int]], list[Message], ast.Module | None]:
    """(first, last) line spans (1-based, in the cell) of saved statements."""
    lines = source.split("\n")
    marks = [i + 1 for i, line in enumerate(lines) if SAVE_LINE_RE.match(line) or SAVE_TRAIL_RE.search(line)]
    if not marks:
        return [], [], None
    try:
        tree = ast.parse(mask_magics(source))
    except SyntaxError as error:
        line = cell_line + (error.lineno or 1) - 1
        return (
            [],
            [Message(line, f"a saved cell has a syntax error ({error.msg}); fix it or remove #@save", "library")],
            None,
        )
    starts = {statement_start(node): node for node in tree.body}
    spans, messages = [], []
    for mark in marks:
        target = mark
        alone = bool(SAVE_LINE_RE.match(lines[mark - 1]))
        if alone:
            target = next((n for n in range(mark + 1, len(lines) + 1) if lines[n - 1].strip()), mark)
        node = starts.get(target)
        if node is None:
            messages.append(
                Message(
                    cell_line + mark - 1,
                    "#@save marks something that is not a top-level statement; "
                    "put it on the first line of a top-level def, class, import or assignment",
                    "library",
                )
            )
            continue
        end = run_end(lines, tree.body, node) if alone else node.end_lineno or node.lineno
        spans.append((statement_start(node), end))
    return spans, messages, tree


def run_end(lines: list[str], body: list[ast.stmt], first: ast.stmt) -> int:
    """The last line that ``#@save`` alone on the line before ``first`` saves.

    As d2l-book 1.0.3 reads it: the statements that follow one another line
    after line, up to and including the first one with an indented line (a
    body, a continuation); a blank or indented line between two statements
    ends the run. So ``#@save`` over three imports saves the three, and over
    ``DATA_HUB[...] = (...)``, a blank line and ``voc_dir = download(...)``
    saves the first statement only (the second would run at import).
    """
    node = first
    following = body[body.index(first) + 1 :]
    while not any(line[:1].isspace() for line in lines[statement_start(node) : node.end_lineno]) and following:
        after = following.pop(0)
        between = lines[(node.end_lineno or node.lineno) : statement_start(after) - 1]
        if any(not line.strip() or line[:1].isspace() for line in between) or statement_start(after) <= (
            node.end_lineno or 0
        ):
            break
        node = after
    return node.end_lineno or node.lineno


def signature_of(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"{node.name}({ast.unparse(node.args)})"
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(base) for base in node.bases)
        return f"class {node.name}" + (f"({bases})" if bases else "")
    return ""


def docstring_of(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return ast.get_docstring(node) or ""
    return ""


def clean(lines: list[str]) -> str:
    """Saved lines without #@save marks or IPython magics (a module cannot hold them)."""
    kept = [
        SAVE_TRAIL_RE.sub("", line).rstrip()
        for line in lines
        if not SAVE_LINE_RE.match(line) and not line.lstrip().startswith(("%", "!"))
    ]
    return "\n".join(kept).strip("\n")


def extract(pages: list[tuple[str, Document]], tab: str) -> Library:
    """Gather ``tab``'s saved code from ``pages`` (in book order)."""
    library = Library(tab)
    pending: list[tuple[Saved, ast.AST]] = []
    for docname, doc in pages:
        labels = section_labels(doc)
        for index, cell in enumerate(doc.cells):
            if isinstance(cell, CodeCell) and tab in cell.tabs:
                pending += saved_statements(library, docname, cell, tab, labels[index])
    aliases: set[str] = set()
    for _, node in pending:
        if isinstance(node, ast.Assign):
            aliases |= self_aliases(ast.Module(body=[node], type_ignores=[]))
    library.aliases = frozenset(aliases)
    seen: dict[str, Saved] = {}
    for item, node in pending:
        uses = used_names(node, library.aliases)
        item.uses = frozenset({"*"} if uses is None else uses)
        add_saved(library, item, seen)
    return library


def saved_statements(
    library: Library, docname: str, cell: CodeCell, tab: str, section: str | None
) -> list[tuple[Saved, ast.AST]]:
    """The saved top-level statements of one cell, each with its syntax tree; problems go to ``library.messages``."""
    source = cell.code_for(tab, keep_save_marks=True)
    spans, messages, tree = saved_in_cell(source, cell.first_line)
    library.messages += [(docname, message) for message in messages]
    if tree is None:
        return []
    lines = source.split("\n")
    found: list[tuple[Saved, ast.AST]] = []
    for first, last in spans:
        if not clean(lines[first - 1 : last]):
            continue
        for node in (node for node in tree.body if first <= statement_start(node) <= last):
            piece = clean(lines[statement_start(node) - 1 : (node.end_lineno or node.lineno)])
            if not piece:  # an IPython magic line
                continue
            item = Saved(
                piece,
                docname,
                cell.first_line + statement_start(node) - 1,
                section,
                defined_names(node),
                owner=add_to_class_owner(node),
                is_import=isinstance(node, (ast.Import, ast.ImportFrom)),
                signature=signature_of(node),
                doc=docstring_of(node),
            )
            found.append((item, node))
    return found


def book_messages(libraries: dict[str, Library]) -> list[tuple[str, Message]]:
    """Each problem of the libraries once, naming the frameworks it concerns (``[pytorch,
    numpy] ...``): a cell every framework shares gives one fact, not one warning per framework."""
    tabs_of: dict[tuple[str, int, str, str], list[str]] = {}
    for tab, library in libraries.items():
        for docname, message in library.messages:
            tabs_of.setdefault((docname, message.line, message.text, message.subtype), []).append(tab)
    return [
        (docname, Message(line, f"[{', '.join(tabs)}] {text}", subtype))
        for (docname, line, text, subtype), tabs in tabs_of.items()
    ]


def add_saved(library: Library, item: Saved, seen: dict[str, Saved]) -> None:
    """Add ``item``; a name saved again replaces the earlier definition (the same import is kept once)."""
    key_names = [f"{item.owner}.{n}" for n in item.names] if item.owner else list(item.names)
    if not item.is_import:
        for name in key_names:
            if name in seen and name not in library.aliases:
                earlier = seen[name]
                # a later page redefining a saved name is d2l's way of improving it (Trainer.prepare_batch
                # learns GPUs in a later chapter); twice on one page is a slip
                if earlier.docname == item.docname:
                    library.messages.append(
                        (
                            item.docname,
                            Message(
                                item.line,
                                f"'{name}' is saved twice; this one (later) wins over "
                                f"{earlier.docname}.md:{earlier.line}",
                                "library",
                            ),
                        )
                    )
                library.items = [i for i in library.items if i is not earlier]
            seen[name] = item
    if item.is_import and any(i.is_import and i.source == item.source for i in library.items):
        return
    library.items.append(item)


# -- what a job uses -------------------------------------------------------------------


def job_library_names(sources: list[str], package: str, module: str) -> set[str] | None:
    """Library names a job's code uses; set() when it does not import the
    library, None when it uses it in ways that cannot be told."""
    try:
        tree = ast.parse(mask_magics("\n".join(sources)))
    except SyntaxError:
        return None if package in "\n".join(sources) else set()
    full = f"{package}.{module}"
    aliases: set[str] = set()
    direct: set[str] = set()
    imports = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in (package, full):
            for alias in node.names:
                if alias.name == "*":
                    return None
                if node.module == package and alias.name == module:
                    aliases.add(alias.asname or alias.name)
                    imports = True
                elif node.module == full:
                    direct.add(alias.name)
                    imports = True
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in (package, full):
                    imports = True
                    if alias.asname:
                        aliases.add(alias.asname)
                    else:
                        return None  # `import d2l.torch` then d2l.torch.x: keep it simple, conservative
    if not imports:
        return set()
    used = used_names(tree, frozenset(aliases))
    return None if used is None else used | direct


# -- configuration ------------------------------------------------------------------------


def extract_book(docs: dict[str, Document], root: str, tabs: Iterable[str]) -> dict[str, Library]:
    """Every framework's library from the whole book, in toc order from ``root``."""
    order = book_order(root, {name: doc.toc for name, doc in docs.items()})
    return {tab: extract([(name, docs[name]) for name in order], tab) for tab in tabs}


def book_order(root: str, tocs: dict[str, list[str]]) -> list[str]:
    """Pages in the order of the toc fences, from the root page down; pages
    no toc names come last, by name."""
    order: list[str] = []

    def visit(page: str) -> None:
        if page in order or page not in tocs:
            return
        order.append(page)
        for entry in tocs[page]:
            visit(toc_target(page, entry))

    visit(root)
    return order + sorted(page for page in tocs if page not in order)
