"""Library aliases: book-wide names that stand for each framework's own API.

A d2l book writes ``d2l.reshape(X, shape)`` or ``d2l.concat(parts)`` once, in
code shared by every framework; each framework's library defines those names
(``concat = torch.cat``), and readers are shown their framework's own call
(``X.reshape(shape)``, ``torch.cat(parts)``). The executed code stays as
written. These are d2l-book's ``[library-<tab>]`` maps:

- ``simple``: ``ones`` or ``concat -> cat``; ``d2l.concat`` is shown as
  ``torch.cat``. A trailing ``(`` (``exp(``) rewrites calls only.
- ``fluent``: ``numpy -> detach().numpy``; ``d2l.numpy(x, *a)`` is shown as
  ``x.detach().numpy(*a)``.
- ``args``: ``ones(shape) -> torch.ones(*shape)``; ``d2l.ones(s)`` is shown
  as ``torch.ones(*s)``, and the library gets ``def ones(shape): return ...``.
- ``alias``: raw lines appended to the library.
- ``reverse``: ``regex -> replacement`` applied to shown code first.

Pure functions: text in, text out.

Longer than most modules on purpose: the five alias kinds share one rewriter of
calls (an AST walk that keeps the author's text around each call).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from execbook.source.document import mask_magics

ALIAS_BANNER = "# Aliases defined in the book's settings ([library-<tab>] in config.ini, or execbook_library)"
ALIAS_KEYS = ("lib_name", "simple", "fluent", "args", "alias", "reverse")
DOTTED_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
FLUENT_RE = re.compile(r"^[\w.()]*[A-Za-z_]\w*$")
# receivers written as they are: anything else is parenthesized before ".method("
ATOMS = (
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.Subscript,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
    ast.GeneratorExp,
)


class AliasError(ValueError):
    """A map entry that cannot be used; ``entry`` is the text at fault."""

    def __init__(self, entry: str, problem: str):
        super().__init__(f"{entry!r}: {problem}")
        self.entry = entry


def parse_mapping(value: str | Iterable[str], split_commas: bool = True) -> list[tuple[str, str]]:
    """``"numpy -> asnumpy, reshape"`` -> ``[("numpy", "asnumpy"), ("reshape", "reshape")]``.

    Terms are separated by commas and line breaks (line breaks only when
    ``split_commas`` is false: regexes and signatures hold commas).
    """
    lines = value.splitlines() if isinstance(value, str) else list(value)
    terms = [term for line in lines for term in (line.split(",") if split_commas else [line])]
    mapping = []
    for term in terms:
        term = term.strip()
        if not term:
            continue
        if "->" in term:
            left, right = term.rsplit("->", 1) if not split_commas else term.split("->", 1)
            if not left.strip() or not right.strip():
                raise AliasError(term, "write 'name -> target'")
            mapping.append((left.strip(), right.strip()))
        else:
            mapping.append((term, term))
    return mapping


@dataclass(frozen=True)
class ArgsAlias:
    name: str
    params: tuple[str, ...]
    defaults: dict[str, str]  # parameter -> its default, as written
    expression: str

    @property
    def signature(self) -> str:
        return ", ".join(f"{p}={self.defaults[p]}" if p in self.defaults else p for p in self.params)


@dataclass(frozen=True)
class Aliases:
    """One framework's alias maps."""

    lib_name: str = ""
    simple: tuple[tuple[str, str], ...] = ()
    fluent: tuple[tuple[str, str], ...] = ()
    args: tuple[ArgsAlias, ...] = ()
    raw: str = ""
    reverse: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_option(cls, value: dict) -> Aliases:
        """From ``{"lib_name": "torch", "simple": "ones, concat -> cat", ...}``
        (strings as in config.ini, or lists of entries); AliasError names a bad entry."""
        unknown = set(value) - set(ALIAS_KEYS)
        if unknown:
            raise AliasError(", ".join(sorted(map(str, unknown))), f"unknown key; use {', '.join(ALIAS_KEYS)}")
        lib_name = str(value.get("lib_name", "")).strip()
        simple = parse_mapping(value.get("simple", ""))
        fluent = parse_mapping(value.get("fluent", ""))
        if (simple or fluent) and not lib_name:
            raise AliasError("lib_name", "simple and fluent aliases need lib_name, the framework's module (e.g. torch)")
        if lib_name and not DOTTED_RE.match(lib_name):
            raise AliasError(lib_name, "lib_name must be a module name such as torch or np")
        for left, right in [*simple, *fluent]:
            if not left.removesuffix("(").isidentifier():
                raise AliasError(left, "an alias must be a Python name")
        for _, target in simple:
            if not DOTTED_RE.match(target.removesuffix("(")):
                raise AliasError(target, "a simple alias names a function of lib_name, e.g. cat or random.normal")
        for _, method in fluent:
            if not FLUENT_RE.match(method) or not _parses(f"x.{method}(1)"):
                raise AliasError(
                    method, "a fluent alias names a method, e.g. sum or detach().numpy (without the last ())"
                )
        args = tuple(
            args_alias(left, right) for left, right in parse_mapping(value.get("args", ""), split_commas=False)
        )
        reverse = parse_mapping(value.get("reverse", ""), split_commas=False)
        for pattern, _ in reverse:
            try:
                re.compile(pattern)
            except re.error as error:
                raise AliasError(pattern, f"not a regular expression ({error})") from None
        raw = value.get("alias", "")
        raw = textwrap.dedent("\n".join(raw.splitlines() if isinstance(raw, str) else raw)).strip("\n")
        if raw:
            try:
                ast.parse(raw)
            except SyntaxError as error:
                raise AliasError(raw.splitlines()[(error.lineno or 1) - 1], f"not Python ({error.msg})") from None
        return cls(lib_name, tuple(simple), tuple(fluent), args, raw, tuple(reverse))

    def __bool__(self) -> bool:
        return bool(self.simple or self.fluent or self.args or self.raw or self.reverse)

    def library_text(self) -> str:
        """The block appended to the framework's library module, as d2l-book writes it."""
        lines = [self.raw] if self.raw else []
        for alias, target in self.simple:
            lines.append(f"{alias.removesuffix('(')} = {self.lib_name}.{target.removesuffix('(')}")
        for alias, method in self.fluent:
            lines.append(f"{alias} = lambda x, *args, **kwargs: x.{method}(*args, **kwargs)")
        for entry in self.args:
            lines.append(f"def {entry.name}({entry.signature}):\n    return {entry.expression}")
        return f"{ALIAS_BANNER}\n" + "\n".join(lines) + "\n" if lines else ""

    def _simple_pattern(self, prefix: str) -> tuple[re.Pattern[str], dict[str, str]]:
        """One regex for every simple alias (longest first): ``prefix.name`` as a
        whole name, or only before ``(`` for names written ``name(``. Built once."""
        cache: dict = self.__dict__.setdefault("_patterns", {})  # a frozen dataclass still has its __dict__
        if prefix not in cache:
            targets = {
                alias.removesuffix("("): f"{self.lib_name}.{target.removesuffix('(')}" for alias, target in self.simple
            }
            names = sorted(self.simple, key=lambda pair: -len(pair[0]))
            choices = "|".join(
                re.escape(a.removesuffix("(")) + (r"(?=\()" if a.endswith("(") else r"(?!\w)") for a, _ in names
            )
            cache[prefix] = (re.compile(r"(?<![\w.])" + re.escape(prefix) + r"\.(" + choices + ")"), targets)
        return cache[prefix]

    def shown(self, source: str, prefix: str) -> str:
        """The code as readers see it: ``prefix.alias`` calls in the framework's own API."""
        if f"{prefix}." not in source and not self.reverse:
            return source
        for pattern, replacement in self.reverse:
            source = re.sub(pattern, replacement, source)
        if self.simple:
            simple_re, targets = self._simple_pattern(prefix)
            source = simple_re.sub(lambda match: targets[match.group(1)], source)
        if self.fluent or self.args:
            source = rewrite_calls(source, prefix, dict(self.fluent), {entry.name: entry for entry in self.args})
        return source


