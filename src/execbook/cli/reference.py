"""The guide's reference pages, generated from the declarations they describe.

Three directives, each a table built from the code's single declaration, so
the pages cannot drift from it:

``.. execbook-options::``   every ``execbook_*`` option of ``ExecbookConfig``: name, type, default, help
``.. execbook-commands::``  every ``execbook`` command and its arguments, read from the argparse parser
``.. execbook-warnings::``  every warning subtype of ``book.warnings``, for ``suppress_warnings``

A Sphinx extension of its own (``extensions = [..., "execbook.cli.reference"]``
in the guide's ``conf.py``), not part of every book's build: it lives in the
``cli`` stage because it reads the command-line parser, which no earlier stage
may import.
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import importlib
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from execbook.book.config import option_default, option_fields
from execbook.book.warnings import WARNING_TYPES
from execbook.cli.main import command_line
from execbook.version import __version__

TYPE_NAMES = {list: "list", dict: "dict", bool: "bool", str: "str", int: "int", float: "float"}


def cell(text: str, code: bool = False) -> nodes.entry:
    inline: nodes.Node = nodes.literal(text, text) if code else nodes.Text(text)
    return nodes.entry("", nodes.paragraph("", "", inline))


def table(headers: list[str], rows: list[list[nodes.entry]], widths: list[int], name: str) -> nodes.table:
    """A docutils table: HTML and LaTeX writers render it as any Markdown table."""
    group = nodes.tgroup(cols=len(headers))
    group += [nodes.colspec(colwidth=width) for width in widths]
    group += nodes.thead("", nodes.row("", *[cell(header) for header in headers]))
    group += nodes.tbody("", *[nodes.row("", *entries) for entries in rows])
    # colwidths-given: the writers use these widths (the LaTeX writer's equal or content-sized
    # columns ran long option names off the PDF's page), as for a table directive's :widths:;
    # longtable: the PDF breaks the table across pages (a tabular of 28 warnings ran off the page)
    classes = ["execbook-reference", name, "colwidths-given", "longtable"]
    result = nodes.table("", group, classes=classes)
    result["ids"] = [name]
    return result


def option_type(field: dc.Field) -> str:
    if "choices" in field.metadata:
        return " | ".join(repr(choice) for choice in field.metadata["choices"])
    kinds = field.metadata.get("types", (field.type,))
    return " or ".join(TYPE_NAMES.get(kind, getattr(kind, "__name__", str(kind))) for kind in kinds)


def option_rows() -> list[list[nodes.entry]]:
    return [
        [
            cell(f"execbook_{field.name}", code=True),
            cell(option_type(field)),
            cell(repr(option_default(field)), code=True),
            cell(field.metadata["help"]),
        ]
        for field in option_fields()
    ]


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, help, parser) of each command, in the order the parser declares them."""
    for action in parser._actions:  # argparse keeps its subparsers there; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def argument_name(action: argparse.Action) -> str:
    # a metavar may be a tuple, one name per value of nargs=2 and the like
    metavar = " ".join(action.metavar) if isinstance(action.metavar, tuple) else action.metavar
    if action.option_strings:
        flags = ", ".join(action.option_strings)
        return flags if action.nargs == 0 else f"{flags} {metavar or action.dest.upper()}"
    if action.choices:
        return "{" + ",".join(str(choice) for choice in action.choices) + "}"
    return metavar or action.dest.upper()


def argument_help(action: argparse.Action) -> str:
    text = action.help or ""
    default = action.default
    if action.option_strings and action.nargs != 0 and default not in (None, argparse.SUPPRESS):
        text = f"{text} (default: {default})" if text else f"default: {default}"
    return text


def command_rows() -> list[list[nodes.entry]]:
    rows = []
    for name, help_text, sub in subcommands(command_line()):
        rows.append([cell(f"execbook {name}", code=True), cell(""), cell(help_text)])
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            rows.append([cell(""), cell(argument_name(action), code=True), cell(argument_help(action))])
    return rows


def warning_rows() -> list[list[nodes.entry]]:
    return [
        [cell(f"execbook.{kind.subtype}", code=True), cell(kind.stage), cell(kind.meaning)] for kind in WARNING_TYPES
    ]


class ReferenceTable(SphinxDirective):
    """A table of declarations: the page is read again when the module declaring them changes."""

    sources: tuple[str, ...] = ()

    def note_sources(self) -> None:
        for module in self.sources:
            path = importlib.import_module(module).__file__
            if path is not None:  # None only for a namespace package, which declares nothing
                self.env.note_dependency(path)


class OptionsTable(ReferenceTable):
    sources = ("execbook.book.config",)

    def run(self) -> list[nodes.Node]:
        self.note_sources()
        return [table(["Option", "Type", "Default", "Meaning"], option_rows(), [22, 12, 20, 46], "execbook-options")]


class CommandsTable(ReferenceTable):
    sources = ("execbook.cli.main",)

    def run(self) -> list[nodes.Node]:
        self.note_sources()
        return [table(["Command", "Argument", "Meaning"], command_rows(), [16, 24, 60], "execbook-commands")]


class WarningsTable(ReferenceTable):
    sources = ("execbook.book.warnings",)

    def run(self) -> list[nodes.Node]:
        self.note_sources()
        return [table(["Warning type", "Where", "Meaning"], warning_rows(), [22, 10, 68], "execbook-warnings")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("execbook-options", OptionsTable)
    app.add_directive("execbook-commands", CommandsTable)
    app.add_directive("execbook-warnings", WarningsTable)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
