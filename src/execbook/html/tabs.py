"""Framework tabs: grouping tabbed cells and rendering the switcher.

Tabs are data until the writer: code cells carry ``cell_metadata.execbook.tabs``
(from ``notebooks``) and ``:begin_tab:`` blocks become ``tab_block`` nodes.
A read-time transform groups neighbours of one kind into a ``tab_group``.
HTML renders a group as a tab bar and panes driven by ``static/execbook.js``;
every other builder keeps one tab (the default, or ``execbook_pdf_tab`` later).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from execbook.book import config as cfg
from execbook.source.notebooks import TAB_DIRECTIVE


class tab_block(nodes.General, nodes.Element):
    """The text of a ``:begin_tab:`` block; ``tabs`` lists its frameworks."""


class tab_group(nodes.General, nodes.Element):
    """Neighbouring tabbed items; children are ``tab_pane`` nodes, one per tab present."""


class tab_pane(nodes.General, nodes.Element):
    """What one framework shows in a group (``tab``), in source order."""


class TabBlockDirective(SphinxDirective):
    has_content = True
    required_arguments = 1
    optional_arguments = 100
    final_argument_whitespace = False
    option_spec: dict[str, Any] = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        node = tab_block(tabs=list(self.arguments))
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def item_tabs(node: nodes.Node) -> tuple[str, tuple[str, ...]] | None:
    """(kind, tabs) of a node that takes part in tab groups, else None."""
    if isinstance(node, tab_block):
        return "text", tuple(node["tabs"])
    if isinstance(node, nodes.container) and node.get("nb_element") == "cell_code":
        tabs = (node.get("cell_metadata") or {}).get("execbook", {}).get("tabs")
        if tabs:
            return "code", tuple(tabs)
    return None


def split_runs(children: Iterable[nodes.Node], all_tabs: tuple[str, ...]) -> list[list[nodes.Node]]:
    """Runs of neighbouring items of one kind that do not each cover every tab.

    An item covering every tab is shown plainly and ends a run; a code cell
    next to a text block starts a new run (a page shows them as two groups).
    """
    runs: list[list[nodes.Node]] = []
    run: list[nodes.Node] = []
    run_kind = None
    for child in children:
        info = item_tabs(child)
        if info is None or set(info[1]) >= set(all_tabs):
            if run:
                runs.append(run)
            run, run_kind = [], None
            continue
        if run and info[0] != run_kind:
            runs.append(run)
            run = []
        run.append(child)
        run_kind = info[0]
    if run:
        runs.append(run)
    return runs


def build_group(run: list[nodes.Node], all_tabs: tuple[str, ...]) -> tab_group:
    items = [(item, item_tabs(item)) for item in run]
    tabs_of = [(item, info[1]) for item, info in items if info is not None]
    present = [tab for tab in all_tabs if any(tab in tabs for _, tabs in tabs_of)]
    group = tab_group(tabs=present, kind=items[0][1][0] if items[0][1] else "code")
    group.source, group.line = run[0].source, run[0].line
    for tab in present:
        pane = tab_pane(tab=tab)
        for item, tabs in tabs_of:
            if tab in tabs:
                # an item shared by several (not all) tabs appears in each of their panes
                pane += item.deepcopy() if len(tabs) > 1 else item
        group += pane
    return group


class GroupTabs(SphinxTransform):
    """Wrap runs of tabbed cells and blocks into ``tab_group`` nodes."""

    default_priority = 500

    def apply(self, **kwargs: Any) -> None:
        all_tabs = tuple(cfg.get(self.config).tabs)
        parents = {id(node.parent): node.parent for node in self.document.findall(tab_block)}
        for node in self.document.findall(nodes.container):
            if node.get("nb_element") == "cell_code" and node.parent is not None:
                parents[id(node.parent)] = node.parent
        for parent in parents.values():
            for run in split_runs(list(parent.children), all_tabs):
                index = parent.index(run[0])
                for item in run:
                    parent.remove(item)
                parent.insert(index, build_group(run, all_tabs))
        for block in list(self.document.findall(tab_block)):
            if not isinstance(block.parent, tab_pane):
                block.replace_self(block.children)  # covers every tab: plain text


class KeepOneTab(SphinxPostTransform):
    """Non-HTML output (LaTeX, text, ...) shows one framework and no switcher."""

    default_priority = 200

    def is_supported(self) -> bool:
        # the builder class, as SphinxPostTransform.is_supported reads it since Sphinx 7.3 (self.app is deprecated in 9)
        builder = getattr(self.env, "_builder_cls", None) or self.app.builder
        return builder.format != "html"

    def run(self, **kwargs: Any) -> None:
        options = cfg.get(self.config)
        chosen = options.pdf_tab or options.default_tab
        for group in list(self.document.findall(tab_group)):
            panes = [pane for pane in group.children if pane["tab"] == chosen]
            group.replace_self(panes[0].children if panes else [])


# -- HTML ----------------------------------------------------------------------


def visit_tab_group_html(self: Any, node: tab_group) -> None:
    options = cfg.get(self.builder.config)
    tabs = node["tabs"]
    default = options.default_tab
    self.body.append(
        f'<div class="execbook-tabs execbook-tabs-{node["kind"]}" data-tabs="{html.escape(" ".join(tabs))}">'
        '<div class="execbook-tabbar" role="tablist">'
    )
    for tab in tabs:
        selected = "true" if tab == default else "false"
        self.body.append(
            f'<button type="button" class="execbook-tab" role="tab" data-tab="{html.escape(tab)}" '
            f'aria-selected="{selected}">{html.escape(options.label(tab))}</button>'
        )
    self.body.append("</div>")
    names = ", ".join(options.label(tab) for tab in tabs)
    hidden = "" if default not in tabs else " hidden"
    self.body.append(
        f'<p class="execbook-missing"{hidden} data-available="{html.escape(" ".join(tabs))}">'
        f'Not available for <span class="execbook-missing-name">{html.escape(options.label(default))}</span>; '
        f"available for {html.escape(names)}.</p>"
    )


def depart_tab_group_html(self: Any, node: tab_group) -> None:
    self.body.append("</div>")


def visit_tab_pane_html(self: Any, node: tab_pane) -> None:
    default = cfg.get(self.builder.config).default_tab
    hidden = "" if node["tab"] == default else " hidden"
    self.body.append(f'<div class="execbook-pane" role="tabpanel" data-tab="{html.escape(node["tab"])}"{hidden}>')


def depart_tab_pane_html(self: Any, node: tab_pane) -> None:
    self.body.append("</div>")


def _pass(self: Any, node: nodes.Node) -> None:
    pass


def add_html_assets(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    options = cfg.get(app.config)
    labels = {tab: options.label(tab) for tab in options.tabs}
    app.add_css_file("execbook.css")
    app.add_js_file(
        "execbook.js",
        loading_method="defer",
        **{
            "data-tabs": " ".join(options.tabs),
            "data-labels": "|".join(labels[tab] for tab in options.tabs),
            "data-remember": "1" if options.remember_tab else "0",
        },
    )


def setup_tabs(app: Sphinx) -> None:
    # other formats never meet these nodes (KeepOneTab unwraps them); the
    # visitors only keep a third-party writer from failing on a stray one
    others: dict[str, tuple[Any, Any]] = {fmt: (_pass, _pass) for fmt in ("latex", "text", "man", "texinfo")}
    app.add_node(tab_block, html=(_pass, _pass), **others)
    app.add_node(tab_group, html=(visit_tab_group_html, depart_tab_group_html), **others)
    app.add_node(tab_pane, html=(visit_tab_pane_html, depart_tab_pane_html), **others)
    app.add_directive(TAB_DIRECTIVE, TabBlockDirective)
    app.add_transform(GroupTabs)
    app.add_post_transform(KeepOneTab)
    app.connect("builder-inited", add_html_assets)