def _parses(code: str) -> bool:
    try:
        ast.parse(code, mode="eval")
    except SyntaxError:
        return False
    return True


def args_alias(signature: str, expression: str) -> ArgsAlias:
    """``full(a_shape, a_value, dtype=None) -> torch.full(a_shape, a_value, dtype=dtype)``."""
    try:
        call = ast.parse(signature, mode="eval").body
        ast.parse(expression, mode="eval")
    except SyntaxError as error:
        bad = signature if error.text and error.text.strip() == signature.strip() else expression
        raise AliasError(bad, f"not a Python expression ({error.msg})") from None
    if (
        not isinstance(call, ast.Call)
        or not isinstance(call.func, ast.Name)
        or not all(isinstance(a, ast.Name) for a in call.args)
        or any(k.arg is None for k in call.keywords)
    ):
        raise AliasError(signature, "an argument alias is 'name(a_x, key=default) -> expression using a_x and key'")
    # every argument is a Name (checked above); the isinstance says so to the type checker
    params = tuple(a.id for a in call.args if isinstance(a, ast.Name)) + tuple(k.arg for k in call.keywords if k.arg)
    defaults = {k.arg: ast.unparse(k.value) for k in call.keywords if k.arg}
    return ArgsAlias(call.func.id, params, defaults, expression)


