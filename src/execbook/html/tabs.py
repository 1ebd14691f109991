"""Framework tabs: grouping tabbed cells and rendering the switcher.

Tabs are data until the writer: code cells carry ``cell_metadata.execbook.tabs``
(from ``notebooks``) and ``:begin_tab:`` blocks become ``tab_block`` nodes.
A read-time transform groups neighbours of one kind into a ``tab_group``.
HTML renders a group as a tab bar and panes driven by ``static/execbook.js``;
every other builder keeps one tab (the default, or ``execbook_pdf_tab`` later).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from execbook.book import config as cfg
from execbook.html import search
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
    option_spec = {"class": directives.class_option}

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
    """Runs of neighbouring items that do not each cover every tab.

    An item covering every tab is shown plainly and ends a run. Text blocks
    followed by code cells form one run (one bar for the prose and the code it
    introduces); text after code starts a new run.
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
        if run and run_kind == "code" and info[0] == "text":
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
    # a group holding any code is a code group: a reader without its framework is told it exists
    kind = "code" if any(info is not None and info[0] == "code" for _, info in items) else "text"
    group = tab_group(tabs=present, kind=kind)
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
            panes = [pane for pane in group.children if isinstance(pane, tab_pane) and pane["tab"] == chosen]
            group.replace_self(panes[0].children if panes else [])


# -- HTML ----------------------------------------------------------------------


def group_id(translator: Any) -> str:
    """A page-unique id for the next group (tabs and panes point at each other by id)."""
    count = getattr(translator, "_execbook_groups", 0) + 1
    translator._execbook_groups = count
    return f"execbook-tabs-{count}"


def visit_tab_group_html(self: Any, node: tab_group) -> None:
    # The labels are drawn by CSS from data-label (and named by aria-label):
    # no tab chrome is text, so Sphinx's search snippets (the page's
    # textContent) never read "PyTorchNumPy". Every pane is visible until
    # execbook.js runs; without JavaScript the bar stays hidden (CSS).
    options = cfg.get(self.builder.config)
    tabs = node["tabs"]
    default = options.default_tab
    shown = default if default in tabs else tabs[0]
    gid = group_id(self)
    node["execbook_id"] = gid
    self.body.append(
        f'<div class="execbook-tabs execbook-tabs-{node["kind"]}" id="{gid}" data-tabs="{html.escape(" ".join(tabs))}">'
        f'<div class="execbook-tabbar" role="tablist" aria-label="Framework">'
    )
    for tab in tabs:
        label = html.escape(options.label(tab))
        selected = "true" if tab == shown else "false"
        self.body.append(
            f'<button type="button" class="execbook-tab" role="tab" id="{gid}-tab-{html.escape(tab)}" '
            f'aria-controls="{gid}-{html.escape(tab)}" aria-selected="{selected}" '
            f'tabindex="{0 if tab == shown else -1}" data-tab="{html.escape(tab)}" '
            f'aria-label="{label}" data-label="{label}"></button>'
        )
    self.body.append("</div>")


def depart_tab_group_html(self: Any, node: tab_group) -> None:
    self.body.append("</div>")


def visit_tab_pane_html(self: Any, node: tab_pane) -> None:
    label = html.escape(cfg.get(self.builder.config).label(node["tab"]))
    gid = node.parent["execbook_id"]
    tab = html.escape(node["tab"])
    self.body.append(
        f'<div class="execbook-pane" role="tabpanel" id="{gid}-{tab}" aria-labelledby="{gid}-tab-{tab}" '
        f'tabindex="0" data-tab="{tab}" data-label="{label}">'
    )


def depart_tab_pane_html(self: Any, node: tab_pane) -> None:
    self.body.append("</div>")


def _pass(self: Any, node: nodes.Node) -> None:
    pass


# Runs in <head>, before the first paint: marks that JavaScript runs (the CSS
# then hides the bar-less view meant for readers without it) and hides every
# pane but the reader's framework, so nothing flickers until execbook.js runs.
# ?tab= comes first but is not stored: only a click changes the saved choice.
FIRST_TAB_SCRIPT = """(function () {
  var root = document.documentElement, tabs = %(tabs)s, tab = null;
  root.classList.add("execbook-js");
  try {
    tab = new URLSearchParams(window.location.search).get("tab");
    if (tabs.indexOf(tab) < 0) tab = %(remember)s ? window.localStorage.getItem("execbook-tab") : null;
  } catch (e) { tab = null; }
  if (tabs.indexOf(tab) < 0) tab = tabs[0];
  root.dataset.execbookTab = tab;
  var style = document.createElement("style");
  style.id = "execbook-first-tab";
  style.textContent = 'html.execbook-js .execbook-pane:not([data-tab="' + tab + '"]),'
    + 'html.execbook-js .execbook-tabs-text:not([data-tabs~="' + tab + '"]) { display: none; }';
  document.head.appendChild(style);
})();"""


def add_html_assets(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    options = cfg.get(app.config)
    labels = {tab: options.label(tab) for tab in options.tabs}
    app.add_css_file("execbook.css")
    # tab names are checked identifiers (book.config), safe inside the CSS string above
    first = FIRST_TAB_SCRIPT % {"tabs": json.dumps(list(options.tabs)), "remember": json.dumps(options.remember_tab)}
    app.add_js_file(None, body=first, priority=200)
    attributes: dict[str, Any] = {  # not Python names: passed as a dict
        "data-tabs": " ".join(options.tabs),
        "data-labels": "|".join(labels[tab] for tab in options.tabs),
        "data-remember": "1" if options.remember_tab else "0",
    }
    app.add_js_file("execbook.js", loading_method="defer", **attributes)


def setup_tabs(app: Sphinx) -> None:
    # other formats never meet these nodes (KeepOneTab unwraps them); the
    # visitors only keep a third-party writer from failing on a stray one
    skip = (_pass, _pass)
    app.add_node(tab_block, html=skip, latex=skip, text=skip, man=skip, texinfo=skip)
    app.add_node(
        tab_group, html=(visit_tab_group_html, depart_tab_group_html), latex=skip, text=skip, man=skip, texinfo=skip
    )
    app.add_node(
        tab_pane, html=(visit_tab_pane_html, depart_tab_pane_html), latex=skip, text=skip, man=skip, texinfo=skip
    )
    app.add_directive(TAB_DIRECTIVE, TabBlockDirective)
    app.add_transform(GroupTabs)
    app.add_post_transform(KeepOneTab)
    app.connect("builder-inited", add_html_assets)
    search.setup_search(app)