# -- rewriting calls with ast --------------------------------------------------------


class _Text:
    """Source as UTF-8 bytes, addressed by ast's (line, byte column) positions."""

    def __init__(self, source: str):
        self.data = source.encode("utf-8")
        self.starts = [0]
        for index, byte in enumerate(self.data):
            if byte == 0x0A:
                self.starts.append(index + 1)

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def of(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode("utf-8")


def _fits(node: ast.Call, name: str, fluent: dict[str, str], args: dict[str, ArgsAlias]) -> bool:
    """Whether the call can be shown another way (else it is shown as written)."""
    if name in fluent:
        return bool(node.args) and not isinstance(node.args[0], ast.Starred)
    entry = args[name]
    given = set(entry.params[: len(node.args)]) | {k.arg for k in node.keywords if k.arg}
    return not (
        len(node.args) > len(entry.params)
        or any(isinstance(a, ast.Starred) for a in node.args)
        or any(k.arg is None for k in node.keywords)
        or not given <= set(entry.params)
        or set(entry.params) - given - set(entry.defaults)
    )


LOOSE_PARENTS = (
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Expr,
    ast.Return,
    ast.keyword,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.Tuple,
    ast.FormattedValue,
    ast.comprehension,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
)


def _loose(node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether any expression but a bare tuple reads right in ``node``'s place:
    a statement's value, a call argument, an element, a subscript."""
    if parent is None or isinstance(parent, LOOSE_PARENTS):
        return True
    if isinstance(parent, ast.Call):
        return node is not parent.func
    if isinstance(parent, ast.Subscript):
        return node is parent.slice
    return False


def _bare(code: str, where: str) -> bool:
    """Whether ``code`` needs no parentheses: ``where`` is "loose" (an argument,
    a value), "tight" (an operand) or "receiver" (before ``.method``)."""
    try:
        node = ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        return False
    enclosed = code.strip()[:1] in "([{" and code.strip()[-1:] in ")]}"
    if isinstance(node, (ast.Tuple, ast.GeneratorExp)):
        return enclosed
    if where == "loose":
        return not isinstance(node, (ast.NamedExpr, ast.Yield, ast.YieldFrom))
    if isinstance(node, ast.Constant):
        return where == "tight" or isinstance(node.value, str)
    return isinstance(node, ATOMS)


def _wrap(code: str, where: str) -> str:
    return code if _bare(code, where) else f"({code})"


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


class _Rewriter:
    """One parse of a cell; alias calls rendered from the inside out, from the source's own text."""

    def __init__(self, source: str, prefix: str, fluent: dict[str, str], args: dict[str, ArgsAlias]):
        self.text, self.fluent, self.args = _Text(source), fluent, args
        names = {**fluent, **args}
        self.parents: dict[int, ast.AST] = {}  # of the alias calls only
        calls = []
        stack: list[ast.AST] = [ast.parse(mask_magics(source))]
        while stack:
            parent = stack.pop()
            for node in ast.iter_child_nodes(parent):
                stack.append(node)
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == prefix
                    and node.func.attr in names
                    and _fits(node, node.func.attr, fluent, args)
                ):
                    self.parents[id(node)] = parent
                    start, end = self.text.span(node)
                    calls.append((start, -end, node))
        self.calls = [(start, -negative_end, node) for start, negative_end, node in sorted(calls, key=lambda c: c[:2])]
        self.reshaped = {id(node) for _, _, node in self.calls if node.func.attr in args}  # type: ignore[attr-defined]

    def render(self, start: int, end: int) -> str:
        """The source between two offsets, each outermost alias call in it rewritten."""
        out, at = [], start
        for call_start, call_end, node in self.calls:
            if call_start >= at and call_end <= end:
                where = "loose" if _loose(node, self.parents.get(id(node))) else "tight"
                out += [self.text.data[at:call_start].decode("utf-8"), _wrap(self.rewrite(node), where)]
                at = call_end
        return "".join(out) + self.text.data[at:end].decode("utf-8")

    def of(self, node: ast.AST) -> str:
        return self.render(*self.text.span(node))

    def wrapped(self, node: ast.expr, where: str) -> str:
        """``node``'s code, in parentheses where ``where`` needs them. Only an
        argument alias changes what kind of expression a node is; the other
        nodes are judged without parsing their code again."""
        code = self.of(node)
        if id(node) in self.reshaped or isinstance(node, (ast.Tuple, ast.GeneratorExp)):
            return _wrap(code, where)
        if where == "loose":
            bare = not isinstance(node, (ast.NamedExpr, ast.Yield, ast.YieldFrom))
        elif isinstance(node, ast.Constant):
            bare = where == "tight" or isinstance(node.value, str)
        else:
            bare = isinstance(node, ATOMS)
        return code if bare else f"({code})"

    def rewrite(self, node: ast.Call) -> str:
        name = node.func.attr  # type: ignore[attr-defined]
        if name in self.fluent:
            rest = [self.of(arg) for arg in node.args[1:]] + [self.of(keyword) for keyword in node.keywords]
            return f"{self.wrapped(node.args[0], 'receiver')}.{self.fluent[name]}({', '.join(rest)})"
        entry = self.args[name]
        given: dict[str, ast.expr] = dict(zip(entry.params, node.args))
        given.update({k.arg: k.value for k in node.keywords if k.arg})
        # `dtype=dtype` where the caller gave no dtype and the default is None: dropped, as d2l-book does
        dropped = {p for p in set(entry.defaults) - set(given) if entry.defaults[p] == "None"}
        tree = ast.parse(entry.expression, mode="eval")
        parents = _parents(tree)
        placeholders: dict[str, str] = {}
        for sub in ast.walk(tree):
            if isinstance(sub, ast.Call):
                sub.keywords = [
                    k for k in sub.keywords if not (isinstance(k.value, ast.Name) and k.value.id in dropped)
                ]
            if isinstance(sub, ast.Name) and sub.id in entry.params:
                parent = parents.get(id(sub))
                where = "receiver" if isinstance(parent, ast.Attribute) else "loose" if _loose(sub, parent) else "tight"
                placeholder = f"__execbook_arg{len(placeholders)}__"
                placeholders[placeholder] = (
                    self.wrapped(given[sub.id], where) if sub.id in given else _wrap(entry.defaults[sub.id], where)
                )
                sub.id = placeholder
        shown = ast.unparse(tree)
        for placeholder, code in placeholders.items():
            shown = shown.replace(placeholder, code)
        return shown


def rewrite_calls(source: str, prefix: str, fluent: dict[str, str], args: dict[str, ArgsAlias]) -> str:
    """Rewrite ``prefix.name(...)`` calls, nested ones included; code that does
    not parse is shown as written."""
    try:
        rewriter = _Rewriter(source, prefix, fluent, args)
    except SyntaxError:
        return source
    return rewriter.render(0, len(rewriter.text.data))
